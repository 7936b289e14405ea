"""SPEC §6 at its boundaries: the default per-user daily quotas (50th / 51st, 100th / 101st), the
valid-binding cap (100th / 101st, freed by signing, abnormal, mismatch or expiry), the quota day
rolling over at 00:00 of --day-offset on the sandbox clock, exactness under concurrency with
usage equal to the calls that counted, counts across restarts, penalties taking effect at once,
and content supervision (any item, any field, any ASCII case; SIGHUP adds and removes terms; a
missing file)."""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (BIN, DEFAULT_PHONE, DELIVERY_LIST, FOLLOW, QUERY_FOLLOW, QUERY_TRACE, TRACE,
                     UPDATE_FOLLOW, UPDATE_TRACE, Server, ServerTest, bind_body, goods, new_openid,
                     sandbox_waybill)

DAY = 86400
SHANGHAI = 8 * 3600


def day_start(t, offset):
    """The unix time at which the quota day holding t begins, for a UTC offset in seconds."""
    return (t + offset) // DAY * DAY - offset


def limit_kind(detail):
    """Which limit a 9300513 detail names: 'binding', 'user', 'app' or None."""
    d = detail.lower()
    if "binding" in d:
        return "binding"
    if "user" in d:
        return "user"
    if "app" in d or "mini program" in d:
        return "app"
    return None


class RulesTest(ServerTest):
    """Shared helpers."""

    def move_to_early_day(self, days_ahead=1, offset=SHANGHAI, into=3600):
        """Sets the sandbox clock `into` seconds after the start of a quota day days_ahead from
        now, so that nothing in a test straddles midnight. Returns the new now."""
        now = self.srv.clock()
        return self.srv.set_clock(day_start(now, offset) + days_ahead * DAY + into)

    def follow(self, app, openid, waybill_id, path=FOLLOW, **over):
        return self.call(path, bind_body(openid, waybill_id, **over), app.token)

    def assert_quota(self, r, kind, limit=None):
        """9300513 whose detail names the limit of that kind (and its value when given)."""
        detail = self.assert_err(r, 9300513)
        self.assertEqual(limit_kind(detail), kind,
                         "the 9300513 detail should name the %s limit: %r" % (kind, r))
        if limit is not None:
            self.assertIn(str(limit), detail, "the detail should give the limit: %r" % r)
        return detail

    def app_info(self, app):
        r = self.srv.admin("GET", "/admin/v1/apps/" + app.appid)
        self.assertEqual(r.status, 200, r)
        return r.json

    def usage(self, app):
        return self.app_info(app)["usage"]

    def inject(self, *events):
        r = self.srv.admin("POST", "/admin/v1/sandbox/events", {"events": list(events)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.get("accepted"), len(events), r)
        self.assertEqual(r.get("rejected") or [], [], r)

    def event(self, waybill_id, status, **extra):
        ev = {"event_id": "pr-" + os.urandom(6).hex(), "waybill_id": waybill_id,
              "action_time": self.srv.clock(), "status": status}
        ev.update(extra)
        return ev


# ---- per-user daily bind quotas at their defaults ------------------------------------------

class UserDailyDefaults(RulesTest):
    """§6.2 defaults, no PATCH: 50 message-family and 100 query-family bind calls per user a day."""

    @classmethod
    def class_setup(cls):
        now = cls.srv.clock()
        cls.srv.set_clock(day_start(now, SHANGHAI) + DAY + 3600)

    def test_message_family_50th_passes_51st_refused(self):
        app = self.new_app()
        info = self.app_info(app)
        self.assertEqual(info["limits"]["user_daily_quota"], 50, info)
        self.assertIsNone(info["user_daily_quota"], info)
        openid = new_openid()
        first = first_body = None
        for _ in range(50):
            body = bind_body(openid, sandbox_waybill())
            r = self.call(FOLLOW, body, app.token)
            self.assert_ok(r)
            if first is None:
                first, first_body = r, body
        r = self.follow(app, openid, sandbox_waybill())
        self.assert_quota(r, "user", 50)
        # a repeated bind is a bind call too, refused the same; the binding is untouched
        self.assert_quota(self.call(FOLLOW, first_body, app.token), "user", 50)
        self.assert_ok(self.query(app, first["waybill_token"]))
        # the other family, another user of the same app, and other calls are not affected
        self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=TRACE))
        self.assert_ok(self.follow(app, new_openid(), sandbox_waybill()))
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))

    def test_query_family_100th_passes_101st_refused(self):
        app = self.new_app()
        self.assertEqual(self.app_info(app)["limits"]["user_daily_quota_query"], 100)
        openid = new_openid()
        for _ in range(100):
            self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=TRACE))
        self.assert_quota(self.follow(app, openid, sandbox_waybill(), path=TRACE), "user", 100)
        self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=FOLLOW))
        self.assert_ok(self.follow(app, new_openid(), sandbox_waybill(), path=TRACE))

    def test_override_is_per_app(self):
        """One app's user_daily_quota applies to its users only."""
        a, b = self.new_app(user_daily_quota=1), self.new_app()
        ua, ub = new_openid(), new_openid()
        self.assert_ok(self.follow(a, ua, sandbox_waybill()))
        self.assert_quota(self.follow(a, ua, sandbox_waybill()), "user", 1)
        for _ in range(3):
            self.assert_ok(self.follow(b, ub, sandbox_waybill()))
        # the openid is a user of app a: app b may not bind it (§2.1 order: 9300534 first)
        self.assert_err(self.follow(b, ua, sandbox_waybill()), 9300534)


