"""SPEC §9.2 and §9.3: the admin API for apps, users and carriers (the key, create/list/get/patch,
null restoring defaults, 400/404/409, secret resets, pagination), the same through
`waybilld app|user|carrier --json`, and the sandbox clock of §8."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BIN, DELIVERY_LIST, ServerTest, Server, new_openid, store_args

APPID_RE = re.compile(r"^wx[0-9a-f]{16}$")
SECRET_RE = re.compile(r"^[0-9a-f]{32}$")
OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{28}$")
JSON_CT = "application/json; encoding=utf-8"

DEFAULT_LIMITS = {"daily_quota": 100000, "user_daily_quota": 50, "user_daily_quota_query": 100,
                  "max_bindings": 100, "max_updates": 10}
LIMIT_FIELDS = tuple(DEFAULT_LIMITS)


class AdminCase(ServerTest):
    """Shortcuts for the admin API's replies."""

    def adm(self, method, path, body=None, key=None):
        return self.srv.admin(method, path, body, key)

    def assert_status(self, r, status, errcode=None):
        self.assertEqual(r.status, status, "%r (request %s)" % (r, r.request))
        self.assertTrue((r.headers.get("content-type") or "").startswith("application/json"),
                        "Content-Type: %r" % r)
        self.assertIsInstance(r.json, dict, r)
        if status >= 400:
            self.assertIsInstance(r.errcode, int, r)
            self.assertIsInstance(r.errmsg, str, r)
            self.assertTrue(r.errmsg, r)
            if errcode is not None:
                self.assertEqual(r.errcode, errcode, r)
        return r.json

    def create_app(self, **body):
        body.setdefault("name", "app-%d" % time.monotonic_ns())
        return self.assert_status(self.adm("POST", "/admin/v1/apps", body), 201)

    def get_app(self, appid):
        return self.assert_status(self.adm("GET", "/admin/v1/apps/" + appid), 200)

    def patch(self, appid, body):
        return self.adm("PATCH", "/admin/v1/apps/" + appid, body)


class AdminAuth(AdminCase):

    def test_missing_or_wrong_key_is_401(self):
        paths = [("GET", "/admin/v1/apps"), ("POST", "/admin/v1/apps"),
                 ("GET", "/admin/v1/apps/wx0000000000000000"), ("GET", "/admin/v1/carriers"),
                 ("POST", "/admin/v1/carriers"), ("GET", "/admin/v1/nope"),
                 ("GET", "/admin/v1/sandbox/clock"), ("POST", "/admin/v1/sandbox/clock")]
        headers = [None, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "},
                   {"Authorization": "Basic " + self.srv.admin_key},
                   {"Authorization": self.srv.admin_key},
                   {"Authorization": "Bearer " + self.srv.admin_key + "x"},
                   {"Authorization": "Bearer " + self.srv.admin_key[:-1]}]
        for method, path in paths:
            for h in headers:
                with self.subTest(method=method, path=path, headers=h):
                    body = {"name": "x", "advance": 1} if method == "POST" else None
                    r = self.srv.request(method, path, body, h)
                    self.assert_status(r, 401)
        # nothing was created by the refused calls
        names = [a["name"] for a in self.list_all_apps()]
        self.assertNotIn("x", names)

    def list_all_apps(self):
        return self.assert_status(self.adm("GET", "/admin/v1/apps?limit=1000"), 200)["apps"]

    def test_right_key_is_accepted(self):
        self.assert_status(self.adm("GET", "/admin/v1/apps"), 200)


