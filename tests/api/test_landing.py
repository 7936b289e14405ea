"""SPEC §7 (landing page): GET /l/WAYBILL_TOKEN and ?format=json — the security headers and the
Content-Security-Policy, escaping of every piece of user text, the status, goods, carrier and trace,
times at --day-offset, the link back into the mini program, the JSON form (the query reply of §4.2
plus appid and order_detail_path), the mismatched binding that shows nothing of the parcel, and the
404 page that is the same for unknown, malformed and purged tokens."""

import base64
import datetime
import hashlib
import html.parser
import os
import re
import secrets
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (FOLLOW, JSON_CT, QUERY_FOLLOW, QUERY_TRACE, TRACE, ServerTest, goods,
                     sandbox_waybill)

HTML_CT = "text/html; charset=utf-8"
XSS = "<script>alert(1)</script>"
HOUR = 3600
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent=None):
        self.tag = tag
        self.attrs = dict(attrs)
        self.parent = parent
        self.children = []  # Node or str

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, tag=None, **attrs):
        return [n for n in self.walk() if (tag is None or n.tag == tag)
                and all(n.attrs.get(k.rstrip("_")) == v for k, v in attrs.items())]

    def by_id(self, ident):
        found = [n for n in self.walk() if n.attrs.get("id") == ident]
        return found[0] if found else None


