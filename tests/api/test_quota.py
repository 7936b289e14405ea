"""SPEC §6.2: per-app daily calls per family, per-user daily binds and the valid-binding cap, all
9300513, lowered through PATCH so that they are cheap to reach; where each sits in the check
order."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (DELIVERY_LIST, FOLLOW, QUERY_FOLLOW, QUERY_TRACE, TRACE, UPDATE_FOLLOW,
                     UPDATE_PATHS, ServerTest, bind_body, goods, new_openid, run_concurrently,
                     sandbox_waybill)


class AppDailyQuota(ServerTest):
    fresh_server_per_test = True

    def test_daily_quota_per_family(self):
        now = self.srv.clock()
        day = (now + 8 * 3600) // 86400
        self.srv.set_clock((day + 1) * 86400 - 8 * 3600 + 60)  # early in a +08:00 day
        app = self.new_app(daily_quota=3)
        tok = app.token
        for _ in range(3):
            self.assert_ok(self.call(DELIVERY_LIST, {}, tok))
        detail = self.assert_err(self.call(DELIVERY_LIST, {}, tok), 9300513)
        self.assertTrue(detail, "the 9300513 detail names the limit")
        # the quota comes after token and eligibility, before the body
        self.assert_err(self.call(FOLLOW, None, tok), 9300513)
        self.assert_err(self.call(QUERY_FOLLOW, b"{bad", tok), 9300513)
        self.assert_err(self.call(UPDATE_FOLLOW, {}, tok), 9300513)
        self.assert_err(self.call(FOLLOW, {}, "bogus"), 40001)
        self.srv.patch_app(app, released=False)
        self.assert_err(self.call(FOLLOW, {}, tok), 48001)
        self.srv.patch_app(app, released=True)
        # the query family has its own count; errors after the quota check count too
        self.assert_err(self.call(TRACE, None, tok), 44002)
        self.assert_err(self.call(QUERY_TRACE, b"{", tok), 47001)
        self.assert_ok(self.call(TRACE, bind_body(new_openid(), sandbox_waybill()), tok))
        self.assert_err(self.call(QUERY_TRACE, None, tok), 9300513)
        self.assert_err(self.call(TRACE, bind_body(new_openid(), sandbox_waybill()), tok),
                        9300513)
        # other apps are not affected
        self.assert_ok(self.call(DELIVERY_LIST, {}, self.new_app().token))
        # raising the quota takes effect at once; a new day starts a new count
        self.srv.patch_app(app, daily_quota=4)
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))
        self.assert_err(self.call(DELIVERY_LIST, {}, tok), 9300513)
        self.srv.advance(86400)
        app.token = self.srv.token_for(app)
        for _ in range(4):
            self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assert_err(self.call(DELIVERY_LIST, {}, app.token), 9300513)


class UserQuotaDays(ServerTest):
    """A new day starts a new per-user count (on a server of its own: the clock moves)."""
    fresh_server_per_test = True

    def test_user_daily_binds_start_again_the_next_day(self):
        app = self.new_app(user_daily_quota=1, user_daily_quota_query=1)
        openid = new_openid()
        for path in (FOLLOW, TRACE):
            self.assert_ok(self.call(path, bind_body(openid, sandbox_waybill()), app.token))
            self.assert_err(self.call(path, bind_body(openid, sandbox_waybill()), app.token),
                            9300513)
        self.srv.advance(86400)
        app.token = self.srv.token_for(app)
        for path in (FOLLOW, TRACE):
            self.assert_ok(self.call(path, bind_body(openid, sandbox_waybill()), app.token))
            self.assert_err(self.call(path, bind_body(openid, sandbox_waybill()), app.token),
                            9300513)


class UserQuotas(ServerTest):

    def test_user_daily_binds_message_family(self):
        app = self.new_app(user_daily_quota=2)
        openid = new_openid()
        # refused before the per-user check: does not count
        self.assert_err(self.call(FOLLOW, bind_body(openid, sandbox_waybill(),
                                                    receiver_phone="1"), app.token), 47001)
        wb = sandbox_waybill()
        r1 = self.call(FOLLOW, bind_body(openid, wb), app.token)
        self.assert_ok(r1)
        r2 = self.call(FOLLOW, bind_body(openid, wb), app.token)  # repeated bind: counts
        self.assert_ok(r2)
        self.assertEqual(r2["waybill_token"], r1["waybill_token"])
        r3 = self.call(FOLLOW, bind_body(openid, sandbox_waybill()), app.token)
        detail = self.assert_err(r3, 9300513)
        self.assertTrue(detail, "the 9300513 detail names the limit")
        # per-user quota before the image check and recognition
        self.assert_err(self.call(FOLLOW, bind_body(openid, "NOTRECOGNISED",
                                                    goods_info=goods(1, img="ftp://x/y")),
                                  app.token), 9300513)
        # the query family has its own per-user count; other users are not affected
        self.assert_ok(self.call(TRACE, bind_body(openid, sandbox_waybill()), app.token))
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), app.token))
        # queries are not bind calls
        self.assert_ok(self.call(QUERY_FOLLOW, {"waybill_token": r1["waybill_token"]},
                                 app.token))

    def test_refusals_after_the_user_check_count(self):
        app = self.new_app(user_daily_quota=2)
        openid = new_openid()
        self.assert_err(self.call(FOLLOW, bind_body(openid, sandbox_waybill(),
                                                    goods_info=goods(1, img="ftp://x/y")),
                                  app.token), 9300561)
        self.assert_err(self.call(FOLLOW, bind_body(openid, "NOTRECOGNISED"), app.token),
                        931023)
        self.assert_err(self.call(FOLLOW, bind_body(openid, sandbox_waybill()), app.token),
                        9300513)

    def test_user_daily_binds_query_family(self):
        app = self.new_app(user_daily_quota_query=1)
        openid = new_openid()
        self.assert_ok(self.call(TRACE, bind_body(openid, sandbox_waybill()), app.token))
        self.assert_err(self.call(TRACE, bind_body(openid, sandbox_waybill()), app.token),
                        9300513)
        self.assert_ok(self.call(FOLLOW, bind_body(openid, sandbox_waybill()), app.token))

    def test_valid_binding_cap(self):
        app = self.new_app(max_bindings=2)
        openid = new_openid()
        a, b, c = sandbox_waybill(), sandbox_waybill(), sandbox_waybill()
        ra = self.call(FOLLOW, bind_body(openid, a), app.token)
        self.assert_ok(ra)
        self.assert_ok(self.call(FOLLOW, bind_body(openid, b), app.token))
        self.assert_err(self.call(FOLLOW, bind_body(openid, c), app.token), 9300513)
        # no new binding: the cap does not apply
        r = self.call(FOLLOW, bind_body(openid, a), app.token)
        self.assert_ok(r)
        self.assertEqual(r["waybill_token"], ra["waybill_token"])
        # recognition (931023) comes before the cap
        self.assert_err(self.call(FOLLOW, bind_body(openid, "NOTRECOGNISED"), app.token),
                        931023)
        # the cap is per user and for the message family
        self.assert_ok(self.call(TRACE, bind_body(openid, c), app.token))
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), c), app.token))


class CapForANewUser(ServerTest):

    def test_cap_of_zero_refuses_a_user_registered_by_the_bind(self):
        # in the sandbox an unknown openid becomes a user in the bind's own unit of work; having
        # no bindings yet does not let it pass a cap of 0
        app = self.new_app(max_bindings=0)
        self.assert_err(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), app.token),
                        9300513)
        self.srv.patch_app(app, max_bindings=1)
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), app.token))


class ExactUnderConcurrency(ServerTest):
    """§6.2: no limit is ever exceeded by even one call, however the calls interleave."""

    def codes(self, replies):
        for r in replies:
            self.assertEqual(r.status, 200, r)
        return sorted(r.errcode for r in replies)

    def test_concurrent_identical_binds_make_one_binding(self):
        app = self.new_app()
        body, tok = bind_body(new_openid(), sandbox_waybill()), app.token
        replies = run_concurrently([lambda: self.call(FOLLOW, body, tok)] * 12)
        self.assertEqual(self.codes(replies), [0] * 12, replies)
        self.assertEqual(len({r["waybill_token"] for r in replies}), 1,
                         "one binding, one token: %r" % replies)

    def test_concurrent_binds_respect_the_binding_cap(self):
        app = self.new_app(max_bindings=3)
        openid, tok = new_openid(), app.token
        calls = [lambda: self.call(FOLLOW, bind_body(openid, sandbox_waybill()), tok)
                 for _ in range(12)]
        codes = self.codes(run_concurrently(calls))
        self.assertEqual(codes, [0] * 3 + [9300513] * 9, codes)

    def test_concurrent_binds_respect_the_user_daily_quota(self):
        app = self.new_app(user_daily_quota=4)
        openid, tok = new_openid(), app.token
        calls = [lambda: self.call(FOLLOW, bind_body(openid, sandbox_waybill()), tok)
                 for _ in range(12)]
        codes = self.codes(run_concurrently(calls))
        self.assertEqual(codes, [0] * 4 + [9300513] * 8, codes)

    def test_concurrent_calls_respect_the_app_daily_quota(self):
        app = self.new_app(daily_quota=5)
        tok = app.token
        codes = self.codes(run_concurrently([lambda: self.call(DELIVERY_LIST, {}, tok)] * 16))
        self.assertEqual(codes, [0] * 5 + [9300513] * 11, codes)

    def test_concurrent_updates_respect_the_update_limit(self):
        app = self.new_app()
        tok = self.bind(app)[0]
        def update(i):
            body = {"waybill_token": tok, "goods_info": goods(1, name="c%d" % i)}
            return self.call(UPDATE_PATHS[i % 2], body, app.token)

        calls = [lambda i=i: update(i) for i in range(16)]
        codes = self.codes(run_concurrently(calls))
        self.assertEqual(codes, [0] * 10 + [9300560] * 6, codes)


if __name__ == "__main__":
    unittest.main()