class AdminApps(AdminCase):

    def test_create_defaults_and_credentials(self):
        out = self.create_app(name="商店 one")
        self.assertRegex(out["appid"], APPID_RE)
        self.assertRegex(out["secret"], SECRET_RE)
        self.assertIsInstance(out["push_secret"], str)
        self.assertGreaterEqual(len(out["push_secret"]), 22)
        self.assertEqual(out["name"], "商店 one")
        app = self.get_app(out["appid"])
        self.assertEqual(app["appid"], out["appid"])
        self.assertIs(app["released"], False)
        self.assertEqual(app["pay_tx_90d"], 0)
        self.assertIs(app["enabled"], True)
        self.assertIs(app["eligible"], False)
        self.assertIsNone(app["push_url"])
        for f in LIMIT_FIELDS:
            self.assertIsNone(app[f], f)
        self.assertEqual(app["limits"], DEFAULT_LIMITS)
        self.assertIsInstance(app["usage"], dict)
        for v in app["usage"].values():
            self.assertIsInstance(v, int)

    def test_create_with_settings(self):
        out = self.create_app(released=True, pay_tx_90d=7, push_url="https://hooks.example.com/wb")
        app = self.get_app(out["appid"])
        self.assertIs(app["released"], True)
        self.assertEqual(app["pay_tx_90d"], 7)
        self.assertEqual(app["push_url"], "https://hooks.example.com/wb")
        self.assertIs(app["eligible"], True)

    def test_fresh_ids_and_secrets(self):
        a, b = self.create_app(), self.create_app()
        self.assertNotEqual(a["appid"], b["appid"])
        self.assertNotEqual(a["secret"], b["secret"])
        self.assertNotEqual(a["push_secret"], b["push_secret"])

    def test_no_secret_in_get_or_list(self):
        out = self.create_app()
        for path in ("/admin/v1/apps/" + out["appid"], "/admin/v1/apps?limit=1000"):
            r = self.adm("GET", path)
            self.assert_status(r, 200)
            raw = r.raw.decode()
            self.assertNotIn(out["secret"], raw)
            self.assertNotIn(out["push_secret"], raw)
            self.assertNotIn("pbkdf2", raw)
            self.assertNotIn("secret", json.dumps(r.json if path.endswith(out["appid"])
                                                  else r.json["apps"][0]))

    def test_create_400(self):
        bad = [{}, {"name": ""}, {"name": None}, {"name": 5}, {"name": "x" * 65},
               {"name": "a\u0001b"}, {"name": "ok", "released": "yes"},
               {"name": "ok", "released": 1}, {"name": "ok", "pay_tx_90d": -1},
               {"name": "ok", "pay_tx_90d": 1.5}, {"name": "ok", "pay_tx_90d": "3"},
               {"name": "ok", "push_url": "ftp://example.com/"},
               {"name": "ok", "push_url": "example.com/hook"},
               {"name": "ok", "push_url": "https://"}, {"name": "ok", "push_url": "http://a b/"},
               {"name": "ok", "push_url": "https://x/" + "a" * 1100},
               {"name": "ok", "bogus": 1}, [], "text", 5]
        for body in bad:
            with self.subTest(body=body):
                self.assert_status(self.adm("POST", "/admin/v1/apps", body), 400, 47001)
        for raw in (b"{not json", b'{"name":"a","name":"b"}', b"\xff\xfe", b'{"name":"a\x00"}'):
            with self.subTest(raw=raw):
                self.assert_status(self.adm("POST", "/admin/v1/apps", raw), 400, 47001)
        self.assert_status(self.adm("POST", "/admin/v1/apps", None), 400, 47001)
        self.create_app(name="x" * 64)
        self.create_app(name="中" * 64)

    def test_patch_each_field_and_null_restores_default(self):
        appid = self.create_app()["appid"]
        body = {"released": True, "pay_tx_90d": 12, "enabled": False,
                "push_url": "http://127.0.0.1:9/hook", "daily_quota": 5, "user_daily_quota": 6,
                "user_daily_quota_query": 7, "max_bindings": 8, "max_updates": 0}
        out = self.assert_status(self.patch(appid, body), 200)
        for k, v in body.items():
            self.assertEqual(out[k], v, k)
        self.assertEqual(out["limits"], {"daily_quota": 5, "user_daily_quota": 6,
                                         "user_daily_quota_query": 7, "max_bindings": 8,
                                         "max_updates": 0})
        self.assertIn("usage", out)
        self.assertEqual(self.get_app(appid), out)
        out = self.assert_status(self.patch(appid, {k: None for k in body}), 200)
        self.assertIs(out["released"], False)
        self.assertEqual(out["pay_tx_90d"], 0)
        self.assertIs(out["enabled"], True)
        self.assertIsNone(out["push_url"])
        for f in LIMIT_FIELDS:
            self.assertIsNone(out[f], f)
        self.assertEqual(out["limits"], DEFAULT_LIMITS)
        self.assertEqual(self.get_app(appid)["limits"], DEFAULT_LIMITS)

    def test_patch_partial_keeps_the_rest(self):
        appid = self.create_app(released=True, pay_tx_90d=3)["appid"]
        self.assert_status(self.patch(appid, {"daily_quota": 9}), 200)
        out = self.assert_status(self.patch(appid, {}), 200)
        self.assertIs(out["released"], True)
        self.assertEqual(out["pay_tx_90d"], 3)
        self.assertEqual(out["daily_quota"], 9)
        out = self.assert_status(self.patch(appid, {"name": "renamed"}), 200)
        self.assertEqual(out["name"], "renamed")
        self.assertEqual(out["daily_quota"], 9)

    def test_patch_400_changes_nothing(self):
        appid = self.create_app(released=True, pay_tx_90d=3)["appid"]
        before = self.get_app(appid)
        bad = [{"released": "true"}, {"enabled": 0}, {"pay_tx_90d": -5}, {"daily_quota": -1},
               {"max_updates": 2.5}, {"max_bindings": "10"}, {"user_daily_quota": True},
               {"push_url": 5}, {"push_url": "mailto:x@y"}, {"name": None}, {"name": ""},
               {"secret": "x"}, {"appid": "wx1"}, {"daily_quota": 5, "bogus": True},
               {"daily_quota": 5, "released": "no"}, [], 3]
        for body in bad:
            with self.subTest(body=body):
                self.assert_status(self.patch(appid, body), 400, 47001)
        for raw in (b"{", b'{"released":true,"released":false}', b"[1,2]"):
            with self.subTest(raw=raw):
                self.assert_status(self.patch(appid, raw), 400, 47001)
        self.assertEqual(self.get_app(appid), before)

    def test_404(self):
        missing = "wx" + "0" * 16
        for method, path, body in (
                ("GET", "/admin/v1/apps/" + missing, None),
                ("PATCH", "/admin/v1/apps/" + missing, {"released": True}),
                ("POST", "/admin/v1/apps/%s/secret" % missing, None),
                ("POST", "/admin/v1/apps/%s/push_secret" % missing, None),
                ("POST", "/admin/v1/apps/%s/users" % missing, {}),
                ("GET", "/admin/v1/apps/%s/users/%s" % (missing, new_openid()), None),
                ("GET", "/admin/v1/apps/not%20an%20id", None),
                ("GET", "/admin/v1/carriers/NOPE", None),
                ("PATCH", "/admin/v1/carriers/NOPE", {"delivery_name": "x"}),
                ("POST", "/admin/v1/carriers/NOPE/key", None),
                ("GET", "/admin/v1/nope", None), ("GET", "/admin/v1/", None),
                ("GET", "/admin/v1/apps/", None), ("GET", "/admin/v1/apps/x/y/z/w/v", None),
                ("POST", "/admin/v1/apps/%s/nope" % missing, None),
                ("GET", "/admin/v1//apps", None)):
            with self.subTest(method=method, path=path):
                self.assert_status(self.adm(method, path, body), 404)

    def test_wrong_method(self):
        for method, path in (("DELETE", "/admin/v1/apps"), ("PUT", "/admin/v1/apps"),
                             ("POST", "/admin/v1/apps/wx0000000000000000"),
                             ("GET", "/admin/v1/apps/wx0000000000000000/secret")):
            with self.subTest(method=method, path=path):
                r = self.adm(method, path)
                self.assertIn(r.status, (404, 405), r)
                self.assertIsInstance(r.json, dict, r)

    def test_secret_reset_old_secret_fails_at_token(self):
        out = self.create_app(released=True, pay_tx_90d=1)
        appid, old = out["appid"], out["secret"]
        r = self.srv.token_reply(None, appid=appid, secret=old)
        self.assertIn("access_token", r.json or {}, r)
        reset = self.assert_status(self.adm("POST", "/admin/v1/apps/%s/secret" % appid), 200)
        self.assertEqual(reset["appid"], appid)
        new = reset["secret"]
        self.assertRegex(new, SECRET_RE)
        self.assertNotEqual(new, old)
        self.assert_err(self.srv.token_reply(None, appid=appid, secret=old), 40125)
        r = self.srv.token_reply(None, appid=appid, secret=new)
        self.assertIn("access_token", r.json or {}, r)
        # the rest of the app is unchanged
        app = self.get_app(appid)
        self.assertIs(app["released"], True)
        self.assertEqual(app["pay_tx_90d"], 1)

    def test_push_secret_reset(self):
        out = self.create_app()
        r = self.assert_status(self.adm("POST", "/admin/v1/apps/%s/push_secret" % out["appid"]),
                               200)
        self.assertEqual(r["appid"], out["appid"])
        self.assertIsInstance(r["push_secret"], str)
        self.assertNotEqual(r["push_secret"], out["push_secret"])
        self.assertNotIn("secret", r)
        # the app secret still works
        tok = self.srv.token_reply(None, appid=out["appid"], secret=out["secret"])
        self.assertIn("access_token", tok.json or {}, tok)

    def test_enabled_false_is_effective_at_once(self):
        app = self.new_app()
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assert_status(self.patch(app.appid, {"enabled": False}), 200)
        self.assert_err(self.call(DELIVERY_LIST, {}, app.token), 48001)
        self.assert_status(self.patch(app.appid, {"enabled": None}), 200)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assert_status(self.patch(app.appid, {"released": False}), 200)
        self.assert_err(self.call(DELIVERY_LIST, {}, app.token), 48001)

    def test_usage_counts_calls(self):
        app = self.new_app()
        for _ in range(3):
            self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        usage = self.get_app(app.appid)["usage"]
        self.assertIsInstance(usage, dict)
        counted = [v for v in usage.values() if v >= 3]
        self.assertTrue(counted, "three calls should show in usage: %r" % usage)


