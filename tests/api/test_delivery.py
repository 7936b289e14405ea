"""SPEC §7, §9.2: webhook delivery from outside — retries on the sandbox clock (30 s × 2^(n-1),
capped at 4 h, ±20 %), dead after 15 attempts, redelivery by an operator with the same event_id and
body, the 10 s timeout, a slow receiver that holds up neither the API nor other deliveries, and a
server killed between a status change and its delivery that delivers it after restart from exactly
one record with its original event_id.

The receiver and the other helpers come from test_notifications.py."""

import os
import shutil
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import DELIVERY_LIST, FOLLOW, Server, bind_body, new_openid, sandbox_waybill

import test_notifications as nt

HOUR = nt.HOUR
GENEROUS = nt.GENEROUS


class Retries(nt.NotifyTest):
    """Failed attempts are retried on the sandbox clock; 15 failures make a dead letter."""

    def jump_to_signed(self, app):
        """A test waybill that never moves by itself, bound and then signed: one notification.
        Returns the openid, the event_id, and the sandbox time before the notification existed
        (its first attempt is no earlier)."""
        wb = sandbox_waybill(last="7")
        _, openid, _ = self.follow(app, wb)
        before = self.srv.clock()
        nt.inject(self.srv, wb, 4, action_time=before, action_type=300003)
        items = self.inbox(app, openid)
        self.assertEqual(len(items), 1, items)
        return openid, items[0]["id"], before

    def not_before(self, rcv, count, attempt_not_before, attempts):
        """After the attempts-th failure, made at attempt_not_before or later (sandbox time), the
        next attempt waits at least 80 % of 30 s × 2^(attempts-1) (capped at 4 h): just short of
        that, nothing arrives."""
        wait = min(30 * 2 ** (attempts - 1), 4 * HOUR)
        # attempt_not_before is read in whole seconds around the attempt: a margin of 3 s
        target = attempt_not_before + int(wait * 0.8) - 3
        if target > self.srv.clock():
            self.srv.set_clock(target)
            for app in nt.apps_of(self.srv):
                app.token = None  # access tokens live 2 h on the sandbox clock
            self.quiet(rcv, count, 1.2)

    def wait_attempts(self, app, openid, attempts, state):
        items = self.wait_inbox(app, openid, lambda items: items[0]["attempts"] == attempts
                                and items[0]["state"] == state)
        return items[0]

    def test_fails_three_times_then_delivered(self):
        rcv = self.receiver(fail_first=3)
        app = self.push_app(rcv)
        openid, event_id, attempt_not_before = self.jump_to_signed(app)
        self.assertEqual(len(rcv.wait(1)), 1)
        self.wait_attempts(app, openid, 1, "pending")
        # no retry while the service clock stands still
        self.quiet(rcv, 1, 1.5)
        # after the n-th failure the wait is 30 s × 2^(n-1) ± 20 %: not before 80 % of it, always
        # by 120 % of it
        for n in (1, 2, 3):
            self.not_before(rcv, n, attempt_not_before, n)
            attempt_not_before = self.advance(int(30 * 2 ** (n - 1) * 1.2) + 1)
            hits = rcv.wait(n + 1)
            self.assertEqual(len(hits), n + 1, "attempt %d not made: %r" % (n + 1, hits))
            if n < 3:
                self.wait_attempts(app, openid, n + 1, "pending")
    def test_always_failing_goes_dead_then_redelivered(self):
        rcv = self.receiver(always_fail=True)
        apps = [self.push_app(rcv), self.push_app(rcv)]  # the dead letters span apps
        notices = [self.jump_to_signed(app)[:2] for app in apps]
        self.assertEqual(len(rcv.wait(2)), 2)
        attempt_not_before = 0
        for n in range(1, 15):
            for app, (openid, _) in zip(apps, notices):
                self.wait_attempts(app, openid, n, "pending")
            if n == 10:  # past 4 h the wait is capped: not before 80 % of 4 h
                self.not_before(rcv, 2 * n, attempt_not_before, n)
            attempt_not_before = self.advance(GENEROUS)
            self.assertEqual(len(rcv.wait(2 * (n + 1))), 2 * (n + 1), "attempt %d" % (n + 1))
        for app, (openid, event_id) in zip(apps, notices):
            item = self.wait_attempts(app, openid, 15, "dead")
            self.assertIsNone(item["delivered_at"], item)
        # dead: no 16th attempt
        self.advance(GENEROUS)
        self.quiet(rcv, 30, 1.2)

        dead = nt.listing(self.srv, "dead")
        dead_ids = [n["id"] for n in dead]
        for app, (openid, event_id) in zip(apps, notices):
            self.assertIn(event_id, dead_ids)
            item = next(n for n in dead if n["id"] == event_id)
            self.assertEqual((item["appid"], item["openid"], item["state"], item["attempts"]),
                             (app.appid, openid, "dead", 15))
        pending_ids = [n["id"] for n in nt.listing(self.srv, "pending")]
        for _, event_id in notices:
            self.assertNotIn(event_id, pending_ids)
        for h in rcv.all():
            self.assertEqual(h.answered, 500)
            nt.check_hit(self, h, apps[0] if h.event_id == notices[0][1] else apps[1])

        # the receiver works again; an operator redelivers the first one only
        rcv.always_fail = False
        app, (openid, event_id) = apps[0], notices[0]
        first_body = next(h.body for h in rcv.all() if h.event_id == event_id)
        r = nt.redeliver(self.srv, event_id)
        self.assertEqual(r.status, 200, r)
        hits = rcv.wait(31)
        self.assertEqual(len(hits), 31, hits)
        self.assertTrue(hits[30].ok)
        self.assertEqual(hits[30].event_id, event_id)
        self.assertEqual(hits[30].body, first_body)
        nt.check_hit(self, hits[30], app)
        item = self.wait_attempts(app, openid, 1, "delivered")
        self.assertEqual(item["id"], event_id)
        self.assertNotIn(event_id, [n["id"] for n in nt.listing(self.srv, "dead")])
        self.assertIn(notices[1][1], [n["id"] for n in nt.listing(self.srv, "dead")])
        self.quiet(rcv, 31, 1.0)

    def test_redeliver_rules(self):
        rcv = self.receiver()
        app = self.push_app(rcv)
        openid, event_id, _ = self.jump_to_signed(app)
        rcv.wait(1, ok_only=True)
        self.wait_attempts(app, openid, 1, "delivered")
        # a delivered notification may be sent again, same event_id and body
        rcv.always_fail = True
        r = nt.redeliver(self.srv, event_id)
        self.assertEqual(r.status, 200, r)
        if isinstance(r.json, dict) and "state" in r.json:  # the notification, queued again
            self.assertEqual((r["id"], r["state"], r["attempts"]), (event_id, "pending", 0), r)
        # pending (its attempt fails or has not been made yet): 409
        r = nt.redeliver(self.srv, event_id)
        self.assertEqual(r.status, 409, r)
        self.assertIsInstance(r.get("errcode"), int, r)
        self.assertIsInstance(r.get("errmsg"), str, r)
        hits = rcv.wait(2)
        self.assertEqual([h.event_id for h in hits], [event_id, event_id])
        self.assertEqual(hits[1].body, hits[0].body)
        self.wait_attempts(app, openid, 1, "pending")
        self.assertEqual(nt.redeliver(self.srv, event_id).status, 409)
        # unknown id, wrong method, no admin key
        self.assertEqual(nt.redeliver(self.srv, "evt_000000000000000000000000").status, 404)
        r = self.srv.admin("GET", "/admin/v1/notifications/%s/redeliver" % event_id)
        self.assertEqual(r.status, 405, r)
        r = self.srv.request("POST", "/admin/v1/notifications/%s/redeliver" % event_id)
        self.assertEqual(r.status, 401, r)
        r = self.srv.admin("GET", "/admin/v1/notifications?state=lost")
        self.assertEqual(r.status, 400, r)


