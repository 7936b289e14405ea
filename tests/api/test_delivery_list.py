"""SPEC §4.4: get_delivery_list lists the carriers registered with the deployment (and the sandbox
carrier WXTEST, "Sandbox Express", in sandbox mode), for an empty body or {}."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import DELIVERY_LIST, ServerTest


class DeliveryListSandbox(ServerTest):

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()
        cls.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        cls.srv.new_carrier("JD", "京东物流", "^JD[0-9A-Z]{13}$")

    def check_list(self, r):
        self.assert_ok(r)
        self.assert_no_rid(r)
        lst = r["delivery_list"]
        self.assertIsInstance(lst, list)
        self.assertEqual(r["count"], len(lst), r)
        for item in lst:
            self.assertIsInstance(item.get("delivery_id"), str, item)
            self.assertIsInstance(item.get("delivery_name"), str, item)
            self.assertNotIn("carrier_key", item)
        ids = [d["delivery_id"] for d in lst]
        self.assertEqual(len(ids), len(set(ids)), "a carrier listed twice: %r" % r)
        return {d["delivery_id"]: d["delivery_name"] for d in lst}

    def test_lists_registered_and_sandbox_carriers(self):
        got = self.check_list(self.call(DELIVERY_LIST, {}, self.app.token))
        self.assertEqual(got.get("SF"), "顺丰速运")
        self.assertEqual(got.get("JD"), "京东物流")
        self.assertEqual(got.get("WXTEST"), "Sandbox Express")
        self.assertEqual(set(got) - {"ZTO"}, {"SF", "JD", "WXTEST"}, got)

    def test_empty_body_and_unknown_fields(self):
        replies = [self.call(DELIVERY_LIST, body, self.app.token)
                   for body in (None, {}, {"foo": 1, "bar": [None]})]
        lists = [self.check_list(r) for r in replies]
        self.assertEqual(lists[0], lists[1])
        self.assertEqual(lists[0], lists[2])

    def test_new_carrier_appears_at_once(self):
        self.srv.new_carrier("ZTO", "中通快递", "^ZT[0-9]{12}$")
        got = self.check_list(self.call(DELIVERY_LIST, {}, self.app.token))
        self.assertEqual(got.get("ZTO"), "中通快递")

    def test_stable_token_works(self):
        s = self.srv.stable_token(self.app)["access_token"]
        self.check_list(self.call(DELIVERY_LIST, None, s))


class DeliveryListProduction(ServerTest):
    sandbox = False

    def test_empty_deployment(self):
        app = self.new_app()
        r = self.call(DELIVERY_LIST, {}, app.token)
        self.assert_ok(r)
        self.assertEqual(r["delivery_list"], [])
        self.assertEqual(r["count"], 0)
        self.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        r = self.call(DELIVERY_LIST, None, app.token)
        self.assert_ok(r)
        self.assertEqual(r["delivery_list"], [{"delivery_id": "SF", "delivery_name": "顺丰速运"}])
        self.assertEqual(r["count"], 1)


if __name__ == "__main__":
    unittest.main()