class AdminLists(AdminCase):
    """Pagination on a server of its own, so the set of apps is known."""

    fresh_server_per_test = True

    def page_through(self, what, limit):
        seen, after, pages = [], None, 0
        while True:
            path = "/admin/v1/%s?limit=%d" % (what, limit)
            if after is not None:
                path += "&after=" + after
            out = self.assert_status(self.adm("GET", path), 200)
            items = out[what]
            self.assertLessEqual(len(items), limit)
            seen.extend(items)
            pages += 1
            self.assertIn("next", out)
            if out["next"] is None:
                return seen, pages
            self.assertIsInstance(out["next"], str)
            after = out["next"]
            self.assertLess(pages, 100)

    def test_apps_pagination(self):
        made = {self.create_app()["appid"] for _ in range(5)}
        all_apps = self.assert_status(self.adm("GET", "/admin/v1/apps"), 200)
        self.assertIsNone(all_apps["next"])
        ids = [a["appid"] for a in all_apps["apps"]]
        self.assertTrue(made <= set(ids))
        self.assertEqual(len(ids), len(set(ids)))
        for limit in (1, 2, 3, len(ids), 1000):
            with self.subTest(limit=limit):
                seen, pages = self.page_through("apps", limit)
                self.assertEqual([a["appid"] for a in seen], ids)
                self.assertEqual(pages, max(1, -(-len(ids) // limit)) if limit < len(ids)
                                 else 1)

    def test_carriers_pagination_and_shape(self):
        keys = {}
        for i, d in enumerate(("ZT", "SF", "YT", "JD", "EMS")):
            out = self.assert_status(self.adm("POST", "/admin/v1/carriers",
                                              {"delivery_id": d, "delivery_name": "c%d" % i}), 201)
            keys[d] = out["carrier_key"]
        r = self.adm("GET", "/admin/v1/carriers")
        out = self.assert_status(r, 200)
        self.assertIsNone(out["next"])
        ids = [c["delivery_id"] for c in out["carriers"]]
        self.assertTrue({"ZT", "SF", "YT", "JD", "EMS"} <= set(ids))
        for k in keys.values():
            self.assertNotIn(k, r.raw.decode())
        for c in out["carriers"]:
            self.assertNotIn("carrier_key", c)
        for limit in (1, 2, 4):
            with self.subTest(limit=limit):
                seen, _ = self.page_through("carriers", limit)
                self.assertEqual([c["delivery_id"] for c in seen], ids)

    def test_bad_list_parameters(self):
        for what in ("apps", "carriers"):
            for q in ("limit=0", "limit=1001", "limit=-1", "limit=abc", "limit=", "limit=1.5",
                      "after=a%20b", "after=" + "x" * 200):
                with self.subTest(what=what, q=q):
                    self.assert_status(self.adm("GET", "/admin/v1/%s?%s" % (what, q)), 400,
                                       47001)
        self.assert_status(self.adm("GET", "/admin/v1/apps?limit=1000"), 200)

    def test_default_limit_is_100(self):
        for _ in range(3):
            self.create_app()
        out = self.assert_status(self.adm("GET", "/admin/v1/apps"), 200)
        self.assertLessEqual(len(out["apps"]), 100)


class AdminUsers(AdminCase):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.other = cls.srv.new_app()

    def users(self, appid, body):
        return self.adm("POST", "/admin/v1/apps/%s/users" % appid, body)

    def test_minted_openid(self):
        seen = set()
        for body in ({}, None, {"openid": None}):
            with self.subTest(body=body):
                out = self.assert_status(self.users(self.app.appid, body), 201)
                self.assertRegex(out["openid"], OPENID_RE)
                seen.add(out["openid"])
        self.assertEqual(len(seen), 3)

    def test_given_openid_and_phone(self):
        openid = new_openid()
        out = self.assert_status(self.users(self.app.appid,
                                            {"openid": openid, "phone": "+86 138-0013-8000"}),
                                 201)
        self.assertEqual(out["openid"], openid)
        got = self.assert_status(self.adm("GET", "/admin/v1/apps/%s/users/%s"
                                          % (self.app.appid, openid)), 200)
        self.assertEqual(got["openid"], openid)
        self.assertEqual(got["appid"], self.app.appid)
        self.assertEqual(got.get("phone_tail"), "8000")
        self.assertNotIn("13800138000", json.dumps(got))
        # a user of another app is not found through this one
        self.assert_status(self.adm("GET", "/admin/v1/apps/%s/users/%s"
                                    % (self.other.appid, openid)), 404)
        for n in (1, 64):
            with self.subTest(len=n):
                oid = ("o" + new_openid() * 3)[:n]
                self.assertEqual(self.assert_status(self.users(self.app.appid, {"openid": oid}),
                                                    201)["openid"], oid)

    def test_duplicate_openid_409_even_across_apps(self):
        openid = new_openid()
        self.assert_status(self.users(self.app.appid, {"openid": openid}), 201)
        self.assert_status(self.users(self.app.appid, {"openid": openid}), 409)
        self.assert_status(self.users(self.other.appid, {"openid": openid}), 409)

    def test_bad_user_400(self):
        for body in ({"openid": ""}, {"openid": "a b"}, {"openid": "x" * 65}, {"openid": 5},
                     {"openid": "ok\u00e9"}, {"phone": "12"}, {"phone": "abcdefg"},
                     {"phone": "1" * 21}, {"phone": 13800138000}, {"bogus": 1}, []):
            with self.subTest(body=body):
                self.assert_status(self.users(self.app.appid, body), 400, 47001)


class AdminCarriers(AdminCase):

    def carriers(self, body):
        return self.adm("POST", "/admin/v1/carriers", body)

    def test_create_get_patch(self):
        out = self.assert_status(self.carriers({"delivery_id": "SF", "delivery_name": "顺丰速运",
                                                "waybill_pattern": "^SF[0-9]{12}$"}), 201)
        self.assertIsInstance(out["carrier_key"], str)
        self.assertGreaterEqual(len(out["carrier_key"]), 22)
        got = self.assert_status(self.adm("GET", "/admin/v1/carriers/SF"), 200)
        self.assertEqual(got["delivery_name"], "顺丰速运")
        self.assertEqual(got["waybill_pattern"], "^SF[0-9]{12}$")
        self.assertNotIn("carrier_key", got)
        r = self.adm("PATCH", "/admin/v1/carriers/SF", {"waybill_pattern": None,
                                                         "delivery_name": "SF Express"})
        got = self.assert_status(r, 200)
        self.assertIsNone(got["waybill_pattern"])
        self.assertEqual(got["delivery_name"], "SF Express")
        self.assert_status(self.adm("PATCH", "/admin/v1/carriers/SF", {"waybill_pattern": "("}),
                           400, 47001)
        self.assert_status(self.adm("PATCH", "/admin/v1/carriers/SF", {"delivery_id": "X"}),
                           400, 47001)
        key = self.assert_status(self.adm("POST", "/admin/v1/carriers/SF/key"), 200)
        self.assertNotEqual(key["carrier_key"], out["carrier_key"])

    def test_registered_carrier_is_listed_to_merchants(self):
        self.assert_status(self.carriers({"delivery_id": "YTO", "delivery_name": "圆通速递"}), 201)
        app = self.new_app()
        r = self.call(DELIVERY_LIST, {}, app.token)
        self.assert_ok(r)
        self.assertIn({"delivery_id": "YTO", "delivery_name": "圆通速递"}, r["delivery_list"])

    def test_duplicate_409(self):
        body = {"delivery_id": "ZTO", "delivery_name": "中通快递"}
        self.assert_status(self.carriers(body), 201)
        self.assert_status(self.carriers(body), 409)
        self.assert_status(self.carriers(dict(body, delivery_name="other")), 409)

    def test_bad_carrier_400(self):
        for body in ({"delivery_name": "x"}, {"delivery_id": "D1"},
                     {"delivery_id": "", "delivery_name": "x"},
                     {"delivery_id": "A B", "delivery_name": "x"},
                     {"delivery_id": "x" * 33, "delivery_name": "x"},
                     {"delivery_id": 5, "delivery_name": "x"},
                     {"delivery_id": "D2", "delivery_name": ""},
                     {"delivery_id": "D3", "delivery_name": "x" * 65},
                     {"delivery_id": "D4", "delivery_name": "x", "waybill_pattern": "(unclosed"},
                     {"delivery_id": "D5", "delivery_name": "x", "waybill_pattern": "a{2,1}"},
                     {"delivery_id": "D6", "delivery_name": "x", "waybill_pattern": ""},
                     {"delivery_id": "D7", "delivery_name": "x", "waybill_pattern": 5},
                     {"delivery_id": "D8", "delivery_name": "x", "waybill_pattern": "a" * 300},
                     {"delivery_id": "D9", "delivery_name": "x", "key": "mine"}, []):
            with self.subTest(body=body):
                self.assert_status(self.carriers(body), 400, 47001)
        ids = [c["delivery_id"] for c in
               self.assert_status(self.adm("GET", "/admin/v1/carriers"), 200)["carriers"]]
        for d in ("D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9"):
            self.assertNotIn(d, ids)
        self.assert_status(self.carriers({"delivery_id": "x" * 32, "delivery_name": "x" * 64}),
                           201)


class SandboxClock(AdminCase):

    fresh_server_per_test = True

    def clock(self, method="GET", body=None):
        return self.adm(method, "/admin/v1/sandbox/clock", body)

    def test_get_is_about_now(self):
        now = self.assert_status(self.clock(), 200)["now"]
        self.assertIsInstance(now, int)
        self.assertLess(abs(now - time.time()), 5)

    def test_advance_and_set(self):
        t0 = self.srv.clock()
        t1 = self.assert_status(self.clock("POST", {"advance": 3600}), 200)["now"]
        self.assertGreaterEqual(t1, t0 + 3600)
        self.assertLess(t1, t0 + 3600 + 5)
        self.assertGreaterEqual(self.srv.clock(), t1)
        t2 = self.assert_status(self.clock("POST", {"advance": 0}), 200)["now"]
        self.assertGreaterEqual(t2, t1)
        target = t2 + 86400 * 3
        t3 = self.assert_status(self.clock("POST", {"set": target}), 200)["now"]
        self.assertGreaterEqual(t3, target)
        self.assertLess(t3, target + 5)

    def test_set_into_the_past_is_400_and_changes_nothing(self):
        t0 = self.srv.advance(7200)
        for past in (t0 - 10, int(time.time()) - 60, 0, -5):
            with self.subTest(set=past):
                self.assert_status(self.clock("POST", {"set": past}), 400, 47001)
        t1 = self.srv.clock()
        self.assertGreaterEqual(t1, t0)
        self.assertLess(t1, t0 + 5)

    def test_bad_bodies_are_400(self):
        t0 = self.srv.clock()
        for body in ({}, {"advance": -1}, {"advance": "60"}, {"advance": 1.5},
                     {"advance": 1, "set": t0 + 100}, {"set": "tomorrow"}, {"set": None},
                     {"advance": 10 ** 15}, {"set": 10 ** 15}, {"speed": 2}, [], None,
                     b"{", b'{"advance":1,"advance":2}'):
            with self.subTest(body=body):
                self.assert_status(self.clock("POST", body), 400, 47001)
        self.assertLess(self.srv.clock() - t0, 5)

    def test_clock_drives_token_lifetime(self):
        app = self.new_app()
        tok = app.token
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))
        self.srv.advance(7201)
        self.assert_err(self.call(DELIVERY_LIST, {}, tok), 42001)

    def test_offset_survives_a_restart(self):
        t0 = self.srv.advance(10 * 86400)
        self.srv.stop()
        self.srv.start()
        t1 = self.srv.clock()
        self.assertGreaterEqual(t1, t0)
        self.assertLess(t1, t0 + 30)


