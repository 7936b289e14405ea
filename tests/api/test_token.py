"""SPEC §3: /cgi-bin/token and /cgi-bin/stable_token, their errors and check order, the 5-minute
overlap, expiry (42001) on the sandbox clock, force_refresh limits and the daily limit (45009)."""

import os
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (DELIVERY_LIST, FOLLOW, QUERY_FOLLOW, STABLE_TOKEN, TOKEN, ServerTest,
                     bind_body, new_openid, sandbox_waybill, store_blobs)


def token_url(**params):
    return TOKEN + "?" + urllib.parse.urlencode(params)


class TokenEndpoints(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()

    def get_token(self, **params):
        return self.srv.request("GET", token_url(**params))

    def assert_valid(self, tok):
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))

    def assert_invalid(self, tok, code=40001):
        self.assert_err(self.call(DELIVERY_LIST, {}, tok), code)

    def test_token_success_shape(self):
        app = self.new_app()
        r = self.srv.token_reply(app)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), "application/json; encoding=utf-8", r)
        self.assertNotIn("errcode", r.json, "no errcode on success: %r" % r)
        self.assertEqual(r["expires_in"], 7200, r)
        tok = r["access_token"]
        self.assertIsInstance(tok, str)
        self.assertLessEqual(len(tok), 512)
        self.assertGreaterEqual(len(tok), 22, "a token needs at least 128 bits")
        r2 = self.srv.token_reply(app)
        self.assertNotEqual(r2["access_token"], tok, "each call issues a new token")
        self.assert_valid(r2["access_token"])

    def test_grant_type_40002_first(self):
        a = self.app
        for params in ({"appid": a.appid, "secret": a.secret},
                       {"grant_type": "password", "appid": a.appid, "secret": a.secret},
                       {"grant_type": "", "appid": a.appid, "secret": a.secret},
                       {"grant_type": "CLIENT_CREDENTIAL", "appid": a.appid, "secret": a.secret},
                       {"grant_type": "x"},  # before appid missing
                       {}):
            with self.subTest(params=params):
                self.assert_err(self.get_token(**params), 40002)

    def test_appid_41002_40013(self):
        a = self.app
        gt = "client_credential"
        self.assert_err(self.get_token(grant_type=gt, secret=a.secret), 41002)
        self.assert_err(self.get_token(grant_type=gt), 41002)  # appid before secret
        self.assert_err(self.get_token(grant_type=gt, appid="wx0000000000000000",
                                       secret=a.secret), 40013)
        self.assert_err(self.get_token(grant_type=gt, appid="wx0000000000000000"), 40013)
        self.assert_err(self.get_token(grant_type=gt, appid="' OR '1'='1", secret="x"), 40013)

    def test_secret_41004_40125(self):
        a = self.app
        gt = "client_credential"
        self.assert_err(self.get_token(grant_type=gt, appid=a.appid), 41004)
        self.assert_err(self.get_token(grant_type=gt, appid=a.appid, secret="wrong"), 40125)
        self.assert_err(self.get_token(grant_type=gt, appid=a.appid, secret=a.secret + "x"),
                        40125)
        other = self.new_app()
        self.assert_err(self.get_token(grant_type=gt, appid=a.appid, secret=other.secret), 40125)

    def test_secret_reset_stops_the_old_one(self):
        app = self.new_app()
        old = app.secret
        r = self.srv.admin("POST", "/admin/v1/apps/%s/secret" % app.appid)
        self.assertIn(r.status, (200, 201), r)
        new = r["secret"]
        self.assertNotEqual(new, old)
        self.assert_err(self.srv.token_reply(app, secret=old), 40125)
        self.assert_valid(self.srv.token_for(type(app)(self.srv, app.appid, new)))

    def test_bad_tokens_are_40001(self):
        self.assert_invalid("bogus")
        self.assert_invalid("A" * 513)
        self.assert_err(self.call(DELIVERY_LIST, {}, ""), 41001, codes=(41001, 40001))

    def test_previous_token_still_valid_older_ones_not(self):
        app = self.new_app()
        t1 = self.srv.token_for(app)
        t2 = self.srv.token_for(app)
        self.assert_valid(t1)
        self.assert_valid(t2)
        t3 = self.srv.token_for(app)
        self.assert_invalid(t1)
        self.assert_valid(t2)
        self.assert_valid(t3)
        t4 = self.srv.token_for(app)
        self.assert_invalid(t1)
        self.assert_invalid(t2)
        self.assert_valid(t3)
        self.assert_valid(t4)

    def test_tokens_are_per_app(self):
        a, b = self.new_app(), self.new_app()
        ta, tb = a.token, b.token
        self.srv.token_for(a)
        self.srv.token_for(a)
        self.assert_invalid(ta)
        self.assert_valid(tb)

    # ---- stable_token -------------------------------------------------------------------------

    def test_stable_token_same_without_force_refresh(self):
        app = self.new_app()
        r1 = self.srv.stable_token(app)
        self.assertEqual(r1.status, 200, r1)
        self.assertNotIn("errcode", r1.json, "no errcode on success: %r" % r1)
        s1 = r1["access_token"]
        self.assertLessEqual(len(s1), 512)
        self.assertGreaterEqual(len(s1), 22)
        self.assertTrue(0 < r1["expires_in"] <= 7200, r1)
        r2 = self.srv.stable_token(app, force_refresh=False)
        self.assertEqual(r2["access_token"], s1)
        self.assertTrue(0 < r2["expires_in"] <= r1["expires_in"], (r1, r2))
        self.assert_valid(s1)

    def test_stable_token_reads_only_the_body(self):
        a = self.app
        q = {"grant_type": "client_credential", "appid": a.appid, "secret": a.secret}
        self.assert_err(self.call(STABLE_TOKEN, {}, query=q), 40002)
        self.assert_err(self.call(STABLE_TOKEN, {"grant_type": "client_credential"}, query=q),
                        41002)
        self.assert_err(self.call(STABLE_TOKEN, {"grant_type": "client_credential",
                                                 "appid": a.appid}, query=q), 41004)
        body = dict(q, appid="wx0000000000000000")
        self.assert_err(self.call(STABLE_TOKEN, body, query=q), 40013)
        r = self.call(STABLE_TOKEN, q, query={"grant_type": "bogus", "appid": "x"})
        self.assertIn("access_token", r.json, r)

    def test_stable_token_errors(self):
        a = self.app
        gt = "client_credential"
        cases = [({"appid": a.appid, "secret": a.secret}, 40002),
                 ({"grant_type": "password", "appid": a.appid, "secret": a.secret}, 40002),
                 ({"grant_type": "x"}, 40002),
                 ({"grant_type": gt, "secret": a.secret}, 41002),
                 ({"grant_type": gt}, 41002),
                 ({"grant_type": gt, "appid": "wx0000000000000000", "secret": a.secret}, 40013),
                 ({"grant_type": gt, "appid": a.appid}, 41004),
                 ({"grant_type": gt, "appid": a.appid, "secret": "nope"}, 40125)]
        for body, code in cases:
            with self.subTest(body=body):
                self.assert_err(self.call(STABLE_TOKEN, body), code)
        self.assert_err(self.call(STABLE_TOKEN, None, method="GET"), 43002)

    def test_stable_token_malformed_bodies(self):
        self.assert_err(self.call(STABLE_TOKEN, None), 44002, codes=(44002, 40002))
        self.assert_err(self.call(STABLE_TOKEN, b"{not json"), 47001, codes=(47001, 40002))

    def test_force_refresh_rotates_and_invalidates_at_once(self):
        app = self.new_app()
        s1 = self.srv.stable_token(app)["access_token"]
        r = self.srv.stable_token(app, force_refresh=True)
        s2 = r["access_token"]
        self.assertNotEqual(s1, s2)
        self.assertEqual(r["expires_in"], 7200, r)
        self.assert_invalid(s1)
        self.assert_valid(s2)
        # a second force_refresh within 30 s returns the current token
        s3 = self.srv.stable_token(app, force_refresh=True)["access_token"]
        self.assertEqual(s3, s2)
        self.assert_valid(s2)

    def test_stable_and_plain_tokens_are_separate(self):
        app = self.new_app()
        s = self.srv.stable_token(app)["access_token"]
        t1 = self.srv.token_for(app)
        t2 = self.srv.token_for(app)
        t3 = self.srv.token_for(app)
        self.assertNotIn(s, (t1, t2, t3))
        self.assert_valid(s)
        self.assert_invalid(t1)
        r = self.srv.stable_token(app, force_refresh=True)
        self.assertNotEqual(r["access_token"], s)
        self.assert_valid(t2)
        self.assert_valid(t3)
        self.assert_invalid(s)

    def test_stable_token_works_for_binds(self):
        app = self.new_app()
        s = self.srv.stable_token(app)["access_token"]
        r = self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), s)
        self.assert_ok(r)
        self.assert_ok(self.call(QUERY_FOLLOW, {"waybill_token": r["waybill_token"]}, s))

    # ---- secrets at rest and in logs --------------------------------------------------------

    def test_tokens_and_secrets_not_stored_or_logged_in_the_clear(self):
        app = self.new_app()
        tok = self.srv.token_for(app)
        stable = self.srv.stable_token(app)["access_token"]
        r = self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), tok)
        self.assert_ok(r)
        wtok = r["waybill_token"]
        self.assert_ok(self.call(QUERY_FOLLOW, {"waybill_token": wtok}, tok))
        self.assert_err(self.call(QUERY_FOLLOW, {"waybill_token": wtok}, tok + "x"), 40001)
        secrets_ = {"access_token": tok, "stable_token": stable, "waybill_token": wtok,
                    "secret": app.secret}
        blobs = store_blobs(self.srv.data_dir)  # the data dir, and a dump of a PG database
        self.assertTrue(blobs, "the data dir is empty")
        for name, value in secrets_.items():
            needle = value.encode()
            for f, data in blobs:
                self.assertFalse(needle in data, "%s stored in the clear in %s" % (name, f))
        # the push secret signs webhooks, so the server keeps it; it must not be logged
        if app.push_secret:
            secrets_["push_secret"] = app.push_secret
        log = self.srv.log_text()
        for name, value in secrets_.items():
            self.assertFalse(value in log, "%s in the server's log" % name)


