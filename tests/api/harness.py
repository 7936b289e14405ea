"""Black-box API test harness: starts the real waybilld on loopback and talks to it over HTTP.

Python 3 standard library only. Each test module builds on ServerTest, which starts one server per
test class (or one per test with fresh_server_per_test) in a temporary data directory and stops
it by its PID afterwards. Every check is made from outside, against SPEC.md.
"""

import atexit
import glob
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def find_binary():
    """WAYBILLD_BIN (set by ctest), else the usual build directories."""
    env = os.environ.get("WAYBILLD_BIN")
    if env:
        return env
    for sub in ("build", "build-tests"):
        cand = os.path.join(REPO, sub, "waybilld")
        if os.access(cand, os.X_OK):
            return cand
    return os.path.join(REPO, "build", "waybilld")


BIN = find_binary()

# ---- PostgreSQL --------------------------------------------------------------------------------
# With WAYBILLD_TEST_PG set to the base URL of a cluster (tests/pg/pg_start.sh starts one and
# prints it), every server runs on PostgreSQL: each data dir gets a database of its own, made on
# first use and dropped when the harness removes the dir (the rest at exit), so that a server
# started again on the same data dir - by the same Server object or a new one - finds its data.
# Without the variable nothing changes: SQLite in the data dir.

PG_BASE = os.environ.get("WAYBILLD_TEST_PG") or None
PG = PG_BASE is not None

_pg_lock = threading.Lock()
_pg_dbs = {}  # real path of a data dir -> its database, made by this process


def _pg_tool(name):
    """A PostgreSQL client program: the version 15 one when installed, else the newest, else
    PATH's."""
    dirs = ["/usr/lib/postgresql/15/bin"] + sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                                                   reverse=True)
    for d in dirs:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return shutil.which(name) or name


def pg_url(dbname):
    """WAYBILLD_TEST_PG with dbname as the database."""
    parts = urllib.parse.urlsplit(PG_BASE)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query,
                                    parts.fragment))