class TreeBuilder(html.parser.HTMLParser):
    """A small DOM from the page, as the browser's parser would build it for well-formed HTML."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not self.root and n.tag != tag:
            n = n.parent
        if n is not self.root:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(raw):
    b = TreeBuilder()
    b.feed(raw.decode("utf-8"))
    b.close()
    return b.root


def csp_directives(value):
    out = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            out[words[0].lower()] = words[1:]
    return out


def time_text(t, offset_s):
    """'2026-11-29 14:03 (UTC+08:00)' for unix time t at offset_s."""
    d = datetime.datetime.fromtimestamp(t, datetime.timezone(datetime.timedelta(seconds=offset_s)))
    sign = "-" if offset_s < 0 else "+"
    a = abs(offset_s)
    return "%s (UTC%s%02d:%02d)" % (d.strftime("%Y-%m-%d %H:%M"), sign, a // 3600, a % 3600 // 60)


def random_token():
    return base64.urlsafe_b64encode(secrets.token_bytes(48)).decode().rstrip("=")


class LandingBase(ServerTest):
    offset_s = 8 * HOUR

    @classmethod
    def class_setup(cls):
        cls.app = cls.srv.new_app()

    def page(self, tok, fmt=None, method="GET"):
        return self.srv.request(method, "/l/" + tok + ("?format=" + fmt if fmt else ""))

    def page_ok(self, tok):
        r = self.page(tok)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), HTML_CT, r)
        return r, parse_html(r.raw)

    def json_ok(self, tok):
        r = self.page(tok, "json")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type"), JSON_CT, r)
        self.assertIsInstance(r.json, dict, r)
        return r.json

    def advance(self, seconds):
        self.srv.advance(seconds)
        self.app.token = None  # the access token may have expired on the sandbox clock

    def assert_security_headers(self, r):
        h = r.headers
        self.assertEqual(h.get("x-content-type-options"), "nosniff", r)
        self.assertEqual(h.get("referrer-policy"), "no-referrer", r)
        self.assertEqual(h.get("cache-control"), "no-store", r)
        csp = h.get("content-security-policy")
        self.assertIsNotNone(csp, r)
        d = csp_directives(csp)
        self.assertEqual(d.get("default-src"), ["'none'"], csp)
        self.assertNotIn("'unsafe-inline'", csp)
        self.assertNotIn("'unsafe-eval'", csp)
        self.assertNotIn("script-src", d, "no scripts at all: default-src 'none' decides")
        return d

    def assert_no_active_content(self, doc):
        """No script, no external style or font, no inline handlers, no javascript: URLs."""
        self.assertEqual(doc.find_all("script"), [])
        self.assertEqual(doc.find_all("link"), [])
        for n in doc.walk():
            for k, v in n.attrs.items():
                self.assertFalse(k.startswith("on"), "event handler attribute %s on <%s>"
                                 % (k, n.tag))
                self.assertNotEqual(k, "style", "style attributes are outside the CSP hash")
                if k in ("src", "href") and v:
                    self.assertNotRegex(v.strip().lower(), r"^(javascript|data|vbscript):")


class LandingPage(LandingBase):

    def test_headers_csp_and_shape(self):
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        r, doc = self.page_ok(tok)
        d = self.assert_security_headers(r)
        self.assertEqual(sorted(d.get("img-src", [])), ["http:", "https:"])
        # the one inline stylesheet is admitted by its hash, and nothing else is
        styles = [s.text() for s in doc.find_all("style")]
        self.assertEqual(len(styles), 1, "one inline stylesheet")
        want = "'sha256-%s'" % base64.b64encode(
            hashlib.sha256(styles[0].encode("utf-8")).digest()).decode()
        self.assertEqual(d.get("style-src"), [want], "style-src is the stylesheet's hash")
        for directive in d:
            self.assertIn(directive, ("default-src", "img-src", "style-src", "base-uri",
                                      "form-action", "frame-ancestors"))
        self.assert_no_active_content(doc)
        # mobile first
        metas = {m.attrs.get("name"): m.attrs.get("content") for m in doc.find_all("meta")}
        self.assertIn("width=device-width", metas.get("viewport", ""))
        self.assertTrue(doc.find_all("meta", charset="utf-8"))
        self.assertTrue(r.raw.startswith(b"<!DOCTYPE html>"))
        # nothing loads from elsewhere except the goods images
        srcs = [n.attrs["src"] for n in doc.walk() if "src" in n.attrs]
        self.assertEqual(srcs, ["https://www.qq.com/a.png"])
        self.assertEqual([n.tag for n in doc.walk() if "src" in n.attrs], ["img"])
        # HEAD answers like GET
        h = self.page(tok, method="HEAD")
        self.assertEqual(h.status, 200, h)
        self.assertEqual(h.headers.get("content-type"), HTML_CT)

    def test_new_binding_shows_goods_and_status_0(self):
        lst = [{"goods_name": "苹果", "goods_img_url": "https://www.qq.com/a.png",
                "goods_desc": "新鲜的红富士"},
               {"goods_name": "梨", "goods_img_url": "www.qq.com/b.png"}]
        tok, _, wb, _ = self.bind(self.app, waybill_id=sandbox_waybill("7"),
                                  goods_info={"detail_list": lst})
        r, doc = self.page_ok(tok)
        status = doc.by_id("status")
        self.assertEqual(status.attrs.get("data-status"), "0")
        self.assertEqual(status.text().strip(), "Not collected yet")
        items = doc.by_id("goods").find_all("li")
        self.assertEqual(len(items), 2)
        self.assertEqual(items[0].find_all("p", class_="name")[0].text(), "苹果")
        self.assertEqual(items[0].find_all("p", class_="desc")[0].text(), "新鲜的红富士")
        self.assertEqual(items[0].find_all("img")[0].attrs["src"], "https://www.qq.com/a.png")
        self.assertEqual(items[0].find_all("img")[0].attrs["alt"], "苹果")
        self.assertEqual(items[1].find_all("p", class_="name")[0].text(), "梨")
        self.assertEqual(items[1].find_all("img")[0].attrs["src"], "https://www.qq.com/b.png",
                         "a scheme-less image URL is https (§6.3), not a relative URL")
        self.assertEqual(doc.by_id("waybill-id").text(), wb)
        self.assertEqual(doc.by_id("carrier").text(), "Sandbox Express")
        self.assertIsNotNone(doc.by_id("trace-empty"))
        self.assertIsNone(doc.by_id("trace"))

    def test_trace_status_and_times(self):
        wb = sandbox_waybill("2")
        tok = self.bind(self.app, waybill_id=wb)[0]
        self.advance(25 * HOUR)  # collected, in transport, in dispatch
        j = self.json_ok(tok)
        self.assertEqual(j["waybill_info"]["status"], 3, j)
        self.assertEqual(j["path_item_num"], 3, j)
        r, doc = self.page_ok(tok)
        self.assertEqual(doc.by_id("status").attrs.get("data-status"), "3")
        self.assertEqual(doc.by_id("status").text(), "Out for delivery")
        items = doc.by_id("trace").find_all("li")
        self.assertEqual(len(items), 3)
        # newest first on the page; the JSON keeps the API's oldest first
        for li, item in zip(items, reversed(j["path_item_list"])):
            self.assertEqual(li.attrs["data-action-time"], str(item["action_time"]))
            self.assertEqual(li.find_all("p", class_="msg")[0].text(), item["action_msg"])
            t = li.find_all("time")[0]
            self.assertEqual(t.text(), time_text(item["action_time"], self.offset_s))
            self.assertIn("(UTC+08:00)", t.text())
            self.assertTrue(t.attrs["datetime"].endswith("+08:00"), t.attrs)
        self.assertEqual([li.attrs["data-status"] for li in items], ["3", "2", "1"])
        self.advance(2 * HOUR)  # signed
        r, doc = self.page_ok(tok)
        self.assertEqual(doc.by_id("status").attrs.get("data-status"), "4")
        self.assertEqual(doc.by_id("status").text(), "Signed")
        self.assertEqual(len(doc.by_id("trace").find_all("li")), 4)

    def test_status_words(self):
        words = {5: "Exception", 6: "Signed on behalf"}
        for digit, status in (("5", 5), ("6", 6)):
            with self.subTest(status=status):
                tok = self.bind(self.app, waybill_id=sandbox_waybill(digit))[0]
                self.advance(27 * HOUR)
                doc = self.page_ok(tok)[1]
                self.assertEqual(doc.by_id("status").attrs.get("data-status"), str(status))
                self.assertEqual(doc.by_id("status").text(), words[status])

    def test_user_text_is_escaped(self):
        desc = "\"><img src=x onerror=alert(2)>'&amp;"
        img = "https://www.qq.com/a.png?q=\"><script>alert(3)</script>&x='y'"
        lst = [{"goods_name": XSS, "goods_img_url": img, "goods_desc": desc}]
        wb = sandbox_waybill("7")
        r = self.call(FOLLOW,
                      {"openid": "oXss" + secrets.token_hex(8), "receiver_phone": "13800138000",
                       "waybill_id": wb, "goods_info": {"detail_list": lst},
                       "order_detail_path": "pages/a?b=\"><script>alert(4)</script>"},
                      self.app.token)
        if r.errcode == 9300561:  # the image URL rules refused the quotes: test the rest
            lst[0]["goods_img_url"] = img = "https://www.qq.com/a.png?q=%3Cb%3E&x=1"
            r = self.call(FOLLOW,
                          {"openid": "oXss" + secrets.token_hex(8),
                           "receiver_phone": "13800138000", "waybill_id": wb,
                           "goods_info": {"detail_list": lst},
                           "order_detail_path": "pages/a?b=\"><script>alert(4)</script>"},
                          self.app.token)
        self.assert_ok(r)
        tok = r["waybill_token"]
        msg = "<img src=x onerror=alert(5)> & \"quoted\" 'single'"
        inj = self.srv.admin("POST", "/admin/v1/sandbox/events", {"events": [
            {"event_id": "x-" + secrets.token_hex(4), "waybill_id": wb,
             "action_time": self.srv.clock() - 60, "action_type": 100001, "action_msg": msg}]})
        self.assertEqual(inj.status, 200, inj)
        self.assertEqual(inj.get("accepted"), 1, inj)
        r, doc = self.page_ok(tok)
        raw = r.raw.decode("utf-8")
        self.assertNotIn(XSS, raw)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", raw)
        self.assertNotIn("<img src=x", raw)
        self.assertNotIn("<script>alert(3)", raw)
        self.assertNotIn("<script>alert(4)", raw)
        self.assert_no_active_content(doc)
        item = doc.by_id("goods").find_all("li")[0]
        self.assertEqual(item.find_all("p", class_="name")[0].text(), XSS, "shown as text")
        self.assertEqual(item.find_all("p", class_="desc")[0].text(), desc)
        self.assertEqual(item.find_all("img")[0].attrs["src"], img, "the attribute holds the URL")
        self.assertEqual(item.find_all("img")[0].attrs["alt"], XSS)
        trace = doc.by_id("trace").find_all("li")
        self.assertEqual(trace[0].find_all("p", class_="msg")[0].text(), msg)
        href = doc.by_id("back").attrs["href"]
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(href).query, strict_parsing=True)
        self.assertEqual(q["path"], ["pages/a?b=\"><script>alert(4)</script>"])

    def test_carrier_name_is_escaped(self):
        name = "<b>Ev&l</b> \"Express\""
        key = self.srv.new_carrier("EVIL", name, "^EV[0-9]{10}$")
        wb = "EV" + "".join(str(secrets.randbelow(10)) for _ in range(10))
        tok = self.bind(self.app, waybill_id=wb)[0]
        r = self.srv.request("POST", "/carrier/v1/events", {"events": [
            {"event_id": "e-" + secrets.token_hex(4), "waybill_id": wb,
             "action_time": self.srv.clock() - 60, "status": 2, "action_msg": "</li><li>x"}]},
            {"Authorization": "Bearer " + key})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.get("accepted"), 1, r)
        r, doc = self.page_ok(tok)
        self.assertNotIn("<b>Ev", r.raw.decode("utf-8"))
        self.assertEqual(doc.by_id("carrier").text(), name)
        self.assertEqual(doc.by_id("status").attrs.get("data-status"), "2")
        lis = doc.by_id("trace").find_all("li")
        self.assertEqual(len(lis), 1)
        self.assertEqual(lis[0].find_all("p", class_="msg")[0].text(), "</li><li>x")
        self.assertEqual(self.json_ok(tok)["delivery_info"],
                         {"delivery_id": "EVIL", "delivery_name": name})

    def test_back_link(self):
        path = "pages/order/detail?id=14&from=消息"
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"), order_detail_path=path)[0]
        href = self.page_ok(tok)[1].by_id("back").attrs["href"]
        parts = urllib.parse.urlsplit(href)
        self.assertEqual((parts.scheme, parts.netloc, parts.path), ("weixin", "dl", "/business/"))
        self.assertEqual(urllib.parse.parse_qs(parts.query, strict_parsing=True),
                         {"appid": [self.app.appid], "path": [path]})
        self.assertNotIn("?", parts.query, "the path is percent-encoded in the parameter")
        # no order_detail_path: the mini program's home page (no path parameter)
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        href = self.page_ok(tok)[1].by_id("back").attrs["href"]
        self.assertEqual(href, "weixin://dl/business/?appid=" + self.app.appid)

    def test_json_is_the_query_reply(self):
        path = "pages/order/detail?id=9"
        for bind_path, query_path in ((None, QUERY_FOLLOW), (TRACE, QUERY_TRACE)):
            with self.subTest(family=query_path):
                kw = {"path": bind_path} if bind_path else {}
                tok = self.bind(self.app, waybill_id=sandbox_waybill("0"), order_detail_path=path,
                                goods_info=goods(2, name="商品"), **kw)[0]
                self.advance(7 * HOUR)
                q = self.query(self.app, tok, query_path)
                self.assert_ok(q)
                r = self.page(tok, "json")
                self.assertEqual(r.status, 200, r)
                self.assertEqual(r.headers.get("content-type"), JSON_CT)
                self.assert_security_headers(r)
                want = dict(q.json, appid=self.app.appid, order_detail_path=path)
                self.assertEqual(r.json, want)
                self.assertEqual(r.json["path_item_num"], 2)
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        j = self.json_ok(tok)
        self.assertEqual(j["order_detail_path"], "", "no path: the home page")
        self.assertEqual(j["appid"], self.app.appid)

    def test_mismatched_binding_shows_nothing_of_the_parcel(self):
        wb = sandbox_waybill("9")  # every event carries phone tail 0000
        tok = self.bind(self.app, waybill_id=wb)[0]  # receiver phone ends in 8000
        owner = self.bind(self.app, waybill_id=wb, receiver_phone="13800130000")[0]
        self.advance(25 * HOUR)
        r, doc = self.page_ok(tok)
        raw = r.raw.decode("utf-8")
        self.assertEqual(doc.by_id("status").attrs.get("data-status"), "0")
        self.assertIsNone(doc.by_id("trace"))
        self.assertIsNotNone(doc.by_id("trace-empty"))
        self.assertNotIn("Sandbox Express", raw, "no carrier")
        self.assertNotIn("Collected by", raw)
        self.assertNotIn("Out for delivery", raw)
        j = self.json_ok(tok)
        self.assertEqual(j["waybill_info"]["status"], 0)
        self.assertEqual((j["path_item_num"], j["path_item_list"]), (0, []))
        self.assertNotIn("delivery_info", j)
        self.assertEqual(j, dict(self.query(self.app, tok).json, appid=self.app.appid,
                                 order_detail_path=""))
        # the binding whose phone matches sees the parcel
        doc = self.page_ok(owner)[1]
        self.assertEqual(doc.by_id("status").attrs.get("data-status"), "3")
        self.assertEqual(len(doc.by_id("trace").find_all("li")), 3)

    def test_unknown_and_malformed_tokens(self):
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        bad = [random_token(), random_token()[:63], random_token() + "A", "", "short",
               tok[:-1] + "!", tok[:-1] + "%2F", tok + "/", tok + "/x", "%3Cscript%3E", tok.lower() if tok.lower() != tok else tok.upper()]
        pages = set()
        for t in bad:
            with self.subTest(token=t):
                r = self.page(t)
                self.assertEqual(r.status, 404, r)
                self.assertEqual(r.headers.get("content-type"), HTML_CT, r)
                self.assert_security_headers(r)
                doc = parse_html(r.raw)
                self.assert_no_active_content(doc)
                self.assertIn("not found", doc.by_id("status").text().lower())
                pages.add(r.raw)
                j = self.page(t, "json")
                self.assertEqual(j.status, 404, j)
                self.assertEqual(j.headers.get("content-type"), JSON_CT, j)
                self.assertEqual(j.json, {"errcode": 9300507, "errmsg": (
                    "invalid token, can't decryption or decryption result is different from "
                    "the plaintext")})
        self.assertEqual(len(pages), 1, "the same page for every unknown token")
        raw = pages.pop().decode("utf-8")
        self.assertNotIn(self.app.appid, raw)
        self.assertNotIn("WXTEST", raw)
        self.assertNotIn("<script", raw.lower())

    def test_only_get_and_head(self):
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        for method in ("POST", "PUT", "DELETE"):
            r = self.page(tok, method=method)
            self.assertEqual(r.status, 405, r)
            self.assertIn("GET", r.headers.get("allow", ""))

    def test_token_is_not_logged(self):
        """SPEC §9.1: logs never contain waybill tokens — and the landing URL holds one."""
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        self.page_ok(tok)
        self.page(tok, "json")
        self.assertIsNotNone(self.srv.wait_log("/l/", 3.0), "the access log has the requests")
        self.assertFalse(tok in self.srv.log_text(),
                         "the access log shows the waybill token of a /l/ path: %s"
                         % self.srv.wait_log(tok, 0))


class Purged(LandingBase):
    server_args = ("--expire-unbound-days", "1", "--purge-days", "1")

    def test_purged_binding_is_404_like_an_unknown_one(self):
        tok = self.bind(self.app, waybill_id=sandbox_waybill("7"))[0]
        self.page_ok(tok)
        unknown = self.page(random_token())
        self.advance(3 * 86400)
        self.assert_err(self.query(self.app, tok), 9300559)
        r = self.page(tok)
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.raw, unknown.raw, "a purged token's page is the unknown token's page")
        self.assert_security_headers(r)
        j = self.page(tok, "json")
        self.assertEqual(j.status, 404, j)
        self.assertEqual(j.get("errcode"), 9300507, j)


class DayOffset(LandingBase):
    offset_s = -(5 * HOUR + 30 * 60)
    server_args = ("--day-offset", "-05:30")

    def test_times_at_the_day_offset(self):
        tok = self.bind(self.app, waybill_id=sandbox_waybill("1"))[0]
        self.advance(2 * HOUR)
        j = self.json_ok(tok)
        self.assertEqual(j["path_item_num"], 1, j)
        t = self.page_ok(tok)[1].by_id("trace").find_all("time")[0]
        at = j["path_item_list"][0]["action_time"]
        self.assertEqual(t.text(), time_text(at, self.offset_s))
        self.assertIn("(UTC-05:30)", t.text())
        self.assertTrue(t.attrs["datetime"].endswith("-05:30"), t.attrs)
        self.assertEqual(datetime.datetime.fromisoformat(t.attrs["datetime"]).timestamp(),
                         at - at % 60)


if __name__ == "__main__":
    unittest.main()
