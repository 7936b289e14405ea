"""SPEC §7 in a real browser: the landing page rendered by headless Chromium (Debian's chromium) at
a phone's width — a screenshot saved under the build directory, and assertions on the live DOM:
the goods (a goods name of <script>alert(1)</script> shows as text and runs nothing), the status,
the trace, the way back to the mini program, the stylesheet admitted by the CSP and nothing
blocked, nothing wider than the phone. Skipped only when chromium is not installed."""

import http.server
import json
import os
import secrets
import struct
import sys
import threading
import unittest
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

import cdp  # noqa: E402
from harness import (BIN, FOLLOW, App, Server, bind_body, sandbox_waybill)  # noqa: E402

WIDTH, HEIGHT = 390, 844
XSS = "<script>alert(1)</script>"
HOUR = 3600


def artifacts_dir():
    """Where screenshots go: LANDING_ARTIFACTS (set by ctest), else next to the binary."""
    d = os.environ.get("LANDING_ARTIFACTS") or os.path.join(os.path.dirname(os.path.abspath(BIN)),
                                                            "browser-artifacts")
    os.makedirs(d, exist_ok=True)
    return d


def png(width, height, rgb):
    """A PNG of one colour with a lighter diagonal band, made here (no files, no downloads)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            band = abs(x - y) < width // 6
            rows.extend(tuple(min(255, c + 80) for c in rgb) if band else rgb)

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0,
                                                                0, 0))
            + chunk(b"IDAT", zlib.compress(bytes(rows))) + chunk(b"IEND", b""))


def png_size(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


class ImageServer:
    """Goods images on loopback, so the page's images load without the internet. The page refers
    to them as http://localhost:PORT/… (§6.3 refuses loopback IP literals, not host names)."""

    IMAGES = {"/apple.png": png(96, 96, (200, 40, 40)), "/pear.png": png(96, 96, (60, 150, 60))}

    def __init__(self):
        images = self.IMAGES
        self.hits = []
        hits = self.hits

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hits.append((self.path, self.headers.get("Referer")))
                body = images.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://localhost:%d%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# Everything the assertions need from the live page, read in one evaluation.
DOM_FACTS = r"""
(() => {
  const q = (s) => document.querySelector(s);
  const all = (s) => Array.from(document.querySelectorAll(s));
  const text = (e) => e ? e.textContent : null;
  const status = q('#status');
  const back = q('#back');
  const card = q('.card');
  return {
    title: document.title,
    scripts: all('script').length,
    scriptTexts: all('script').map((s) => s.textContent),
    handlers: all('*').filter((e) => Array.from(e.attributes)
                                       .some((a) => a.name.startsWith('on'))).length,
    xssFlag: typeof window.__xss,
    status: text(status), statusCode: status && status.dataset.status,
    statusFont: status && getComputedStyle(status).fontSize,
    cardRadius: card && getComputedStyle(card).borderTopLeftRadius,
    bodyBackground: getComputedStyle(document.body).backgroundColor,
    goods: all('#goods li').map((li) => ({
      name: text(li.querySelector('.name')),
      desc: text(li.querySelector('.desc')),
      nameHtml: li.querySelector('.name').innerHTML,
      nameChildren: li.querySelector('.name').children.length,
      img: li.querySelector('img') && li.querySelector('img').src,
      alt: li.querySelector('img') && li.querySelector('img').alt,
      loaded: !!li.querySelector('img') && li.querySelector('img').complete
              && li.querySelector('img').naturalWidth > 0,
      imgBox: li.querySelector('img') && [li.querySelector('img').getBoundingClientRect().width,
                                          li.querySelector('img').getBoundingClientRect().height],
    })),
    carrier: text(q('#carrier')), waybill: text(q('#waybill-id')),
    trace: all('#trace li').map((li) => ({
      status: li.dataset.status, at: li.dataset.actionTime,
      msg: text(li.querySelector('.msg')), time: text(li.querySelector('time')),
      datetime: li.querySelector('time') && li.querySelector('time').getAttribute('datetime'),
    })),
    traceEmpty: !!q('#trace-empty'),
    back: back && back.getAttribute('href'),
    backText: text(back),
    backBox: back && [back.getBoundingClientRect().width, back.getBoundingClientRect().height],
    viewport: [window.innerWidth, window.innerHeight],
    scrollWidth: document.documentElement.scrollWidth,
    overflowing: all('body *').filter((e) => e.getBoundingClientRect().right > window.innerWidth
                                              + 0.5).map((e) => e.tagName + '.' + e.className),
  };
})()
"""