class NoSandboxClock(AdminCase):

    sandbox = False

    def test_clock_is_404_outside_sandbox(self):
        for method, body in (("GET", None), ("POST", {"advance": 60}), ("POST", {"set": 2 ** 31})):
            with self.subTest(method=method):
                r = self.adm(method, "/admin/v1/sandbox/clock", body)
                self.assertEqual(r.status, 404, r)

    def test_admin_api_works_outside_sandbox(self):
        out = self.create_app()
        self.assertRegex(out["appid"], APPID_RE)


class Cli(unittest.TestCase):
    """`waybilld app|user|carrier` on a data dir, then the server on the same dir."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="waybilld-cli-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_cli(self, *args, expect=0):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILLD_")}
        # under WAYBILLD_TEST_PG the dir's database, as the server on the dir gets
        p = subprocess.run([BIN] + list(args) + ["--data", self.dir] + store_args(self.dir),
                           capture_output=True, env=env, timeout=60)
        self.assertEqual(p.returncode, expect, "%s: %r %r" % (args, p.stdout, p.stderr))
        return p

    def cli_json(self, *args, expect=0):
        p = self.run_cli(*args, "--json", expect=expect)
        return json.loads(p.stdout.decode())

    def test_cli_json_and_server_agree(self):
        app = self.cli_json("app", "create", "--name", "cli app", "--released",
                            "--pay-tx-90d", "4", "--push-url", "https://hooks.example.com/x")
        self.assertRegex(app["appid"], APPID_RE)
        self.assertRegex(app["secret"], SECRET_RE)
        self.assertIs(app["released"], True)
        self.assertEqual(app["pay_tx_90d"], 4)
        appid = app["appid"]
        shown = self.cli_json("app", "show", appid)
        self.assertEqual(shown["limits"], DEFAULT_LIMITS)
        self.assertNotIn("secret", shown)
        out = self.cli_json("app", "set", appid, "--enabled", "false", "--daily-quota", "7",
                            "--push-url", "none")
        self.assertIs(out["enabled"], False)
        self.assertEqual(out["daily_quota"], 7)
        self.assertEqual(out["limits"]["daily_quota"], 7)
        self.assertIsNone(out["push_url"])
        out = self.cli_json("app", "set", appid, "--enabled", "--daily-quota", "default")
        self.assertIs(out["enabled"], True)
        self.assertIsNone(out["daily_quota"])
        err = self.cli_json("app", "set", appid, "--max-bindings", "-3", expect=1)
        self.assertEqual(err["errcode"], 47001)
        err = self.cli_json("app", "show", "wx" + "0" * 16, expect=1)
        self.assertEqual(err["errcode"], 404)
        listed = self.cli_json("app", "list")
        self.assertEqual([a["appid"] for a in listed["apps"]], [appid])
        self.assertIsNone(listed["next"])
        user = self.cli_json("user", "add", appid)
        self.assertRegex(user["openid"], OPENID_RE)
        self.cli_json("user", "add", appid, "--openid", user["openid"], expect=1)
        carrier = self.cli_json("carrier", "add", "--delivery-id", "SF", "--name", "顺丰速运",
                                "--pattern", "^SF[0-9]{12}$")
        self.assertIn("carrier_key", carrier)
        err = self.cli_json("carrier", "add", "--delivery-id", "SF", "--name", "x", expect=1)
        self.assertEqual(err["errcode"], 409)
        self.cli_json("carrier", "add", "--delivery-id", "YT", "--name", "x", "--pattern", "(",
                      expect=1)
        carriers = self.cli_json("carrier", "list")
        self.assertEqual([c["delivery_id"] for c in carriers["carriers"]], ["SF"])
        reset = self.cli_json("app", "reset-secret", appid)
        self.assertNotEqual(reset["secret"], app["secret"])

        # the server on the same data sees what the CLI made, and the CLI's secret works
        srv = Server(data_dir=self.dir, sandbox=False).start()
        try:
            r = srv.admin("GET", "/admin/v1/apps/" + appid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r["name"], "cli app")
            self.assertEqual(r["pay_tx_90d"], 4)
            r = srv.admin("GET", "/admin/v1/apps/%s/users/%s" % (appid, user["openid"]))
            self.assertEqual(r.status, 200, r)
            r = srv.token_reply(None, appid=appid, secret=app["secret"])
            self.assertEqual(r.get("errcode"), 40125, r)
            r = srv.token_reply(None, appid=appid, secret=reset["secret"])
            self.assertIn("access_token", r.json or {}, r)
        finally:
            srv.stop()

    def test_cli_tables_and_usage_errors(self):
        p = self.run_cli("app", "create", "--name", "表格")
        text = p.stdout.decode()
        self.assertRegex(text, r"(?m)^appid\s+wx[0-9a-f]{16}$")
        self.assertRegex(text, r"(?m)^secret\s+[0-9a-f]{32}$")
        p = self.run_cli("app", "list")
        lines = p.stdout.decode().splitlines()
        self.assertTrue(lines[0].startswith("APPID"), lines)
        self.assertIn("表格", lines[1])
        self.run_cli("carrier", "list")
        for args in (("app",), ("app", "frobnicate"), ("app", "show"),
                     ("app", "list", "--bogus"), ("app", "create", "--name"),
                     ("user", "show", "wx" + "0" * 16), ("carrier", "add", "--limit", "3")):
            with self.subTest(args=args):
                self.run_cli(*args, expect=2)
        for cmd in ("app", "user", "carrier"):
            with self.subTest(cmd=cmd):
                p = subprocess.run([BIN, cmd, "--help"], capture_output=True, timeout=30)
                self.assertEqual(p.returncode, 0)
                self.assertIn(b"Usage: waybilld " + cmd.encode(), p.stdout)


if __name__ == "__main__":
    unittest.main()