def _psql(sql, url=None):
    """Runs sql with psql on url (default: the cluster's postgres database); its output."""
    p = subprocess.run([_pg_tool("psql"), url or pg_url("postgres"), "-qAtX", "-v",
                        "ON_ERROR_STOP=1", "-c", sql], capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("psql %r: %s" % (sql, p.stderr.decode("utf-8", "replace")))
    return p.stdout.decode("utf-8", "replace")


def _pg_key(data_dir):
    return os.path.realpath(data_dir)


def pg_database(data_dir):
    """The URL of data_dir's database, made on first use."""
    key = _pg_key(data_dir)
    name = "wbt_" + hashlib.sha1(key.encode()).hexdigest()[:24]
    with _pg_lock:
        if key not in _pg_dbs:
            if not _psql("SELECT 1 FROM pg_database WHERE datname = '%s'" % name).strip():
                _psql("CREATE DATABASE %s" % name)
            _pg_dbs[key] = name
    return pg_url(name)


def pg_hash_key(data_dir):
    """PostgreSQL wants the hash key given: one per data dir, the same at every start."""
    return "hk-" + hashlib.sha256(("hash:" + _pg_key(data_dir)).encode()).hexdigest()[:32]


def pg_drop(data_dir):
    """Drops data_dir's database, if this process made one."""
    with _pg_lock:
        name = _pg_dbs.pop(_pg_key(data_dir), None)
    if name:
        try:
            _psql("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        except (RuntimeError, OSError, subprocess.SubprocessError):
            pass


def _pg_drop_all():
    for key in list(_pg_dbs):
        pg_drop(key)


if PG:
    atexit.register(_pg_drop_all)


def store_args(data_dir):
    """The arguments that name data_dir's store, for `waybilld serve` and the admin commands:
    under WAYBILLD_TEST_PG its database and hash key, else none (SQLite in the dir)."""
    if not PG:
        return []
    return ["--db", pg_database(data_dir), "--hash-key", pg_hash_key(data_dir)]


def store_blobs(data_dir):
    """What a copy of the store holds, as (name, bytes): the data dir's files, and under
    WAYBILLD_TEST_PG a plain dump of its database (for checks of what is kept at rest)."""
    blobs = []
    for root, _, files in os.walk(data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                blobs.append((f, fh.read()))
    if PG:
        p = subprocess.run([_pg_tool("pg_dump"), "--data-only", "--no-owner",
                            pg_database(data_dir)], capture_output=True, timeout=120)
        if p.returncode != 0:
            raise RuntimeError("pg_dump: %s" % p.stderr.decode("utf-8", "replace"))
        blobs.append(("pg_dump", p.stdout))
    return blobs

OPEN_MSG = "/cgi-bin/express/delivery/open_msg/"
FOLLOW = OPEN_MSG + "follow_waybill"
QUERY_FOLLOW = OPEN_MSG + "query_follow_trace"
UPDATE_FOLLOW = OPEN_MSG + "update_follow_waybill_goods"
TRACE = OPEN_MSG + "trace_waybill"
QUERY_TRACE = OPEN_MSG + "query_trace"
UPDATE_TRACE = OPEN_MSG + "update_waybill_goods"
DELIVERY_LIST = OPEN_MSG + "get_delivery_list"
MERCHANT_PATHS = (FOLLOW, QUERY_FOLLOW, UPDATE_FOLLOW, TRACE, QUERY_TRACE, UPDATE_TRACE,
                  DELIVERY_LIST)
BIND_PATHS = (FOLLOW, TRACE)
QUERY_PATHS = (QUERY_FOLLOW, QUERY_TRACE)
UPDATE_PATHS = (UPDATE_FOLLOW, UPDATE_TRACE)
TOKEN = "/cgi-bin/token"
STABLE_TOKEN = "/cgi-bin/stable_token"

JSON_CT = "application/json; encoding=utf-8"
RID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$")
ERRMSG_RE = re.compile(r"^(?P<text>.*?)(?: detail: \[(?P<detail>.*)\])? rid: (?P<rid>\S*)$", re.S)

# SPEC §2.1: errcode -> errmsg.
ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40125: "invalid appsecret",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    42001: "access_token expired",
    43002: "require POST method",
    44002: "empty post data",
    45009: "reach max api daily quota limit",
    47001: "data format error",
    48001: "api unauthorized",
    40066: "invalid url",
    87014: "risky content",
    9300507: "invalid token, can't decryption or decryption result is different from the plaintext",
    9300513: "out of quota",
    9300534: "invalid shop args",
    9300559: "waybill not exist",
    9300560: "reach max modify count",
    9300561: "invalid goods_img_url",
    931023: "waybill not exist",
}

DEFAULT_IMG = "https://www.qq.com/a.png"
DEFAULT_PHONE = "13800138000"


class DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise DuplicateKeyError("duplicate key %r in reply" % k)
        out[k] = v
    return out


class Reply:
    """An HTTP reply: status, headers (lower-cased names), raw body, and the parsed JSON or None.
    status is None when the connection failed before any reply (error holds the exception)."""

    def __init__(self, status, headers, raw, error=None, request=None):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.error = error
        self.request = request
        self.json = None
        if raw:
            try:
                self.json = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
            except (ValueError, UnicodeDecodeError):
                self.json = None

    @property
    def errcode(self):
        return self.json.get("errcode") if isinstance(self.json, dict) else None

    @property
    def errmsg(self):
        return self.json.get("errmsg") if isinstance(self.json, dict) else None

    def get(self, key, default=None):
        return self.json.get(key, default) if isinstance(self.json, dict) else default

    def __getitem__(self, key):
        return self.json[key]

    def __repr__(self):
        body = self.raw[:600] if self.raw is not None else None
        return "<Reply %s %r %s%s>" % (self.status, body, self.headers.get("content-type"),
                                       " error=%r" % self.error if self.error else "")


def _short(b, n=300):
    if b is None:
        return None
    if isinstance(b, (dict, list)):
        b = json.dumps(b, ensure_ascii=False)
    if isinstance(b, bytes):
        return b[:n] + (b"...(%d bytes)" % len(b) if len(b) > n else b"")
    return b[:n] + ("...(%d chars)" % len(b) if len(b) > n else "")


def encode_body(body):
    """dict/list -> UTF-8 JSON; str -> UTF-8; bytes as is; None -> no body."""
    if body is None:
        return None
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class App:
    """An app made through the admin API; token is fetched from /cgi-bin/token on first use."""

    def __init__(self, server, appid, secret, push_secret=None):
        self.server = server
        self.appid = appid
        self.secret = secret
        self.push_secret = push_secret
        self._token = None
        self._lock = threading.Lock()

    @property
    def token(self):
        with self._lock:  # one fetch even when threads ask at once (a second would supersede it)
            if self._token is None:
                self._token = self.server.token_for(self)
            return self._token

    @token.setter
    def token(self, value):
        self._token = value

    def __repr__(self):
        return "<App %s>" % self.appid


class Server:
    """One waybilld process on 127.0.0.1:0 with its own data dir (removed at cleanup when the
    harness made it)."""

    def __init__(self, data_dir=None, sandbox=True, admin_key=None, extra_args=(), env=None,
                 pass_admin_key=True, store_of=None):
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="waybilld-api-")
        # under WAYBILLD_TEST_PG: the data dir whose database this server uses (several servers
        # sharing one store); its own by default
        self.store_dir = store_of or self.data_dir
        self.sandbox = sandbox
        self.admin_key = admin_key or ("adm-" + secrets.token_hex(16))
        self.pass_admin_key = pass_admin_key  # False: the server generates DIR/admin.key
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.returncode = None
        self._lines = []           # (stream, text) of everything the server printed
        self._lock = threading.Lock()
        self._port_event = threading.Event()
        self._threads = []

    # ---- lifecycle -------------------------------------------------------------------------

    def argv(self):
        args = [BIN, "serve", "--listen", "127.0.0.1:0", "--data", self.data_dir]
        if self.pass_admin_key:
            args += ["--admin-key", self.admin_key]
        if self.sandbox:
            args.append("--sandbox")
        return args + store_args(self.store_dir) + self.extra_args

    def start(self, timeout=20):
        """Starts the server and waits until it is healthy; on failure it raises, after removing
        the data dir it made."""
        try:
            return self._start(timeout)
        except BaseException:
            if self.owns_dir:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                pg_drop(self.data_dir)
            raise

    def _start(self, timeout):
        if not os.access(BIN, os.X_OK):
            raise RuntimeError("waybilld binary not found at %s (set WAYBILLD_BIN)" % BIN)
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("WAYBILLD_") and k != "WAYBILLD_BIN":
                del env[k]
        if self.env:
            env.update(self.env)
        self._port_event.clear()
        self.port = None
        self.returncode = None
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env)
        self._threads = [threading.Thread(target=self._reader, args=(self.proc.stdout, "out"),
                                          daemon=True),
                         threading.Thread(target=self._reader, args=(self.proc.stderr, "err"),
                                          daemon=True)]
        for t in self._threads:
            t.start()
        deadline = time.monotonic() + timeout
        while not self._port_event.wait(0.02):
            if self.proc.poll() is not None:
                self._join_readers()
                raise RuntimeError("waybilld exited with %s before listening:\n%s"
                                   % (self.proc.returncode, self.log_text()))
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("waybilld did not print 'listening on' within %ss:\n%s"
                                   % (timeout, self.log_text()))
        while True:
            try:
                r = self.request("GET", "/healthz")
                if r.status == 200:
                    return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("waybilld not healthy:\n%s" % self.log_text())
            time.sleep(0.02)

    def _reader(self, stream, name):
        for raw in iter(stream.readline, b""):
            text = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lock:
                self._lines.append((name, text))
            if self.port is None:
                m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", text)
                if m and name == "out":
                    self.port = int(m.group(1))
                    self._port_event.set()
        stream.close()

    def _join_readers(self):
        for t in self._threads:
            t.join(2)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, grace=5.0):
        """Sends sig to the server's PID, then SIGKILL after grace seconds; returns the exit
        code."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._join_readers()
        self.returncode = self.proc.returncode
        self.proc = None
        return self.returncode

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            pg_drop(self.data_dir)

    # ---- logs ------------------------------------------------------------------------------

    def log_text(self, stream=None):
        with self._lock:
            return "\n".join(t for s, t in self._lines if stream is None or s == stream)

    def wait_log(self, needle, timeout=3.0):
        """The first log line containing needle, waiting up to timeout; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for _, t in self._lines:
                    if needle in t:
                        return t
            if time.monotonic() > deadline:
                return None
            time.sleep(0.01)

    # ---- HTTP ------------------------------------------------------------------------------

    def request(self, method, path, body=None, headers=None, timeout=30):
        """One request on a new connection. body: dict/list/str/bytes/None."""
        data = encode_body(body)
        hdrs = {"Connection": "close"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        req_desc = "%s %s %s" % (method, path, _short(data))
        try:
            try:
                if data is None and method in ("POST", "PUT", "PATCH"):
                    hdrs.setdefault("Content-Length", "0")
                conn.request(method, path, body=data, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError) as exc:
                # The server may refuse a large body and close while we still send; its reply
                # (e.g. 413) may still be readable.
                try:
                    resp = conn.getresponse()
                    raw = resp.read()
                    return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw,
                                 exc, req_desc)
                except (OSError, http.client.HTTPException) as exc2:
                    return Reply(None, {}, None, exc2, req_desc)
            try:
                resp = conn.getresponse()
                raw = resp.read()
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected,
                    http.client.IncompleteRead) as exc:
                return Reply(None, {}, None, exc, req_desc)
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, raw, None,
                         req_desc)
        finally:
            conn.close()

    def call(self, path, body=None, token=None, method="POST", query=None, headers=None):
        """A WeChat-style call: PATH?access_token=TOKEN (plus query) with body."""
        params = []
        if token is not None:
            params.append(("access_token", token))
        if query:
            params.extend(query.items() if isinstance(query, dict) else query)
        url = path + ("?" + urllib.parse.urlencode(params) if params else "")
        return self.request(method, url, body, headers)

    def admin(self, method, path, body=None, key=None):
        hdrs = {"Authorization": "Bearer " + (self.admin_key if key is None else key)}
        return self.request(method, path, body, hdrs)

    def admin_ok(self, method, path, body=None, statuses=(200, 201)):
        r = self.admin(method, path, body)
        if r.status not in statuses:
            raise AssertionError("admin %s %s %r -> %r" % (method, path, body, r))
        return r.json

    # ---- set-up helpers ----------------------------------------------------------------------

    def new_app(self, name=None, released=True, pay_tx_90d=5, **patch):
        body = {"name": name or ("app-" + secrets.token_hex(4)), "released": released,
                "pay_tx_90d": pay_tx_90d}
        r = self.admin("POST", "/admin/v1/apps", body)
        if r.status != 201 or not isinstance(r.json, dict) or "appid" not in r.json:
            raise AssertionError("creating an app: %r" % r)
        app = App(self, r["appid"], r["secret"], r.get("push_secret"))
        if patch:
            self.patch_app(app, **patch)
        return app

    def patch_app(self, app, **fields):
        appid = app.appid if isinstance(app, App) else app
        return self.admin_ok("PATCH", "/admin/v1/apps/" + appid, fields, statuses=(200,))

    def new_user(self, app, openid=None, phone=None):
        body = {}
        if openid is not None:
            body["openid"] = openid
        if phone is not None:
            body["phone"] = phone
        r = self.admin("POST", "/admin/v1/apps/%s/users" % app.appid, body)
        if r.status not in (200, 201) or not r.get("openid"):
            raise AssertionError("creating a user: %r" % r)
        return r["openid"]

    def new_carrier(self, delivery_id, delivery_name, waybill_pattern=None):
        body = {"delivery_id": delivery_id, "delivery_name": delivery_name}
        if waybill_pattern is not None:
            body["waybill_pattern"] = waybill_pattern
        r = self.admin("POST", "/admin/v1/carriers", body)
        if r.status != 201:
            raise AssertionError("creating a carrier: %r" % r)
        return r.get("carrier_key")

    def token_reply(self, app, appid=None, secret=None):
        q = {"grant_type": "client_credential", "appid": appid or app.appid,
             "secret": secret or app.secret}
        return self.request("GET", TOKEN + "?" + urllib.parse.urlencode(q))

    def token_for(self, app):
        r = self.token_reply(app)
        if r.status != 200 or not r.get("access_token"):
            raise AssertionError("getting an access token: %r" % r)
        return r["access_token"]

    def stable_token(self, app, force_refresh=None, **over):
        body = {"grant_type": "client_credential", "appid": app.appid, "secret": app.secret}
        if force_refresh is not None:
            body["force_refresh"] = force_refresh
        body.update(over)
        return self.call(STABLE_TOKEN, body)

    def clock(self):
        r = self.admin("GET", "/admin/v1/sandbox/clock")
        if r.status != 200:
            raise AssertionError("sandbox clock: %r" % r)
        return r["now"]

    def advance(self, seconds):
        r = self.admin("POST", "/admin/v1/sandbox/clock", {"advance": seconds})
        if r.status != 200:
            raise AssertionError("advancing the sandbox clock: %r" % r)
        return r["now"]

    def set_clock(self, unix):
        r = self.admin("POST", "/admin/v1/sandbox/clock", {"set": unix})
        if r.status != 200:
            raise AssertionError("setting the sandbox clock: %r" % r)
        return r["now"]


