"""SPEC §7, §9.1, §9.2: notifications from outside. Exactly one per key node entered (3 for a
normal sandbox waybill, 1 for a direct 0→4 jump, none for the query family or a phone mismatch);
the webhook a real receiver on loopback gets (every body field and type, the headers, a signature
that verifies); the inbox (newest first, state and attempts); --notify-abnormal; /metrics.

The helpers here (Receiver, the push app, the inbox, event injection) are shared with
test_delivery.py, which imports this module."""

import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, QUERY_TRACE, TRACE, UPDATE_FOLLOW, App, ServerTest, bind_body,
                     goods, new_openid, sandbox_waybill)

HOUR = 3600
# the longest a retry can wait (4 h plus 20 %), and a second more
GENEROUS = 4 * HOUR + 48 * 60 + 1
SIG_RE = re.compile(r"^t=(\d+),v1=([0-9a-f]{64})$")
BODY_FIELDS = {
    "event_id": str, "sequence": int, "type": str, "appid": str, "openid": str,
    "waybill_token": str, "waybill_id": str, "status": int, "delivery_id": (str, type(None)),
    "delivery_name": (str, type(None)), "goods": dict, "goods_count": int,
    "order_detail_path": (str, type(None)), "landing_url": str, "action_time": int,
    "created_at": int,
}
INBOX_FIELDS = ("id", "appid", "openid", "waybill_id", "type", "state", "attempts", "created_at",
                "delivered_at")
TYPES = ("waybill.collected", "waybill.in_dispatch", "waybill.signed")


# ---- the webhook receiver ----------------------------------------------------------------------

class Hit:
    """One request the receiver got, and the HTTP status it answered."""

    def __init__(self, path, headers, body, answered):
        self.path = path
        self.headers = headers  # lower-cased names
        self.body = body        # the raw bytes
        self.answered = answered
        self.at = time.time()
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def ok(self):
        return 200 <= self.answered < 300

    @property
    def event_id(self):
        return self.json.get("event_id") if isinstance(self.json, dict) else None

    def __repr__(self):
        return "<Hit %s %s %r>" % (self.answered, self.headers.get("x-waybilld-event-id"),
                                   self.body[:200])


