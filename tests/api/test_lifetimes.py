"""SPEC §5.4 (with §4.1, §5.3, §8): binding lifetimes on the sandbox clock with small day counts
(--expire-unbound-days 1, --expire-stalled-days 2, --expire-final-days 3, --purge-days 4): a live
binding returns the same token, an expired one lets a new follow make a new token, a purged one
answers 9300559; a mismatched binding expires 7 days after the mismatch; expired and mismatched
bindings are not valid (max_bindings). Housekeeping runs inside the clock POST, so every check
is made right after the move."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, QUERY_FOLLOW, QUERY_TRACE, TRACE, UPDATE_FOLLOW, ServerTest,
                     bind_body, goods, new_openid, sandbox_waybill)

DAY = 86400
HOUR = 3600
UNBOUND, STALLED, FINAL, PURGE = 1 * DAY, 2 * DAY, 3 * DAY, 4 * DAY
MISMATCH = 7 * DAY
# "Just before" a deadline: the sandbox clock runs at real speed while we check.
MARGIN = 3


class Lifetimes(ServerTest):
    server_args = ("--expire-unbound-days", "1", "--expire-stalled-days", "2",
                   "--expire-final-days", "3", "--purge-days", "4")

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.zt_key = cls.srv.new_carrier("ZT", "中通快递")

    # ---- helpers --------------------------------------------------------------------------

    def move_to(self, unix):
        """Sets the sandbox clock (forward only) and refreshes the app's access token, which
        lives 7200 s on that clock."""
        now = self.srv.set_clock(max(unix, self.srv.clock()))
        self.app.token = None
        return now

    def view(self, waybill_id):
        r = self.srv.admin("GET", "/admin/v1/waybills/" + waybill_id)
        self.assertEqual(r.status, 200, r)
        return r.json

    def follow(self, openid, waybill_id, path=FOLLOW, **over):
        r = self.call(path, bind_body(openid, waybill_id, **over), self.app.token)
        self.assert_ok(r)
        return r["waybill_token"]

    def push(self, waybill_id, event_id, status):
        r = self.srv.request("POST", "/carrier/v1/events",
                             {"events": [{"event_id": event_id, "waybill_id": waybill_id,
                                          "action_time": self.srv.clock(), "status": status}]},
                             {"Authorization": "Bearer " + self.zt_key})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.get("accepted"), 1, r)

    def assert_live(self, tok, query_path=QUERY_FOLLOW):
        r = self.query(self.app, tok, query_path)
        self.assert_ok(r)
        return r

    def assert_purged(self, tok, what=""):
        for path in (QUERY_FOLLOW, QUERY_TRACE):
            self.assert_err(self.query(self.app, tok, path), 9300559)
        r = self.call(UPDATE_FOLLOW, {"waybill_token": tok, "goods_info": goods()},
                      self.app.token)
        self.assert_err(r, 9300559)

    def landing_status(self, tok):
        return self.srv.request("GET", "/l/" + tok).status

    # ---- expiry by status -------------------------------------------------------------------

    def test_unbound_expiry_then_purge(self):
        openid = new_openid()
        wb = sandbox_waybill("7")
        tok1 = self.follow(openid, wb)
        t = self.view(wb)["created_at"]
        self.move_to(t + UNBOUND - MARGIN)
        self.assertEqual(self.follow(openid, wb), tok1, "live: the same token")
        self.move_to(t + UNBOUND)
        tok2 = self.follow(openid, wb)
        self.assertNotEqual(tok2, tok1, "expired: a new binding and token")
        self.assertEqual(self.follow(openid, wb), tok2, "the new binding is live")
        self.assert_live(tok1)   # expired, not purged yet
        landing_before = self.landing_status(tok1)
        self.move_to(t + UNBOUND + PURGE - MARGIN)
        self.assert_live(tok1)
        self.move_to(t + UNBOUND + PURGE)
        self.assert_purged(tok1)
        if landing_before == 200:
            self.assertEqual(self.landing_status(tok1), 404, "purged: landing page 404")
        self.assert_live(tok2)   # made a little later: purged a little later
        self.assertEqual(self.view(wb)["status"], 0, "the waybill itself stays")
        tok3 = self.follow(openid, wb)
        self.assertNotIn(tok3, (tok1, tok2))

    def test_families_expire_alike(self):
        openid = new_openid()
        wb = sandbox_waybill("7")
        tok = self.follow(openid, wb, TRACE)
        t = self.view(wb)["created_at"]
        self.move_to(t + UNBOUND - MARGIN)
        self.assertEqual(self.follow(openid, wb, TRACE), tok)
        self.move_to(t + UNBOUND)
        self.assertNotEqual(self.follow(openid, wb, TRACE), tok)
        self.move_to(t + UNBOUND + PURGE)
        self.assert_purged(tok)

    def test_stalled_expiry_counts_from_the_last_event(self):
        openid = new_openid()
        wb = "ZT" + new_openid()[1:12]
        tok = self.follow(openid, wb, delivery_id="ZT")
        self.push(wb, "st-1", 2)
        e1 = self.view(wb)["last_event_at"]
        self.move_to(e1 + DAY)
        self.push(wb, "st-2", 3)
        e2 = self.view(wb)["last_event_at"]
        self.assertGreaterEqual(e2, e1 + DAY)
        self.move_to(e1 + STALLED)
        self.assertEqual(self.follow(openid, wb, delivery_id="ZT"), tok,
                         "a new event moved the expiry")
        self.move_to(e2 + STALLED - MARGIN)
        self.assertEqual(self.follow(openid, wb, delivery_id="ZT"), tok)
        self.move_to(e2 + STALLED)
        self.assertNotEqual(self.follow(openid, wb, delivery_id="ZT"), tok)
        self.move_to(e2 + STALLED + PURGE)
        self.assert_purged(tok)

    def test_expired_binding_stays_expired(self):
        """An event after a binding expired does not bring it back."""
        openid = new_openid()
        wb = "ZT" + new_openid()[1:12]
        tok = self.follow(openid, wb, delivery_id="ZT")
        self.push(wb, "ex-1", 1)
        e1 = self.view(wb)["last_event_at"]
        self.move_to(e1 + STALLED + 10)
        self.push(wb, "ex-2", 2)
        self.assertNotEqual(self.follow(openid, wb, delivery_id="ZT"), tok)
        self.move_to(e1 + STALLED + PURGE)
        self.assert_purged(tok)

    def test_final_expiry(self):
        """Signed (digit 0) and abnormal (digit 5) waybills: 3 days after they got there."""
        openid = new_openid()
        wbs = [sandbox_waybill("0"), sandbox_waybill("5")]
        toks = [self.follow(openid, wb) for wb in wbs]
        start = max(self.view(wb)["created_at"] for wb in wbs)
        for step in (1, 6, 24, 26):   # each event on time: the bindings stay live
            self.move_to(start + step * HOUR)
        finals = []
        for wb, want in zip(wbs, (4, 5)):
            v = self.view(wb)
            self.assertEqual(v["status"], want, v)
            self.assertIsInstance(v.get("final_at"), int, v)
            finals.append(v["final_at"])
        self.move_to(min(finals) + FINAL - MARGIN)
        for wb, tok in zip(wbs, toks):
            self.assertEqual(self.follow(openid, wb), tok, wb)
        self.move_to(max(finals) + FINAL)
        for wb, tok in zip(wbs, toks):
            self.assertNotEqual(self.follow(openid, wb), tok, wb)
            self.assert_live(tok)
        self.move_to(max(finals) + FINAL + PURGE)
        for tok in toks:
            self.assert_purged(tok)

    def test_one_jump_equals_small_steps(self):
        """A script event that fell due during a move happened at its script time (SPEC §8: the
        move applies what fell due): jumping from the bind to +26 h at once must leave the
        binding as live as stepping through +1 h, +6 h, +24 h, +26 h does. With
        --expire-unbound-days 1 the binding had its +1 h event long before a day passed."""
        openid = new_openid()
        wb = sandbox_waybill("0")
        tok = self.follow(openid, wb)
        start = self.view(wb)["created_at"]
        self.move_to(start + 26 * HOUR)
        v = self.view(wb)
        self.assertEqual(v["status"], 4, v)
        self.assertEqual(self.follow(openid, wb), tok,
                         "the binding got its first event at +1 h, so it is live until 3 days "
                         "after signing")

    # ---- mismatch ---------------------------------------------------------------------------

    def test_mismatched_binding_expires_7_days_after_the_mismatch(self):
        openid = new_openid()
        wb = sandbox_waybill("9")
        tok = self.follow(openid, wb, receiver_phone="13800138000")
        start = self.view(wb)["created_at"]
        self.move_to(start + HOUR)
        r = self.assert_live(tok)
        self.assertEqual(r["waybill_info"]["status"], 0, "mismatched: %r" % r)
        m = self.view(wb)["last_event_at"]   # when the mismatching event arrived
        self.move_to(m + MISMATCH - MARGIN)
        self.assertEqual(self.follow(openid, wb, receiver_phone="13800138000"), tok,
                         "a mismatched binding expires 7 days after the mismatch (SPEC §5.3), "
                         "not before")
        self.move_to(m + MISMATCH)
        self.assertNotEqual(self.follow(openid, wb, receiver_phone="13800138000"), tok)
        self.move_to(m + MISMATCH + PURGE)
        self.assert_purged(tok)

    def test_mismatched_binding_purged_after_its_expiry(self):
        """Whatever the exact expiry, a mismatched binding is purged by 7 + 4 days after the
        mismatch, and never before the lifetimes allow."""
        openid = new_openid()
        wb = sandbox_waybill("9")
        tok = self.follow(openid, wb, receiver_phone="+86 138 0013 8000")
        start = self.view(wb)["created_at"]
        self.move_to(start + HOUR)
        m = self.view(wb)["last_event_at"]
        self.move_to(start + min(UNBOUND, MISMATCH) + PURGE - MARGIN)
        self.assert_live(tok)
        self.move_to(m + MISMATCH + PURGE)
        self.assert_purged(tok)

    # ---- valid bindings (max_bindings) ------------------------------------------------------

    def test_expired_and_final_bindings_are_not_valid(self):
        app = self.srv.new_app(max_bindings=1)
        openid = new_openid()

        def bind(wb):
            return self.call(FOLLOW, bind_body(openid, wb), app.token)

        first = sandbox_waybill("7")
        self.assert_ok(bind(first))
        t = self.view(first)["created_at"]
        self.assert_err(bind(sandbox_waybill("7")), 9300513)
        self.move_to(t + UNBOUND)
        app.token = None
        second = sandbox_waybill("0")
        self.assert_ok(bind(second))   # the first expired: not valid any more
        self.assert_err(bind(sandbox_waybill("7")), 9300513)
        self.move_to(self.view(second)["created_at"] + 26 * HOUR)
        app.token = None
        self.assertEqual(self.view(second)["status"], 4)
        self.assert_ok(bind(sandbox_waybill("7")))   # signed: not valid


if __name__ == "__main__":
    unittest.main()