@unittest.skipUnless(cdp.chromium_path(), "chromium is not installed (apt-get install chromium)")
class LandingInChromium(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.out = artifacts_dir()
        cls.images = ImageServer()
        cls.srv = None
        cls.browser = None
        try:
            cls.srv = Server(sandbox=True).start()
            with open(os.path.join(cls.srv.data_dir, "demo-app.json")) as f:
                demo = json.load(f)
            cls.app = App(cls.srv, demo["appid"], demo["secret"])
            cls.browser = cdp.Browser(os.path.join(cls.out, "chromium.log"))
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.close()
        if cls.srv is not None:
            cls.srv.cleanup()
        cls.images.stop()

    def bind(self, waybill_id, goods, **over):
        body = bind_body("oDemo" + secrets.token_hex(10), waybill_id,
                         goods_info={"detail_list": goods}, **over)
        r = self.srv.call(FOLLOW, body, self.app.token)
        self.assertEqual(r.errcode, 0, r)
        return r["waybill_token"]

    def advance(self, seconds):
        self.srv.advance(seconds)
        self.app.token = None

    def problems(self, since):
        """Console output, exceptions, dialogs and CSP reports since an event index."""
        out = []
        for e in self.browser.events[since:]:
            m = e["method"]
            if m in ("Runtime.exceptionThrown", "Page.javascriptDialogOpening",
                     "Runtime.consoleAPICalled"):
                out.append(e)
            elif m == "Log.entryAdded":
                entry = e["params"]["entry"]
                if entry.get("url", "").endswith("/favicon.ico"):
                    continue  # the browser asks the server for one; a 404 is right
                out.append(e)
        return out

    def save(self, name, data):
        path = os.path.join(self.out, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_landing_page_at_phone_width(self):
        wb = sandbox_waybill("2")
        path = "pages/order/detail?id=14"
        goods = [{"goods_name": XSS, "goods_img_url": self.images.url("/apple.png"),
                  "goods_desc": "Red apples, 2 kg & <b>fresh</b>"},
                 {"goods_name": "Conference pears", "goods_img_url": self.images.url("/pear.png")}]
        tok = self.bind(wb, goods, order_detail_path=path)
        self.advance(25 * HOUR)  # collected, in transport, out for delivery
        j = self.srv.request("GET", "/l/%s?format=json" % tok).json
        self.assertEqual(j["path_item_num"], 3, j)

        session = self.browser.new_page(WIDTH, HEIGHT)
        since = self.browser.navigate(session, "http://127.0.0.1:%d/l/%s" % (self.srv.port, tok))
        facts = self.browser.evaluate(session, DOM_FACTS)
        self.save("landing.json", json.dumps(facts, indent=2, ensure_ascii=False).encode())
        self.save("landing.html", self.browser.evaluate(
            session, "document.documentElement.outerHTML").encode("utf-8"))

        shot = self.save("landing-%dx%d.png" % (WIDTH, HEIGHT), self.browser.screenshot(session))
        full = self.save("landing-full.png", self.browser.screenshot(session, full_page=True))
        with open(shot, "rb") as f:
            data = f.read()
        self.assertEqual(png_size(data), (WIDTH, HEIGHT), "a phone-sized screenshot: %s" % shot)
        self.assertGreater(len(data), 15000, "the screenshot has content: %s" % shot)
        self.assertGreater(os.path.getsize(full), 15000)

        # the phone's viewport, and nothing wider than it
        self.assertEqual(facts["viewport"], [WIDTH, HEIGHT])
        self.assertLessEqual(facts["scrollWidth"], WIDTH, facts["overflowing"])
        self.assertEqual(facts["overflowing"], [])

        # the stylesheet applied (its hash is in the CSP) and the page ran and blocked nothing
        self.assertEqual(facts["cardRadius"], "12px", "the inline stylesheet was applied")
        self.assertEqual(facts["bodyBackground"], "rgb(242, 243, 245)")
        self.assertEqual(self.problems(since), [], "console messages, CSP reports or dialogs")

        # a goods name of <script>alert(1)</script> is text, and nothing ran
        self.assertEqual(facts["scripts"], 0, facts["scriptTexts"])
        self.assertEqual(facts["handlers"], 0)
        self.assertEqual(facts["xssFlag"], "undefined")
        g = facts["goods"]
        self.assertEqual(len(g), 2, g)
        self.assertEqual(g[0]["name"], XSS)
        self.assertEqual(g[0]["nameChildren"], 0, "no element inside the name: %r" % g[0])
        self.assertEqual(g[0]["nameHtml"], "&lt;script&gt;alert(1)&lt;/script&gt;")
        self.assertEqual(g[0]["desc"], "Red apples, 2 kg & <b>fresh</b>")
        self.assertEqual(g[0]["alt"], XSS)
        self.assertEqual(g[1]["name"], "Conference pears")
        self.assertIsNone(g[1]["desc"], "no description: the name is not repeated")
        # the goods images load from their own URLs, without the landing URL as referrer
        for item, img in zip(g, ("/apple.png", "/pear.png")):
            self.assertEqual(item["img"], self.images.url(img))
            self.assertTrue(item["loaded"], "image %s did not load" % item["img"])
            self.assertEqual(item["imgBox"], [64, 64])
        hits = dict(self.images.hits)
        self.assertIn("/apple.png", hits)
        self.assertIsNone(hits["/apple.png"], "no Referer: the landing URL holds the token")

        # status, carrier and trace
        self.assertEqual(facts["status"], "Out for delivery")
        self.assertEqual(facts["statusCode"], "3")
        self.assertEqual(facts["carrier"], "Sandbox Express")
        self.assertEqual(facts["waybill"], wb)
        self.assertFalse(facts["traceEmpty"])
        trace = facts["trace"]
        self.assertEqual([t["status"] for t in trace], ["3", "2", "1"], "newest first")
        self.assertEqual([t["msg"] for t in trace],
                         [i["action_msg"] for i in reversed(j["path_item_list"])])
        self.assertEqual([int(t["at"]) for t in trace],
                         [i["action_time"] for i in reversed(j["path_item_list"])])
        for t in trace:
            self.assertRegex(t["time"], r"^\d{4}-\d\d-\d\d \d\d:\d\d \(UTC\+08:00\)$")
            self.assertTrue(t["datetime"].endswith("+08:00"))

        # the way back into the mini program, big enough to tap
        self.assertEqual(facts["back"], "weixin://dl/business/?appid=%s&path=%s"
                         % (self.app.appid, "pages%2Forder%2Fdetail%3Fid%3D14"))
        self.assertGreaterEqual(facts["backBox"][1], 44)
        self.assertGreater(facts["backBox"][0], WIDTH / 2)

    def test_not_found_page(self):
        session = self.browser.new_page(WIDTH, HEIGHT)
        since = self.browser.navigate(session, "http://127.0.0.1:%d/l/%s"
                                      % (self.srv.port, "A" * 64))
        facts = self.browser.evaluate(session, DOM_FACTS)
        self.save("not-found-%dx%d.png" % (WIDTH, HEIGHT), self.browser.screenshot(session))
        self.assertEqual(facts["status"], "Parcel not found")
        self.assertEqual(facts["scripts"], 0)
        self.assertEqual(facts["cardRadius"], "12px", "the same stylesheet, admitted by the CSP")
        self.assertEqual(facts["goods"], [])
        self.assertLessEqual(facts["scrollWidth"], WIDTH)
        problems = [e for e in self.problems(since)
                    if "404" not in e["params"].get("entry", {}).get("text", "")]
        self.assertEqual(problems, [], "only the 404 of the page itself")


if __name__ == "__main__":
    unittest.main()