# ---- request bodies ----------------------------------------------------------------------------

def new_openid():
    """A well-formed openid shaped like WeChat's (28 chars)."""
    return "o" + secrets.token_urlsafe(21)[:27].replace("-", "A").replace("_", "B")


def sandbox_waybill(last="7", digits=12):
    """A sandbox test waybill; last digit 7 is the script where nothing ever happens."""
    return "WXTESTEXPRESS" + "".join(str(secrets.randbelow(10)) for _ in range(digits - 1)) + last


def sf_waybill():
    """A waybill matching the SF carrier pattern ^SF[0-9]{12}$ the test classes register."""
    return "SF" + "".join(str(secrets.randbelow(10)) for _ in range(12))


def goods(n=1, name="测试商品", img=DEFAULT_IMG, desc=None):
    items = []
    for i in range(n):
        item = {"goods_name": name if n == 1 else "%s%d" % (name, i), "goods_img_url": img}
        if desc is not None:
            item["goods_desc"] = desc
        items.append(item)
    return {"detail_list": items}


def bind_body(openid, waybill_id, **over):
    body = {"openid": openid, "receiver_phone": DEFAULT_PHONE, "waybill_id": waybill_id,
            "goods_info": goods()}
    for k, v in over.items():
        if v is OMIT:
            body.pop(k, None)
        else:
            body[k] = v
    return body


