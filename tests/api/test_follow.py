"""SPEC §4.1, §5.1, §6.3: follow_waybill / trace_waybill — every field rule at its boundary, the
order of the checks, goods image URLs, waybill recognition (931023), idempotent binds, and openid
ownership outside the sandbox (40003, 9300534)."""

import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (BIND_PATHS, DELIVERY_LIST, FOLLOW, OMIT, QUERY_FOLLOW, QUERY_TRACE, TRACE,
                     UPDATE_PATHS, Server, ServerTest, bind_body, goods, new_openid,
                     sandbox_waybill, sf_waybill)

CJK40 = "商" * 40
CJK41 = "商" * 41
EMOJI40 = "\U0001F600" * 40
EMOJI41 = "\U0001F600" * 41


def items(n, **kw):
    return goods(n, **kw)


class FollowFields(ServerTest):
    """Field rules of §4.1 on both bind paths, in the sandbox (openids register on first use)."""

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")

    def try_bind(self, path=FOLLOW, openid=None, waybill_id=None, **over):
        body = bind_body(new_openid() if openid is None else openid,
                         sandbox_waybill() if waybill_id is None else waybill_id, **over)
        for k in ("openid", "waybill_id"):
            if body[k] is OMIT:
                del body[k]
        return self.call(path, body, self.app.token), body

    def check_cases(self, cases):
        for path in BIND_PATHS:
            for case in cases:
                name, over, code = case[0], case[1], case[2]
                detail = case[3] if len(case) > 3 else None
                with self.subTest(path=path, case=name):
                    r, body = self.try_bind(path, **over)
                    if code == 0:
                        self.assert_ok(r)
                        self.assertRegex(r.get("waybill_token", ""), r"^[A-Za-z0-9_-]{64}$", r)
                    else:
                        self.assert_err(r, code, detail)

    def test_accepted_boundaries(self):
        self.check_cases([
            ("goods_name 40 CJK", {"goods_info": items(1, name=CJK40)}, 0),
            ("goods_name 40 emoji", {"goods_info": items(1, name=EMOJI40)}, 0),
            ("goods_name 1 char", {"goods_info": items(1, name="a")}, 0),
            ("goods_desc 40 CJK", {"goods_info": items(1, desc="描" * 40)}, 0),
            ("goods_desc empty", {"goods_info": items(1, desc="")}, 0),
            ("10 items", {"goods_info": items(10)}, 0),
            ("1 item", {"goods_info": items(1)}, 0),
            ("waybill_id 64", {"waybill_id": "WXTESTEXPRESS" + "1" * 50 + "7"}, 0),
            ("waybill_id WXTESTEXPRESS+1 digit", {"waybill_id": "WXTESTEXPRESS7"}, 0),
            ("openid 64", {"openid": "o" + "A" * 61 + "_-"}, 0),
            ("openid 1", {"openid": "Z"}, 0),
            ("phone 5 digits", {"receiver_phone": "12345"}, 0),
            ("phone 20 digits", {"receiver_phone": "1" * 20}, 0),
            ("phone +86 spaced", {"receiver_phone": "+86 138-0013-8000"}, 0),
            ("phone + and 5", {"receiver_phone": "+12345"}, 0),
            ("phone 5 with separators", {"receiver_phone": "1-2 3-4 5"}, 0),
            ("phone 20 with separators", {"receiver_phone": "+" + "12345-" * 4}, 0),
            ("sender_phone 5", {"sender_phone": "12345"}, 0),
            ("transmitter_phone alias", {"transmitter_phone": "+86 138-0013-8000"}, 0),
            ("trans_id 64", {"trans_id": "t" * 64}, 0),
            ("trans_id empty", {"trans_id": ""}, 0),
            ("order_detail_path 256", {"order_detail_path": "pages/order?id=" + "9" * 241}, 0),
            ("nulls are absent", {"sender_phone": None, "trans_id": None, "delivery_id": None,
                                  "order_detail_path": None}, 0),
            ("goods_desc null", {"goods_info": {"detail_list": [
                {"goods_name": "x", "goods_img_url": "www.qq.com/a.png", "goods_desc": None}]}},
             0),
            ("unknown fields ignored", {"foo": {"bar": [1, 2, None]}, "goods_info": {
                "detail_list": [{"goods_name": "x", "goods_img_url": "www.qq.com/a.png",
                                 "price": 12}], "extra": True}}, 0),
            ("delivery_id registered", {"delivery_id": "SF"}, 0),
        ])

    def test_rejected_boundaries(self):
        self.check_cases([
            ("goods_name 41 CJK", {"goods_info": items(1, name=CJK41)}, 47001, "goods_name"),
            ("goods_name 41 emoji", {"goods_info": items(1, name=EMOJI41)}, 47001, "goods_name"),
            ("goods_name empty", {"goods_info": items(1, name="")}, 47001, "goods_name"),
            ("goods_name missing", {"goods_info": {"detail_list": [
                {"goods_img_url": "www.qq.com/a.png"}]}}, 47001, "goods_name"),
            ("goods_name null", {"goods_info": {"detail_list": [
                {"goods_name": None, "goods_img_url": "www.qq.com/a.png"}]}}, 47001,
             "goods_name"),
            ("goods_name number", {"goods_info": {"detail_list": [
                {"goods_name": 12, "goods_img_url": "www.qq.com/a.png"}]}}, 47001, "goods_name"),
            ("goods_desc 41", {"goods_info": items(1, desc="描" * 41)}, 47001, "goods_desc"),
            ("goods_desc number", {"goods_info": {"detail_list": [
                {"goods_name": "x", "goods_img_url": "www.qq.com/a.png", "goods_desc": 1}]}},
             47001, "goods_desc"),
            ("11 items", {"goods_info": items(11)}, 47001, "detail_list"),
            ("0 items", {"goods_info": {"detail_list": []}}, 47001, "detail_list"),
            ("detail_list missing", {"goods_info": {}}, 47001, "detail_list"),
            ("detail_list object", {"goods_info": {"detail_list": {"goods_name": "x"}}}, 47001,
             "detail_list"),
            ("detail_list item not object", {"goods_info": {"detail_list": ["x"]}}, 47001,
             "detail_list"),
            ("goods_info missing", {"goods_info": OMIT}, 47001, "goods_info"),
            ("goods_info string", {"goods_info": "x"}, 47001, "goods_info"),
            ("goods_info null", {"goods_info": None}, 47001, "goods_info"),
            ("waybill_id 65", {"waybill_id": "WXTESTEXPRESS" + "1" * 51 + "7"}, 47001,
             "waybill_id"),
            ("waybill_id empty", {"waybill_id": ""}, 47001, "waybill_id"),
            ("waybill_id missing", {"waybill_id": OMIT}, 47001, "waybill_id"),
            ("waybill_id space", {"waybill_id": "WXTESTEXPRESS 17"}, 47001, "waybill_id"),
            ("waybill_id CJK", {"waybill_id": "运单17"}, 47001, "waybill_id"),
            ("waybill_id SQL", {"waybill_id": "'; DROP TABLE bindings;--"}, 47001, "waybill_id"),
            ("waybill_id number", {"waybill_id": 12345}, 47001, "waybill_id"),
            ("phone 4 digits", {"receiver_phone": "1234"}, 47001, "receiver_phone"),
            ("phone 21 digits", {"receiver_phone": "1" * 21}, 47001, "receiver_phone"),
            ("phone + and 4", {"receiver_phone": "+1234"}, 47001, "receiver_phone"),
            ("phone letters", {"receiver_phone": "138a0013800"}, 47001, "receiver_phone"),
            ("phone plus inside", {"receiver_phone": "138+0013800"}, 47001, "receiver_phone"),
            ("phone two plus", {"receiver_phone": "++8613800138000"}, 47001, "receiver_phone"),
            ("phone empty", {"receiver_phone": ""}, 47001, "receiver_phone"),
            ("phone only separators", {"receiver_phone": "- - -"}, 47001, "receiver_phone"),
            ("phone missing", {"receiver_phone": OMIT}, 47001, "receiver_phone"),
            ("phone null", {"receiver_phone": None}, 47001, "receiver_phone"),
            ("phone number", {"receiver_phone": 13800138000}, 47001, "receiver_phone"),
            ("phone fullwidth digits", {"receiver_phone": "１３８００１３８０００"}, 47001,
             "receiver_phone"),
            ("sender_phone 4", {"sender_phone": "1234"}, 47001, "phone"),
            ("sender_phone 21", {"sender_phone": "9" * 21}, 47001, "phone"),
            ("transmitter_phone 4", {"transmitter_phone": "1234"}, 47001, "phone"),
            ("delivery_id unknown", {"delivery_id": "NOPE"}, 47001, "delivery_id"),
            ("delivery_id number", {"delivery_id": 7}, 47001, "delivery_id"),
            ("trans_id 65", {"trans_id": "t" * 65}, 47001, "trans_id"),
            ("trans_id number", {"trans_id": 5}, 47001, "trans_id"),
            ("order_detail_path 257", {"order_detail_path": "pages/order?id=" + "9" * 242},
             47001, "order_detail_path"),
            ("order_detail_path newline", {"order_detail_path": "pages/a\nb"}, 47001),
            ("order_detail_path DEL-free control", {"order_detail_path": "pages/\u001fb"},
             47001),
        ])

    def test_openid_rules_40003(self):
        self.check_cases([
            ("openid 65", {"openid": "o" + "A" * 64}, 40003),
            ("openid empty", {"openid": ""}, 40003),
            ("openid bang", {"openid": "oabc!"}, 40003),
            ("openid space", {"openid": "oab c"}, 40003),
            ("openid CJK", {"openid": "用户"}, 40003),
            ("openid SQL", {"openid": "x' OR '1'='1"}, 40003),
        ])
        for path in BIND_PATHS:
            with self.subTest(path=path, case="openid missing or wrong type"):
                body = bind_body("x", sandbox_waybill())
                del body["openid"]
                self.assert_err(self.call(path, body, self.app.token), 40003,
                                codes=(40003, 47001))
                body["openid"] = 12345
                self.assert_err(self.call(path, body, self.app.token), 40003,
                                codes=(40003, 47001))

    def test_detail_names_the_item_index(self):
        lst = items(3)["detail_list"]
        lst[2]["goods_name"] = CJK41
        r, _ = self.try_bind(goods_info={"detail_list": lst})
        self.assert_err(r, 47001, "goods_info.detail_list[2].goods_name")
        lst = items(4)["detail_list"]
        lst[3]["goods_desc"] = "d" * 41
        r, _ = self.try_bind(goods_info={"detail_list": lst})
        self.assert_err(r, 47001, "detail_list[3].goods_desc")

    def test_check_order_of_fields(self):
        bad_goods = items(1, name=CJK41)
        cases = [
            # openid (40003) before everything else
            ({"openid": "bad!", "receiver_phone": OMIT, "waybill_id": "", "goods_info": OMIT},
             40003, None),
            ({"receiver_phone": "1", "waybill_id": "bad id", "goods_info": bad_goods}, 47001,
             "receiver_phone"),
            ({"sender_phone": "1", "waybill_id": "bad id"}, 47001, "sender_phone"),
            ({"waybill_id": "bad id", "delivery_id": "NOPE", "goods_info": bad_goods}, 47001,
             "waybill_id"),
            ({"delivery_id": "NOPE", "goods_info": bad_goods}, 47001, "delivery_id"),
            ({"goods_info": bad_goods, "trans_id": "t" * 65}, 47001, "goods_name"),
            ({"trans_id": "t" * 65, "order_detail_path": "p" * 300}, 47001, "trans_id"),
            # fields (47001) before the image URL (9300561)
            ({"goods_info": {"detail_list": [{"goods_name": CJK41,
                                              "goods_img_url": "http://127.0.0.1/x.png"}]}},
             47001, "goods_name"),
            ({"goods_info": {"detail_list": [{"goods_name": "a",
                                              "goods_img_url": "ftp://x/y"}]},
              "trans_id": "t" * 65}, 47001, "trans_id"),
            # the image URL (9300561) before recognition (931023)
            ({"waybill_id": "NOTRECOGNISED1",
              "goods_info": items(1, img="http://127.0.0.1/x.png")}, 9300561, None),
        ]
        for path in BIND_PATHS:
            for over, code, detail in cases:
                with self.subTest(path=path, over=over):
                    r, _ = self.try_bind(path, **over)
                    self.assert_err(r, code, detail)

    def test_goods_img_url(self):
        ok = ["www.qq.com/a.png", "https://www.qq.com/a.png", "http://www.qq.com/a.png",
              "https://img.example.com/p/1.jpg?x=1&y=2", "www.qq.com",
              "http://8.8.8.8/a.png", "https://img.example.com:8443/a.png",
              "https://example.com/" + "a" * (1024 - len("https://example.com/"))]
        bad = ["http://127.0.0.1/x.png", "http://10.0.0.1/", "http://[::1]/",
               "https://user:pw@host/", "https://user@host.example/a.png", "ftp://x/y",
               "http://www.qq.com/a b.png", "www.qq.com/a b.png", "javascript:alert(1)",
               "http://192.168.1.1/a.png", "http://172.16.0.1/a.png", "http://169.254.1.1/a.png",
               "http://127.1.2.3/a.png", "http://[fe80::1]/a.png", "http://[fc00::1]/a.png",
               "http://localhost.invalid\u0001/a.png", "https://example.com/" + "a" * (
                   1025 - len("https://example.com/")), "http:///a.png", "//x"]
        self.assertEqual(len(ok[-1].encode()), 1024)
        self.assertEqual(len(bad[-3].encode()), 1025)
        for path in BIND_PATHS:
            for url in ok:
                with self.subTest(path=path, url=url[:60]):
                    r, _ = self.try_bind(path, goods_info=items(1, img=url))
                    self.assert_ok(r)
            for url in bad:
                with self.subTest(path=path, url=url[:60]):
                    r, _ = self.try_bind(path, goods_info=items(1, img=url))
                    code = 47001 if "\u0001" in url else 9300561
                    self.assert_err(r, code, codes=(code, 9300561))
                    if r.errcode == 9300561:
                        self.assertIn("图片url错误", r.errmsg, r)
            with self.subTest(path=path, case="second item's URL"):
                lst = items(3)["detail_list"]
                lst[1]["goods_img_url"] = "http://10.0.0.1/"
                r, _ = self.try_bind(path, goods_info={"detail_list": lst})
                self.assert_err(r, 9300561)
            with self.subTest(path=path, case="missing URL"):
                r, _ = self.try_bind(path, goods_info={"detail_list": [{"goods_name": "a"}]})
                self.assert_err(r, 47001, codes=(47001, 9300561))