class TokenClock(ServerTest):
    """Lifetimes on the sandbox clock; a fresh server per test, since the clock only moves
    forward."""

    fresh_server_per_test = True

    def assert_valid(self, tok):
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))

    def assert_invalid(self, tok, code=40001, codes=None):
        self.assert_err(self.call(DELIVERY_LIST, {}, tok), code, codes=codes)

    def start_of_next_day(self):
        """A sandbox time early in the next day at +08:00, so a test does not cross midnight."""
        now = self.srv.clock()
        day = (now + 8 * 3600) // 86400
        return (day + 1) * 86400 - 8 * 3600 + 60

    def test_clock_reads_and_advances(self):
        t0 = self.srv.clock()
        self.assertLess(abs(t0 - time.time()), 60)
        t1 = self.srv.advance(3600)
        self.assertGreaterEqual(t1, t0 + 3600)
        self.assertLess(t1, t0 + 3660)
        self.assertGreaterEqual(self.srv.clock(), t1)

    def test_expired_token_is_42001_and_checked_before_body(self):
        app = self.new_app()
        tok = app.token
        self.srv.advance(7190)
        self.assert_valid(tok)
        self.srv.advance(15)
        self.assert_invalid(tok, 42001)
        self.assert_err(self.call(FOLLOW, None, tok), 42001)
        self.assert_err(self.call(FOLLOW, b"{bad", tok), 42001)
        self.srv.patch_app(app, released=False)
        self.assert_err(self.call(FOLLOW, None, tok), 42001)  # the token before eligibility
        self.srv.patch_app(app, released=True)
        self.assert_valid(self.srv.token_for(app))

    def test_previous_token_valid_for_5_minutes(self):
        app = self.new_app()
        t1 = self.srv.token_for(app)
        t2 = self.srv.token_for(app)
        self.srv.advance(290)
        self.assert_valid(t1)
        self.assert_valid(t2)
        self.srv.advance(20)
        self.assert_invalid(t1)
        self.assert_valid(t2)

    def test_overlap_limited_by_remaining_life(self):
        app = self.new_app()
        t1 = self.srv.token_for(app)
        self.srv.advance(7100)
        t2 = self.srv.token_for(app)
        self.assert_valid(t1)
        self.srv.advance(150)  # t1 is past its 7200 s; t2 is fine
        self.assert_invalid(t1, codes=(40001, 42001))
        self.assert_valid(t2)

    def test_stable_token_renewed_in_its_last_5_minutes(self):
        app = self.new_app()
        r0 = self.srv.stable_token(app)
        s0 = r0["access_token"]
        self.srv.advance(7200 - 330)
        r1 = self.srv.stable_token(app)
        self.assertEqual(r1["access_token"], s0, "same token outside the last 5 minutes")
        self.assertTrue(300 < r1["expires_in"] <= 332, r1)
        self.srv.advance(60)  # about 270 s left
        r2 = self.srv.stable_token(app)
        s1 = r2["access_token"]
        self.assertNotEqual(s1, s0, "a new stable token in the last 5 minutes")
        self.assertGreater(r2["expires_in"], 7000, r2)
        self.assert_valid(s0)
        self.assert_valid(s1)
        r3 = self.srv.stable_token(app)
        self.assertEqual(r3["access_token"], s1)
        self.srv.advance(280)  # s0 has expired now
        self.assert_invalid(s0, 42001, codes=(42001, 40001))
        self.assert_valid(s1)

    def test_force_refresh_30_s_apart(self):
        app = self.new_app()
        s0 = self.srv.stable_token(app)["access_token"]
        s1 = self.srv.stable_token(app, force_refresh=True)["access_token"]
        self.assertNotEqual(s1, s0)
        self.srv.advance(25)
        r = self.srv.stable_token(app, force_refresh=True)
        self.assertEqual(r["access_token"], s1, "force_refresh 25 s after the last one")
        self.assert_valid(s1)
        self.srv.advance(10)
        s2 = self.srv.stable_token(app, force_refresh=True)["access_token"]
        self.assertNotEqual(s2, s1, "force_refresh 35 s after the last one")
        self.assert_invalid(s1)
        self.assert_valid(s2)

    def test_force_refresh_20_a_day(self):
        self.srv.set_clock(self.start_of_next_day())
        app = self.new_app()
        cur = self.srv.stable_token(app)["access_token"]
        for i in range(20):
            self.srv.advance(31)
            r = self.srv.stable_token(app, force_refresh=True)
            self.assertNotEqual(r["access_token"], cur, "force_refresh %d should rotate" % (i + 1))
            self.assert_invalid(cur)
            cur = r["access_token"]
        self.srv.advance(31)
        r = self.srv.stable_token(app, force_refresh=True)
        self.assertEqual(r["access_token"], cur, "the 21st force_refresh of the day")
        self.assert_valid(cur)
        self.srv.advance(86400)
        r = self.srv.stable_token(app, force_refresh=True)
        self.assertNotEqual(r["access_token"], cur, "force_refresh allowed again the next day")
        self.assert_valid(r["access_token"])


