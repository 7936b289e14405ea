"""SPEC §2 and §2.1: the error shape, HTTP 200 for business errors, and the check order
path → method → access_token → eligibility → body, on every merchant endpoint."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (DELIVERY_LIST, FOLLOW, MERCHANT_PATHS, OPEN_MSG, QUERY_FOLLOW, RID_RE,
                     STABLE_TOKEN, ServerTest, bind_body, new_openid, sandbox_waybill)


class ErrorShapeAndOrder(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()

    # ---- path (40066) and method (43002) ----------------------------------------------------

    def test_unknown_cgi_path_is_40066_before_method_and_token(self):
        for path in ("/cgi-bin/nope", OPEN_MSG + "nope", OPEN_MSG + "follow_waybillx",
                     "/cgi-bin/express/delivery/open_msg", "/cgi-bin/express/foo"):
            with self.subTest(path=path):
                self.assert_err(self.call(path, {}, self.app.token), 40066)
                self.assert_err(self.call(path, None, None, method="GET"), 40066)
                self.assert_err(self.call(path, b"{not json", None), 40066)

    def test_unknown_path_outside_cgi_bin_is_http_404(self):
        for method, path in (("GET", "/nope"), ("POST", "/foo/bar"), ("GET", "/cgi")):
            with self.subTest(path=path):
                r = self.srv.request(method, path, {} if method == "POST" else None)
                self.assertEqual(r.status, 404, r)

    def test_non_post_is_43002_before_token(self):
        for path in MERCHANT_PATHS + (STABLE_TOKEN,):
            for method in ("GET", "PUT", "DELETE"):
                with self.subTest(path=path, method=method):
                    self.assert_err(self.call(path, None, None, method=method), 43002)
                    self.assert_err(self.call(path, None, "bogus", method=method), 43002)

    # ---- access_token (41001, 40001) ---------------------------------------------------------

    def test_missing_token_is_41001_before_body(self):
        for path in MERCHANT_PATHS:
            with self.subTest(path=path):
                self.assert_err(self.call(path, None, None), 41001)
                self.assert_err(self.call(path, b"{bad json", None), 41001)
                self.assert_err(self.call(path, {}, None, query={"accesstoken": "x"}), 41001)

    def test_bad_token_is_40001_before_body(self):
        bad_tokens = ("bogus", "A" * 600, self.app.token + "x", self.app.token[:-1],
                      "%00", "' OR 1=1 --")
        for path in MERCHANT_PATHS:
            for tok in bad_tokens:
                with self.subTest(path=path, token=tok[:20]):
                    self.assert_err(self.call(path, b"{bad json", tok), 40001)
            with self.subTest(path=path, body="empty"):
                self.assert_err(self.call(path, None, "bogus"), 40001)

    def test_token_of_another_server_is_40001(self):
        other = self.start_server()
        try:
            tok = other.new_app().token
        finally:
            other.cleanup()
        self.assert_err(self.call(DELIVERY_LIST, {}, tok), 40001)

    # ---- body (44002, 47001) -----------------------------------------------------------------

    def test_empty_body_is_44002(self):
        for path in MERCHANT_PATHS:
            if path == DELIVERY_LIST:
                continue  # an empty body is a valid get_delivery_list request (SPEC §4.4)
            with self.subTest(path=path):
                self.assert_err(self.call(path, None, self.app.token), 44002)
                self.assert_err(self.call(path, b"", self.app.token), 44002)

    def test_json_syntax_is_47001(self):
        for path in MERCHANT_PATHS:
            for body in (b"{", b"not json", b'{"openid":}', b"{'a':1}", b'{"a":1,}', b"[1,2"):
                with self.subTest(path=path, body=body):
                    self.assert_err(self.call(path, body, self.app.token), 47001)

    def test_body_not_an_object_is_47001(self):
        for path in MERCHANT_PATHS:
            if path == DELIVERY_LIST:
                continue
            for body in (b"[]", b"1", b'"x"', b"null", b"true"):
                with self.subTest(path=path, body=body):
                    self.assert_err(self.call(path, body, self.app.token), 47001)

    # ---- eligibility (48001) ------------------------------------------------------------------

    def check_ineligible(self, app, patch, restore):
        self.srv.patch_app(app, **patch)
        try:
            for path in MERCHANT_PATHS:
                with self.subTest(patch=patch, path=path):
                    # eligibility comes after the token and before the body
                    self.assert_err(self.call(path, None, app.token), 48001)
                    self.assert_err(self.call(path, b"{bad", app.token), 48001)
                    self.assert_err(self.call(path, {}, "bogus"), 40001)
                    self.assert_err(self.call(path, None, None), 41001)
                    self.assert_err(self.call(path, None, app.token, method="GET"), 43002)
            body = bind_body(new_openid(), sandbox_waybill())
            self.assert_err(self.call(FOLLOW, body, app.token), 48001)
        finally:
            self.srv.patch_app(app, **restore)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), app.token))

    def test_not_released_is_48001(self):
        app = self.new_app()
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.check_ineligible(app, {"released": False}, {"released": True})

    def test_no_pay_transactions_is_48001(self):
        app = self.new_app()
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.check_ineligible(app, {"pay_tx_90d": 0}, {"pay_tx_90d": 3})

    def test_disabled_capability_is_48001(self):
        app = self.new_app()
        tok, openid, _, _ = self.bind(app)
        self.check_ineligible(app, {"enabled": False}, {"enabled": True})
        # the binding made before the penalty is still there afterwards
        self.assert_ok(self.query(app, tok))

    def test_ineligible_app_token_can_be_fetched_but_not_used(self):
        app = self.new_app(released=False, pay_tx_90d=0)
        r = self.srv.token_reply(app)
        if r.get("access_token"):
            self.assert_err(self.call(DELIVERY_LIST, {}, r["access_token"]), 48001)
        else:
            self.assert_err(r, 48001)

    # ---- the error shape ----------------------------------------------------------------------

    def test_rid_is_in_the_log_and_unique(self):
        rids = set()
        cases = [(FOLLOW, None, None, 41001), (FOLLOW, None, "bogus", 40001),
                 (FOLLOW, None, self.app.token, 44002), (FOLLOW, b"{", self.app.token, 47001),
                 ("/cgi-bin/nope", None, None, 40066),
                 (QUERY_FOLLOW, {"waybill_token": "A" * 64}, self.app.token, 9300507)]
        for path, body, tok, code in cases:
            with self.subTest(code=code):
                r = self.call(path, body, tok)
                self.assert_err(r, code, check_log=True)
                rid = self.parse_errmsg(r).group("rid")
                self.assertRegex(rid, RID_RE)
                self.assertNotIn(rid, rids, "rid repeated")
                rids.add(rid)
        r = self.call(FOLLOW, None, None, method="GET")
        self.assert_err(r, 43002, check_log=True)
        self.assert_err(self.srv.token_reply(self.app, secret="wrong"), 40125, check_log=True)
        self.assert_err(self.call(STABLE_TOKEN, {"grant_type": "x"}), 40002, check_log=True)

    def test_success_has_no_rid_and_the_json_content_type(self):
        r = self.call(DELIVERY_LIST, {}, self.app.token)
        self.assert_ok(r)
        self.assert_no_rid(r)
        tok, _, _, _ = self.bind(self.app)
        r = self.query(self.app, tok)
        self.assert_ok(r)
        self.assert_no_rid(r)


if __name__ == "__main__":
    unittest.main()