class Recognition(ServerTest):
    """§5.1: which waybills a bind accepts (931023 otherwise), and delivery_info in queries."""

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        cls.srv.new_carrier("YTO", "圆通速递", "^YT[0-9]{13}$")
        # two carriers whose patterns both match ZZ… : the carrier stays unknown
        cls.srv.new_carrier("ZZA", "Z Alpha", "^ZZ[0-9]+$")
        cls.srv.new_carrier("ZZB", "Z Beta", "^Z[A-Z][0-9]+$")

    def bind_reply(self, waybill_id, path=FOLLOW, **over):
        return self.call(path, bind_body(new_openid(), waybill_id, **over), self.app.token)

    def test_recognised(self):
        for wb in ("WXTESTEXPRESS1", "WXTESTEXPRESS" + "9" * 51, sf_waybill(),
                   "ZZ123", "ZQ99"):
            for path in BIND_PATHS:
                with self.subTest(waybill=wb, path=path):
                    self.assert_ok(self.bind_reply(wb, path))

    def test_not_recognised_931023(self):
        for wb in ("WXTESTEXPRESS", "WXTESTEXPRESSX1", "WXTESTEXPRESS12a", "wxtestexpress1",
                   "SF12345678901", "SF1234567890123", "XSF123456789012", "ABC123", "Z1"):
            for path in BIND_PATHS:
                with self.subTest(waybill=wb, path=path):
                    r = self.bind_reply(wb, path)
                    self.assert_err(r, 931023)
                    self.assertIn("运单不存在", r.errmsg, r)

    def test_delivery_id_makes_a_waybill_recognised(self):
        tok = self.bind_reply("ANYTHING-123_x", delivery_id="YTO")
        self.assert_ok(tok)
        r = self.call(QUERY_FOLLOW, {"waybill_token": tok["waybill_token"]}, self.app.token)
        self.assert_ok(r)
        self.assertEqual(r["delivery_info"], {"delivery_id": "YTO", "delivery_name": "圆通速递"})

    def test_delivery_info_from_the_one_matching_pattern(self):
        r = self.bind_reply(sf_waybill())
        self.assert_ok(r)
        q = self.call(QUERY_FOLLOW, {"waybill_token": r["waybill_token"]}, self.app.token)
        self.assert_ok(q)
        self.assertEqual(q["delivery_info"], {"delivery_id": "SF", "delivery_name": "顺丰速运"})

    def test_delivery_info_absent_when_carrier_unknown(self):
        r = self.bind_reply("ZZ4711")  # matches two carriers' patterns
        self.assert_ok(r)
        q = self.call(QUERY_TRACE, {"waybill_token": r["waybill_token"]}, self.app.token)
        self.assert_ok(q)
        self.assertNotIn("delivery_info", q.json, q)

    def push_event(self, key, waybill_id, status=1):
        ev = {"events": [{"event_id": "e-" + new_openid(), "waybill_id": waybill_id,
                          "action_time": self.srv.clock() - 60, "action_type": 100001,
                          "status": status, "action_msg": "揽收"}]}
        r = self.srv.request("POST", "/carrier/v1/events", ev, {"Authorization": "Bearer " + key})
        if r.status == 404:
            self.skipTest("the carrier feed (/carrier/v1/events) is not served yet")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.get("accepted"), 1, r)

    def test_waybill_reported_by_a_carrier_is_recognised(self):
        key = self.srv.new_carrier("NPX", "No Pattern Express", "^NPX[0-9]{20}$")
        wb = "FREEFORM" + sandbox_waybill()[-10:]
        self.assert_err(self.bind_reply(wb), 931023)
        self.push_event(key, wb)
        r = self.bind_reply(wb)
        self.assert_ok(r)
        q = self.call(QUERY_FOLLOW, {"waybill_token": r["waybill_token"]}, self.app.token)
        self.assertEqual(q["delivery_info"], {"delivery_id": "NPX",
                                              "delivery_name": "No Pattern Express"})
        self.assertEqual(q["waybill_info"]["status"], 1)
        # a new binding starts at the waybill's current status
        t = self.bind_reply(wb, TRACE)
        self.assertEqual(self.call(QUERY_TRACE, {"waybill_token": t["waybill_token"]},
                                   self.app.token)["waybill_info"]["status"], 1)

    def test_delivery_id_contradicting_the_owner_is_47001(self):
        key = self.srv.new_carrier("OWN", "Owner Express", "^OWN[0-9]+$")
        wb = "OWN" + sandbox_waybill()[-10:]
        self.push_event(key, wb)
        for path in BIND_PATHS:
            with self.subTest(path=path):
                self.assert_err(self.bind_reply(wb, path, delivery_id="YTO"), 47001,
                                "delivery_id")
                self.assert_ok(self.bind_reply(wb, path, delivery_id="OWN"))

    def test_recognition_after_image_check(self):
        r = self.bind_reply("ABC123", goods_info=items(1, img="http://[::1]/"))
        self.assert_err(r, 9300561)


