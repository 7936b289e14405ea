"""SPEC §4.2, §4.3: query_follow_trace / query_trace replies and update_follow_waybill_goods /
update_waybill_goods — tokens of either family on either path, 9300507, 9300534, the goods rules,
and the update limit (9300560; a refused update does not count; --max-updates; PATCH
max_updates)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, QUERY_PATHS, TRACE, UPDATE_FOLLOW, UPDATE_PATHS,
                     ServerTest, goods, new_openid)

CJK40 = "货" * 40
CJK41 = "货" * 41


def same_img(sent, got):
    """The stored URL is the one sent, or its https form for a scheme-less URL (§6.3)."""
    return got == sent or ("://" not in sent and got == "https://" + sent)


class Query(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.other = cls.srv.new_app()

    def check_goods(self, reply, sent_items):
        lst = reply["shop_info"]["goods_info"]["detail_list"]
        self.assertEqual(len(lst), len(sent_items), reply)
        for got, sent in zip(lst, sent_items):
            self.assertEqual(got["goods_name"], sent["goods_name"])
            self.assertEqual(got["goods_desc"], sent.get("goods_desc") or sent["goods_name"],
                             "goods_desc defaults to goods_name: %r" % reply)
            self.assertTrue(same_img(sent["goods_img_url"], got["goods_img_url"]), reply)

    def test_reply_shape(self):
        lst = [{"goods_name": "苹果", "goods_img_url": "https://www.qq.com/a.png"},
               {"goods_name": "梨", "goods_img_url": "www.qq.com/b.png", "goods_desc": "很甜"},
               {"goods_name": CJK40, "goods_img_url": "https://www.qq.com/c.png",
                "goods_desc": None}]
        tok, openid, wb, _ = self.bind(self.app, goods_info={"detail_list": lst})
        for path in QUERY_PATHS:
            with self.subTest(path=path):
                r = self.query(self.app, tok, path)
                self.assert_ok(r)
                self.assert_no_rid(r)
                self.assertEqual(r["waybill_info"], {"status": 0, "waybill_id": wb})
                self.check_goods(r, lst)
                if "path_item_list" in r.json:
                    self.assertEqual(r["path_item_num"], len(r["path_item_list"]))
                    self.assertEqual(r["path_item_list"], [])
                r2 = self.query(self.app, tok, path, openid=openid)
                self.assertEqual(r2.json, r.json, "the openid of the binding's user")

    def test_either_family_on_either_path(self):
        ftok = self.bind(self.app, path=FOLLOW)[0]
        ttok = self.bind(self.app, path=TRACE)[0]
        for path in QUERY_PATHS:
            for tok in (ftok, ttok):
                with self.subTest(path=path, token=tok[:8]):
                    self.assert_ok(self.query(self.app, tok, path))

    def test_waybill_token_errors(self):
        tok = self.bind(self.app)[0]
        theirs = self.bind(self.other)[0]
        cases = [({}, 47001), ({"waybill_token": None}, 47001), ({"waybill_token": 5}, 47001),
                 ({"waybill_token": ["x"]}, 47001),
                 ({"waybill_token": "A" * 64}, 9300507),
                 ({"waybill_token": tok[:-1]}, 9300507),
                 ({"waybill_token": tok + "A"}, 9300507),
                 ({"waybill_token": tok[:-1] + ("B" if tok[-1] != "B" else "C")}, 9300507),
                 ({"waybill_token": "!!not base64!!"}, 9300507),
                 ({"waybill_token": "' OR 1=1 --"}, 9300507),
                 ({"waybill_token": self.app.token}, 9300507),
                 ({"waybill_token": theirs}, 9300507),
                 # the token before the openid
                 ({"waybill_token": theirs, "openid": new_openid()}, 9300507)]
        for path in QUERY_PATHS:
            for body, code in cases:
                with self.subTest(path=path, body=body):
                    r = self.call(path, body, self.app.token)
                    self.assert_err(r, code, "waybill_token" if code == 47001 else None)
            with self.subTest(path=path, case="empty token"):
                self.assert_err(self.call(path, {"waybill_token": ""}, self.app.token), 9300507,
                                codes=(9300507, 47001))

    def test_openid_not_the_binding_user_9300534(self):
        tok, openid, wb, _ = self.bind(self.app)
        other_user = self.bind(self.app, waybill_id=wb)[1]  # a user of the same waybill
        for path in QUERY_PATHS:
            for oid in (other_user, new_openid(), openid.upper() if openid.upper() != openid
                        else openid + "x"):
                with self.subTest(path=path, openid=oid):
                    self.assert_err(self.query(self.app, tok, path, openid=oid), 9300534)
            with self.subTest(path=path, openid=None):
                self.assert_ok(self.query(self.app, tok, path, openid=None))


class Update(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.other = cls.srv.new_app()

    def update(self, tok, gi, path=UPDATE_FOLLOW, app=None, **extra):
        body = {"waybill_token": tok, "goods_info": gi}
        body.update(extra)
        return self.call(path, body, (app or self.app).token)

    def goods_of(self, tok):
        r = self.query(self.app, tok)
        self.assert_ok(r)
        return r["shop_info"]["goods_info"]["detail_list"]

    def test_update_replaces_goods(self):
        tok, openid, _, _ = self.bind(self.app)
        r = self.update(tok, goods(2, name="新的", img="https://www.qq.com/n.png"))
        self.assert_ok(r)
        self.assertEqual(r.json, {"errcode": 0, "errmsg": "ok"})
        got = self.goods_of(tok)
        self.assertEqual([g["goods_name"] for g in got], ["新的0", "新的1"])
        self.assertEqual([g["goods_desc"] for g in got], ["新的0", "新的1"])
        r = self.update(tok, goods(1, name="再改", desc="描述"), openid=openid)
        self.assert_ok(r)
        self.assertEqual(self.goods_of(tok)[0]["goods_desc"], "描述")

    def test_either_family_on_either_path(self):
        ftok = self.bind(self.app, path=FOLLOW)[0]
        ttok = self.bind(self.app, path=TRACE)[0]
        for path in UPDATE_PATHS:
            for tok in (ftok, ttok):
                with self.subTest(path=path, token=tok[:8]):
                    name = "via-" + path[-20:]
                    self.assert_ok(self.update(tok, goods(1, name=name[-40:]), path))
                    self.assertEqual(self.goods_of(tok)[0]["goods_name"], name[-40:])

    def test_goods_rules_at_their_boundaries(self):
        tok = self.bind(self.app)[0]
        ok = [goods(1, name=CJK40), goods(10), goods(1, desc="述" * 40),
              goods(1, img="www.qq.com/a.png")]
        bad = [(goods(1, name=CJK41), 47001, "goods_name"), (goods(11), 47001, "detail_list"),
               ({"detail_list": []}, 47001, "detail_list"),
               (goods(1, desc="述" * 41), 47001, "goods_desc"),
               (goods(1, name=""), 47001, "goods_name"), ({}, 47001, "detail_list"),
               ("x", 47001, "goods_info"), (None, 47001, "goods_info"),
               (goods(1, img="http://127.0.0.1/x.png"), 9300561, None),
               (goods(1, img="https://user:pw@host/"), 9300561, None),
               (goods(1, img="ftp://x/y"), 9300561, None)]
        for path in UPDATE_PATHS:
            for gi in ok:
                with self.subTest(path=path, goods=str(gi)[:80]):
                    self.assert_ok(self.update(tok, gi, path))
            before = self.goods_of(tok)
            for gi, code, detail in bad:
                with self.subTest(path=path, goods=str(gi)[:80]):
                    self.assert_err(self.update(tok, gi, path), code, detail)
            self.assertEqual(self.goods_of(tok), before, "a refused update changed the goods")

    def test_token_and_openid_errors_and_their_order(self):
        tok, openid, _, _ = self.bind(self.app)
        theirs = self.bind(self.other)[0]
        badimg = goods(1, img="http://10.0.0.1/")
        for path in UPDATE_PATHS:
            cases = [({"goods_info": goods(1)}, 47001),
                     ({"waybill_token": 5, "goods_info": goods(1)}, 47001),
                     ({"waybill_token": "A" * 64, "goods_info": badimg}, 9300507),
                     ({"waybill_token": "A" * 64, "goods_info": goods(11)}, 9300507),
                     ({"waybill_token": theirs, "goods_info": goods(1)}, 9300507),
                     ({"waybill_token": tok, "openid": new_openid(), "goods_info": badimg},
                      9300534),
                     ({"waybill_token": tok, "openid": new_openid(), "goods_info": goods(1)},
                      9300534),
                     ({"waybill_token": tok, "openid": openid, "goods_info": badimg}, 9300561)]
            for body, code in cases:
                with self.subTest(path=path, body=body):
                    self.assert_err(self.call(path, body, self.app.token), code)
        # the other app cannot update this app's binding
        self.assert_err(self.update(tok, goods(1), app=self.other), 9300507)

    def test_ten_updates_then_9300560_refusals_do_not_count(self):
        tok, openid, wb, body = self.bind(self.app)
        for i in range(5):
            self.assert_ok(self.update(tok, goods(1, name="u%d" % i),
                                       UPDATE_PATHS[i % 2]))
        # refused updates of every kind, which must not count
        self.assert_err(self.update(tok, goods(11)), 47001)
        self.assert_err(self.update(tok, goods(1, name=CJK41)), 47001)
        self.assert_err(self.update(tok, goods(1, img="ftp://x/y")), 9300561)
        self.assert_err(self.update(tok, goods(1), openid=new_openid()), 9300534)
        self.assert_err(self.call(UPDATE_FOLLOW, None, self.app.token), 44002)
        self.assert_err(self.call(UPDATE_FOLLOW, b"{", self.app.token), 47001)
        # a repeated bind is not an update
        r = self.call(FOLLOW, body, self.app.token)
        self.assertEqual(r["waybill_token"], tok)
        for i in range(5, 10):
            self.assert_ok(self.update(tok, goods(1, name="u%d" % i),
                                       UPDATE_PATHS[i % 2]))
        for path in UPDATE_PATHS:
            r = self.update(tok, goods(1, name="u10"), path)
            self.assert_err(r, 9300560)
            self.assertIn("达到修改次数上限", r.errmsg, r)
        # goods rules come before the limit
        self.assert_err(self.update(tok, goods(11)), 47001)
        self.assertEqual(self.goods_of(tok)[0]["goods_name"], "u9")
        # the limit is per binding: another user's binding of the same waybill is fresh
        tok2 = self.bind(self.app, waybill_id=wb)[0]
        self.assert_ok(self.update(tok2, goods(1, name="other")))

    def test_patch_max_updates(self):
        app = self.new_app()
        self.srv.patch_app(app, max_updates=2)
        tok = self.bind(app)[0]
        self.assert_ok(self.update(tok, goods(1, name="a"), app=app))
        self.assert_ok(self.update(tok, goods(1, name="b"), app=app))
        self.assert_err(self.update(tok, goods(1, name="c"), app=app), 9300560)
        self.srv.patch_app(app, max_updates=None)  # back to the default of 10
        self.assert_ok(self.update(tok, goods(1, name="d"), app=app))


class MaxUpdatesFlag(ServerTest):
    server_args = ("--max-updates", "3")

    def test_max_updates_flag(self):
        app = self.new_app()
        tok = self.bind(app)[0]
        for i in range(3):
            r = self.call(UPDATE_FOLLOW, {"waybill_token": tok, "goods_info": goods(1)}, app.token)
            self.assert_ok(r)
        r = self.call(UPDATE_FOLLOW, {"waybill_token": tok, "goods_info": goods(1)}, app.token)
        self.assert_err(r, 9300560)


if __name__ == "__main__":
    unittest.main()
