"""SPEC §5.1–§5.3, §4.2, §8: the carrier feed POST /carrier/v1/events — carrier-key auth, body
limits (HTTP 400 / 47001, nothing stored), per-event rejects by index, idempotency by
(carrier, event_id), the action_type → status mapping, explicit status, ownership by the first
reporting carrier, signed never going back, delivery_info, and a property test: random
permutations, duplications and batch splits of event lists always end in the in-order state.
Runs outside the sandbox (system clock) and, for the feed cases, inside it too."""

import json
import os
import random
import secrets
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, QUERY_TRACE, TRACE, ServerTest, bind_body,
                     run_concurrently, sandbox_waybill, sf_waybill)

FEED = "/carrier/v1/events"
MAPPING = {100001: 1, 100002: 1, 100003: 1, 200001: 2, 300002: 3, 300003: 4, 300004: 5,
           400001: 5, 400002: 5}
SF = {"delivery_id": "SF", "delivery_name": "顺丰速运"}
ZT = {"delivery_id": "ZT", "delivery_name": "中通快递"}


def plain_waybill(prefix="NP"):
    """A waybill no registered pattern matches."""
    return prefix + secrets.token_hex(8)


def in_order_status(events):
    """SPEC §5.2 over (action_time, status) pairs in the order they happened."""
    status = 0
    for _, st in sorted(events):
        if status in (4, 6) and st not in (4, 6):
            continue
        status = st
    return status


class FeedBase(ServerTest):
    """Carriers SF (pattern ^SF[0-9]{12}$), YT (^YT[0-9]{13}$) and ZT (no pattern)."""

    @classmethod
    def class_setup(cls):
        cls.keys = {"SF": cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$"),
                    "YT": cls.srv.new_carrier("YT", "圆通速递", "^YT[0-9]{13}$"),
                    "ZT": cls.srv.new_carrier("ZT", "中通快递")}
        cls.app = cls.srv.new_app()

    # ---- helpers --------------------------------------------------------------------------

    def now(self):
        return self.srv.clock() if self.srv.sandbox else int(time.time())

    def at_second_start(self, fn, tries=4):
        """Runs fn(now) early in a second and again if the second changed meanwhile, so that a
        test of a one-second boundary is not fooled by the clock ticking."""
        for _ in range(tries):
            frac = time.time() % 1
            if frac > 0.4:
                time.sleep(1.01 - frac)
            t0 = int(time.time())
            result = fn(self.now())
            if int(time.time()) == t0:
                return result
        self.fail("could not run within one second")

    def post(self, carrier, body, headers=None):
        hdrs = {"Authorization": "Bearer " + self.keys[carrier]} if carrier else {}
        hdrs.update(headers or {})
        return self.srv.request("POST", FEED, body, hdrs)

    def feed(self, carrier, events):
        """Posts events; asserts HTTP 200 with the reply shape; returns the reply's JSON."""
        r = self.post(carrier, {"events": events})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.errcode, 0, r)
        self.assertEqual(r.errmsg, "ok", r)
        for k in ("accepted", "duplicates", "rejected"):
            self.assertIn(k, r.json, r)
        for x in r["rejected"]:
            self.assertEqual(x.get("errcode"), 47001, r)
            self.assertIsInstance(x.get("errmsg"), str, r)
            self.assertTrue(x["errmsg"], r)
        return r.json

    def assert_feed(self, carrier, events, accepted, duplicates=0, rejected=()):
        j = self.feed(carrier, events)
        # SPEC §5.3 does not order the rejected list: compare the indexes as a sorted list
        self.assertEqual((j["accepted"], j["duplicates"],
                          sorted(x["index"] for x in j["rejected"])),
                         (accepted, duplicates, sorted(rejected)), j)
        return j

    def view(self, waybill_id):
        """The admin view, or None for an unknown waybill."""
        r = self.srv.admin("GET", "/admin/v1/waybills/" + waybill_id)
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, r)
        return r.json

    def views(self, waybills):
        return {w: self.view(w) for w in waybills}

    def trace_of(self, waybill_id):
        v = self.view(waybill_id)
        return [(i["action_time"], i["action_type"], i["status"]) for i in v["trace"]]

    def user(self, app=None):
        return self.srv.new_user(app or self.app)

    def follow(self, waybill_id, path=FOLLOW, app=None, **over):
        app = app or self.app
        return self.call(path, bind_body(self.user(app), waybill_id, **over), app.token)

    def bound(self, waybill_id, path=FOLLOW, **over):
        r = self.follow(waybill_id, path, **over)
        self.assert_ok(r)
        return r["waybill_token"]

    def ev(self, event_id, waybill_id, at, **kw):
        e = {"event_id": event_id, "waybill_id": waybill_id, "action_time": at}
        e.update(kw)
        return e