class _Omit:
    def __repr__(self):
        return "OMIT"


OMIT = _Omit()


# ---- test base class ---------------------------------------------------------------------------

class ServerTest(unittest.TestCase):
    """Starts a server for the class (or per test when fresh_server_per_test)."""

    sandbox = True
    server_args = ()
    fresh_server_per_test = False
    srv = None

    @classmethod
    def start_server(cls, **kw):
        kw.setdefault("sandbox", cls.sandbox)
        kw.setdefault("extra_args", cls.server_args)
        return Server(**kw).start()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls.fresh_server_per_test:
            cls.srv = cls.start_server()
            try:
                cls.class_setup()
            except Exception:
                cls.srv.cleanup()
                raise

    @classmethod
    def class_setup(cls):
        """Hook for one-time set-up on cls.srv (carriers, apps)."""

    @classmethod
    def tearDownClass(cls):
        if not cls.fresh_server_per_test and cls.srv is not None:
            srv = cls.srv
            cls.srv = None
            code = srv.stop()
            srv.cleanup()
            if code not in (0, None):
                raise AssertionError("server exited with %s after SIGTERM:\n%s"
                                     % (code, srv.log_text()[-3000:]))
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if self.fresh_server_per_test:
            srv = self.start_server()
            self.srv = srv
            self.addCleanup(srv.cleanup)
            self.class_setup_fresh()
        elif self.srv is None or not self.srv.alive():
            self.fail("the class's server is not running:\n%s"
                      % (self.srv.log_text()[-3000:] if self.srv else ""))

    def class_setup_fresh(self):
        """Hook for set-up on a per-test server."""

    # ---- shortcuts ------------------------------------------------------------------------

    def call(self, path, body=None, token=None, **kw):
        return self.srv.call(path, body, token, **kw)

    def new_app(self, **kw):
        return self.srv.new_app(**kw)

    def bind(self, app, openid=None, waybill_id=None, path=FOLLOW, **over):
        """Binds and asserts success; returns (waybill_token, openid, waybill_id, body)."""
        openid = new_openid() if openid is None else openid
        waybill_id = self.default_waybill() if waybill_id is None else waybill_id
        body = bind_body(openid, waybill_id, **over)
        r = self.call(path, body, app.token)
        self.assert_ok(r)
        tok = r.get("waybill_token")
        self.assertIsInstance(tok, str, r)
        return tok, openid, waybill_id, body

    def default_waybill(self):
        return sandbox_waybill() if self.srv.sandbox else sf_waybill()

    def query(self, app, waybill_token, path=QUERY_FOLLOW, **extra):
        body = {"waybill_token": waybill_token}
        body.update(extra)
        return self.call(path, body, app.token)

    # ---- assertions -----------------------------------------------------------------------

    def assert_json_reply(self, r):
        self.assertIsNotNone(r.status, "no HTTP reply: %r (request %s)" % (r, r.request))
        self.assertEqual(r.status, 200, "HTTP status: %r (request %s)" % (r, r.request))
        self.assertEqual(r.headers.get("content-type"), JSON_CT,
                         "Content-Type: %r (request %s)" % (r, r.request))
        self.assertIsInstance(r.json, dict, "reply is not a JSON object: %r" % r)

    def assert_ok(self, r):
        self.assert_json_reply(r)
        self.assertEqual(r.errcode, 0, "expected success: %r (request %s)" % (r, r.request))
        self.assertEqual(r.errmsg, "ok", "success errmsg: %r" % r)
        return r.json

    def parse_errmsg(self, r):
        m = ERRMSG_RE.match(r.errmsg or "")
        self.assertIsNotNone(m, "errmsg shape 'TEXT[ detail: [..]] rid: RID': %r" % r)
        return m

    def assert_err(self, r, code, detail=None, codes=None, check_log=False):
        """HTTP 200, the JSON Content-Type, errcode code (or one of codes), the exact errmsg text
        of SPEC §2.1, an optional detail containing `detail`, and a well-formed rid whose first
        group is about now. Returns the detail text (or '')."""
        self.assert_json_reply(r)
        allowed = codes or (code,)
        self.assertIn(r.errcode, allowed, "expected errcode %s: %r (request %s)"
                      % ("/".join(map(str, allowed)), r, r.request))
        self.assertIsInstance(r.errmsg, str, r)
        m = self.parse_errmsg(r)
        self.assertEqual(m.group("text"), ERRMSG[r.errcode], "errmsg text: %r" % r)
        rid = m.group("rid")
        self.assertRegex(rid, RID_RE, "rid shape: %r" % r)
        t = int(rid[:8], 16)
        self.assertLess(abs(t - time.time()), 120, "rid's first group is not the unix time: %r"
                        % r)
        got_detail = m.group("detail") or ""
        if detail is not None:
            self.assertIn(detail, got_detail, "detail should mention %r: %r (request %s)"
                          % (detail, r, r.request))
        if check_log:
            self.assertIsNotNone(self.srv.wait_log(rid),
                                 "rid %s not in the server's log:\n%s"
                                 % (rid, self.srv.log_text()[-2000:]))
        return got_detail

    def assert_no_rid(self, r):
        self.assertNotIn("rid", r.errmsg or "")


def run_concurrently(fns, timeout=60):
    """Runs the callables at once (released together by a barrier); returns their results in
    order. An exception in one is re-raised after all finished."""
    barrier = threading.Barrier(len(fns))
    results = [None] * len(fns)
    errors = []

    def runner(i, fn):
        try:
            barrier.wait(timeout)
            results[i] = fn()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    if errors:
        raise errors[0]
    return results