# ---- the valid-binding cap at its default -------------------------------------------------

class BindingCap(RulesTest):
    """§6.2 / §5.4: at most 100 valid message-family bindings per user; valid = status 0–3, not
    mismatched, not expired. Default limits throughout: the binds are spread over days so that
    the per-user daily quota (50) is never the limit that answers."""

    def test_100th_passes_101st_refused_and_slots_free_up(self):
        srv = self.srv
        t0 = self.move_to_early_day()
        app = self.new_app()
        info = self.app_info(app)
        self.assertEqual(info["limits"]["max_bindings"], 100, info)
        openid = new_openid()
        other = new_openid()

        # day D: one binding, made at a known time, whose expiry frees a slot at the end
        before_a = srv.clock()
        wa = sandbox_waybill()
        self.assert_ok(self.follow(app, openid, wa))
        after_a = srv.clock()

        # day D+1: 50 more (the per-user quota of the day, exactly)
        srv.set_clock(t0 + DAY)
        app.token = srv.token_for(app)
        ws = [sandbox_waybill() for _ in range(105)]
        tokens = {}
        for w in ws[:50]:
            r = self.follow(app, openid, w)
            self.assert_ok(r)
            tokens[w] = r["waybill_token"]
        self.assertEqual(len(set(tokens.values())), 50)

        # day D+2: 48 new, a repeat (no new binding: returns its token, the cap is not
        # involved), then the 100th valid binding passes
        srv.set_clock(t0 + 2 * DAY)
        app.token = srv.token_for(app)
        for w in ws[50:98]:
            r = self.follow(app, openid, w)
            self.assert_ok(r)
            tokens[w] = r["waybill_token"]
        r = self.follow(app, openid, ws[0])
        self.assert_ok(r)
        self.assertEqual(r["waybill_token"], tokens[ws[0]], "a repeat returns the same token")
        r = self.follow(app, openid, ws[98])
        self.assert_ok(r)  # the 100th valid binding
        tokens[ws[98]] = r["waybill_token"]
        # the repeat counted toward the per-user daily quota (§6.2): this is the 51st bind call
        self.assert_quota(self.follow(app, openid, ws[1]), "user", 50)

        # day D+3: the 101st is refused by the binding cap
        srv.set_clock(t0 + 3 * DAY)
        app.token = srv.token_for(app)
        self.assert_quota(self.follow(app, openid, ws[99]), "binding", 100)
        # still refused on a second try, and nothing was created by the refusal
        self.assert_quota(self.follow(app, openid, ws[99]), "binding", 100)
        # a live binding is returned without the cap
        r = self.follow(app, openid, ws[5])
        self.assert_ok(r)
        self.assertEqual(r["waybill_token"], tokens[ws[5]])
        # the cap is per user and for the message family only
        self.assert_ok(self.follow(app, openid, ws[99], path=TRACE))
        self.assert_ok(self.follow(app, other, ws[99]))

        # signed: no longer valid, so the next is accepted, and the one after is refused
        self.inject(self.event(ws[3], 4))
        self.assert_ok(self.follow(app, openid, ws[99]))
        self.assert_quota(self.follow(app, openid, ws[100]), "binding", 100)
        # a move within 1–3 frees nothing
        self.inject(self.event(ws[7], 2))
        self.assert_quota(self.follow(app, openid, ws[100]), "binding", 100)
        # mismatched (the carrier's phone tail is not this binding's): frees a slot
        self.assertNotEqual(DEFAULT_PHONE[-4:], "0000")
        self.inject(self.event(ws[4], 1, receiver_phone_tail="0000"))
        self.assert_ok(self.follow(app, openid, ws[100]))
        self.assert_quota(self.follow(app, openid, ws[101]), "binding", 100)
        # abnormal (5) and signed on behalf (6) free a slot each
        self.inject(self.event(ws[6], 5))
        self.assert_ok(self.follow(app, openid, ws[101]))
        self.assert_quota(self.follow(app, openid, ws[102]), "binding", 100)
        self.inject(self.event(ws[8], 6))
        self.assert_ok(self.follow(app, openid, ws[102]))
        self.assert_quota(self.follow(app, openid, ws[103]), "binding", 100)

        # expiry: the day-D binding (status 0) expires 7 days after it was made; a minute
        # before, it still counts
        srv.set_clock(before_a + 7 * DAY - 60)
        app.token = srv.token_for(app)
        self.assert_quota(self.follow(app, openid, ws[103]), "binding", 100)
        srv.set_clock(after_a + 7 * DAY + 1)
        app.token = srv.token_for(app)
        self.assert_ok(self.follow(app, openid, ws[103]))
        self.assert_quota(self.follow(app, openid, ws[104]), "binding", 100)
        # the expired binding's waybill can be bound again only as a new binding: refused too
        self.assert_quota(self.follow(app, openid, wa), "binding", 100)

    def test_lowered_cap_applies_at_once(self):
        self.move_to_early_day(days_ahead=10)
        app = self.new_app()
        openid = new_openid()
        ws = [sandbox_waybill() for _ in range(4)]
        for w in ws[:3]:
            self.assert_ok(self.follow(app, openid, w))
        self.srv.patch_app(app, max_bindings=2)
        self.assertEqual(self.app_info(app)["limits"]["max_bindings"], 2)
        self.assert_quota(self.follow(app, openid, ws[3]), "binding", 2)
        self.assert_ok(self.follow(app, openid, ws[0]))  # existing: no cap
        self.srv.patch_app(app, max_bindings=None)
        self.assertEqual(self.app_info(app)["limits"]["max_bindings"], 100)
        self.assert_ok(self.follow(app, openid, ws[3]))