class Slow(nt.NotifyTest):
    """Deliveries run beside the API: a slow receiver holds up neither requests nor each other."""

    def test_slow_receiver_blocks_nothing(self):
        rcv = self.receiver(delay=3.0)
        app = self.push_app(rcv)
        waybills, openids = [], []
        for _ in range(6):
            wb = sandbox_waybill(last="7")
            openids.append(self.follow(app, wb)[1])
            waybills.append(wb)
        now = self.srv.clock()
        events = [{"event_id": "slow-%s" % wb, "waybill_id": wb, "action_time": now,
                   "status": 4} for wb in waybills]
        started = time.monotonic()
        r = self.srv.admin("POST", "/admin/v1/sandbox/events", {"events": events})
        self.assertEqual((r.status, r.get("accepted")), (200, 6), r)
        # all six in flight at once, not one after another
        self.assertEqual(len(rcv.wait(6, timeout=2.0)), 6, rcv.all())
        # meanwhile the API answers at once
        token = app.token
        calls = [
            lambda: self.srv.request("GET", "/healthz"),
            lambda: self.srv.admin("GET", "/admin/v1/sandbox/clock"),
            lambda: self.call(DELIVERY_LIST, {}, token),
            lambda: self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill(last="7")), token),
            lambda: self.srv.admin("GET", "/admin/v1/apps/%s/users/%s/notifications"
                                   % (app.appid, openids[0])),
        ]
        for call in calls:
            t = time.monotonic()
            r = call()
            took = time.monotonic() - t
            self.assertEqual(r.status, 200, r)
            self.assertLess(took, 1.0, "a request took %.2f s while deliveries were slow: %r"
                            % (took, r))
        self.assertLess(time.monotonic() - started, 2.9, "the API calls were held up")
        for openid in openids:
            self.settled(app, openid, 1)
        self.assertLess(time.monotonic() - started, 8.0, "the deliveries ran one by one")
        for h in rcv.all():
            nt.check_hit(self, h, app)

    def test_receiver_over_ten_seconds_fails_the_attempt(self):
        """A 2xx within 10 s is success; later is a failed attempt, retried with the same
        event_id (the receiver saw it twice: at least once, deduplicated by event_id)."""
        rcv = self.receiver(delay=11.5)
        app = self.push_app(rcv)
        wb = sandbox_waybill(last="7")
        _, openid, _ = self.follow(app, wb)
        nt.inject(self.srv, wb, 4)
        self.assertEqual(len(rcv.wait(1)), 1)
        started = time.monotonic()
        item = self.wait_inbox(app, openid, lambda items: items[0]["attempts"] == 1,
                               timeout=14.0)[0]
        self.assertEqual(item["state"], "pending", item)
        self.assertLess(time.monotonic() - started, 12.0)
        rcv.delay = 0
        self.advance(GENEROUS)
        hits = rcv.wait(2)
        self.assertEqual(len(hits), 2, hits)
        self.assertEqual(hits[1].event_id, hits[0].event_id)
        self.assertEqual(hits[1].body, hits[0].body)
        item = self.settled(app, openid, 1)[0]
        self.assertEqual(item["attempts"], 2, item)


