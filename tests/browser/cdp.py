"""A headless Chromium driven through the DevTools protocol over a pipe (--remote-debugging-pipe):
JSON messages, each ended by a NUL byte, written to the browser's fd 3 and read from its fd 4.
Python 3 standard library only; no WebSocket, no network port, nothing downloaded."""

import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

CHROMIUM = "/usr/bin/chromium"

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--mute-audio",
         "--no-default-browser-check", "--password-store=basic"]


def chromium_path():
    """The chromium binary, or None when it is not installed."""
    if os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return shutil.which("chromium")


class CDPError(RuntimeError):
    pass


class Browser:
    """One chromium process with a fresh profile; close() ends it (and its children) by PID."""

    def __init__(self, log_path, binary=None, timeout=30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="waybilld-chromium-")
        self.log = open(log_path, "wb")
        self._buf = b""
        self._id = 0
        self.events = []
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def child_fds():
            # the browser reads commands on fd 3 and writes replies on fd 4
            a, b = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.close(a)
            os.close(b)

        argv = [binary or chromium_path()] + FLAGS + [
            "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"]
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                         stderr=subprocess.STDOUT, preexec_fn=child_fds,
                                         close_fds=False, start_new_session=True)
        finally:
            os.close(to_browser_r)
            os.close(from_browser_w)

    # ---- protocol ------------------------------------------------------------------------

    def _send(self, method, params=None, session=None):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode("utf-8") + b"\0"
        while data:
            n = os.write(self._to_browser, data)
            data = data[n:]
        return self._id

    def _recv(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("no message from chromium within the timeout")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if not ready:
                continue
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise CDPError("chromium closed its DevTools pipe (exit %s)" % self.proc.poll())
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw.decode("utf-8"))

    def call(self, method, params=None, session=None, timeout=None):
        """Sends a command and returns its result; events that arrive meanwhile are kept."""
        ident = self._send(method, params, session)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            msg = self._recv(deadline)
            if msg.get("id") == ident:
                if "error" in msg:
                    raise CDPError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.on_event(msg)

    def on_event(self, msg):
        self.events.append(msg)
        # an alert, confirm or prompt would block the page: record it and dismiss it
        if msg["method"] == "Page.javascriptDialogOpening":
            self._send("Page.handleJavaScriptDialog", {"accept": False}, msg.get("sessionId"))

    def wait_event(self, method, session=None, timeout=None, since=0):
        """The first event named method (of session) at or after index since, waiting for it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        i = since
        while True:
            while i < len(self.events):
                e = self.events[i]
                i += 1
                if e["method"] == method and (session is None or e.get("sessionId") == session):
                    return e
            msg = self._recv(deadline)
            if "method" in msg:
                self.on_event(msg)

    # ---- pages -----------------------------------------------------------------------------

    def new_page(self, width, height, scale=1, mobile=True):
        """A new tab with the phone's viewport; returns its session id."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": scale,
                   "mobile": mobile}, session=session)
        return session

    def navigate(self, session, url):
        """Loads url and waits for its load event (images included); returns the events from the
        navigation on."""
        since = len(self.events)
        res = self.call("Page.navigate", {"url": url}, session=session)
        if res.get("errorText"):
            raise CDPError("navigating to %s: %s" % (url, res["errorText"]))
        self.wait_event("Page.loadEventFired", session, since=since)
        return since

    def evaluate(self, session, expression):
        """The JSON-serialisable value of expression in the page."""
        res = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                             "awaitPromise": True}, session=session)
        if "exceptionDetails" in res:
            raise CDPError("evaluating in the page: %s" % res["exceptionDetails"])
        return res["result"].get("value")

    def screenshot(self, session, full_page=False):
        """PNG bytes of the viewport, or of the whole page."""
        import base64
        params = {"format": "png"}
        if full_page:
            size = self.evaluate(session, "[document.documentElement.scrollWidth,"
                                          " document.documentElement.scrollHeight]")
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": size[0], "height": size[1],
                                "scale": 1})
        return base64.b64decode(self.call("Page.captureScreenshot", params, session=session)
                                ["data"])

    # ---- end -------------------------------------------------------------------------------

    def close(self):
        """Asks the browser to quit, then ends what is left of its process group by its PID."""
        try:
            if self.proc.poll() is None:
                try:
                    self._send("Browser.close")
                except OSError:
                    pass
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group we started; gone if empty
            except (ProcessLookupError, PermissionError):
                pass
            if self.proc.poll() is None:
                self.proc.wait(10)
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)