class Idempotency(ServerTest):
    """§4.1: a binding is (app, openid, waybill_id, family); binding again returns the same token
    and changes nothing; all bindings of a waybill share its status."""

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()

    def test_same_binding_same_token_nothing_changed(self):
        openid, wb = new_openid(), sandbox_waybill()
        body = bind_body(openid, wb, goods_info=items(2, name="原始", desc="第一"),
                         trans_id="T1", order_detail_path="pages/a")
        r1 = self.call(FOLLOW, body, self.app.token)
        self.assert_ok(r1)
        q1 = self.query(self.app, r1["waybill_token"])
        self.assert_ok(q1)
        r2 = self.call(FOLLOW, body, self.app.token)
        self.assert_ok(r2)
        self.assertEqual(r2["waybill_token"], r1["waybill_token"])
        body3 = bind_body(openid, wb, goods_info=items(1, name="换了"), receiver_phone="99999",
                          trans_id="T2", order_detail_path="pages/b")
        r3 = self.call(FOLLOW, body3, self.app.token)
        self.assert_ok(r3)
        self.assertEqual(r3["waybill_token"], r1["waybill_token"])
        q3 = self.query(self.app, r1["waybill_token"])
        self.assertEqual(q3.json, q1.json, "a repeated bind changed the binding")
        # invalid input is refused even for an existing binding
        body4 = bind_body(openid, wb, goods_info=items(11))
        self.assert_err(self.call(FOLLOW, body4, self.app.token), 47001)

    def test_families_are_separate_bindings(self):
        openid, wb = new_openid(), sandbox_waybill()
        f = self.call(FOLLOW, bind_body(openid, wb), self.app.token)
        t = self.call(TRACE, bind_body(openid, wb), self.app.token)
        self.assert_ok(f)
        self.assert_ok(t)
        self.assertNotEqual(f["waybill_token"], t["waybill_token"])
        t2 = self.call(TRACE, bind_body(openid, wb), self.app.token)
        self.assertEqual(t2["waybill_token"], t["waybill_token"])

    def test_two_users_same_waybill_share_status(self):
        wb = sandbox_waybill()
        a = self.bind(self.app, waybill_id=wb, goods_info=items(1, name="甲的"))[0]
        b = self.bind(self.app, waybill_id=wb, goods_info=items(1, name="乙的"))[0]
        self.assertNotEqual(a, b)
        qa, qb = self.query(self.app, a), self.query(self.app, b)
        self.assert_ok(qa)
        self.assert_ok(qb)
        self.assertEqual(qa["waybill_info"], qb["waybill_info"])
        self.assertEqual(qa["waybill_info"]["waybill_id"], wb)
        self.assertEqual(qa["shop_info"]["goods_info"]["detail_list"][0]["goods_name"], "甲的")
        self.assertEqual(qb["shop_info"]["goods_info"]["detail_list"][0]["goods_name"], "乙的")

    def test_two_apps_same_waybill(self):
        other = self.new_app()
        wb, openid = sandbox_waybill(), new_openid()
        a = self.bind(self.app, openid=openid, waybill_id=wb)[0]
        b = self.bind(other, waybill_id=wb)[0]
        self.assertNotEqual(a, b)
        self.assert_err(self.query(other, a), 9300507)
        self.assert_err(self.query(self.app, b), 9300507)
        # the same openid string under another app is another app's user
        r = self.call(FOLLOW, bind_body(openid, wb), other.token)
        self.assert_err(r, 9300534)

    def test_shared_status_follows_carrier_events(self):
        key = self.srv.new_carrier("EVX", "Event Express", "^EVX[0-9]+$")
        wb = "EVX" + sandbox_waybill()[-8:]
        other = self.new_app()
        a = self.bind(self.app, waybill_id=wb)[0]
        b = self.bind(other, waybill_id=wb)[0]
        ev = {"events": [{"event_id": "e-" + wb, "waybill_id": wb, "action_time": self.srv.clock()
                          - 60, "action_type": 100001, "status": 1, "action_msg": "揽收"}]}
        r = self.srv.request("POST", "/carrier/v1/events", ev,
                             {"Authorization": "Bearer %s" % key})
        if r.status == 404:
            self.skipTest("the carrier feed (/carrier/v1/events) is not served yet")
        self.assertEqual(r.status, 200, r)
        qa = self.query(self.app, a)
        self.assert_ok(qa)
        self.assertEqual(qa["waybill_info"]["status"], 1, qa)
        qb = self.query(other, b)
        self.assert_ok(qb)
        self.assertEqual(qb["waybill_info"], qa["waybill_info"])
        self.assertEqual(qb["delivery_info"], {"delivery_id": "EVX",
                                               "delivery_name": "Event Express"})