class Crash(unittest.TestCase):
    """SIGKILL between a status change and its delivery: delivered after restart, from the one
    record written with the status change, with its original event_id."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="waybilld-notify-crash-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.key = "adm-notify-crash"
        self.servers = []
        self.addCleanup(self.stop_all)

    def boot(self):
        # a fixed public URL: landing_url, and so the body, does not follow the random port
        srv = Server(data_dir=self.dir, admin_key=self.key,
                     extra_args=("--public-url", "https://wb.example.com")).start()
        self.servers.append(srv)
        return srv

    def stop_all(self):
        for s in self.servers:
            s.stop()

    def receiver(self, **kw):
        rcv = nt.Receiver(**kw)
        self.addCleanup(rcv.stop)
        return rcv

    def follow(self, srv, app, wb):
        openid = new_openid()
        r = srv.call(FOLLOW, bind_body(openid, wb), app.token)
        self.assertEqual(r.get("errcode"), 0, r)
        return openid

    def inbox_when(self, srv, app, openid, pred, timeout=10.0):
        last = []

        def probe():
            last[:] = nt.notifications(srv, app.appid, openid)
            return pred(last)
        self.assertTrue(nt.wait_until(probe, timeout), "inbox: %r" % last)
        return last

    def test_sigkill_before_delivery(self):
        srv = self.boot()
        port = nt.free_port()  # nothing listens there yet: attempts fail
        app = nt.make_push_app(srv, "http://127.0.0.1:%d/hook" % port)
        jump_wb = sandbox_waybill(last="7")
        o_jump = self.follow(srv, app, jump_wb)
        o_script = self.follow(srv, app, sandbox_waybill(last="0"))
        nt.inject(srv, jump_wb, 4)
        nt.advance(srv, 2 * HOUR)  # the script's collected
        firsts = {}
        for openid in (o_jump, o_script):
            items = self.inbox_when(srv, app, openid, lambda items: len(items) == 1
                                    and items[0]["attempts"] >= 1)
            self.assertEqual(items[0]["state"], "pending", items)
            firsts[openid] = items[0]
        srv.kill()

        rcv = self.receiver(port=port)
        srv = self.boot()
        app.server = srv
        nt.apps_of(srv).append(app)
        nt.advance(srv, GENEROUS)
        hits = rcv.wait(2)
        time.sleep(1.5)
        hits = rcv.all()
        self.assertEqual(len(hits), 2, hits)
        self.assertEqual(sorted(h.event_id for h in hits),
                         sorted(n["id"] for n in firsts.values()))
        for h in hits:
            nt.check_hit(self, h, app)
        for openid, first in firsts.items():
            items = self.inbox_when(srv, app, openid,
                                    lambda items: items and items[0]["state"] == "delivered")
            self.assertEqual(len(items), 1, items)
            self.assertEqual(items[0]["id"], first["id"])
            self.assertEqual(items[0]["type"], first["type"])
            self.assertEqual(items[0]["created_at"], first["created_at"])

    def test_sigkill_during_delivery(self):
        """Killed while the receiver holds the request: after restart it is delivered again,
        the same event_id and body (at least once)."""
        srv = self.boot()
        rcv = self.receiver(delay=5.0)
        app = nt.make_push_app(srv, rcv.url)
        wb = sandbox_waybill(last="7")
        openid = self.follow(srv, app, wb)
        nt.inject(srv, wb, 4)
        first = rcv.wait(1)
        self.assertEqual(len(first), 1)
        srv.kill()
        rcv.delay = 0
        srv = self.boot()
        app.server = srv
        hits = rcv.wait(2, ok_only=False, timeout=8.0)
        self.assertGreaterEqual(len(hits), 2, "not delivered again after the restart: %r" % hits)
        self.assertEqual(hits[1].event_id, first[0].event_id)
        self.assertEqual(hits[1].body, first[0].body)
        nt.check_hit(self, hits[1], app)
        items = self.inbox_when(srv, app, openid,
                                lambda items: items and items[0]["state"] == "delivered")
        self.assertEqual(len(items), 1, items)
        self.assertEqual(items[0]["id"], first[0].event_id)

    def test_sigterm_with_deliveries_in_flight(self):
        """SIGTERM while a receiver holds a request: the server still exits 0, promptly."""
        srv = self.boot()
        rcv = self.receiver(delay=8.0)
        app = nt.make_push_app(srv, rcv.url)
        wb = sandbox_waybill(last="7")
        self.follow(srv, app, wb)
        nt.inject(srv, wb, 4)
        self.assertEqual(len(rcv.wait(1)), 1)
        t = time.monotonic()
        self.assertEqual(srv.stop(signal.SIGTERM, grace=6.0), 0)
        self.assertLess(time.monotonic() - t, 6.0)


if __name__ == "__main__":
    unittest.main()