# ---- the quota day -------------------------------------------------------------------------

class DayRolloverBase(RulesTest):
    """One server per test: each moves its sandbox clock days ahead."""

    fresh_server_per_test = True

    def near(self, boundary, calls):
        """Runs calls() (a fresh access token first) starting 2 s before boundary on the
        sandbox clock, retrying a day later while the machine was too slow to finish before
        it. Returns (boundary, result of calls, usage read before the boundary)."""
        for _ in range(4):
            self.srv.set_clock(boundary - 30)
            self.app.token = self.srv.token_for(self.app)
            self.srv.set_clock(boundary - 2)
            result = calls()
            usage = self.usage(self.app)
            if self.srv.clock() < boundary:
                return boundary, result, usage
            boundary += DAY
        self.fail("could not make the calls within 2 s of the sandbox clock")

    def exhaust_user(self, boundary):
        """A fresh user's quota of 3 used up just before boundary: 3 pass, the 4th 9300513.
        Returns (openid, boundary, usage)."""
        openid = new_openid()

        def calls():
            return [self.follow(self.app, openid, sandbox_waybill()) for _ in range(4)]

        boundary, replies, usage = self.near(boundary, calls)
        for r in replies[:3]:
            self.assert_ok(r)
        self.assert_quota(replies[3], "user", 3)
        return openid, boundary, usage

    def app_quota_rolls(self, boundary):
        """A daily_quota of 2 used up just before boundary; the next call after it passes."""
        self.app = app = self.new_app(daily_quota=2)
        boundary, replies, usage = self.near(
            boundary, lambda: [self.call(DELIVERY_LIST, {}, app.token) for _ in range(3)])
        self.assert_ok(replies[0])
        self.assert_ok(replies[1])
        self.assert_quota(replies[2], "app", 2)
        self.assertEqual(usage["message_calls"], 2)
        self.srv.set_clock(boundary)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assertEqual(self.usage(app)["message_calls"], 1)