class Receiver:
    """A webhook receiver on 127.0.0.1 in this process: records every request (body and headers)
    and answers 200, or 500 for the first fail_first requests or while always_fail; it sleeps
    delay seconds before answering."""

    def __init__(self, port=0, fail_first=0, always_fail=False, delay=0.0):
        self.fail_first = fail_first
        self.always_fail = always_fail
        self.delay = delay
        self.hits = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver.cond:
                    if receiver.always_fail or receiver.fail_first > 0:
                        receiver.fail_first = max(0, receiver.fail_first - 1)
                        answer = 500
                    else:
                        answer = 200
                    delay = receiver.delay
                    receiver.hits.append(Hit(self.path,
                                             {k.lower(): v for k, v in self.headers.items()},
                                             body, answer))
                    receiver.cond.notify_all()
                if delay:
                    time.sleep(delay)
                out = b"ok" if answer == 200 else b"failing on purpose"
                try:
                    self.send_response(answer)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the sender gave up (timeout or crash)

            def log_message(self, fmt, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def all(self):
        with self.cond:
            return list(self.hits)

    def delivered(self):
        return [h for h in self.all() if h.ok]

    def wait(self, count, timeout=10.0, ok_only=False):
        """Waits until at least count requests (or 2xx-answered ones) arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                got = [h for h in self.hits if h.ok] if ok_only else list(self.hits)
                left = deadline - time.monotonic()
                if len(got) >= count or left <= 0:
                    return got
                self.cond.wait(min(left, 0.1))

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port():
    """A loopback port where nothing listens (just released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=10.0, interval=0.05):
    """Calls fn until it returns something truthy or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# ---- server helpers ----------------------------------------------------------------------------

def make_push_app(srv, push_url=None, name=None):
    """An eligible app made with POST /admin/v1/apps, push_url in the create body."""
    body = {"name": name or ("push-" + secrets.token_hex(4)), "released": True, "pay_tx_90d": 5}
    if push_url is not None:
        body["push_url"] = push_url
    r = srv.admin("POST", "/admin/v1/apps", body)
    if r.status != 201 or not isinstance(r.json, dict):
        raise AssertionError("creating an app: %r" % r)
    for k in ("appid", "secret", "push_secret"):
        if not isinstance(r.get(k), str) or not r.get(k):
            raise AssertionError("POST /admin/v1/apps lacks %s: %r" % (k, r))
    app = App(srv, r["appid"], r["secret"], r["push_secret"])
    apps_of(srv).append(app)
    return app


def apps_of(srv):
    if not hasattr(srv, "notify_apps"):
        srv.notify_apps = []
    return srv.notify_apps


def advance(srv, seconds):
    """Moves the sandbox clock; access tokens live 2 h on it, so the apps fetch new ones."""
    now = srv.advance(seconds)
    for app in apps_of(srv):
        app.token = None
    return now


def inbox(srv, appid, openid, **query):
    path = "/admin/v1/apps/%s/users/%s/notifications" % (appid, openid)
    if query:
        path += "?" + "&".join("%s=%s" % kv for kv in query.items())
    r = srv.admin("GET", path)
    if r.status != 200 or not isinstance(r.get("notifications"), list) or "next" not in r.json:
        raise AssertionError("GET %s -> %r" % (path, r))
    return r.json


def notifications(srv, appid, openid):
    return inbox(srv, appid, openid, limit=1000)["notifications"]


def listing(srv, state):
    r = srv.admin("GET", "/admin/v1/notifications?state=%s&limit=1000" % state)
    if r.status != 200 or not isinstance(r.get("notifications"), list):
        raise AssertionError("GET /admin/v1/notifications?state=%s -> %r" % (state, r))
    return r["notifications"]


def inject(srv, waybill_id, status, action_time=None, action_type=None, tail=None, event_id=None):
    """A carrier event through POST /admin/v1/sandbox/events; returns the reply's JSON."""
    event = {"event_id": event_id or ("ev-" + secrets.token_hex(6)), "waybill_id": waybill_id,
             "action_time": srv.clock() if action_time is None else action_time,
             "status": status, "action_msg": "injected status %d" % status}
    if action_type is not None:
        event["action_type"] = action_type
    if tail is not None:
        event["receiver_phone_tail"] = tail
    r = srv.admin("POST", "/admin/v1/sandbox/events", {"events": [event]})
    if r.status != 200 or r.get("errcode") != 0:
        raise AssertionError("injecting %r -> %r" % (event, r))
    return r.json


def redeliver(srv, event_id):
    return srv.admin("POST", "/admin/v1/notifications/%s/redeliver" % event_id)


def check_signature(tc, hit, secret):
    """X-Waybilld-Signature is t=UNIX,v1=HEX with UNIX the system clock and HEX the HMAC-SHA256,
    under the push_secret's UTF-8 bytes, of UNIX "." BODY."""
    sig = hit.headers.get("x-waybilld-signature")
    tc.assertIsNotNone(sig, "no X-Waybilld-Signature: %r" % hit)
    m = SIG_RE.match(sig)
    tc.assertIsNotNone(m, "signature shape t=UNIX,v1=HEX: %r" % sig)
    t = int(m.group(1))
    tc.assertLess(abs(t - hit.at), 30, "the signature's time is not the system clock: %r" % sig)
    want = hmac.new(secret.encode("utf-8"), m.group(1).encode() + b"." + hit.body,
                    hashlib.sha256).hexdigest()
    tc.assertTrue(hmac.compare_digest(want, m.group(2)),
                  "signature does not verify under the push_secret: %r body %r"
                  % (sig, hit.body[:300]))


def check_hit(tc, hit, app):
    """Headers of SPEC §7, a signature that verifies, and a body with every field and type."""
    tc.assertEqual(hit.path, "/hook")
    tc.assertEqual(hit.headers.get("content-type"), "application/json",
                   "Content-Type: %r" % hit.headers)
    check_signature(tc, hit, app.push_secret)
    tc.assertIsInstance(hit.json, dict, "the body is not valid JSON (%d bytes): %r ... %r"
                        % (len(hit.body), hit.body[:160], hit.body[-160:]))
    body = hit.json
    tc.assertEqual(set(body), set(BODY_FIELDS), "body fields: %r" % body)
    for k, types in BODY_FIELDS.items():
        tc.assertIsInstance(body[k], types, "%s: %r" % (k, body))
        if types is int:
            tc.assertNotIsInstance(body[k], bool, k)
    tc.assertEqual(hit.headers.get("x-waybilld-event-id"), body["event_id"])
    tc.assertEqual(body["appid"], app.appid)
    tc.assertIn(body["type"], TYPES + ("waybill.abnormal",))
    return body


class NotifyTest(ServerTest):
    """A sandbox server per class; helpers for push apps, receivers, the inbox and the clock."""

    def receiver(self, **kw):
        rcv = Receiver(**kw)
        self.addCleanup(rcv.stop)
        return rcv

    def push_app(self, rcv=None, push_url=None):
        return make_push_app(self.srv, rcv.url if rcv is not None else push_url)

    def advance(self, seconds):
        return advance(self.srv, seconds)

    def inbox(self, app, openid):
        items = notifications(self.srv, app.appid, openid)
        for n in items:
            for k in INBOX_FIELDS:
                self.assertIn(k, n, "inbox item lacks %s: %r" % (k, n))
            self.assertIn(n["state"], ("pending", "delivered", "dead"), n)
            self.assertIsInstance(n["attempts"], int, n)
            self.assertIsInstance(n["created_at"], int, n)
            # delivered_at: when delivered, null otherwise (pending, dead, or queued again)
            self.assertIsInstance(n["delivered_at"], int if n["state"] == "delivered"
                                  else type(None), n)
            self.assertEqual((n["appid"], n["openid"]), (app.appid, openid), n)
        return items

    def wait_inbox(self, app, openid, pred, timeout=10.0):
        """Polls the inbox until pred(items) holds; fails with the last inbox otherwise."""
        last = []

        def probe():
            last[:] = self.inbox(app, openid)
            return pred(last)
        if not wait_until(probe, timeout):
            self.fail("the inbox never got there: %s" % json.dumps(last, indent=1))
        return last

    def settled(self, app, openid, count):
        """Waits until the user's inbox holds count notifications, all delivered."""
        return self.wait_inbox(app, openid, lambda items: len(items) == count and all(
            n["state"] == "delivered" for n in items))

    def quiet(self, rcv, count, seconds=1.5):
        """Nothing more arrives: after seconds (the dispatcher polls each second) still count."""
        time.sleep(seconds)
        self.assertEqual(len(rcv.all()), count, "unexpected deliveries: %r" % rcv.all())

    def follow(self, app, waybill_id, openid=None, path=FOLLOW, **over):
        tok, openid, _, body = self.bind(app, openid=openid, waybill_id=waybill_id, path=path,
                                         **over)
        return tok, openid, body

    def landing_base(self):
        return "http://127.0.0.1:%d" % self.srv.port


class KeyNodes(NotifyTest):
    """Exactly one notification per key node entered, to a real receiver, signed."""

    def test_normal_waybill_three_notifications(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last=str(secrets.randbelow(5)))  # scripts 0–4
        tok, openid, body = self.follow(app, wb, goods_info=goods(2, name="商品"))
        t0 = self.srv.clock()
        after = self.advance(27 * HOUR)

        # written before the clock's reply: the inbox has them at once, newest first
        items = self.inbox(app, openid)
        self.assertEqual([n["type"] for n in items], list(reversed(TYPES)), items)
        for n in items:
            self.assertEqual(n["waybill_id"], wb)
            self.assertTrue(t0 + HOUR <= n["created_at"] <= after + 5, n)

        hits = rcv.wait(3)
        self.assertEqual(len(hits), 3, hits)
        self.quiet(rcv, 3)
        bodies = sorted((check_hit(self, h, app) for h in hits), key=lambda b: b["sequence"])
        self.assertEqual([b["type"] for b in bodies], list(TYPES))
        self.assertEqual([b["sequence"] for b in bodies], [1, 2, 3])
        self.assertEqual([b["status"] for b in bodies], [1, 3, 4])
        want_times = [t0 + HOUR, t0 + 24 * HOUR, t0 + 26 * HOUR]
        for b, want in zip(bodies, want_times):
            self.assertLessEqual(abs(b["action_time"] - want), 5, b)
        # what the query says the binding holds
        q = self.query(app, tok).json
        first = q["shop_info"]["goods_info"]["detail_list"][0]
        for b in bodies:
            self.assertEqual(b["openid"], openid)
            self.assertEqual(b["waybill_id"], wb)
            self.assertEqual(b["waybill_token"], tok)
            self.assertEqual(b["delivery_id"], "WXTEST")
            self.assertEqual(b["delivery_name"], "Sandbox Express")
            self.assertEqual(b["goods"], first)
            self.assertEqual(b["goods"]["goods_name"], "商品0")
            self.assertEqual(b["goods_count"], 2)
            self.assertIsNone(b["order_detail_path"])
            self.assertEqual(b["landing_url"], self.landing_base() + "/l/" + tok)
            # written when its event arrived: not before the event, not after the clock's move
            self.assertTrue(b["action_time"] <= b["created_at"] <= after + 5, b)
        self.assertEqual(len({b["event_id"] for b in bodies}), 3)

        # the inbox: the same ids, newest first, each delivered at the first attempt
        items = self.settled(app, openid, 3)
        self.assertEqual([n["id"] for n in items], [b["event_id"] for b in reversed(bodies)])
        for n in items:
            self.assertEqual(n["attempts"], 1, n)
            self.assertIsInstance(n["delivered_at"], int, n)

    def test_signed_on_behalf_counts_as_signed(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        _, openid, _ = self.follow(app, sandbox_waybill(last="6"))
        self.advance(27 * HOUR)
        hits = rcv.wait(3)
        self.quiet(rcv, 3, 1.0)
        bodies = sorted((check_hit(self, h, app) for h in hits), key=lambda b: b["sequence"])
        self.assertEqual([(b["type"], b["status"]) for b in bodies],
                         [(TYPES[0], 1), (TYPES[1], 3), (TYPES[2], 6)])
        self.settled(app, openid, 3)

    def test_direct_jump_to_signed_gives_one(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="7")  # its script never moves
        tok, openid, _ = self.follow(app, wb)
        at = self.srv.clock()
        inject(self.srv, wb, 4, action_time=at, action_type=300003)
        items = self.inbox(app, openid)
        self.assertEqual([(n["type"], n["waybill_id"]) for n in items], [(TYPES[2], wb)], items)
        hit = rcv.wait(1)[0]
        body = check_hit(self, hit, app)
        self.assertEqual((body["type"], body["sequence"], body["status"], body["action_time"]),
                         (TYPES[2], 1, 4, at))
        self.assertEqual(body["event_id"], items[0]["id"])
        self.assertEqual(body["waybill_token"], tok)
        # a signed waybill: later events of other nodes, signed-on-behalf, repeats: nothing more
        inject(self.srv, wb, 3, action_time=at + 10)
        inject(self.srv, wb, 1, action_time=at - 100)
        inject(self.srv, wb, 6, action_time=at + 20)
        inject(self.srv, wb, 4, action_time=at + 30)
        self.quiet(rcv, 1)
        self.assertEqual(len(self.inbox(app, openid)), 1)

    def test_jump_to_dispatch_then_signed(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="7")
        _, openid, _ = self.follow(app, wb)
        at = self.srv.clock()
        inject(self.srv, wb, 3, action_time=at)
        inject(self.srv, wb, 1, action_time=at - 60)   # late: the status stays 3
        inject(self.srv, wb, 4, action_time=at + 60)
        items = self.inbox(app, openid)
        self.assertEqual([n["type"] for n in items], [TYPES[2], TYPES[1]], items)
        hits = rcv.wait(2)
        self.quiet(rcv, 2, 1.0)
        bodies = sorted((check_hit(self, h, app) for h in hits), key=lambda b: b["sequence"])
        self.assertEqual([(b["type"], b["sequence"]) for b in bodies],
                         [(TYPES[1], 1), (TYPES[2], 2)])

    def test_duplicated_events_add_nothing(self):
        """Script 8 sends every event twice, in pairs, newest first: 0 → 2 passes "collected"
        without the waybill ever being at 1, and 2 → 4 enters only "signed" (the dispatch event
        arrives after the signed one). Duplicates never add a notification."""
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="8")
        tok, openid, _ = self.follow(app, wb)
        self.advance(27 * HOUR)
        self.assertEqual(self.query(app, tok).json["waybill_info"]["status"], 4)
        items = self.inbox(app, openid)
        self.assertEqual([n["type"] for n in items], [TYPES[2]], items)
        hits = rcv.wait(1)
        self.quiet(rcv, 1, 1.0)
        self.assertEqual(check_hit(self, hits[0], app)["sequence"], 1)

    def test_query_family_gets_none(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="0")
        # one user follows with both families, another only traces
        tok_t, openid, _ = self.follow(app, wb, path=TRACE)
        tok_f, _, _ = self.follow(app, wb, openid=openid, path=FOLLOW)
        tok_only, other, _ = self.follow(app, wb, path=TRACE)
        self.advance(27 * HOUR)
        self.assertEqual(self.query(app, tok_only, QUERY_TRACE).json["waybill_info"]["status"], 4)
        self.assertEqual(self.inbox(app, other), [])
        items = self.inbox(app, openid)
        self.assertEqual(len(items), 3, items)
        hits = rcv.wait(3)
        self.quiet(rcv, 3)
        for h in hits:
            self.assertEqual(check_hit(self, h, app)["waybill_token"], tok_f)
        self.assertNotEqual(tok_t, tok_f)

    def test_phone_mismatch_gets_none(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="9")  # every event carries receiver_phone_tail 0000
        tok_bad, bad, _ = self.follow(app, wb, receiver_phone="13800138000")
        tok_good, good, _ = self.follow(app, wb, receiver_phone="139-0000-0000")
        self.advance(27 * HOUR)
        self.assertEqual(self.inbox(app, bad), [])
        # someone else's parcel does not leak: status 0 for the mismatched binding
        self.assertEqual(self.query(app, tok_bad).json["waybill_info"]["status"], 0)
        self.assertEqual(self.query(app, tok_good).json["waybill_info"]["status"], 4)
        self.assertEqual(len(self.inbox(app, good)), 3)
        hits = rcv.wait(3)
        self.quiet(rcv, 3)
        for h in hits:
            body = check_hit(self, h, app)
            self.assertEqual((body["openid"], body["waybill_token"]), (good, tok_good))

    def test_binding_made_in_dispatch_gets_only_signed(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="0")
        _, early, _ = self.follow(app, wb)
        self.advance(25 * HOUR)  # collected, in transport, in dispatch
        self.assertEqual(len(self.inbox(app, early)), 2)
        tok_late, late, _ = self.follow(app, wb)
        self.assertEqual(self.inbox(app, late), [])
        self.advance(2 * HOUR)   # signed
        self.assertEqual([n["type"] for n in self.inbox(app, early)], list(reversed(TYPES)))
        items = self.inbox(app, late)
        self.assertEqual([n["type"] for n in items], [TYPES[2]], items)
        # bound after it was signed: nothing at all
        _, after, _ = self.follow(app, wb)
        self.advance(HOUR)
        self.assertEqual(self.inbox(app, after), [])
        hits = rcv.wait(4)
        self.quiet(rcv, 4)
        late_bodies = [b for b in (check_hit(self, h, app) for h in hits) if b["openid"] == late]
        self.assertEqual(len(late_bodies), 1, hits)
        self.assertEqual((late_bodies[0]["type"], late_bodies[0]["sequence"]), (TYPES[2], 1))
        self.assertEqual(late_bodies[0]["waybill_token"], tok_late)

    def test_each_binding_its_own(self):
        """Two apps following one waybill each get their own three, under their own secret; a
        repeated follow is the same binding and adds nothing."""
        rcvs = [self.receiver(), self.receiver()]
        apps = [self.push_app(rcv) for rcv in rcvs]
        wb = sandbox_waybill(last="2")
        toks = []
        for app in apps:
            tok, openid, body = self.follow(app, wb)
            r = self.call(FOLLOW, body, app.token)
            self.assertEqual(r.get("waybill_token"), tok, r)
            toks.append((tok, openid))
        self.advance(27 * HOUR)
        for rcv, app, (tok, openid) in zip(rcvs, apps, toks):
            hits = rcv.wait(3)
            self.assertEqual(len(hits), 3, hits)
            bodies = sorted((check_hit(self, h, app) for h in hits),
                            key=lambda b: b["sequence"])
            self.assertEqual([b["type"] for b in bodies], list(TYPES))
            for b in bodies:
                self.assertEqual((b["appid"], b["openid"], b["waybill_token"]),
                                 (app.appid, openid, tok))
            self.assertEqual(len(self.inbox(app, openid)), 3)
        self.quiet(rcvs[0], 3, 1.0)
        self.assertEqual(len(rcvs[1].all()), 3)

    def test_expired_binding_gets_none(self):
        """A binding still at status 0 expires 7 days after it was made (SPEC §5.4); a later
        event does not notify it."""
        rcv = self.receiver()
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="7")
        _, openid, _ = self.follow(app, wb)
        self.advance(7 * 24 * HOUR + 60)
        inject(self.srv, wb, 4)
        self.assertEqual(self.inbox(app, openid), [])
        self.quiet(rcv, 0, 1.0)

    def test_abnormal_not_notified_by_default(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        tok, openid, _ = self.follow(app, sandbox_waybill(last="5"))
        self.advance(27 * HOUR)
        self.assertEqual(self.query(app, tok).json["waybill_info"]["status"], 5)
        items = self.inbox(app, openid)
        self.assertEqual([n["type"] for n in items], [TYPES[1], TYPES[0]], items)
        rcv.wait(2)
        self.quiet(rcv, 2, 1.0)

    def test_app_without_push_url_delivers_to_inbox(self):
        app = self.push_app()
        _, openid, _ = self.follow(app, sandbox_waybill(last="0"))
        self.advance(27 * HOUR)
        items = self.settled(app, openid, 3)
        self.assertEqual([n["type"] for n in items], list(reversed(TYPES)))
        for n in items:
            self.assertEqual(n["attempts"], 0, n)
            self.assertIsInstance(n["delivered_at"], int, n)


class Bodies(NotifyTest):
    """What a notification says: goods as a snapshot, order_detail_path, push_secret rotation."""

    def test_goods_snapshot_and_order_detail_path(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        path = "pages/order/detail?id=42&from=notice"
        first = goods(2, name="旧商品", desc="旧描述")
        tok, openid, _ = self.follow(app, sandbox_waybill(last="0"), goods_info=first,
                                     order_detail_path=path)
        self.advance(2 * HOUR)  # collected
        collected = check_hit(self, rcv.wait(1)[0], app)
        self.assertEqual(collected["type"], TYPES[0])
        self.assertEqual(collected["goods"], first["detail_list"][0])
        self.assertEqual(collected["goods_count"], 2)
        self.assertEqual(collected["order_detail_path"], path)

        new = {"detail_list": [{"goods_name": "新商品", "goods_desc": "新描述",
                                "goods_img_url": "https://www.qq.com/b.png"}]}
        self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": tok, "goods_info": new},
                                 app.token))
        self.advance(25 * HOUR)  # in dispatch, signed
        hits = rcv.wait(3)
        later = sorted((check_hit(self, h, app) for h in hits[1:]), key=lambda b: b["sequence"])
        self.assertEqual([b["type"] for b in later], [TYPES[1], TYPES[2]])
        for b in later:
            self.assertEqual(b["goods"], new["detail_list"][0])
            self.assertEqual(b["goods_count"], 1)
            self.assertEqual(b["order_detail_path"], path)
        self.settled(app, openid, 3)

        # a redelivery of the first notification repeats its snapshot byte for byte
        r = redeliver(self.srv, collected["event_id"])
        self.assertEqual(r.status, 200, r)
        again = rcv.wait(4)
        self.assertEqual(len(again), 4, again)
        self.assertEqual(again[3].body, hits[0].body)
        check_hit(self, again[3], app)

    def test_push_secret_rotation(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        _, openid, _ = self.follow(app, sandbox_waybill(last="0"))
        self.advance(2 * HOUR)
        check_hit(self, rcv.wait(1)[0], app)
        old = app.push_secret
        r = self.srv.admin("POST", "/admin/v1/apps/%s/push_secret" % app.appid)
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.get("push_secret"), str, r)
        self.assertNotEqual(r["push_secret"], old)
        app.push_secret = r["push_secret"]
        self.advance(23 * HOUR)  # in dispatch
        hits = rcv.wait(2)
        self.assertEqual(len(hits), 2, hits)
        check_hit(self, hits[1], app)  # verifies under the new secret
        m = SIG_RE.match(hits[1].headers["x-waybilld-signature"])
        stale = hmac.new(old.encode(), m.group(1).encode() + b"." + hits[1].body,
                         hashlib.sha256).hexdigest()
        self.assertNotEqual(stale, m.group(2), "still signed with the old push_secret")

    def test_carrier_feed_names_the_carrier(self):
        """An event from a registered carrier's feed: delivery_id and delivery_name are that
        carrier's."""
        rcv = self.receiver()
        app = self.push_app(rcv)
        cid = "ZT" + secrets.token_hex(3).upper()
        key = self.srv.new_carrier(cid, "中通快递", "^%s[0-9]{10}$" % cid)
        wb = cid + "".join(str(secrets.randbelow(10)) for _ in range(10))
        tok, openid, _ = self.follow(app, wb)
        at = self.srv.clock()
        events = {"events": [{"event_id": "zt-1", "waybill_id": wb, "action_time": at,
                              "action_type": 100001, "action_msg": "揽收"}]}
        r = self.srv.request("POST", "/carrier/v1/events", events,
                             {"Authorization": "Bearer " + key})
        self.assertEqual((r.status, r.get("accepted")), (200, 1), r)
        body = check_hit(self, rcv.wait(1)[0], app)
        self.assertEqual((body["type"], body["status"], body["action_time"]), (TYPES[0], 1, at))
        self.assertEqual((body["delivery_id"], body["delivery_name"]), (cid, "中通快递"))
        self.assertEqual((body["waybill_id"], body["waybill_token"]), (wb, tok))
        self.settled(app, openid, 1)

    def test_goods_at_their_limits_give_valid_json(self):
        """The longest goods SPEC §4.1/§6.3 accept, full of characters JSON escapes, still make a
        valid webhook body with the whole first item."""
        rcv = self.receiver()
        app = self.push_app(rcv)
        url = "https://img.example.com/" + "\\\"" * 500
        url = url[:1024]
        item = {"goods_name": "\"" * 40, "goods_img_url": url, "goods_desc": "\\" * 40}
        wb = sandbox_waybill(last="7")
        r = self.call(FOLLOW, {"openid": new_openid(), "receiver_phone": "13800138000",
                               "waybill_id": wb, "goods_info": {"detail_list": [item]}},
                      app.token)
        if r.errcode != 0:
            self.skipTest("the server refuses this image URL: %r" % r)
        inject(self.srv, wb, 4)
        hit = rcv.wait(1)[0]
        body = check_hit(self, hit, app)
        self.assertEqual(body["goods"], item)

    def test_inbox_pages_newest_first(self):
        app = self.push_app()
        openid = new_openid()
        wbs = [sandbox_waybill(last="0") for _ in range(2)]
        for wb in wbs:
            self.follow(app, wb, openid=openid)
        self.advance(27 * HOUR)
        every = self.settled(app, openid, 6)
        seen = []
        page = inbox(self.srv, app.appid, openid, limit=4)
        self.assertEqual(len(page["notifications"]), 4)
        self.assertIsInstance(page["next"], str)
        seen += page["notifications"]
        page = inbox(self.srv, app.appid, openid, limit=4, after=page["next"])
        self.assertEqual(len(page["notifications"]), 2)
        self.assertIsNone(page["next"])
        seen += page["notifications"]
        self.assertEqual([n["id"] for n in seen], [n["id"] for n in every])
        # newest first: per waybill, signed before in dispatch before collected
        for wb in wbs:
            self.assertEqual([n["type"] for n in every if n["waybill_id"] == wb],
                             list(reversed(TYPES)))

    def test_inbox_newest_first_across_waybills(self):
        """One clock move that runs the scripts of two waybills: the inbox is still newest first
        by created_at, whatever order the server applied the two scripts in."""
        app = self.push_app()
        openid = new_openid()
        self.follow(app, sandbox_waybill(last="0"), openid=openid)
        self.follow(app, sandbox_waybill(last="3"), openid=openid)
        self.advance(27 * HOUR)
        every = self.settled(app, openid, 6)
        created = [(n["created_at"], n["waybill_id"], n["type"]) for n in every]
        self.assertEqual([c[0] for c in created], sorted((c[0] for c in created), reverse=True),
                         "inbox not newest first: %s" % json.dumps(created, indent=1))


