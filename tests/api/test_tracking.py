"""SPEC §5.2, §5.3, §8, §4.2, §9.2: waybill tracking in the sandbox — every test carrier script's
whole timeline through the HTTP API (status and trace after each clock step, just before and just
after each event), the phone-tail rule, delivery_info, sandbox event injection, and the operator's
GET /admin/v1/waybills/ID."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, QUERY_FOLLOW, QUERY_TRACE, TRACE, ServerTest, new_openid,
                     sandbox_waybill, sf_waybill, store_blobs)

HOUR = 3600
STEPS = (1 * HOUR, 6 * HOUR, 24 * HOUR, 26 * HOUR)
# How far before a step "just before" is: the sandbox clock runs at real speed while we check.
MARGIN = 3
MATCH_PHONE = "13900130000"   # ends in 0000: digit 9's events match it
OTHER_PHONE = "13800138000"   # ends in 8000

SANDBOX_CARRIER = {"delivery_id": "WXTEST", "delivery_name": "Sandbox Express"}

# (action_time offset, action_type, status, delivered at) of each script (SPEC §8)
NORMAL = [(1 * HOUR, 100001, 1, 1 * HOUR), (6 * HOUR, 200001, 2, 6 * HOUR),
          (24 * HOUR, 300002, 3, 24 * HOUR), (26 * HOUR, 300003, 4, 26 * HOUR)]
SCRIPTS = {d: NORMAL for d in "012349"}
SCRIPTS["5"] = NORMAL[:3] + [(26 * HOUR, 400002, 5, 26 * HOUR)]
SCRIPTS["6"] = NORMAL[:3] + [(26 * HOUR, 300003, 6, 26 * HOUR)]
SCRIPTS["7"] = []
SCRIPTS["8"] = [(1 * HOUR, 100001, 1, 6 * HOUR), (6 * HOUR, 200001, 2, 6 * HOUR),
                (24 * HOUR, 300002, 3, 26 * HOUR), (26 * HOUR, 300003, 4, 26 * HOUR)]


def in_order_status(events):
    """SPEC §5.2 over events (action_time, status) in the order they happened."""
    status = 0
    for _, st in sorted(events):
        if status in (4, 6) and st not in (4, 6):
            continue
        status = st
    return status


def expected(digit, elapsed):
    """(status, [(action_time offset, action_type)] oldest first) of a script, elapsed seconds
    after its start."""
    got = [e for e in SCRIPTS[digit] if e[3] <= elapsed]
    return (in_order_status([(e[0], e[2]) for e in got]),
            [(e[0], e[1]) for e in sorted(got)])


def refresh(*apps):
    """Access tokens live 7200 s on the sandbox clock: fetch new ones after a move."""
    for app in apps:
        app.token = None


class TrackingBase(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.other = cls.srv.new_app()

    def waybill_view(self, waybill_id):
        r = self.srv.admin("GET", "/admin/v1/waybills/" + waybill_id)
        self.assertEqual(r.status, 200, r)
        self.assertIsInstance(r.json, dict, r)
        return r.json

    def created_at(self, waybill_id):
        return self.waybill_view(waybill_id)["created_at"]

    def assert_trace_reply(self, r, start, status, trace, carrier=SANDBOX_CARRIER, what=""):
        """A query reply with status, the trace [(offset, action_type)] oldest first, and
        delivery_info."""
        self.assert_ok(r)
        self.assertEqual(r["waybill_info"]["status"], status, "%s: %r" % (what, r))
        items = r.get("path_item_list")
        self.assertIsInstance(items, list, "%s: %r" % (what, r))
        self.assertEqual(r.get("path_item_num"), len(items), "%s: %r" % (what, r))
        got = [(i["action_time"] - start, i["action_type"]) for i in items]
        self.assertEqual(got, trace, "%s: trace (offset, action_type), oldest first: %r"
                         % (what, r))
        for i in items:
            self.assertIsInstance(i.get("action_msg"), str, r)
        if carrier is None:
            self.assertNotIn("delivery_info", r.json, "%s: %r" % (what, r))
        else:
            self.assertEqual(r.get("delivery_info"), carrier, "%s: %r" % (what, r))

    def assert_hidden(self, r, what=""):
        """A mismatched binding's reply: status 0, no trace, no delivery_info (SPEC §5.3)."""
        self.assert_ok(r)
        self.assertEqual(r["waybill_info"]["status"], 0, "%s: %r" % (what, r))
        self.assertEqual(r.get("path_item_num", 0), 0, "%s: %r" % (what, r))
        self.assertEqual(r.get("path_item_list", []), [], "%s: %r" % (what, r))
        self.assertNotIn("delivery_info", r.json, "%s: %r" % (what, r))


