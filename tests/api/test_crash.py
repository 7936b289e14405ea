"""SPEC §1, §5.3, §7, §9.2 (issue 7, item 4): nothing acknowledged is lost when the server is
killed with SIGKILL under load, and key-node notifications exist exactly once.

Scenario 1: 16 threads bind distinct (user, waybill) pairs as fast as they can; the server is
killed with SIGKILL while they run; after a restart on the same data dir every bind that got
errcode 0 is queryable with its token, and binding it again returns the same token.

Scenario 2 (twice, killed at different points): a few hundred waybills are bound (message family,
some with a second follower and a query-family binding), then 8 threads post their carrier events
(collected, in dispatch, signed, each event in order per waybill) and the server is killed
mid-way. After a restart every acknowledged event is in its waybill's trace and status, the
trace is a prefix of what was posted, and every message-family binding's inbox holds exactly one
notification for each key node its waybill reached (none for the query family). Posting every
event again gives duplicates for what was stored and no second notification for any node.

Bounded in time (the kills are triggered by progress or a time cap, so the ASan build, which is
slower, runs the same checks on less data); loopback only; each server is stopped by its PID."""

import http.client
import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
from harness import FOLLOW, QUERY_FOLLOW, TRACE, Server, bind_body

FEED = "/carrier/v1/events"
CARRIER = ("CR", "崩溃快递", "^CR[0-9]{12}$")
PHONE_TAIL = "8000"  # the last 4 digits of harness.DEFAULT_PHONE
# The three stages a waybill goes through: (status, action_type, the key node it enters).
STAGES = ((1, 100001, "waybill.collected"), (3, 300002, "waybill.in_dispatch"),
          (4, 300003, "waybill.signed"))
HIGH_LIMIT = 10 ** 9


class Conn:
    """One persistent HTTP/1.1 connection to the server (http.client reconnects by itself when
    the server closed it after a reply). Raises OSError / HTTPException when the server is
    gone."""

    def __init__(self, port, timeout=20):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def send(self, method, path, body=None, headers=None):
        data = None if body is None else json.dumps(body, ensure_ascii=False,
                                                    separators=(",", ":")).encode("utf-8")
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        if data is None and method == "POST":
            hdrs["Content-Length"] = "0"
        hdrs.update(headers or {})
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            resp = self.conn.getresponse()
            raw = resp.read()
        except BaseException:
            self.conn.close()
            raise
        try:
            parsed = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            parsed = None
        return resp.status, parsed, raw

    def close(self):
        self.conn.close()


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parallel(items, fn, port, threads=8, timeout=120):
    """Runs fn(conn, item) for every item on `threads` threads, each with its own persistent
    connection; returns the results in the order of items. Re-raises the first exception."""
    items = list(items)
    results = [None] * len(items)
    errors = []
    lock = threading.Lock()
    next_index = [0]

    def worker():
        conn = Conn(port)
        try:
            while not errors:
                with lock:
                    i = next_index[0]
                    next_index[0] += 1
                if i >= len(items):
                    return
                results[i] = fn(conn, items[i])
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            conn.close()

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    deadline = time.monotonic() + timeout
    for t in pool:
        t.join(max(0.1, deadline - time.monotonic()))
    if any(t.is_alive() for t in pool):
        raise AssertionError("parallel work did not finish within %ss" % timeout)
    if errors:
        raise errors[0]
    return results