class NotifyAbnormal(NotifyTest):
    """--notify-abnormal adds waybill.abnormal; --public-url sets landing_url."""

    server_args = ("--notify-abnormal", "--public-url", "https://wb.example.com")

    def test_abnormal_notified(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        tok, openid, _ = self.follow(app, sandbox_waybill(last="5"))
        self.advance(27 * HOUR)
        items = self.inbox(app, openid)
        self.assertEqual([n["type"] for n in items],
                         ["waybill.abnormal", TYPES[1], TYPES[0]], items)
        hits = rcv.wait(3)
        self.quiet(rcv, 3, 1.0)
        bodies = sorted((check_hit(self, h, app) for h in hits), key=lambda b: b["sequence"])
        self.assertEqual([(b["type"], b["sequence"], b["status"]) for b in bodies],
                         [(TYPES[0], 1, 1), (TYPES[1], 2, 3), ("waybill.abnormal", 3, 5)])
        for b in bodies:
            self.assertEqual(b["landing_url"], "https://wb.example.com/l/" + tok)

    def test_normal_waybill_still_three(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        _, openid, _ = self.follow(app, sandbox_waybill(last="1"))
        self.advance(27 * HOUR)
        self.assertEqual([n["type"] for n in self.inbox(app, openid)], list(reversed(TYPES)))
        rcv.wait(3)
        self.quiet(rcv, 3, 1.0)


# ---- /metrics ------------------------------------------------------------------------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text → ({name: type}, [(name, {labels}, value)])."""
    types, samples = {}, []
    for line in text.splitlines():
        if not line:
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            raise AssertionError("not a Prometheus sample line: %r" % line)
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return types, samples


def value(samples, name, **labels):
    got = [v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in labels.items())]
    return sum(got) if got else None


class Metrics(NotifyTest):
    """/metrics: requests by endpoint and errcode, the duration histogram, notifications by
    state and the outbox depth, on a server of its own so that the counts are exact. The class
    set-up makes 2 good follow_waybill calls and 1 with a bad token (40001), and 6 notifications:
    3 delivered (no push_url) and 3 pending after a failed first attempt."""

    @classmethod
    def class_setup(cls):
        srv = cls.srv
        delivered_app = make_push_app(srv)
        failing_app = make_push_app(srv, "http://127.0.0.1:%d/hook" % free_port())
        users = []
        for app in (delivered_app, failing_app):
            openid = new_openid()
            r = srv.call(FOLLOW, bind_body(openid, sandbox_waybill(last="0")), app.token)
            if r.get("errcode") != 0:
                raise AssertionError("follow: %r" % r)
            users.append((app, openid))
        r = srv.call(FOLLOW, {}, "not-a-token")
        if r.get("errcode") != 40001:
            raise AssertionError("a bad token: %r" % r)
        advance(srv, 27 * HOUR)
        (app1, o1), (app2, o2) = users
        if not wait_until(lambda: [n["state"] for n in notifications(srv, app1.appid, o1)]
                          == ["delivered"] * 3):
            raise AssertionError("not delivered: %r" % notifications(srv, app1.appid, o1))
        if not wait_until(lambda: [n["attempts"] for n in notifications(srv, app2.appid, o2)]
                          == [1] * 3):
            raise AssertionError("not attempted: %r" % notifications(srv, app2.appid, o2))

    def scrape(self):
        r = self.srv.request("GET", "/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"), r.headers)
        return parse_metrics(r.raw.decode("utf-8"))

    def test_requests_by_endpoint_and_errcode(self):
        types, samples = self.scrape()
        self.assertEqual(types.get("waybilld_requests_total"), "counter")
        self.assertEqual(value(samples, "waybilld_requests_total", endpoint="follow_waybill",
                               errcode="0"), 2, "follow_waybill errcode 0")
        self.assertEqual(value(samples, "waybilld_requests_total", endpoint="follow_waybill",
                               errcode="40001"), 1, "follow_waybill errcode 40001")
        for n, labels, _ in samples:
            if n == "waybilld_requests_total":
                self.assertEqual(set(labels), {"endpoint", "errcode"}, labels)

    def test_duration_histogram(self):
        types, samples = self.scrape()
        hist = "waybilld_request_duration_seconds"
        self.assertEqual(types.get(hist), "histogram")
        buckets = [(l["le"], v) for n, l, v in samples
                   if n == hist + "_bucket" and l.get("endpoint") == "follow_waybill"]
        self.assertGreater(len(buckets), 1, "no follow_waybill buckets")
        self.assertEqual(buckets[-1][0], "+Inf")
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "buckets are cumulative")
        bounds = [float(le) for le, _ in buckets[:-1]]
        self.assertEqual(bounds, sorted(bounds))
        self.assertEqual(counts[-1], 3)
        self.assertEqual(value(samples, hist + "_count", endpoint="follow_waybill"), 3)
        self.assertIsNotNone(value(samples, hist + "_sum", endpoint="follow_waybill"))

    def test_notifications_and_outbox(self):
        types, samples = self.scrape()
        self.assertEqual(types.get("waybilld_notifications"), "gauge")
        self.assertEqual(value(samples, "waybilld_notifications", state="delivered"), 3)
        self.assertEqual(value(samples, "waybilld_notifications", state="pending"), 3)
        self.assertEqual(value(samples, "waybilld_notifications", state="dead"), 0)
        self.assertEqual(types.get("waybilld_outbox_depth"), "gauge")
        self.assertEqual(value(samples, "waybilld_outbox_depth"), 3)
        self.assertEqual(len(listing(self.srv, "pending")), 3)
        self.assertEqual(len(listing(self.srv, "delivered")), 3)
        self.assertEqual(len(listing(self.srv, "dead")), 0)


if __name__ == "__main__":
    unittest.main()