class ScriptTimelines(TrackingBase):
    """Each last digit's whole script: bind, then step the clock to just before and just after
    +1 h, +6 h, +24 h and +26 h, checking every binding's query reply and the admin view."""

    def test_every_digit(self):
        app, other = self.app, self.other
        bindings = []   # (label, app, token, waybill, query path, hidden after the 1st event)
        waybills = {}
        for d in "0123456789":
            wb = sandbox_waybill(d)
            waybills[d] = wb
            tok = self.bind(app, waybill_id=wb, receiver_phone=OTHER_PHONE)[0]
            bindings.append(("digit %s" % d, app, tok, wb, QUERY_FOLLOW, d == "9"))
        # digit 9: a binding whose phone ends in 0000 sees everything
        tok = self.bind(other, waybill_id=waybills["9"], receiver_phone=MATCH_PHONE)[0]
        bindings.append(("digit 9, phone 0000", other, tok, waybills["9"], QUERY_FOLLOW, False))
        # the query family, another app, same waybill as a message-family binding
        tok = self.bind(other, waybill_id=waybills["3"], path=TRACE)[0]
        bindings.append(("digit 3, query family", other, tok, waybills["3"], QUERY_TRACE, False))

        starts = {d: self.created_at(wb) for d, wb in waybills.items()}
        first, last = min(starts.values()), max(starts.values())
        self.assertLessEqual(last - first, 2, "binds took too long: %r" % starts)

        def check(label_time):
            now = self.srv.clock()
            refresh(app, other)
            for label, a, tok, wb, path, hide in bindings:
                d = wb[-1]
                start = starts[d]
                status, trace = expected(d, now - start)
                what = "%s at %s (+%d s)" % (label, label_time, now - start)
                r = self.query(a, tok, path)
                if hide and trace:
                    self.assert_hidden(r, what)
                else:
                    self.assert_trace_reply(r, start, status, trace, what=what)
                view = self.waybill_view(wb)
                self.assertEqual(view["status"], status, "%s: admin view %r" % (what, view))
                self.assertEqual(view["owner"], "WXTEST" if trace else None,
                                 "%s: owner %r" % (what, view))
                vt = [(i["action_time"] - start, i["action_type"]) for i in view["trace"]]
                self.assertEqual(vt, trace, "%s: admin trace %r" % (what, view))
                ids = [i["event_id"] for i in view["trace"]]
                self.assertEqual(len(ids), len(set(ids)), "%s: duplicates in trace" % what)

        check("bind")
        for step in STEPS:
            self.srv.set_clock(first + step - MARGIN)
            check("just before +%d h" % (step // HOUR))
            self.srv.set_clock(last + step)
            check("just after +%d h" % (step // HOUR))
        # nothing more happens afterwards
        self.srv.advance(48 * HOUR)
        check("+74 h")
        counts = {d: self.waybill_view(wb)["bindings"] for d, wb in waybills.items()}
        self.assertEqual(counts, {d: {"9": 2, "3": 2}.get(d, 1) for d in waybills}, counts)


class ScriptRules(TrackingBase):
    """When scripts start, what later binds see, and the phone tail of bindings made later."""

    def test_script_counts_from_first_bind(self):
        wb = sandbox_waybill("0")
        tok1 = self.bind(self.app, waybill_id=wb)[0]
        start = self.created_at(wb)
        self.srv.set_clock(start + 1800)
        refresh(self.app, self.other)
        tok2 = self.bind(self.other, waybill_id=wb)[0]
        self.assertEqual(self.created_at(wb), start)
        self.srv.set_clock(start + HOUR)
        refresh(self.app, self.other)
        for a, tok in ((self.app, tok1), (self.other, tok2)):
            self.assert_trace_reply(self.query(a, tok), start, 1, [(HOUR, 100001)],
                                    what="both bindings collected at +1 h of the first bind")

    def test_later_binding_starts_at_current_status(self):
        wb = sandbox_waybill("1")
        self.bind(self.app, waybill_id=wb)
        start = self.created_at(wb)
        self.srv.set_clock(start + 7 * HOUR)
        refresh(self.app, self.other)
        tok = self.bind(self.other, waybill_id=wb, path=TRACE)[0]
        self.assert_trace_reply(self.query(self.other, tok, QUERY_TRACE), start, 2,
                                [(HOUR, 100001), (6 * HOUR, 200001)], what="bound at +7 h")
        self.srv.set_clock(start + 26 * HOUR)
        refresh(self.app, self.other)
        status, trace = expected("1", 26 * HOUR)
        self.assert_trace_reply(self.query(self.other, tok, QUERY_TRACE), start, status, trace,
                                what="bound at +7 h, at +26 h")

    def test_same_token_while_live(self):
        wb = sandbox_waybill("2")
        openid = new_openid()
        tok = self.bind(self.app, openid=openid, waybill_id=wb)[0]
        start = self.created_at(wb)
        self.srv.set_clock(start + 25 * HOUR)
        refresh(self.app)
        self.assertEqual(self.bind(self.app, openid=openid, waybill_id=wb)[0], tok)

    def test_mismatch_from_the_first_tail(self):
        """Digit 9: a binding whose phone does not end in 0000 is hidden from the first event
        on and for good; one that does sees all."""
        wb = sandbox_waybill("9")
        bad = self.bind(self.app, waybill_id=wb, receiver_phone="+86 138-0013-8000")[0]
        good = self.bind(self.other, waybill_id=wb, receiver_phone="+86 139-0013-0000")[0]
        start = self.created_at(wb)
        # before the first event nothing is known to be wrong
        self.assert_trace_reply(self.query(self.app, bad), start, 0, [], what="before +1 h")
        self.srv.set_clock(start + HOUR)
        refresh(self.app, self.other)
        self.assert_hidden(self.query(self.app, bad), "mismatched at +1 h")
        self.assert_hidden(self.query(self.app, bad, QUERY_TRACE), "mismatched, query_trace")
        self.assert_trace_reply(self.query(self.other, good), start, 1, [(HOUR, 100001)],
                                what="matching at +1 h")
        self.srv.set_clock(start + 26 * HOUR)
        refresh(self.app, self.other)
        self.assert_hidden(self.query(self.app, bad), "mismatched at +26 h")
        status, trace = expected("9", 26 * HOUR)
        self.assert_trace_reply(self.query(self.other, good), start, status, trace,
                                what="matching at +26 h")
        self.assertEqual(self.waybill_view(wb)["status"], 4)

    def test_mismatch_of_a_binding_made_after_the_event(self):
        """A binding made after an event carrying receiver_phone_tail 0000 (digit 9's +1 h), with
        a phone that does not end in 0000, must not see that waybill (SPEC §5.3: someone else's
        parcel must not leak)."""
        wb = sandbox_waybill("9")
        self.bind(self.app, waybill_id=wb, receiver_phone=MATCH_PHONE)
        start = self.created_at(wb)
        self.srv.set_clock(start + 2 * HOUR)
        refresh(self.app, self.other)
        late = self.bind(self.other, waybill_id=wb, receiver_phone=OTHER_PHONE)[0]
        self.assert_hidden(self.query(self.other, late), "bound after the 0000 event")
        self.srv.set_clock(start + 7 * HOUR)
        refresh(self.other)
        self.assert_hidden(self.query(self.other, late), "bound after the 0000 event, +7 h")

    def test_mismatched_binding_is_not_valid(self):
        """A mismatched binding does not count against max_bindings (SPEC §5.3, §6.2)."""
        app = self.srv.new_app(max_bindings=1)
        openid = new_openid()
        wb = sandbox_waybill("9")
        self.bind(app, openid=openid, waybill_id=wb, receiver_phone=OTHER_PHONE)
        r = self.call(FOLLOW, {"openid": openid, "receiver_phone": OTHER_PHONE,
                               "waybill_id": sandbox_waybill("7"),
                               "goods_info": {"detail_list": [
                                   {"goods_name": "x", "goods_img_url": "www.qq.com/a.png"}]}},
                      app.token)
        self.assert_err(r, 9300513)
        self.srv.set_clock(self.created_at(wb) + HOUR)
        refresh(app)
        self.bind(app, openid=openid, waybill_id=sandbox_waybill("7"), receiver_phone=OTHER_PHONE)


class Privacy(TrackingBase):
    """Phones are kept only as a keyed hash plus the last 4 digits (SPEC §5.4, issue 3)."""

    def test_phones_not_stored(self):
        wb = sandbox_waybill("9")
        self.bind(self.app, waybill_id=wb, receiver_phone="+86 139-1234-5678",
                  sender_phone="137 8765 4321")
        self.bind(self.other, waybill_id=wb, receiver_phone="15098760000",
                  transmitter_phone="18601239999")
        self.srv.set_clock(self.created_at(wb) + HOUR)
        needles = [b"912345678", b"787654321", b"1509876", b"860123"]
        for name, data in store_blobs(self.srv.data_dir):  # with a dump of a PG database
            for needle in needles:
                self.assertNotIn(needle, data, "a phone number in %s" % name)


class Injection(TrackingBase):
    """POST /admin/v1/sandbox/events: a carrier-feed body under the admin key (SPEC §8)."""

    @classmethod
    def class_setup(cls):
        super().class_setup()
        cls.sf_key = cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")

    def inject(self, events, key=None):
        return self.srv.admin("POST", "/admin/v1/sandbox/events", {"events": events}, key=key)

    def test_key_required(self):
        wb = sandbox_waybill("7")
        self.bind(self.app, waybill_id=wb)
        ev = [{"event_id": "k1", "waybill_id": wb, "action_time": self.srv.clock(), "status": 1}]
        for key in ("", "wrong"):
            r = self.srv.request("POST", "/admin/v1/sandbox/events", {"events": ev},
                                 {"Authorization": "Bearer " + key} if key else None)
            self.assertEqual(r.status, 401, r)
        r = self.srv.request("POST", "/admin/v1/sandbox/events", {"events": ev},
                             {"Authorization": "Bearer " + self.sf_key})
        self.assertEqual(r.status, 401, "a carrier key is not the admin key: %r" % r)
        self.assertEqual(self.waybill_view(wb)["status"], 0)

    def test_test_waybill_as_sandbox_carrier(self):
        wb = sandbox_waybill("7")
        tok = self.bind(self.app, waybill_id=wb)[0]
        now = self.srv.clock()
        r = self.inject([{"event_id": "i1", "waybill_id": wb, "action_time": now - 60,
                          "action_type": 300002, "action_msg": "注入"}])
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r["accepted"], r["duplicates"], r["rejected"]), (1, 0, []), r)
        view = self.waybill_view(wb)
        self.assertEqual((view["status"], view["owner"]), (3, "WXTEST"), view)
        q = self.query(self.app, tok)
        self.assert_trace_reply(q, now - 60, 3, [(0, 300002)])
        self.assertEqual(q["path_item_list"][0]["action_msg"], "注入")
        r = self.inject([{"event_id": "i1", "waybill_id": wb, "action_time": now,
                          "status": 4}])
        self.assertEqual((r["accepted"], r["duplicates"]), (0, 1), r)
        self.assertEqual(self.waybill_view(wb)["status"], 3)

    def test_other_waybills_as_their_carrier(self):
        wb = sf_waybill()
        tok = self.bind(self.app, waybill_id=wb)[0]
        now = self.srv.clock()
        r = self.inject([{"event_id": "s1", "waybill_id": wb, "action_time": now, "status": 2},
                         {"event_id": "s2", "waybill_id": "ZZ-not-known-1", "action_time": now,
                          "status": 2}])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r["accepted"], 1, r)
        self.assertEqual([x["index"] for x in r["rejected"]], [1], r)
        self.assertEqual(r["rejected"][0]["errcode"], 47001, r)
        self.assertEqual(self.waybill_view(wb)["owner"], "SF")
        self.assert_trace_reply(self.query(self.app, tok), now, 2, [(0, 0)],
                                carrier={"delivery_id": "SF", "delivery_name": "顺丰速运"})
        r = self.srv.admin("GET", "/admin/v1/waybills/ZZ-not-known-1")
        self.assertEqual(r.status, 404, r)

    def test_bad_body(self):
        for body in (b"not json", {"events": {}}, {}, {"events": [{}] * 1001}):
            r = self.srv.admin("POST", "/admin/v1/sandbox/events", body)
            self.assertEqual(r.status, 400, r)
            self.assertEqual(r.errcode, 47001, r)


class AdminWaybillView(TrackingBase):
    """GET /admin/v1/waybills/WAYBILL_ID: status, owner, trace, bindings (SPEC §9.2)."""

    def test_view(self):
        wb = sandbox_waybill("4")
        self.bind(self.app, waybill_id=wb)
        view = self.waybill_view(wb)
        self.assertEqual(view.get("waybill_id"), wb, view)
        self.assertEqual((view["status"], view["owner"], view["trace"], view["bindings"]),
                         (0, None, [], 1), view)
        self.bind(self.other, waybill_id=wb)
        self.bind(self.other, waybill_id=wb, path=TRACE)
        self.assertEqual(self.waybill_view(wb)["bindings"], 3)
        start = view["created_at"]
        self.srv.set_clock(start + 24 * HOUR)
        view = self.waybill_view(wb)
        self.assertEqual((view["status"], view["owner"], view["bindings"]), (3, "WXTEST", 3),
                         view)
        self.assertEqual([(i["action_time"] - start, i["action_type"], i["status"])
                          for i in view["trace"]],
                         [(HOUR, 100001, 1), (6 * HOUR, 200001, 2), (24 * HOUR, 300002, 3)],
                         view)
        for item in view["trace"]:
            self.assertIsInstance(item["action_msg"], str)

    def test_unknown_and_auth(self):
        r = self.srv.admin("GET", "/admin/v1/waybills/" + sf_waybill())
        self.assertEqual(r.status, 404, r)
        r = self.srv.admin("GET", "/admin/v1/waybills/" + sandbox_waybill("3"))
        self.assertEqual(r.status, 404, "never bound, never reported: %r" % r)
        wb = sandbox_waybill("3")
        self.bind(self.app, waybill_id=wb)
        for hdrs in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"},
                     {"Authorization": "Bearer "}):
            r = self.srv.request("GET", "/admin/v1/waybills/" + wb, headers=hdrs)
            self.assertEqual(r.status, 401, "%r: %r" % (hdrs, r))
            self.assertNotIn(wb.encode(), r.raw or b"", r)


if __name__ == "__main__":
    unittest.main()