class OutsideSandbox(ServerTest):
    """Outside the sandbox an openid must be a registered user of the calling app."""

    sandbox = False

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.other = cls.srv.new_app()
        cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")

    def test_registered_user_binds(self):
        openid = self.srv.new_user(self.app)
        self.assertEqual(len(openid), 28, openid)
        for path in BIND_PATHS:
            with self.subTest(path=path):
                r = self.call(path, bind_body(openid, sf_waybill()), self.app.token)
                self.assert_ok(r)
        chosen = self.srv.new_user(self.app, openid="merchant_chosen-" + new_openid()[:20])
        self.assert_ok(self.call(FOLLOW, bind_body(chosen, sf_waybill()), self.app.token))

    def test_unknown_openid_40003(self):
        for path in BIND_PATHS:
            with self.subTest(path=path):
                r = self.call(path, bind_body(new_openid(), sf_waybill()), self.app.token)
                self.assert_err(r, 40003)

    def test_openid_of_another_app_9300534(self):
        theirs = self.srv.new_user(self.other)
        for path in BIND_PATHS:
            with self.subTest(path=path):
                r = self.call(path, bind_body(theirs, sf_waybill()), self.app.token)
                self.assert_err(r, 9300534)

    def test_order_fields_then_owner_then_image_then_recognition(self):
        mine = self.srv.new_user(self.app)
        theirs = self.srv.new_user(self.other)
        cases = [
            (bind_body(new_openid(), sf_waybill(), receiver_phone="1"), 47001),
            (bind_body(theirs, "bad id"), 47001),
            (bind_body(new_openid(), "NOTRECOGNISED", goods_info=items(1, img="ftp://x/y")),
             40003),
            (bind_body(theirs, "NOTRECOGNISED", goods_info=items(1, img="ftp://x/y")), 9300534),
            (bind_body(mine, "NOTRECOGNISED", goods_info=items(1, img="ftp://x/y")), 9300561),
            (bind_body(mine, "NOTRECOGNISED"), 931023),
        ]
        for body, code in cases:
            with self.subTest(body=body):
                self.assert_err(self.call(FOLLOW, body, self.app.token), code)

    def test_test_waybills_not_recognised(self):
        mine = self.srv.new_user(self.app)
        r = self.call(FOLLOW, bind_body(mine, "WXTESTEXPRESS17"), self.app.token)
        self.assert_err(r, 931023)

    def test_sandbox_endpoints_are_404(self):
        self.assertEqual(self.srv.admin("GET", "/admin/v1/sandbox/clock").status, 404)
        self.assertEqual(self.srv.admin("POST", "/admin/v1/sandbox/clock",
                                        {"advance": 10}).status, 404)

    def test_no_sandbox_carrier(self):
        r = self.call(DELIVERY_LIST, {}, self.app.token)
        self.assert_ok(r)
        ids = [d["delivery_id"] for d in r["delivery_list"]]
        self.assertNotIn("WXTEST", ids)
        self.assertIn("SF", ids)


