"""SPEC §10, issue 6: several `waybilld serve` processes on one PostgreSQL database behave as one
service. Three processes (each with its own data dir, the same database, admin key and hash key):

- concurrent follow calls for one user, spread over the three, never pass the daily 50 in total;
- a carrier event posted to one process notifies once, delivered once by whichever process, also
  when the same event reaches all three at once;
- a process killed while a receiver holds its delivery loses nothing: another process delivers
  it again, soon (its lease ends with its session), with the same event_id and body;
- an access token issued through one is valid at all, and rotation holds across them (a
  superseded token ends on the others within the 1 s that processes cache tokens);
- the sandbox clock moved through one is seen by the others within about a second;
- an app disabled through one answers 48001 on the others within a second.

PostgreSQL only: skipped unless WAYBILLD_TEST_PG names a cluster (ctest's api-pg/ tests do)."""

import http.server
import json
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (DELIVERY_LIST, FOLLOW, PG, Server, bind_body, new_openid,  # noqa: E402
                     run_concurrently, sandbox_waybill, sf_waybill)

PUBLIC_URL = "https://wb.example.com"  # the same landing_url, so the same body, from every process


class Receiver:
    """A webhook receiver on 127.0.0.1: records every request (event_id, body, the sender's
    port); while `holding`, it keeps each request open until released."""

    def __init__(self):
        self.hits = []
        self.cond = threading.Condition()
        self.released = threading.Event()
        self.released.set()
        rcv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with rcv.cond:
                    rcv.hits.append({"event_id": self.headers.get("X-Waybilld-Event-Id"),
                                     "body": body, "port": self.client_address[1],
                                     "at": time.monotonic()})
                    rcv.cond.notify_all()
                rcv.released.wait(60)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender was killed meanwhile

            def log_message(self, *args):
                pass

        class Quiet(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Quiet(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def hold(self):
        self.released.clear()

    def release(self):
        self.released.set()

    def wait(self, pred, timeout):
        """Waits until pred(hits) holds; returns a copy of the hits."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred(self.hits):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return list(self.hits)

    def stop(self):
        self.release()
        self.httpd.shutdown()
        self.httpd.server_close()


def sender_pid(port, pids):
    """Which of pids owns the TCP socket whose local port is port (a delivery's sender)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as fh:
                lines = fh.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % fields[9])
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) in inodes:
                    return pid
            except OSError:
                continue
    return None


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


@unittest.skipUnless(PG, "several processes share a store only on PostgreSQL (WAYBILLD_TEST_PG)")
class MultiProcess(unittest.TestCase):
    """Three processes on one fresh database per test."""

    def setUp(self):
        self.key = "adm-multi-" + os.urandom(6).hex()
        args = ("--public-url", PUBLIC_URL)
        first = Server(admin_key=self.key, extra_args=args)
        self.servers = [first] + [Server(admin_key=self.key, extra_args=args,
                                         store_of=first.data_dir) for _ in range(2)]
        self.addCleanup(self.cleanup_servers)
        # started at once: their migrations take turns under the advisory lock
        run_concurrently([s.start for s in self.servers])
        self.a, self.b, self.c = self.servers

    def cleanup_servers(self):
        for s in self.servers:
            s.stop()
        for s in reversed(self.servers):  # the first one's database goes last
            s.cleanup()

    def receiver(self):
        rcv = Receiver()
        self.addCleanup(rcv.stop)
        return rcv

    def app(self, **patch):
        app = self.a.new_app(**patch)
        return app

    def follow(self, srv, app, openid, waybill):
        r = srv.call(FOLLOW, bind_body(openid, waybill), app.token)
        self.assertEqual(r.get("errcode"), 0, r)
        return r["waybill_token"]

    def inbox(self, srv, app, openid):
        r = srv.admin("GET", "/admin/v1/apps/%s/users/%s/notifications" % (app.appid, openid))
        self.assertEqual(r.status, 200, r)
        return r["notifications"]

    def post_events(self, srv, carrier_key, events):
        r = srv.request("POST", "/carrier/v1/events", {"events": events},
                        {"Authorization": "Bearer " + carrier_key})
        self.assertEqual(r.status, 200, r)
        return r.json

    @staticmethod
    def signed(event_id, waybill):
        return {"event_id": event_id, "waybill_id": waybill, "action_time": int(time.time()),
                "action_type": 300003, "status": 4}

    # ---- quotas ----------------------------------------------------------------------------

    def test_user_daily_quota_holds_across_processes(self):
        app = self.app()
        openid = self.a.new_user(app)
        calls = []
        for i in range(90):
            srv = self.servers[i % 3]
            body = bind_body(openid, sandbox_waybill("7"))
            calls.append(lambda srv=srv, body=body: srv.call(FOLLOW, body, app.token))
        token = app.token  # fetched once, before the threads start
        self.assertTrue(token)
        results = []
        lock = threading.Lock()

        def worker(chunk):
            for fn in chunk:
                r = fn()
                with lock:
                    results.append(r)
        run_concurrently([lambda k=k: worker(calls[k::30]) for k in range(30)])
        codes = [r.get("errcode") for r in results]
        self.assertEqual(len(codes), 90)
        self.assertEqual(codes.count(0), 50, "successes across three processes: %r" % codes)
        self.assertEqual(codes.count(9300513), 40, codes)
        # and the count is shared: one more call on any process is refused
        for srv in self.servers:
            r = srv.call(FOLLOW, bind_body(openid, sandbox_waybill("7")), app.token)
            self.assertEqual(r.get("errcode"), 9300513, r)

    # ---- notifications ---------------------------------------------------------------------

    def test_event_notifies_once_delivered_by_one_process(self):
        rcv = self.receiver()
        app = self.app(push_url=rcv.url)
        key = self.a.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        bound = []
        for i in range(6):
            openid, wb = new_openid(), sf_waybill()
            self.follow(self.servers[i % 3], app, openid, wb)
            bound.append((openid, wb))
        # half the events go to one process each, the other half to all three at once
        for i, (openid, wb) in enumerate(bound):
            event = self.signed("ev-%d" % i, wb)
            if i % 2 == 0:
                out = self.post_events(self.servers[i % 3], key, [event])
                self.assertEqual(out["accepted"], 1, out)
            else:
                outs = run_concurrently([lambda s=s: self.post_events(s, key, [event])
                                         for s in self.servers])
                self.assertEqual(sorted(o["accepted"] for o in outs), [0, 0, 1], outs)
                self.assertEqual(sorted(o["duplicates"] for o in outs), [0, 1, 1], outs)
        hits = rcv.wait(lambda h: len(h) >= 6, 15)
        time.sleep(2.5)  # any second delivery would come within the dispatchers' next claims
        hits = rcv.wait(lambda h: False, 0)
        ids = [h["event_id"] for h in hits]
        self.assertEqual(len(ids), 6, "deliveries: %r" % ids)
        self.assertEqual(len(set(ids)), 6, "a notification delivered twice: %r" % ids)
        for openid, wb in bound:
            items = wait_until(lambda: [n for n in self.inbox(self.b, app, openid)
                                        if n["state"] == "delivered"], 5)
            self.assertEqual(len(items), 1, items)
            self.assertIn(items[0]["id"], ids)
            self.assertEqual(items[0]["attempts"], 1, items)
            body = json.loads(next(h["body"] for h in hits if h["event_id"] == items[0]["id"]))
            self.assertEqual(body["waybill_id"], wb)
            self.assertEqual(body["type"], "waybill.signed")

    def test_killed_process_loses_no_notification(self):
        rcv = self.receiver()
        app = self.app(push_url=rcv.url)
        key = self.a.new_carrier("SF", "顺丰速运", "^SF[0-9]{12}$")
        bound = [(new_openid(), sf_waybill()) for _ in range(3)]
        for openid, wb in bound:
            self.follow(self.b, app, openid, wb)
        rcv.hold()
        # posted to b: b writes the notifications and kicks its own dispatcher first
        out = self.post_events(self.b, key, [self.signed("k-%d" % i, wb)
                                             for i, (_, wb) in enumerate(bound)])
        self.assertEqual(out["accepted"], 3, out)
        first = rcv.wait(lambda h: len(h) >= 3, 15)
        self.assertEqual(len(first), 3, first)
        pids = {s.proc.pid: s for s in self.servers}
        senders = [sender_pid(h["port"], pids) for h in first]
        self.assertNotIn(None, senders, "cannot tell which process delivers: %r" % first)
        victim = max(set(senders), key=senders.count)
        lost = [h for h, pid in zip(first, senders) if pid == victim]
        survivors = [s for s in self.servers if s.proc.pid != victim]
        killed_at = time.monotonic()
        pids[victim].kill()
        rcv.release()
        # the victim's leases end with its database session: the others deliver again at once,
        # not after the 60 s lease
        again = rcv.wait(lambda h: all(sum(1 for x in h if x["event_id"] == l["event_id"]) >= 2
                                       for l in lost), 20)
        for l in lost:
            repeats = [h for h in again if h["event_id"] == l["event_id"]]
            self.assertGreaterEqual(len(repeats), 2, "not delivered again: %r" % again)
            self.assertEqual(repeats[1]["body"], l["body"], "the same body, event_id and all")
            self.assertLess(repeats[1]["at"] - killed_at, 15.0)
            self.assertIn(sender_pid(repeats[1]["port"], pids) or survivors[0].proc.pid,
                          [s.proc.pid for s in survivors])
        for openid, _ in bound:
            items = wait_until(lambda: [n for n in self.inbox(survivors[0], app, openid)
                                        if n["state"] == "delivered"], 10)
            self.assertEqual(len(items), 1, self.inbox(survivors[0], app, openid))
            self.assertIn(items[0]["id"], [h["event_id"] for h in first])

    # ---- tokens, clock, penalties ----------------------------------------------------------

    def test_token_from_one_valid_at_all(self):
        app = self.app()
        first = self.a.token_for(app)
        for srv in self.servers:
            r = srv.call(DELIVERY_LIST, {}, first)
            self.assertEqual(r.get("errcode"), 0, r)
        second = self.b.token_for(app)  # the first stays valid for its grace period
        third = self.c.token_for(app)   # now the first is superseded everywhere
        for srv in self.servers:
            # processes cache what they read of a token for up to 1 s (src/store/cache.h)
            ended = wait_until(
                lambda srv=srv: srv.call(DELIVERY_LIST, {}, first).get("errcode") == 40001, 1.5)
            self.assertTrue(ended, "a superseded token still works on another process")
            self.assertEqual(srv.call(DELIVERY_LIST, {}, second).get("errcode"), 0)
            self.assertEqual(srv.call(DELIVERY_LIST, {}, third).get("errcode"), 0)
        stable = self.a.stable_token(app).json["access_token"]
        for srv in self.servers:
            self.assertEqual(srv.stable_token(app).json["access_token"], stable)
            self.assertEqual(srv.call(DELIVERY_LIST, {}, stable).get("errcode"), 0)

    def test_sandbox_clock_shared(self):
        target = self.a.advance(5 * 86400)
        for srv in (self.b, self.c):
            seen = wait_until(lambda srv=srv: srv.clock() >= target, 1.5)
            self.assertTrue(seen, "the clock moved on one process is not seen on another")
        self.assertLess(self.b.clock(), target + 60)

    def test_disabled_app_refused_everywhere_within_a_second(self):
        app = self.app()
        token = app.token
        for srv in self.servers:
            self.assertEqual(srv.call(DELIVERY_LIST, {}, token).get("errcode"), 0)
        self.a.patch_app(app, enabled=False)
        for srv in (self.b, self.c):
            refused = wait_until(
                lambda srv=srv: srv.call(DELIVERY_LIST, {}, token).get("errcode") == 48001, 1.0)
            self.assertTrue(refused, "still served after the app was disabled elsewhere")

    def test_processes_stop_cleanly(self):
        for srv in self.servers:
            self.assertEqual(srv.stop(signal.SIGTERM), 0, srv.log_text()[-2000:])


if __name__ == "__main__":
    unittest.main()