class DayRollover(DayRolloverBase):
    """§6.2: days run from 00:00 at --day-offset, by default +08:00: 16:00 UTC."""

    def test_user_quota_rolls_at_1600_utc(self):
        self.app = app = self.new_app(user_daily_quota=3)
        now = self.srv.clock()
        boundary = (now // DAY + 2) * DAY + 16 * 3600  # 16:00 UTC, two days on
        self.assertEqual((boundary + SHANGHAI) % DAY, 0, "16:00 UTC is 00:00 at +08:00")
        openid, boundary, usage = self.exhaust_user(boundary)
        self.assertEqual(usage["message_calls"], 4, "user-refused calls count for the app")
        self.srv.set_clock(boundary)
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        # a whole new allowance, and a new per-app count
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        self.assert_quota(self.follow(app, openid, sandbox_waybill()), "user", 3)
        self.assertEqual(self.usage(app)["message_calls"], 4)

    def test_app_quota_rolls_at_1600_utc(self):
        now = self.srv.clock()
        self.app_quota_rolls((now // DAY + 2) * DAY + 16 * 3600)


class DayRolloverUTC(DayRolloverBase):
    """--day-offset +00:00: 16:00 UTC is not a new day; 00:00 UTC is."""

    server_args = ("--day-offset", "+00:00")

    def test_user_quota_rolls_at_midnight_utc(self):
        self.app = app = self.new_app(user_daily_quota=3)
        now = self.srv.clock()
        four_pm = (now // DAY + 2) * DAY + 16 * 3600
        openid, four_pm, _ = self.exhaust_user(four_pm)
        self.srv.set_clock(four_pm)
        self.assert_quota(self.follow(app, openid, sandbox_waybill()), "user", 3)
        midnight = four_pm + 8 * 3600
        self.srv.set_clock(midnight - 2)
        app.token = self.srv.token_for(app)
        self.assert_quota(self.follow(app, openid, sandbox_waybill()), "user", 3)
        self.srv.set_clock(midnight)
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))

    def test_app_quota_rolls_at_midnight_utc(self):
        self.app = app = self.new_app(daily_quota=1)
        now = self.srv.clock()
        four_pm = (now // DAY + 2) * DAY + 16 * 3600
        self.srv.set_clock(four_pm - 30)
        app.token = self.srv.token_for(app)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.srv.set_clock(four_pm + 1)
        self.assert_quota(self.call(DELIVERY_LIST, {}, app.token), "app", 1)
        self.assertEqual(self.usage(app)["message_calls"], 1)
        self.srv.set_clock(four_pm + 8 * 3600 + 1)
        app.token = self.srv.token_for(app)
        self.assertEqual(self.usage(app)["message_calls"], 0)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))


class DayRolloverNegative(DayRolloverBase):
    """--day-offset -05:30: the day starts at 05:30 UTC."""

    server_args = ("--day-offset", "-05:30")

    def test_app_quota_rolls_at_0530_utc(self):
        now = self.srv.clock()
        boundary = (now // DAY + 2) * DAY + 5 * 3600 + 30 * 60
        self.app_quota_rolls(boundary)


# ---- exact under concurrency ----------------------------------------------------------------

class Concurrency(RulesTest):
    """§6.2: many clients hammering one user and one app never exceed a limit by one call, and
    the usage counters equal the calls that counted."""

    THREADS = 10

    @classmethod
    def class_setup(cls):
        now = cls.srv.clock()
        cls.srv.set_clock(day_start(now, SHANGHAI) + DAY + 3600)

    def run_storm(self, jobs):
        """Runs (kind, fn) jobs on THREADS threads pulling from one shuffled queue; returns
        [(kind, reply)]."""
        random.shuffle(jobs)
        lock = threading.Lock()
        out = []
        errors = []
        nxt = [0]
        barrier = threading.Barrier(self.THREADS)

        def worker():
            try:
                barrier.wait(30)
                while True:
                    with lock:
                        if nxt[0] >= len(jobs):
                            return
                        kind, fn = jobs[nxt[0]]
                        nxt[0] += 1
                    r = fn()
                    with lock:
                        out.append((kind, r))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        if errors:
            raise errors[0]
        self.assertEqual(len(out), len(jobs))
        return out

    def test_one_user_one_app_hammered(self):
        app = self.new_app()
        tok = app.token
        # a binding of each family, by another user, for the query calls
        other = new_openid()
        mtok = self.bind(app, openid=other)[0]
        qtok = self.bind(app, openid=other, path=TRACE)[0]
        self.srv.patch_app(app, user_daily_quota=30, user_daily_quota_query=20, daily_quota=60)
        info = self.app_info(app)
        self.assertEqual(info["limits"]["daily_quota"], 60)
        m0, q0 = info["usage"]["message_calls"], info["usage"]["query_calls"]
        self.assertEqual((m0, q0), (1, 1), info)
        user = new_openid()

        def follow(path):
            body = bind_body(user, sandbox_waybill())
            return lambda: self.call(path, body, tok)

        jobs = ([("follow", follow(FOLLOW)) for _ in range(50)] +
                [("list", lambda: self.call(DELIVERY_LIST, {}, tok)) for _ in range(25)] +
                [("query_m", lambda: self.call(QUERY_FOLLOW, {"waybill_token": mtok}, tok))
                 for _ in range(15)] +
                [("trace", follow(TRACE)) for _ in range(30)] +
                [("query_q", lambda: self.call(QUERY_TRACE, {"waybill_token": qtok}, tok))
                 for _ in range(35)])
        family = {"follow": "m", "list": "m", "query_m": "m", "trace": "q", "query_q": "q"}
        out = self.run_storm(jobs)

        stats = {}
        for kind, r in out:
            self.assertEqual(r.status, 200, r)
            if r.errcode == 0:
                outcome = "ok"
            else:
                outcome = limit_kind(self.assert_err(r, 9300513))
                self.assertIn(outcome, ("app", "user"), r)
            stats[(kind, outcome)] = stats.get((kind, outcome), 0) + 1

        def n(kind, outcome):
            return stats.get((kind, outcome), 0)

        msg = "outcomes: %r" % sorted(stats.items())
        # calls refused by the per-user quota are binds only; non-bind calls only meet the app's
        for kind in ("list", "query_m", "query_q"):
            self.assertEqual(n(kind, "user"), 0, msg)
        # per-app, each family: exactly the remaining allowance passed the app's check
        counted = {"m": 0, "q": 0}
        for kind, fam in family.items():
            counted[fam] += n(kind, "ok") + n(kind, "user")
        self.assertEqual(counted["m"], 60 - m0, msg)  # 90 message calls for 59 places
        self.assertEqual(counted["q"], 60 - q0, msg)  # 65 query calls for 59 places
        # per-user: binds that got past the app's check: at most the user's quota succeeded,
        # and exactly that many when there were enough of them
        for kind, limit in (("follow", 30), ("trace", 20)):
            reached = n(kind, "ok") + n(kind, "user")
            self.assertEqual(n(kind, "ok"), min(limit, reached), msg)
        # the counters say the same
        usage = self.usage(app)
        self.assertEqual(usage["message_calls"], m0 + counted["m"], (usage, msg))
        self.assertEqual(usage["query_calls"], q0 + counted["q"], (usage, msg))
        # and from now on everything is refused by the app's quota, without counting
        self.assert_quota(self.call(FOLLOW, bind_body(user, sandbox_waybill()), tok), "app", 60)
        self.assert_quota(self.call(QUERY_TRACE, {"waybill_token": qtok}, tok), "app", 60)
        self.assertEqual(self.usage(app), usage)
        # raising the app's quota shows the user's count was exact too
        self.srv.patch_app(app, daily_quota=None)
        left = 30 - n("follow", "ok")
        for _ in range(left):
            self.assert_ok(self.call(FOLLOW, bind_body(user, sandbox_waybill()), tok))
        self.assert_quota(self.call(FOLLOW, bind_body(user, sandbox_waybill()), tok), "user", 30)
        left = 20 - n("trace", "ok")
        for _ in range(left):
            self.assert_ok(self.call(TRACE, bind_body(user, sandbox_waybill()), tok))
        self.assert_quota(self.call(TRACE, bind_body(user, sandbox_waybill()), tok), "user", 20)

    def test_binds_alone_exhaust_the_user_quota_exactly(self):
        """16 threads, only binds of one user: exactly the quota passes, however they interleave;
        every refused one names the user's limit."""
        app = self.new_app(user_daily_quota=30)
        tok = app.token
        user = new_openid()
        jobs = [("follow", (lambda b: lambda: self.call(FOLLOW, b, tok))(
            bind_body(user, sandbox_waybill()))) for _ in range(64)]
        self.THREADS = 16
        out = self.run_storm(jobs)
        ok = sum(1 for _, r in out if r.errcode == 0)
        self.assertEqual(ok, 30, [r for _, r in out if r.errcode != 0][:3])
        for _, r in out:
            if r.errcode != 0:
                self.assert_quota(r, "user", 30)
        self.assertEqual(self.usage(app)["message_calls"], 64)


class AcrossRestarts(RulesTest):
    """§6.2: counts survive a restart; a clean stop loses no allowance, a crash may lose some but
    never grants extra."""

    fresh_server_per_test = True  # no class server; each test restarts its own

    def setUp(self):
        unittest.TestCase.setUp(self)  # not ServerTest's: the test starts and restarts its own
        self.tmp = tempfile.mkdtemp(prefix="waybilld-rules-restart-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.key = "adm-" + os.urandom(16).hex()

    def serve(self):
        srv = Server(data_dir=self.tmp, admin_key=self.key, sandbox=True).start()
        self.addCleanup(srv.stop)
        self.srv = srv
        return srv

    def restart_after(self, sig, app, openid):
        """Makes 5 message calls (2 binds of openid) under a daily quota of 10 and a user quota
        of 6, stops the server with sig and starts it again on the same data. Returns the
        outcomes ('ok', 'user', 'app') of 5 more binds of openid, then 5 list calls."""
        srv = self.serve()
        app.server = srv
        srv.patch_app(app, daily_quota=10, user_daily_quota=6)
        tok = srv.token_for(app)
        for _ in range(2):
            self.assert_ok(srv.call(FOLLOW, bind_body(openid, sandbox_waybill()), tok))
        for _ in range(3):
            self.assert_ok(srv.call(DELIVERY_LIST, {}, tok))
        self.assertEqual(self.usage(app)["message_calls"], 5)
        srv.stop(sig)
        srv = self.serve()
        app.server = srv
        tok = srv.token_for(app)
        replies = ([srv.call(FOLLOW, bind_body(openid, sandbox_waybill()), tok)
                    for _ in range(5)] +
                   [srv.call(DELIVERY_LIST, {}, tok) for _ in range(5)])
        out = []
        for r in replies:
            if r.errcode == 0:
                out.append("ok")
            else:
                kind = limit_kind(self.assert_err(r, 9300513))
                self.assertIn(kind, ("user", "app"), r)
                out.append(kind)
        return out[:5], out[5:]

    def new_app_on_fresh_store(self):
        srv = self.serve()
        self.move_to_early_day()
        app = srv.new_app()
        srv.stop()
        return app

    def test_clean_stop_loses_nothing(self):
        app = self.new_app_on_fresh_store()
        binds, lists = self.restart_after(signal.SIGTERM, app, new_openid())
        # user: 2 + 4 = 6, then refused; app: 5 + 5 = 10 (the user-refused bind counts)
        self.assertEqual(binds, ["ok"] * 4 + ["user"], binds)
        self.assertEqual(lists, ["app"] * 5, lists)
        self.assertEqual(self.usage(app)["message_calls"], 10)

    def test_clean_stop_keeps_usage_exact_at_default_limits(self):
        """Far from the limit too (where a process may hold many calls in reserve)."""
        app = self.new_app_on_fresh_store()
        srv = self.serve()
        tok = srv.token_for(app)
        for _ in range(5):
            self.assert_ok(srv.call(DELIVERY_LIST, {}, tok))
        for _ in range(2):
            self.assert_ok(srv.call(TRACE, bind_body(new_openid(), sandbox_waybill()), tok))
        usage = self.usage(app)
        self.assertEqual((usage["message_calls"], usage["query_calls"]), (5, 2), usage)
        srv.stop()
        srv = self.serve()
        usage = self.usage(app)
        self.assertEqual((usage["message_calls"], usage["query_calls"]), (5, 2),
                         "usage after a clean restart: %r" % usage)
        tok = srv.token_for(app)
        self.assert_ok(srv.call(DELIVERY_LIST, {}, tok))
        self.assertEqual(self.usage(app)["message_calls"], 6)

    def test_crash_never_grants_extra(self):
        app = self.new_app_on_fresh_store()
        binds, lists = self.restart_after(signal.SIGKILL, app, new_openid())
        passed_app = sum(1 for o in binds + lists if o != "app")
        self.assertLessEqual(passed_app, 5, (binds, lists))
        self.assertLessEqual(binds.count("ok"), 4, binds)
        usage = self.usage(app)["message_calls"]
        self.assertLessEqual(usage, 10)
        self.assertGreaterEqual(usage, 5 + passed_app)


# ---- penalties --------------------------------------------------------------------------------

class Penalties(RulesTest):
    """§6.1: enabled=false answers 48001 from the next request on; lowered quotas apply at once;
    null restores the default; GET shows today's usage against each limit."""

    @classmethod
    def class_setup(cls):
        now = cls.srv.clock()
        cls.srv.set_clock(day_start(now, SHANGHAI) + DAY + 3600)

    def test_disable_answers_48001_at_once(self):
        app = self.new_app()
        tok = app.token
        openid = new_openid()
        btok = self.bind(app, openid=openid)[0]
        before = self.usage(app)
        self.srv.patch_app(app, enabled=False)
        self.assertFalse(self.app_info(app)["enabled"])
        calls = [(FOLLOW, bind_body(openid, sandbox_waybill())),
                 (TRACE, bind_body(openid, sandbox_waybill())),
                 (QUERY_FOLLOW, {"waybill_token": btok}),
                 (QUERY_TRACE, {"waybill_token": btok}),
                 (UPDATE_FOLLOW, {"waybill_token": btok, "goods_info": goods()}),
                 (UPDATE_TRACE, {"waybill_token": btok, "goods_info": goods()}),
                 (DELIVERY_LIST, {})]
        for path, body in calls:
            with self.subTest(path=path):
                detail = self.assert_err(self.call(path, body, tok), 48001)
                self.assertIn("disabled", detail.lower())
        # refused by eligibility: nothing counted
        self.assertEqual(self.usage(app), before)
        # a new token does not help
        app.token = self.srv.token_for(app)
        self.assert_err(self.call(DELIVERY_LIST, {}, app.token), 48001)
        self.srv.patch_app(app, enabled=True)
        self.assert_ok(self.call(DELIVERY_LIST, {}, app.token))
        self.assert_ok(self.query(app, btok))

    def test_disable_under_load(self):
        """Calls keep flowing on other threads while the capability is disabled: every call
        begun after the PATCH was answered gets 48001; calls in flight do not make a later one
        pass."""
        app = self.new_app()
        tok = app.token
        openid = new_openid()
        btok = self.bind(app, openid=openid)[0]
        stop = threading.Event()
        log = []
        lock = threading.Lock()

        def worker(i):
            while not stop.is_set():
                if i % 3 == 0:
                    path, body = FOLLOW, bind_body(new_openid(), sandbox_waybill())
                elif i % 3 == 1:
                    path, body = QUERY_FOLLOW, {"waybill_token": btok}
                else:
                    path, body = DELIVERY_LIST, {}
                t = time.monotonic()
                r = self.call(path, body, tok)
                with lock:
                    log.append((t, path, r))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        try:
            time.sleep(0.3)
            self.srv.patch_app(app, enabled=False)
            patched = time.monotonic()
            # the very next call from here
            self.assert_err(self.call(DELIVERY_LIST, {}, tok), 48001)
            time.sleep(0.4)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        before = [r for t, _, r in log if t < patched]
        after = [(p, r) for t, p, r in log if t > patched]
        self.assertTrue(any(r.errcode == 0 for r in before), "no call passed before the PATCH")
        self.assertGreater(len(after), 5, "too few calls after the PATCH")
        passed = [(p, r) for p, r in after if r.errcode != 48001]
        self.assertEqual(passed, [], "calls begun after enabled=false was answered")
        self.srv.patch_app(app, enabled=True)
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))

    def test_lowered_daily_quota_applies_at_once(self):
        app = self.new_app()
        tok = app.token
        for _ in range(5):
            self.assert_ok(self.call(DELIVERY_LIST, {}, tok))
        self.assertEqual(self.usage(app)["message_calls"], 5)
        self.srv.patch_app(app, daily_quota=3)  # below today's usage
        self.assert_quota(self.call(DELIVERY_LIST, {}, tok), "app", 3)
        self.assert_quota(self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill()), tok),
                          "app", 3)
        info = self.app_info(app)
        self.assertEqual(info["daily_quota"], 3, info)
        self.assertEqual(info["limits"]["daily_quota"], 3, info)
        self.assertEqual(info["usage"]["message_calls"], 5, "refused calls do not count: %r"
                         % info)
        # the query family has its own count under the same limit
        for _ in range(3):
            self.assert_ok(self.call(TRACE, bind_body(new_openid(), sandbox_waybill()), tok))
        self.assert_quota(self.call(TRACE, bind_body(new_openid(), sandbox_waybill()), tok),
                          "app", 3)
        # zero: nothing at all
        self.srv.patch_app(app, daily_quota=0)
        self.assert_quota(self.call(DELIVERY_LIST, {}, tok), "app", 0)
        # null restores the default
        self.srv.patch_app(app, daily_quota=None)
        info = self.app_info(app)
        self.assertIsNone(info["daily_quota"], info)
        self.assertEqual(info["limits"]["daily_quota"], 100000, info)
        self.assert_ok(self.call(DELIVERY_LIST, {}, tok))
        self.assertEqual(self.usage(app)["message_calls"], 6)
        self.assertEqual(self.usage(app)["query_calls"], 3)

    def test_lowered_user_quota_applies_at_once(self):
        app = self.new_app()
        openid = new_openid()
        for _ in range(4):
            self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        self.srv.patch_app(app, user_daily_quota=2)
        self.assert_quota(self.follow(app, openid, sandbox_waybill()), "user", 2)
        self.srv.patch_app(app, user_daily_quota=None)
        self.assertEqual(self.app_info(app)["limits"]["user_daily_quota"], 50)
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        # the query family's own override
        for _ in range(2):
            self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=TRACE))
        self.srv.patch_app(app, user_daily_quota_query=1)
        self.assert_quota(self.follow(app, openid, sandbox_waybill(), path=TRACE), "user", 1)
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        self.srv.patch_app(app, user_daily_quota_query=None)
        self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=TRACE))

    def test_get_shows_usage_against_each_limit(self):
        app = self.new_app()
        info = self.app_info(app)
        self.assertEqual(info["limits"], {"daily_quota": 100000, "user_daily_quota": 50,
                                          "user_daily_quota_query": 100, "max_bindings": 100,
                                          "max_updates": 10}, info)
        for key in ("daily_quota", "user_daily_quota", "user_daily_quota_query", "max_bindings",
                    "max_updates"):
            self.assertIsNone(info[key], info)
        self.assertEqual(info["usage"].get("message_calls"), 0, info)
        self.assertEqual(info["usage"].get("query_calls"), 0, info)
        tok = app.token
        self.assertEqual(self.usage(app).get("token_calls"), 1)
        openid = new_openid()
        self.assert_ok(self.follow(app, openid, sandbox_waybill()))
        self.assert_err(self.follow(app, openid, "NOTRECOGNISED"), 931023)  # counts
        self.assert_err(self.call(QUERY_FOLLOW, None, tok), 44002)          # counts
        self.assert_ok(self.call(DELIVERY_LIST, None, tok))                  # message family
        self.assert_ok(self.follow(app, openid, sandbox_waybill(), path=TRACE))
        self.assert_err(self.call(QUERY_TRACE, {"waybill_token": "x"}, tok), 47001,
                        codes=(47001, 9300507))
        self.assert_err(self.call(FOLLOW, {}, "bogus-token"), 40001)         # no app: nothing
        usage = self.usage(app)
        self.assertEqual((usage["message_calls"], usage["query_calls"]), (4, 2), usage)
        self.srv.patch_app(app, daily_quota=7, user_daily_quota=8, user_daily_quota_query=9,
                           max_bindings=11, max_updates=12)
        info = self.app_info(app)
        self.assertEqual(info["limits"], {"daily_quota": 7, "user_daily_quota": 8,
                                          "user_daily_quota_query": 9, "max_bindings": 11,
                                          "max_updates": 12}, info)
        self.assertEqual((info["usage"]["message_calls"], info["usage"]["query_calls"]), (4, 2))
        r = self.srv.admin("PATCH", "/admin/v1/apps/" + app.appid,
                           {"daily_quota": None, "user_daily_quota": None,
                            "user_daily_quota_query": None, "max_bindings": None,
                            "max_updates": None})
        self.assertEqual(r.status, 200, r)
        info = self.app_info(app)
        self.assertEqual(info["limits"], {"daily_quota": 100000, "user_daily_quota": 50,
                                          "user_daily_quota_query": 100, "max_bindings": 100,
                                          "max_updates": 10}, info)
        # a negative or non-integer limit is refused and changes nothing
        for bad in (-1, "5", 1.5, True):
            with self.subTest(bad=bad):
                r = self.srv.admin("PATCH", "/admin/v1/apps/" + app.appid, {"daily_quota": bad})
                self.assertEqual(r.status, 400, r)
        self.assertIsNone(self.app_info(app)["daily_quota"])