class TokenDailyLimit(ServerTest):
    """At most 2 000 /cgi-bin/token calls per app per day (45009), after the secret check."""

    fresh_server_per_test = True

    def test_2000_calls_then_45009(self):
        now = self.srv.clock()
        day = (now + 8 * 3600) // 86400
        self.srv.set_clock((day + 1) * 86400 - 8 * 3600 + 60)
        app = self.new_app()
        other = self.new_app()
        url = token_url(grant_type="client_credential", appid=app.appid, secret=app.secret)
        failures = []
        counter = {"n": 0}
        lock = threading.Lock()

        def worker():
            import http.client
            conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
            while True:
                with lock:
                    if counter["n"] >= 2000:
                        break
                    counter["n"] += 1
                try:
                    conn.request("GET", url)
                    resp = conn.getresponse()
                    body = resp.read()
                    if resp.status != 200 or b"access_token" not in body:
                        failures.append(body[:200])
                    if resp.getheader("connection", "").lower() == "close":
                        conn.close()
                        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
                except OSError as exc:
                    failures.append(repr(exc))
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
            conn.close()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures[:3], [], "%d of 2000 calls failed" % len(failures))
        self.assert_err(self.srv.token_reply(app), 45009)
        # the secret is checked before the daily limit; other apps are not affected
        self.assert_err(self.srv.token_reply(app, secret="wrong"), 40125)
        self.assert_ok(self.call(DELIVERY_LIST, {}, other.token))
        # the stable token has its own limit
        r = self.srv.stable_token(app)
        self.assertIn("access_token", r.json, r)
        self.srv.advance(86400)
        r = self.srv.token_reply(app)
        self.assertIn("access_token", r.json, "a new day: %r" % r)


if __name__ == "__main__":
    unittest.main()