class FeedCases:
    """The feed's cases; mixed into a production and a sandbox test class."""

    # ---- auth ---------------------------------------------------------------------------------

    def test_auth_required(self):
        wb, known = sf_waybill(), sf_waybill()
        self.assert_feed("SF", [self.ev("a0", known, self.now() - 10, status=1)], 1)
        before = self.view(known)
        body = {"events": [self.ev("a1", wb, self.now(), status=1),
                           self.ev("a2", known, self.now(), status=4)]}
        cases = [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer wrong-key"},
                 {"Authorization": "Basic " + self.keys["SF"]},
                 {"Authorization": self.keys["SF"]},
                 {"Authorization": "Bearer " + self.srv.admin_key},
                 {"Authorization": "Bearer " + self.keys["SF"] + "x"}]
        for hdrs in cases:
            with self.subTest(headers=hdrs):
                r = self.srv.request("POST", FEED, body, hdrs)
                self.assertEqual(r.status, 401, r)
        # a bad body with a bad key: still 401
        r = self.srv.request("POST", FEED, b"not json", {"Authorization": "Bearer nope"})
        self.assertEqual(r.status, 401, r)
        self.assertIsNone(self.view(wb), "nothing stored")
        self.assertEqual(self.view(known), before, "nothing changed")
        self.assert_feed("SF", body["events"], 2)

    def test_disabled_carrier(self):
        did = "DX" + secrets.token_hex(3).upper()
        key = self.srv.new_carrier(did, "Disabled Express")
        self.keys[did] = key
        wb = plain_waybill()
        self.assert_feed(did, [self.ev("d0", wb, self.now() - 100, status=1)], 1)
        before = self.view(wb)
        self.srv.admin_ok("PATCH", "/admin/v1/carriers/" + did, {"enabled": False},
                          statuses=(200,))
        r = self.post(did, {"events": [self.ev("d1", wb, self.now(), status=3)]})
        self.assertEqual(r.status, 401, r)
        self.assertEqual(self.view(wb), before)
        self.srv.admin_ok("PATCH", "/admin/v1/carriers/" + did, {"enabled": True},
                          statuses=(200,))
        self.assert_feed(did, [self.ev("d1", wb, self.now(), status=3)], 1)
        self.assertEqual(self.view(wb)["status"], 3)

    # ---- bodies that are not a feed: HTTP 400, 47001, nothing stored ---------------------------

    def test_bad_bodies(self):
        wb, known = sf_waybill(), sf_waybill()
        self.assert_feed("SF", [self.ev("b0", known, self.now() - 10, status=1)], 1)
        before = self.view(known)
        good = self.ev("b1", wb, self.now(), status=1)
        good_text = json.dumps(good)
        bodies = {
            "empty": b"",
            "not JSON": ('{"events":[' + good_text).encode(),
            "text": b"hello",
            "array": ("[" + good_text + "]").encode(),
            "no events": {"other": [good]},
            "events null": {"events": None},
            "events object": {"events": good},
            "events string": {"events": "[]"},
            "duplicate keys": ('{"events":[' + good_text + '],"events":[]}').encode(),
            "invalid UTF-8": ('{"events":[' + good_text[:-1] + ',"action_msg":"').encode()
            + b'\xff\xfe"}]}',
            "1001 events": {"events": [good] + [self.ev("b%d" % i, known if i % 2 else wb,
                                                        self.now(), status=2)
                                                for i in range(2, 1002)]},
        }
        for name, body in bodies.items():
            with self.subTest(body=name):
                r = self.post("SF", body)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.errcode, 47001, r)
                self.assertIsInstance(r.errmsg, str, r)
                self.assertIsNone(self.view(wb), "nothing stored, not even good events")
                self.assertEqual(self.view(known), before, "nothing changed")
        self.assert_feed("SF", [good], 1)

    def test_1000_events(self):
        wbs = [sf_waybill() for _ in range(4)]
        now = self.now()
        events = [self.ev("m%d" % i, wbs[i % 4], now - 5000 + i, status=1 + i % 3)
                  for i in range(1000)]
        self.assert_feed("SF", events, 1000)
        v = self.view(wbs[0])
        self.assertEqual(len(v["trace"]), 250)
        self.assertEqual(v["status"], in_order_status(
            [(e["action_time"], e["status"]) for e in events if e["waybill_id"] == wbs[0]]))

    def test_body_limits(self):
        """The feed takes bodies up to 1 MiB (not the 64 KiB of the WeChat endpoints); larger
        ones get HTTP 413 and nothing is stored."""
        wbs = [sf_waybill() for _ in range(2)]
        now = self.now()
        msg = "运" * 256
        events = [self.ev("big-%d" % i, wbs[i % 2], now - 2000 + i, status=2, action_msg=msg)
                  for i in range(1000)]
        size = len(json.dumps({"events": events}, ensure_ascii=False).encode())
        self.assertGreater(size, 700 * 1024)
        self.assertLess(size, 1024 * 1024)
        self.assert_feed("SF", events, 1000)
        big = sf_waybill()
        pad = "x" * (1024 * 1024)
        r = self.post("SF", {"events": [self.ev("huge", big, now, status=1)], "pad": pad})
        self.assertEqual(r.status, 413, r)
        self.assertIsNone(self.view(big))

    def test_empty_events(self):
        self.assert_feed("SF", [], 0)

    # ---- per-event rejects ------------------------------------------------------------------

    def test_per_event_rejects(self):
        now = self.now()
        w = sf_waybill()
        theirs = "YT" + "".join(str(secrets.randbelow(10)) for _ in range(13))
        self.assert_feed("SF", [self.ev("p-setup", w, now - 600, action_type=200001)], 1)
        self.assert_feed("YT", [self.ev("p-theirs", theirs, now - 600, status=2)], 1)
        fresh = sf_waybill()
        untouched = [sf_waybill() for _ in range(9)]
        before = self.views([w, theirs])
        batch = [
            self.ev("p0", w, now - 300, status=3),                              # 0 good
            {"waybill_id": untouched[0], "action_time": now, "status": 1},     # 1 no event_id
            {"event_id": "p2", "action_time": now, "status": 1},               # 2 no waybill_id
            {"event_id": "p3", "waybill_id": untouched[1], "status": 1},       # 3 no action_time
            self.ev("p4", untouched[2], now),                                  # 4 no status/type
            self.ev("p5", untouched[3], now, status=0),                        # 5 status 0
            self.ev("p6", untouched[4], now, status=7),                        # 6 status 7
            self.ev("p7", untouched[5], now, action_type=123456),              # 7 unknown type
            self.ev("p8", untouched[6], now + 7200, status=1),                 # 8 too far ahead
            self.ev("p9", theirs, now - 100, status=4),                        # 9 YT's waybill
            self.ev("p10", fresh, now - 100, status=1),                        # 10 good
            self.ev("p11", w, "soon", status=1),                               # 11 bad time
            self.ev("p12", untouched[7], now, status=5, receiver_phone_tail="12a4"),  # 12 tail
            "not an object",                                                   # 13
            self.ev("p14", "bad waybill!", now, status=1),                     # 14
            self.ev("p15", w, now - 200, status=2, action_type=200001),        # 15 good
        ]
        self.assert_feed("SF", batch, 3, 0, [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14])
        self.assertEqual(self.view(theirs), before[theirs], "another carrier's waybill")
        v = self.view(w)
        self.assertEqual(v["status"], 2, v)
        self.assertEqual([(i["action_time"], i["status"]) for i in v["trace"]],
                         [(now - 600, 2), (now - 300, 3), (now - 200, 2)], v)
        self.assertEqual(v["owner"], "SF")
        self.assertEqual(self.view(fresh)["status"], 1)
        for u in untouched:
            self.assertIsNone(self.view(u), u)
        # a rejected event's id was not used up
        self.assert_feed("SF", [self.ev("p5", untouched[3], now, status=5)], 1)

    def test_action_time_slack(self):
        def attempt(now):
            w1, w2 = sf_waybill(), sf_waybill()
            r = self.feed("SF", [self.ev("t0-" + w1, w1, now + 3600, status=1),
                                 self.ev("t1-" + w2, w2, now + 3601, status=1)])
            return r, w1, w2

        r, w1, w2 = self.at_second_start(attempt)
        self.assertEqual((r["accepted"], [x["index"] for x in r["rejected"]]), (1, [1]), r)
        self.assertEqual(self.view(w1)["status"], 1)
        self.assertIsNone(self.view(w2))

    def test_another_carriers_waybill(self):
        now = self.now()
        w = sf_waybill()
        self.assert_feed("SF", [self.ev("o1", w, now - 50, status=1)], 1)
        before = self.view(w)
        for carrier in ("YT", "ZT"):
            self.assert_feed(carrier, [self.ev("o2", w, now - 10, status=4),
                                       self.ev("o3", w, now - 5, status=3)], 0, 0, [0, 1])
            self.assertEqual(self.view(w), before)
        # the rejected ids were not used up, and one carrier's ids are not another's
        own = plain_waybill()
        self.assert_feed("ZT", [self.ev("o2", own, now, status=2),
                                self.ev("o1", own, now + 1, status=3)], 2)
        self.assertEqual(self.view(own)["owner"], "ZT")

    def test_first_reporting_carrier_owns(self):
        """A waybill matching SF's pattern, reported first by ZT, is ZT's."""
        now = self.now()
        w = sf_waybill()
        tok = self.bound(w)
        self.assertEqual(self.view(w)["owner"], None)
        self.assert_feed("ZT", [self.ev("f1", w, now - 30, status=2)], 1)
        self.assert_feed("SF", [self.ev("f2", w, now - 20, status=3)], 0, 0, [0])
        v = self.view(w)
        self.assertEqual((v["owner"], v["status"]), ("ZT", 2), v)
        r = self.query(self.app, tok)
        self.assert_ok(r)
        self.assertEqual(r.get("delivery_info"), ZT, r)
        # naming a carrier that contradicts the owner: 47001 (SPEC §4.1)
        self.assert_err(self.follow(w, delivery_id="SF"), 47001)
        self.assert_ok(self.follow(w, delivery_id="ZT"))

    def test_concurrent_first_reports(self):
        """Carriers reporting a new waybill at once: exactly one owns it."""
        ids = ["SF", "YT", "ZT"]
        for k in range(3):
            did = "C%d%s" % (k, secrets.token_hex(2).upper())
            self.keys[did] = self.srv.new_carrier(did, "Concurrent %d" % k)
            ids.append(did)
        for _ in range(3):
            w = plain_waybill("CC")
            now = self.now()
            replies = run_concurrently([
                (lambda c=c: self.feed(c, [self.ev("cc-" + w, w, now - 5, status=2)]))
                for c in ids])
            winners = [c for c, j in zip(ids, replies) if j["accepted"] == 1]
            self.assertEqual(len(winners), 1, replies)
            for c, j in zip(ids, replies):
                if c not in winners:
                    self.assertEqual([x["index"] for x in j["rejected"]], [0], j)
            v = self.view(w)
            self.assertEqual((v["owner"], len(v["trace"])), (winners[0], 1), v)

    def test_concurrent_duplicates(self):
        """The same event sent at once on several connections is stored once."""
        w = sf_waybill()
        now = self.now()
        batch = [self.ev("cd-%d" % i, w, now - 100 + i, status=1 + i % 3) for i in range(20)]
        replies = run_concurrently([lambda: self.feed("SF", batch) for _ in range(6)])
        self.assertEqual(sum(j["accepted"] for j in replies), 20, replies)
        self.assertEqual(sum(j["duplicates"] for j in replies), 100, replies)
        self.assertEqual(len(self.view(w)["trace"]), 20)

    # ---- duplicates -------------------------------------------------------------------------

    def test_duplicates_whatever_their_content(self):
        now = self.now()
        w, other = sf_waybill(), sf_waybill()
        self.assert_feed("SF", [self.ev("dup1", w, now - 100, action_type=100001,
                                        action_msg="first")], 1)
        before = self.view(w)
        variants = [self.ev("dup1", w, now - 100, action_type=100001, action_msg="first"),
                    self.ev("dup1", w, now - 50, status=4),
                    self.ev("dup1", other, now, status=3),
                    self.ev("dup1", w, now, action_type=300003, receiver_phone_tail="1111")]
        self.assert_feed("SF", variants, 0, 4)
        self.assertEqual(self.view(w), before)
        self.assertIsNone(self.view(other))
        # within one batch: the first wins, the rest are duplicates
        self.assert_feed("SF", [self.ev("dup2", w, now - 40, status=2),
                                self.ev("dup2", w, now - 30, status=4),
                                self.ev("dup2", w, now - 40, status=2)], 1, 2)
        v = self.view(w)
        self.assertEqual(v["status"], 2, v)
        self.assertEqual(len(v["trace"]), 2, v)
        # the same event_id from another carrier is another event
        mine = plain_waybill()
        self.assert_feed("ZT", [self.ev("dup1", mine, now, status=1)], 1)

    # ---- status -----------------------------------------------------------------------------

    def test_action_type_mapping(self):
        now = self.now()
        for code, status in MAPPING.items():
            with self.subTest(action_type=code):
                w = sf_waybill()
                tok = self.bound(w)
                self.assert_feed("SF", [self.ev("map-%d" % code, w, now - 10,
                                                action_type=code)], 1)
                v = self.view(w)
                self.assertEqual(v["status"], status, v)
                self.assertEqual(v["trace"][0]["action_type"], code, v)
                r = self.query(self.app, tok)
                self.assert_ok(r)
                self.assertEqual(r["waybill_info"]["status"], status, r)
                self.assertEqual([i["action_type"] for i in r["path_item_list"]], [code], r)

    def test_explicit_status_wins(self):
        now = self.now()
        cases = [(300003, 6, 6), (100001, 3, 3), (400002, 2, 2), (999999, 2, 2),
                 (300002, 1, 1)]
        for code, status, want in cases:
            with self.subTest(action_type=code, status=status):
                w = sf_waybill()
                self.assert_feed("SF", [self.ev("x-%d-%d" % (code, status), w, now - 5,
                                                action_type=code, status=status)], 1)
                v = self.view(w)
                self.assertEqual(v["status"], want, v)
                self.assertEqual(v["trace"][0]["action_type"], code, v)

    def test_without_action_type_trace_shows_0(self):
        now = self.now()
        w = sf_waybill()
        tok = self.bound(w, path=TRACE)
        self.assert_feed("SF", [self.ev("n1", w, now - 20, status=1, action_msg="收件"),
                                self.ev("n2", w, now - 10, status=3)], 2)
        r = self.query(self.app, tok, QUERY_TRACE)
        self.assert_ok(r)
        self.assertEqual(r["waybill_info"]["status"], 3, r)
        self.assertEqual(r["path_item_num"], 2, r)
        self.assertEqual([(i["action_time"], i["action_type"], i["action_msg"])
                          for i in r["path_item_list"]],
                         [(now - 20, 0, "收件"), (now - 10, 0, "")], r)
        self.assertEqual([i["action_type"] for i in self.view(w)["trace"]], [0, 0])

    def test_signed_never_goes_back(self):
        now = self.now()
        w = sf_waybill()
        tok = self.bound(w)
        t = now - 1000
        steps = [(self.ev("s1", w, t, status=4), 4),
                 (self.ev("s2", w, t + 10, status=2), 4),         # newer, not signed
                 (self.ev("s3", w, t - 10, action_type=300002), 4),  # older, late
                 (self.ev("s4", w, t + 20, action_type=400002), 4),  # abnormal after signed
                 (self.ev("s5", w, t + 30, status=6), 6),         # newer signed
                 (self.ev("s6", w, t + 5, status=4), 6),          # older signed
                 (self.ev("s7", w, t + 40, action_type=100001), 6)]
        for event, want in steps:
            self.assert_feed("SF", [event], 1)
            v = self.view(w)
            self.assertEqual(v["status"], want, "after %r: %r" % (event, v))
            r = self.query(self.app, tok)
            self.assertEqual(r["waybill_info"]["status"], want, r)
        self.assertEqual(len(self.view(w)["trace"]), 7, "every event is in the trace")
        times = [i["action_time"] for i in self.query(self.app, tok)["path_item_list"]]
        self.assertEqual(times, sorted(times), "oldest first")

    def test_abnormal_is_not_sticky(self):
        now = self.now()
        w = sf_waybill()
        self.assert_feed("SF", [self.ev("ab1", w, now - 100, action_type=400001)], 1)
        self.assertEqual(self.view(w)["status"], 5)
        self.assert_feed("SF", [self.ev("ab2", w, now - 50, action_type=300002)], 1)
        self.assertEqual(self.view(w)["status"], 3)
        self.assert_feed("SF", [self.ev("ab3", w, now - 200, action_type=100001)], 1)
        self.assertEqual(self.view(w)["status"], 3)

    # ---- delivery_info ----------------------------------------------------------------------

    def test_delivery_info_by_pattern(self):
        w = sf_waybill()
        tok = self.bound(w)
        r = self.query(self.app, tok)
        self.assert_ok(r)
        self.assertEqual(r.get("delivery_info"), SF, "single pattern match: %r" % r)

    def test_delivery_info_named_at_bind(self):
        w = plain_waybill()
        self.assert_err(self.follow(w), 931023)
        tok = self.bound(w, delivery_id="ZT")
        r = self.query(self.app, tok)
        self.assertEqual(r.get("delivery_info"), ZT, r)

    def test_delivery_info_from_owner(self):
        w = plain_waybill()
        self.assert_err(self.follow(w, path=TRACE), 931023)
        self.assert_feed("ZT", [self.ev("own1", w, self.now() - 1, status=1)], 1)
        tok = self.bound(w, path=TRACE)
        r = self.query(self.app, tok, QUERY_TRACE)
        self.assertEqual(r.get("delivery_info"), ZT, r)
        self.assertEqual(r["waybill_info"]["status"], 1, "a new binding starts at the current "
                         "status: %r" % r)

    def test_owner_over_named_carrier(self):
        """Named SF at bind, then ZT reports first: ZT owns it and is the carrier shown."""
        w = plain_waybill()
        tok = self.bound(w, delivery_id="SF")
        self.assertEqual(self.query(self.app, tok).get("delivery_info"), SF)
        self.assert_feed("ZT", [self.ev("on1", w, self.now() - 1, status=2)], 1)
        self.assertEqual(self.query(self.app, tok).get("delivery_info"), ZT)

    def test_no_delivery_info_while_ambiguous(self):
        prefix = "MM" + secrets.token_hex(2).upper()
        ids = ["A" + secrets.token_hex(3).upper(), "B" + secrets.token_hex(3).upper()]
        for i, did in enumerate(ids):
            self.keys[did] = self.srv.new_carrier(did, "Ambiguous %d" % i,
                                                  "^%s[0-9]+$" % prefix)
        w = prefix + "1234567890"
        tok = self.bound(w)
        r = self.query(self.app, tok)
        self.assert_ok(r)
        self.assertNotIn("delivery_info", r.json, "two patterns match: carrier unknown %r" % r)
        self.assert_feed(ids[1], [self.ev("amb1", w, self.now() - 1, status=1)], 1)
        r = self.query(self.app, tok)
        self.assertEqual(r.get("delivery_info"),
                         {"delivery_id": ids[1], "delivery_name": "Ambiguous 1"}, r)

    # ---- property: any arrival order ends in the in-order state ------------------------------

    def test_property_any_order(self):
        rng = random.Random(20240531)
        now = self.now()
        for trial in range(40):
            lists = {}
            for _ in range(4):
                w = sf_waybill()
                n = rng.randint(1, 7)
                times = rng.sample(range(now - 86400, now - 60), n)
                evs = []
                for k, t in enumerate(times):
                    e = {"event_id": "%s-%d" % (w, k), "waybill_id": w, "action_time": t,
                         "action_msg": "m%d" % k}
                    kind = rng.randrange(3)
                    st = rng.randint(1, 6)
                    if kind == 0:
                        e["status"] = st
                    elif kind == 1:
                        code = rng.choice(list(MAPPING))
                        e["action_type"] = code
                        st = MAPPING[code]
                    else:
                        e["action_type"] = rng.choice(list(MAPPING))
                        e["status"] = st
                    evs.append((e, st))
                lists[w] = evs
            # the control: each list in order, one event a request, to a twin waybill
            expected = {}
            for w, evs in lists.items():
                twin = sf_waybill()
                for e, _ in sorted(evs, key=lambda x: x[0]["action_time"]):
                    e2 = dict(e, waybill_id=twin, event_id="twin-" + e["event_id"])
                    self.assert_feed("SF", [e2], 1)
                tv = self.view(twin)
                expected[w] = (in_order_status([(e["action_time"], s) for e, s in evs]),
                               [(i["action_time"], i["action_type"], i["status"],
                                 i["action_msg"]) for i in tv["trace"]])
                self.assertEqual(tv["status"], expected[w][0], "in-order arrival: %r" % tv)
            # the arrivals: all lists mixed, shuffled, some events repeated (an altered repeat
            # only after the original), split into random batches
            arrivals = [e for evs in lists.values() for e, _ in evs]
            rng.shuffle(arrivals)
            out = []
            for e in arrivals:
                out.append(e)
                if rng.random() < 0.3:
                    out.insert(rng.randrange(len(out) + 1), dict(e))
                if rng.random() < 0.2:
                    out.append(dict(e, status=rng.randint(1, 6), action_time=e["action_time"]
                                    + rng.randint(-500, 500), action_msg="altered"))
            unique = len(arrivals)
            accepted = duplicates = 0
            i = 0
            while i < len(out):
                size = rng.randint(1, 6)
                j = self.feed("SF", out[i:i + size])
                self.assertEqual(j["rejected"], [], j)
                accepted += j["accepted"]
                duplicates += j["duplicates"]
                i += size
            self.assertEqual((accepted, duplicates), (unique, len(out) - unique))
            for w in lists:
                v = self.view(w)
                got = (v["status"], [(i["action_time"], i["action_type"], i["status"],
                                      i["action_msg"]) for i in v["trace"]])
                self.assertEqual(got, expected[w], "trial %d, %s: arrivals %r" % (
                    trial, w, [e for e in out if e["waybill_id"] == w]))