class CrashTest(unittest.TestCase):
    """Each test makes its own data dir and boots servers on it one after another."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="waybilld-crash-")
        self.addCleanup(self.remove_dir)
        self.key = "adm-crash-key"
        self.servers = []
        self.addCleanup(self.stop_all)
        self.srv = self.boot()

    def remove_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        drop = getattr(harness, "pg_drop", None)  # the data dir's database, under PostgreSQL
        if drop:
            drop(self.dir)

    def boot(self):
        srv = Server(data_dir=self.dir, sandbox=True, admin_key=self.key).start()
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for s in self.servers:
            s.stop()

    def kill_and_restart(self):
        """SIGKILL (the caller already flagged it), then a fresh server on the same data dir."""
        old = self.srv
        code = old.kill()
        self.assertEqual(code, -9, "the server was not killed by SIGKILL:\n%s"
                         % old.log_text()[-2000:])
        self.srv = self.boot()
        return self.srv

    def finish(self):
        """Stops the last server with SIGTERM: it must exit 0 (under ASan: no leak either)."""
        srv = self.srv
        code = srv.stop()
        self.assertEqual(code, 0, "exit status after SIGTERM:\n%s" % srv.log_text()[-3000:])

    def set_up_world(self, push_url=True):
        """The carrier CR and an eligible app with high limits, whose push_url (when asked)
        points at a closed loopback port, so the dispatcher fails and retries while we run."""
        key = self.srv.new_carrier(*CARRIER)
        self.assertTrue(key)
        patch = {"daily_quota": HIGH_LIMIT, "user_daily_quota": HIGH_LIMIT,
                 "user_daily_quota_query": HIGH_LIMIT, "max_bindings": HIGH_LIMIT}
        app = self.srv.new_app(**patch)
        if push_url:
            self.srv.patch_app(app, push_url="http://127.0.0.1:%d/hook" % free_port())
        return key, app

    # ---- scenario 1: binds under SIGKILL ----------------------------------------------------

    def test_kill_during_binds_keeps_every_acknowledged_bind(self):
        _, app = self.set_up_world()
        token = app.token
        path = FOLLOW + "?access_token=" + token
        port = self.srv.port
        acked = []          # (openid, waybill_id, waybill_token)
        problems = []       # replies or failures that must not happen
        killed = threading.Event()
        stop = threading.Event()
        lock = threading.Lock()

        def loader(t):
            conn = Conn(port)
            i = 0
            try:
                while not stop.is_set():
                    openid = "oCrashS1t%02dn%07d" % (t, i)
                    waybill = "CR%02d%010d" % (t, i)
                    i += 1
                    try:
                        status, reply, raw = conn.send("POST", path, bind_body(openid, waybill))
                    except (OSError, http.client.HTTPException) as exc:
                        if not killed.is_set():
                            with lock:
                                problems.append("thread %d: %r before the kill" % (t, exc))
                        return
                    ok = (status == 200 and isinstance(reply, dict)
                          and reply.get("errcode") == 0)
                    with lock:
                        if ok and isinstance(reply.get("waybill_token"), str):
                            acked.append((openid, waybill, reply["waybill_token"]))
                        else:
                            problems.append("thread %d: %s %r" % (t, status, raw[:300]))
                            return
            finally:
                conn.close()

        threads = [threading.Thread(target=loader, args=(t,), daemon=True) for t in range(16)]
        for th in threads:
            th.start()
        # about 3 s of load; a slow (sanitizer) build waits a little longer for a few acks
        t0 = time.monotonic()
        while time.monotonic() - t0 < 3.0 or (len(acked) < 50 and time.monotonic() - t0 < 8):
            time.sleep(0.05)
            if problems:
                break
        killed.set()
        self.kill_and_restart()
        stop.set()
        for th in threads:
            th.join(15)
        self.assertFalse(any(th.is_alive() for th in threads), "load threads did not stop")
        self.assertEqual(problems, [], "bad replies or failures before the kill")
        self.assertGreater(len(acked), 0, "no bind was acknowledged before the kill")

        query_path = QUERY_FOLLOW + "?access_token=" + token

        def check(conn, item):
            openid, waybill, tok = item
            status, reply, raw = conn.send("POST", query_path,
                                           {"waybill_token": tok, "openid": openid})
            if not (status == 200 and isinstance(reply, dict) and reply.get("errcode") == 0
                    and reply.get("waybill_info", {}).get("waybill_id") == waybill):
                return "query of acknowledged %s/%s after the restart: %s %r" % (
                    openid, waybill, status, raw[:300])
            status, reply, raw = conn.send("POST", path, bind_body(openid, waybill))
            if not (status == 200 and isinstance(reply, dict) and reply.get("errcode") == 0
                    and reply.get("waybill_token") == tok):
                return "follow of acknowledged %s/%s again: %s %r (token was %s)" % (
                    openid, waybill, status, raw[:300], tok)
            return None

        lost = [r for r in parallel(acked, check, self.srv.port) if r]
        self.assertEqual(lost, [], "%d of %d acknowledged binds lost or changed; first: %s"
                         % (len(lost), len(acked), lost[:3]))
        self.finish()

    # ---- scenario 2: carrier events under SIGKILL -------------------------------------------

    def test_kill_early_during_events(self):
        self.events_scenario(run=1, kill_fraction=0.3, seed=701)

    def test_kill_late_during_events(self):
        self.events_scenario(run=2, kill_fraction=0.7, seed=702)

    def events_scenario(self, run, kill_fraction, seed, waybills=300, threads=8):
        rng = random.Random(seed)
        carrier_key, app = self.set_up_world()
        token = app.token
        now = self.srv.clock()
        # ---- the bindings: every waybill one follower; every 4th a second follower and a
        # query-family binding (which must never be notified)
        bindings = []   # (waybill_id, openid, family)
        for n in range(waybills):
            wb = "CR%02d%010d" % (run, n)
            bindings.append((wb, "oCrashS2r%dw%05da" % (run, n), "message"))
            if n % 4 == 0:
                bindings.append((wb, "oCrashS2r%dw%05db" % (run, n), "message"))
                bindings.append((wb, "oCrashS2r%dw%05dq" % (run, n), "query"))
        bind_path = {"message": FOLLOW + "?access_token=" + token,
                     "query": TRACE + "?access_token=" + token}

        def bind(conn, b):
            wb, openid, family = b
            status, reply, raw = conn.send("POST", bind_path[family], bind_body(openid, wb))
            self.assertEqual((status, (reply or {}).get("errcode")), (200, 0), raw[:300])
            return reply["waybill_token"]

        parallel(bindings, bind, self.srv.port)
        waybill_ids = ["CR%02d%010d" % (run, n) for n in range(waybills)]

        def event(wb, stage):
            status, action_type, _ = STAGES[stage]
            ev = {"event_id": "crash-%d-%s-%d" % (run, wb, stage), "waybill_id": wb,
                  "action_time": now - 600 + stage, "action_type": action_type,
                  "status": status, "action_msg": "stage %d of %s" % (stage, wb)}
            if stage == 1:
                ev["receiver_phone_tail"] = PHONE_TAIL  # matches: no binding is mismatched
            return ev

        # ---- the events: each thread owns a slice of waybills and posts, in a random
        # interleaving, each waybill's next event; a request carries 1 to 3 events of distinct
        # waybills of its slice
        acked = {wb: 0 for wb in waybill_ids}   # how many leading stages were acknowledged
        total = waybills * len(STAGES)
        done = [0]
        problems = []
        killed = threading.Event()
        lock = threading.Lock()
        feed_headers = {"Authorization": "Bearer " + carrier_key}
        port = self.srv.port

        def poster(t, slice_ids, thread_rng):
            conn = Conn(port)
            next_stage = {wb: 0 for wb in slice_ids}
            try:
                while next_stage:
                    pick = thread_rng.sample(sorted(next_stage), min(len(next_stage),
                                                                    thread_rng.randint(1, 3)))
                    events = [event(wb, next_stage[wb]) for wb in pick]
                    try:
                        status, reply, raw = conn.send("POST", FEED, {"events": events},
                                                       feed_headers)
                    except (OSError, http.client.HTTPException) as exc:
                        if not killed.is_set():
                            with lock:
                                problems.append("thread %d: %r before the kill" % (t, exc))
                        return
                    good = (status == 200 and isinstance(reply, dict)
                            and reply.get("errcode") == 0 and reply.get("rejected") == []
                            and reply.get("accepted", 0) + reply.get("duplicates", 0)
                            == len(events))
                    if not good:
                        with lock:
                            problems.append("thread %d: %s %r" % (t, status, raw[:300]))
                        return
                    with lock:
                        for wb in pick:
                            acked[wb] = next_stage[wb] + 1
                        done[0] += len(events)
                    for wb in pick:
                        next_stage[wb] += 1
                        if next_stage[wb] == len(STAGES):
                            del next_stage[wb]
            finally:
                conn.close()

        slices = [waybill_ids[t::threads] for t in range(threads)]
        pool = [threading.Thread(target=poster, args=(t, slices[t], random.Random(seed * 100 + t)),
                                 daemon=True) for t in range(threads)]
        for th in pool:
            th.start()
        t0 = time.monotonic()
        while done[0] < kill_fraction * total and time.monotonic() - t0 < 20 and not problems:
            time.sleep(0.002)
        killed.set()
        self.kill_and_restart()
        for th in pool:
            th.join(15)
        self.assertFalse(any(th.is_alive() for th in pool), "poster threads did not stop")
        self.assertEqual(problems, [], "bad replies or failures before the kill")
        acked_events = sum(acked.values())
        self.assertGreater(acked_events, 0, "no event was acknowledged before the kill")
        self.assertLess(acked_events, total, "the kill came after every event was posted")

        # ---- after the restart: traces and statuses
        port = self.srv.port
        admin_headers = {"Authorization": "Bearer " + self.key}

        def waybill_state(conn, wb):
            status, reply, raw = conn.send("GET", "/admin/v1/waybills/" + wb,
                                           headers=admin_headers)
            if status == 404 and acked[wb] == 0:
                return wb, 0, []
            self.assertEqual(status, 200, "GET waybill %s: %r" % (wb, raw[:300]))
            return wb, reply["status"], [e["event_id"] for e in reply["trace"]]

        stored = {}   # waybill -> how many stages are stored
        for wb, status, trace in parallel(waybill_ids, waybill_state, port):
            k = acked[wb]
            posted = [event(wb, s)["event_id"] for s in range(len(STAGES))]
            # events of one waybill are posted one after another: what is stored is the
            # acknowledged ones, maybe followed by the one in flight at the kill
            self.assertIn(trace, (posted[:k], posted[:k + 1]),
                          "waybill %s: %d events acknowledged, trace %r" % (wb, k, trace))
            j = len(trace)
            stored[wb] = j
            self.assertEqual(status, STAGES[j - 1][0] if j else 0,
                             "waybill %s: status after %d stored events" % (wb, j))

        # ---- inboxes: one notification for each key node reached, none twice
        def inbox(conn, b):
            wb, openid, family = b
            status, reply, raw = conn.send(
                "GET", "/admin/v1/apps/%s/users/%s/notifications" % (app.appid, openid),
                headers=admin_headers)
            self.assertEqual(status, 200, "inbox of %s: %r" % (openid, raw[:300]))
            self.assertIsNone(reply.get("next"), raw[:300])
            for n in reply["notifications"]:
                self.assertEqual((n["waybill_id"], n["openid"], n["appid"]),
                                 (wb, openid, app.appid), n)
            return [(n["type"], n["id"]) for n in reply["notifications"]]

        def check_inboxes(reached):
            found = {}
            for b, notes in zip(bindings, parallel(bindings, inbox, port)):
                wb, openid, family = b
                types = sorted(t for t, _ in notes)
                want = [] if family == "query" else sorted(
                    STAGES[s][2] for s in range(reached[wb]))
                self.assertEqual(types, want, "inbox of %s (%s binding of %s, %d stages "
                                 "stored, %d acknowledged)" % (openid, family, wb, reached[wb],
                                                               acked[wb]))
                found[openid] = dict(notes)
            return found

        before = check_inboxes(stored)

        # ---- every event again: stored ones are duplicates, no node is notified twice
        feed_headers = {"Authorization": "Bearer " + carrier_key}

        def repost(conn, wb):
            for s in range(len(STAGES)):
                status, reply, raw = conn.send("POST", FEED, {"events": [event(wb, s)]},
                                               feed_headers)
                self.assertEqual((status, reply.get("errcode"), reply.get("rejected")),
                                 (200, 0, []), raw[:300])
                want = "duplicates" if s < stored[wb] else "accepted"
                self.assertEqual(reply.get(want), 1, "re-post of stage %d of %s (%d stored): %r"
                                 % (s, wb, stored[wb], raw[:300]))

        parallel(waybill_ids, repost, port)
        after = check_inboxes({wb: len(STAGES) for wb in waybill_ids})
        for openid, notes in before.items():
            for kind, note_id in notes.items():
                self.assertEqual(after[openid].get(kind), note_id,
                                 "%s's %s notification changed after the re-post"
                                 % (openid, kind))
        self.finish()


if __name__ == "__main__":
    unittest.main()