class ContentRules(ServerTest):
    """§6.4: goods text against DIR/forbidden_terms.txt (87014, the field in the detail, not the
    term), after the image check and before recognition; reloaded on SIGHUP."""

    @classmethod
    def start_server(cls, **kw):
        cls.dir = tempfile.mkdtemp(prefix="waybilld-terms-")
        with open(os.path.join(cls.dir, "forbidden_terms.txt"), "w", encoding="utf-8") as fh:
            fh.write("代开发票\nCasino\n")
        return Server(data_dir=cls.dir, sandbox=True).start()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()

    def try_bind(self, path=FOLLOW, waybill_id=None, **over):
        body = bind_body(new_openid(), waybill_id or sandbox_waybill(), **over)
        return self.call(path, body, self.app.token)

    def test_forbidden_terms_87014(self):
        cases = [(goods(1, name="正品代开发票"), "goods_name"),
                 (goods(1, desc="best cAsInO in town"), "goods_desc"),
                 (goods(3, name="CASINO"), "goods_name")]
        for path in BIND_PATHS:
            for gi, field in cases:
                with self.subTest(path=path, goods=gi):
                    detail = self.assert_err(self.try_bind(path, goods_info=gi), 87014, field)
                    self.assertNotIn("代开发票", detail)
                    self.assertNotIn("casino", detail.lower())
            with self.subTest(path=path, case="near misses pass"):
                self.assert_ok(self.try_bind(path, goods_info=goods(1, name="代开 发票 casin")))

    def test_content_order(self):
        bad_img = goods(1, name="Casino", img="http://10.0.0.1/")
        self.assert_err(self.try_bind(goods_info=bad_img), 9300561)
        self.assert_err(self.try_bind(waybill_id="NOTRECOGNISED", goods_info=goods(
            1, name="Casino")), 87014)

    def test_update_refused_and_not_counted(self):
        tok = self.bind(self.app, goods_info=goods(1, name="好东西"))[0]
        for path in UPDATE_PATHS:
            r = self.call(path, {"waybill_token": tok, "goods_info": goods(1, name="casino")},
                          self.app.token)
            self.assert_err(r, 87014, "goods_name")
        r = self.query(self.app, tok)
        self.assertEqual(r["shop_info"]["goods_info"]["detail_list"][0]["goods_name"], "好东西")
        for i in range(10):
            self.assert_ok(self.call(UPDATE_PATHS[0], {"waybill_token": tok,
                                                       "goods_info": goods(1, name="n%d" % i)},
                                     self.app.token))

    def test_reload_on_sighup(self):
        self.assert_ok(self.try_bind(goods_info=goods(1, name="新违禁词")))
        with open(os.path.join(self.dir, "forbidden_terms.txt"), "a", encoding="utf-8") as fh:
            fh.write("新违禁词\n")
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 3
        while True:
            r = self.try_bind(goods_info=goods(1, name="新违禁词"))
            if r.errcode == 87014 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assert_err(r, 87014, "goods_name")
        self.assertTrue(self.srv.alive())


if __name__ == "__main__":
    unittest.main()