# ---- content supervision ----------------------------------------------------------------------

TERMS = "# test rules\r\nCasino\r\n代开发票\r\n\r\nLottery\r\n"


class ContentSupervision(RulesTest):
    """§6.4 with DIR/forbidden_terms.txt."""

    @classmethod
    def start_server(cls, **kw):
        cls.dir = tempfile.mkdtemp(prefix="waybilld-rules-")
        cls.terms_path = os.path.join(cls.dir, "forbidden_terms.txt")
        with open(cls.terms_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(TERMS)
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

    def bind_with(self, items, path=FOLLOW):
        body = bind_body(new_openid(), sandbox_waybill(), goods_info={"detail_list": items})
        return self.call(path, body, self.app.token)

    @staticmethod
    def items(n, bad_index, field, text):
        items = [{"goods_name": "好东西%d" % i, "goods_img_url": "https://www.qq.com/%d.png" % i,
                  "goods_desc": "描述%d" % i} for i in range(n)]
        items[bad_index][field] = text
        return items

    def assert_risky(self, r, index, field):
        detail = self.assert_err(r, 87014)
        self.assertIn("detail_list[%d].%s" % (index, field), detail,
                      "87014 should name the field: %r" % r)
        low = detail.lower()
        for term in ("casino", "代开发票", "lottery", "违禁"):
            self.assertNotIn(term, low, "87014 must not reveal the term: %r" % r)

    def test_any_item_any_field_any_case(self):
        cases = [(1, 0, "goods_name", "Casino"),
                 (1, 0, "goods_desc", "best cAsInO in town"),
                 (3, 1, "goods_name", "CASINO royale"),
                 (5, 4, "goods_desc", "正品代开发票"),
                 (10, 9, "goods_name", "lottery"),
                 (10, 0, "goods_desc", "LOTTERY"),
                 (10, 5, "goods_desc", "xLoTtErYx"),
                 (2, 1, "goods_name", "代开发票")]
        for path in (FOLLOW, TRACE):
            for n, idx, field, text in cases:
                with self.subTest(path=path, n=n, idx=idx, field=field, text=text):
                    self.assert_risky(self.bind_with(self.items(n, idx, field, text), path),
                                      idx, field)
            with self.subTest(path=path, case="clean"):
                self.assert_ok(self.bind_with(self.items(10, 3, "goods_desc", "赌 场 casin 代开"),
                                              path))

    def test_updates_too(self):
        tok = self.bind(self.app)[0]
        for path in (UPDATE_FOLLOW, UPDATE_TRACE):
            for n, idx, field, text in ((4, 3, "goods_desc", "CaSiNo"),
                                        (2, 0, "goods_name", "LOTTERY")):
                with self.subTest(path=path, idx=idx, field=field):
                    r = self.call(path, {"waybill_token": tok, "goods_info": {
                        "detail_list": self.items(n, idx, field, text)}}, self.app.token)
                    self.assert_risky(r, idx, field)
        self.assert_ok(self.call(UPDATE_FOLLOW, {"waybill_token": tok, "goods_info": goods(
            2, name="干净")}, self.app.token))

    def test_not_other_fields(self):
        """Only goods_name and goods_desc are supervised."""
        body = bind_body(new_openid(), sandbox_waybill(), trans_id="casino",
                         order_detail_path="pages/casino/index",
                         goods_info=goods(1, img="https://casino.example.com/lottery.png"))
        self.assert_ok(self.call(FOLLOW, body, self.app.token))

    def wait_reload(self, probe_text, want):
        deadline = time.monotonic() + 5
        while True:
            r = self.bind_with(self.items(1, 0, "goods_name", probe_text))
            if r.errcode == want or time.monotonic() > deadline:
                return r
            time.sleep(0.05)

    def restore_terms(self):
        with open(self.terms_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(TERMS)
        self.srv.proc.send_signal(signal.SIGHUP)
        self.assert_risky(self.wait_reload("lottery", 87014), 0, "goods_name")

    def test_sighup_adds_and_removes_terms_without_dropping_requests(self):
        self.assert_ok(self.bind_with(self.items(1, 0, "goods_name", "新违禁词")))
        self.assert_risky(self.bind_with(self.items(1, 0, "goods_name", "lottery")), 0,
                          "goods_name")
        # requests keep flowing while the list is swapped
        stop = threading.Event()
        seen = []

        def load(i):
            while not stop.is_set():
                if i % 2:
                    seen.append(self.call(DELIVERY_LIST, {}, self.app.token))
                else:
                    seen.append(self.bind_with(self.items(2, 1, "goods_desc", "好东西")))

        threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        self.addCleanup(self.restore_terms)
        try:
            time.sleep(0.1)
            with open(self.terms_path, "w", encoding="utf-8", newline="") as fh:
                fh.write("Casino\n代开发票\n新违禁词\n")  # Lottery removed
            self.srv.proc.send_signal(signal.SIGHUP)
            r = self.wait_reload("新违禁词", 87014)
            self.assert_risky(r, 0, "goods_name")
            time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        self.assertGreater(len(seen), 4)
        for r in seen:
            self.assertEqual((r.status, r.errcode), (200, 0), r)
        # the removed term is accepted, in any case and either field; the others stay
        self.assert_ok(self.bind_with(self.items(1, 0, "goods_name", "LOTTERY")))
        self.assert_ok(self.bind_with(self.items(3, 2, "goods_desc", "lottery")))
        self.assert_risky(self.bind_with(self.items(3, 2, "goods_desc", "CASINO")), 2,
                          "goods_desc")
        self.assert_risky(self.bind_with(self.items(1, 0, "goods_desc", "新违禁词")), 0,
                          "goods_desc")
        self.assertTrue(self.srv.alive())


class ContentFiles(RulesTest):
    """§6.4: which file is read, and what a missing one means."""

    fresh_server_per_test = True  # no class server; each test starts its own

    def setUp(self):
        unittest.TestCase.setUp(self)  # not ServerTest's: the servers differ by test
        self.tmp = tempfile.mkdtemp(prefix="waybilld-rules-files-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def serve(self, *args):
        srv = Server(data_dir=os.path.join(self.tmp, "data"), sandbox=True,
                     extra_args=args).start()
        self.addCleanup(srv.cleanup)
        self.srv = srv
        return srv

    def try_names(self, app, *names):
        return [self.call(FOLLOW, bind_body(new_openid(), sandbox_waybill(),
                                            goods_info=goods(1, name=n)), app.token).errcode
                for n in names]

    def test_missing_default_file_means_no_rules(self):
        srv = self.serve()
        self.assertFalse(os.path.exists(os.path.join(srv.data_dir, "forbidden_terms.txt")))
        app = srv.new_app()
        self.assertEqual(self.try_names(app, "Casino", "代开发票", "anything"), [0, 0, 0])
        # once the default file appears, SIGHUP loads it; when it goes again, no rules
        with open(os.path.join(srv.data_dir, "forbidden_terms.txt"), "w",
                  encoding="utf-8") as fh:
            fh.write("casino\n")
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.try_names(app, "CASINO") != [87014] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.try_names(app, "CASINO", "代开发票"), [87014, 0])
        os.unlink(os.path.join(srv.data_dir, "forbidden_terms.txt"))
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while self.try_names(app, "CASINO") != [0] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.try_names(app, "CASINO"), [0])
        self.assertTrue(srv.alive())

    def test_named_file_replaces_the_default(self):
        data = os.path.join(self.tmp, "data")
        os.makedirs(data)
        with open(os.path.join(data, "forbidden_terms.txt"), "w", encoding="utf-8") as fh:
            fh.write("casino\n")
        named = os.path.join(self.tmp, "rules.txt")
        with open(named, "w", encoding="utf-8") as fh:
            fh.write("lottery\n")
        srv = self.serve("--forbidden-terms", named)
        app = srv.new_app()
        self.assertEqual(self.try_names(app, "Casino", "Lottery"), [0, 87014])

    def test_missing_named_file_refuses_to_start(self):
        missing = os.path.join(self.tmp, "no-such-rules.txt")
        data = os.path.join(self.tmp, "data")
        argv = [BIN, "serve", "--listen", "127.0.0.1:0", "--data", data, "--sandbox",
                "--admin-key", "adm-" + os.urandom(8).hex(), "--forbidden-terms", missing]
        env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBILLD_")}
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate(timeout=5)
            self.fail("the server kept running with a missing --forbidden-terms file:\n%s"
                      % (out + err).decode("utf-8", "replace"))
        text = (out + err).decode("utf-8", "replace")
        self.assertNotEqual(proc.returncode, 0, text)
        self.assertNotIn("listening on", text)
        self.assertIn(missing, text, "the message should name the file")
        self.assertRegex(text.lower(), r"no such file|not found|cannot read|missing", text)


if __name__ == "__main__":
    unittest.main()
