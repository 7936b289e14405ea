"""SPEC §9.1, §8: data survives a restart — after SIGTERM (exit 0) and after SIGKILL for every
acknowledged bind; tokens, update counts and settings persist; the sandbox demo app and the
generated admin key are kept in the data dir with mode 0600."""

import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (DELIVERY_LIST, FOLLOW, PG, QUERY_TRACE, TRACE, UPDATE_FOLLOW,
                     App, Server, ServerTest, bind_body, goods, new_openid, sandbox_waybill)


class Restart(ServerTest):
    fresh_server_per_test = True

    def setUp(self):
        # one data dir per test, shared by the servers the test starts one after another
        self.dir = tempfile.mkdtemp(prefix="waybilld-restart-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.key = "adm-restart-key"
        self.servers = []
        self.addCleanup(self.stop_all)
        self.srv = self.boot()

    def boot(self, **kw):
        kw.setdefault("admin_key", self.key)
        srv = Server(data_dir=self.dir, sandbox=kw.pop("sandbox", True), **kw).start()
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for s in self.servers:
            s.stop()

    def restart(self, sig=signal.SIGTERM):
        old = self.srv
        code = old.stop(sig)
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.assertEqual(code, 0, "exit status after %s:\n%s"
                             % (signal.Signals(sig).name, old.log_text()[-2000:]))
        self.srv = self.boot()
        for app in getattr(self, "apps", []):
            app.server = self.srv
        return self.srv

    def test_sigterm_keeps_everything(self):
        app = self.new_app(max_updates=4)
        self.apps = [app]
        tok_f, openid, wb, body_f = self.bind(app, path=FOLLOW,
                                              goods_info=goods(2, name="重启前", desc="描述"))
        tok_t = self.bind(app, path=TRACE, openid=openid, waybill_id=wb)[0]
        for i in range(3):
            self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": tok_f,
                                                     "goods_info": goods(1, name="改%d" % i)},
                                     app.token))
        before_f = self.query(app, tok_f).json
        before_t = self.query(app, tok_t, QUERY_TRACE).json
        access = app.token
        self.restart()
        # the access token survives, and so do the bindings and their goods
        self.assertEqual(self.query(app, tok_f).json, before_f)
        self.assertEqual(self.query(app, tok_t, QUERY_TRACE).json, before_t)
        self.assertEqual(app.token, access)
        r = self.call(FOLLOW, body_f, access)
        self.assertEqual(r.get("waybill_token"), tok_f, r)
        # the update count persists: one more is allowed (max 4), then 9300560
        self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": tok_f,
                                                 "goods_info": goods(1, name="改3")}, access))
        self.assert_err(self.call(UPDATE_FOLLOW, {"waybill_token": tok_f,
                                                  "goods_info": goods(1, name="改4")}, access),
                        9300560)
        # the app's secret still works and its settings are kept
        self.assertTrue(self.srv.token_for(app))
        self.srv.patch_app(app, released=False)
        self.restart(signal.SIGINT)
        self.assert_err(self.call(DELIVERY_LIST, {}, app.token), 48001)

    def test_sigkill_keeps_acknowledged_binds(self):
        app = self.new_app()
        self.apps = [app]
        made = []
        for i in range(25):
            path = FOLLOW if i % 2 else TRACE
            tok, openid, wb, _ = self.bind(app, path=path, goods_info=goods(1, name="k%d" % i))
            made.append((tok, wb, "k%d" % i))
        upd = made[0][0]
        self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": upd,
                                                 "goods_info": goods(1, name="updated")},
                                 app.token))
        self.restart(signal.SIGKILL)
        for tok, wb, name in made:
            r = self.query(app, tok)
            self.assert_ok(r)
            self.assertEqual(r["waybill_info"]["waybill_id"], wb)
            want = "updated" if tok == upd else name
            self.assertEqual(r["shop_info"]["goods_info"]["detail_list"][0]["goods_name"], want)

    def test_carriers_and_apps_survive_restart(self):
        self.restart()  # on a second start, the schema already exists
        key = self.srv.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        self.assertTrue(key)
        app = self.new_app()
        self.apps = [app]
        self.restart()
        r = self.call(DELIVERY_LIST, {}, app.token)
        self.assert_ok(r)
        self.assertIn({"delivery_id": "SF", "delivery_name": "顺丰速运"}, r["delivery_list"])
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), "SF123456789012"), app.token))

    def test_demo_app(self):
        path = os.path.join(self.dir, "demo-app.json")
        self.assertTrue(os.path.exists(path), "the sandbox creates DIR/demo-app.json")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as fh:
            demo = json.load(fh)
        appid, secret = demo["appid"], demo["secret"]
        self.assertRegex(appid, r"^wx[0-9a-f]{16}$")
        self.assertIn(appid, self.srv.log_text())
        self.assertIn(secret, self.srv.log_text(), "the demo secret is printed at start")
        app = App(self.srv, appid, secret)
        self.apps = [app]
        self.assert_ok(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), app.token))
        self.restart()
        with open(path) as fh:
            self.assertEqual(json.load(fh)["appid"], appid, "the same demo app after a restart")
        self.assertIn(appid, self.srv.log_text())
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))

    @unittest.skipIf(PG, "keys are generated into the data dir only with SQLite; with PostgreSQL"
                         " they must be given (SPEC §9.1)")
    def test_generated_admin_key(self):
        srv = self.srv
        srv.stop()
        d = tempfile.mkdtemp(prefix="waybilld-adminkey-")
        self.addCleanup(shutil.rmtree, d, True)
        s = Server(data_dir=d, sandbox=True, pass_admin_key=False).start()
        self.servers.append(s)
        keyfile = os.path.join(d, "admin.key")
        self.assertTrue(os.path.exists(keyfile), "DIR/admin.key is generated")
        self.assertEqual(stat.S_IMODE(os.stat(keyfile).st_mode), 0o600)
        with open(keyfile) as fh:
            key = fh.read().strip()
        self.assertTrue(key)
        s.admin_key = key
        self.assertEqual(s.admin("GET", "/admin/v1/apps").status, 200)
        self.assertEqual(s.admin("GET", "/admin/v1/apps", key="wrong").status, 401)
        s.stop()
        s2 = Server(data_dir=d, sandbox=True, pass_admin_key=False).start()
        self.servers.append(s2)
        s2.admin_key = key
        self.assertEqual(s2.admin("GET", "/admin/v1/apps").status, 200,
                         "the same key after restart")

    def test_abandoned_requests_do_not_hold_a_graceful_stop(self):
        """Clients that send headers and part of a body, then vanish: SIGTERM still exits 0
        promptly (nothing is in flight), and the next start serves."""
        app = self.new_app()
        self.apps = [app]
        target = (FOLLOW + "?access_token=" + app.token).encode()
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", self.srv.port), timeout=3)
            s.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 500\r\n\r\n{\"openid\":")
            s.close()
        time.sleep(0.3)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        t0 = time.monotonic()
        code = self.srv.stop(grace=15)
        took = time.monotonic() - t0
        self.assertEqual(code, 0)
        self.assertLess(took, 3.0, "SIGTERM took %.1f s with 5 abandoned half-sent requests"
                        % took)
        self.srv = self.boot()
        app.server = self.srv
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))

    def test_sandbox_clock_survives_restart(self):
        t = self.srv.advance(3 * 86400)
        self.restart()
        now = self.srv.clock()
        self.assertGreaterEqual(now, t)
        self.assertLess(now, t + 120)


if __name__ == "__main__":
    unittest.main()