class FeedProduction(FeedCases, FeedBase):
    sandbox = False

    def test_sandbox_endpoints_are_404(self):
        for method, path, body in (("GET", "/admin/v1/sandbox/clock", None),
                                   ("POST", "/admin/v1/sandbox/clock", {"advance": 60}),
                                   ("POST", "/admin/v1/sandbox/events", {"events": []})):
            with self.subTest(method=method, path=path):
                r = self.srv.admin(method, path, body)
                self.assertEqual(r.status, 404, r)

    def test_test_waybills_not_recognised(self):
        for path in (FOLLOW, TRACE):
            for d in "0789":
                with self.subTest(path=path, digit=d):
                    self.assert_err(self.follow(sandbox_waybill(d), path), 931023)

    def test_no_sandbox_carrier(self):
        w = sandbox_waybill("0")
        r = self.follow(w, delivery_id="WXTEST")
        self.assert_err(r, 47001)
        # a real carrier may report such a number; then it is known, as any reported waybill
        self.assert_feed("ZT", [self.ev("wx1", w, self.now() - 1, status=1)], 1)
        tok = self.bound(w)
        self.assertEqual(self.query(self.app, tok).get("delivery_info"), ZT)


class FeedSandbox(FeedCases, FeedBase):
    sandbox = True

    def test_feed_follows_the_sandbox_clock(self):
        """Outside the test carrier too, the feed's 1 h slack counts on the sandbox clock."""
        self.srv.advance(10 * 86400)
        self.app.token = None  # access tokens live 7200 s on the sandbox clock

        def attempt(now):
            w1, w2 = sf_waybill(), sf_waybill()
            r = self.feed("SF", [self.ev("c0-" + w1, w1, now + 3600, status=1),
                                 self.ev("c1-" + w2, w2, now + 3601, status=1)])
            return r

        r = self.at_second_start(attempt)
        self.assertEqual((r["accepted"], [x["index"] for x in r["rejected"]]), (1, [1]), r)


if __name__ == "__main__":
    unittest.main()
