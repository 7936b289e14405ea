/* The landing page's HTML: one inline stylesheet admitted by its hash, no scripts, every piece of
 * user text escaped on its way in. */
#include "api/landing_page.h"

#include "base/crypto.h"
#include "base/rand.h"
#include "base/utf8.h"
#include "domain/status.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Mobile first: one column that reads at 320–420 px and stops growing at 560 px. No style=""
 * attributes anywhere, since the policy admits this stylesheet alone. */
static const char style[] =
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;background:#f2f3f5;color:#1f2329;font:16px/1.5 -apple-system,"
    "BlinkMacSystemFont,\"Segoe UI\",\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\","
    "\"Noto Sans CJK SC\",Roboto,\"DejaVu Sans\",sans-serif}"
    "main{max-width:560px;margin:0 auto;padding:12px 12px 32px}"
    ".card{background:#fff;border-radius:12px;padding:16px;margin:0 0 12px}"
    ".hero{background:#07c160;color:#fff}"
    ".hero.s0,.hero.missing{background:#646a73}"
    ".hero.s5{background:#d93026}"
    ".eyebrow{margin:0;font-size:14px;opacity:.9}"
    "h1{margin:4px 0 0;font-size:26px;line-height:1.25;overflow-wrap:anywhere}"
    ".when{margin:6px 0 0;font-size:14px;opacity:.9}"
    "h2{margin:0 0 12px;font-size:17px;line-height:1.3}"
    "dl{margin:0}"
    ".kv{display:flex;flex-wrap:wrap;column-gap:12px;padding:4px 0;font-size:15px}"
    ".kv dt{color:#646a73;flex:none}"
    ".kv dd{margin:0 0 0 auto;text-align:right;font-weight:600;overflow-wrap:anywhere;"
    "min-width:0}"
    "ul,ol{list-style:none;margin:0;padding:0}"
    ".goods li{display:flex;gap:12px;align-items:flex-start;padding:12px 0 0;margin:12px 0 0;"
    "border-top:1px solid #eef0f3}"
    ".goods li:first-child{border-top:0;padding-top:0;margin-top:0}"
    ".goods img{flex:none;width:64px;height:64px;border-radius:8px;object-fit:cover;"
    "background:#eef0f3;color:transparent}"
    ".goods div{min-width:0}"
    ".name{margin:0;font-weight:600;overflow-wrap:anywhere}"
    ".desc{margin:2px 0 0;color:#646a73;font-size:14px;overflow-wrap:anywhere}"
    ".trace li{position:relative;margin-left:6px;padding:0 0 16px 20px;"
    "border-left:2px solid #e5e6eb}"
    ".trace li:last-child{border-left-color:transparent;padding-bottom:0}"
    ".trace li::before{content:\"\";position:absolute;left:-7px;top:5px;width:12px;"
    "height:12px;border-radius:50%;background:#c9cdd4}"
    ".trace li:first-child::before{background:#07c160}"
    ".msg{margin:0;overflow-wrap:anywhere}"
    ".trace li:first-child .msg{font-weight:600}"
    ".meta{display:block;margin:2px 0 0;color:#8a919f;font-size:13px}"
    ".empty{margin:0;color:#8a919f}"
    ".back{display:block;margin:20px 0 0;padding:14px 16px;border-radius:10px;"
    "background:#07c160;color:#fff;text-align:center;font-size:17px;font-weight:600;"
    "text-decoration:none}"
    ".foot{margin:16px 0 0;text-align:center;color:#8a919f;font-size:12px}";

static char csp[320];
static pthread_once_t csp_once = PTHREAD_ONCE_INIT;

static unsigned hex_value(char c)
{
    return (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
}

/* CSP wants the raw digest in standard base64 with padding; crypto gives hex. */
static void csp_init(void)
{
    char hex[CRYPTO_HEX_LEN + 1];
    unsigned char raw[CRYPTO_HEX_LEN / 2];
    crypto_sha256_hex(hex, style);
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(hex_value(hex[2 * i]) << 4 | hex_value(hex[2 * i + 1]));
    char b64[64];
    base64url_encode(b64, raw, sizeof raw);
    size_t n = strlen(b64);
    for (size_t i = 0; i < n; i++)
        b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
    while (n % 4)
        b64[n++] = '=';
    b64[n] = '\0';
    snprintf(csp, sizeof csp,
             "default-src 'none'; img-src http: https:; style-src 'sha256-%s'; base-uri 'none'; "
             "form-action 'none'; frame-ancestors 'none'",
             b64);
}

const char *landing_page_csp(void)
{
    pthread_once(&csp_once, csp_init);
    return csp;
}

bool html_escape(struct buf *out, const char *s)
{
    size_t len = strlen(s), run = 0;
    bool ok = true;
    for (size_t i = 0; ok && i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = utf8_char_len(s + i, len - i);
        const char *rep = NULL;
        if (n == 0 || c == 0x7f || (c < 0x20 && c != '\t' && c != '\n'))
            rep = "\xEF\xBF\xBD"; /* U+FFFD */
        else if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (c == '"')
            rep = "&quot;";
        else if (c == '\'')
            rep = "&#39;";
        if (!rep) {
            i += n;
            continue;
        }
        ok = buf_append(out, s + run, i - run) && buf_puts(out, rep);
        i += n ? n : 1;
        run = i;
    }
    return ok && buf_append(out, s + run, len - run);
}

bool url_encode(struct buf *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    bool ok = true;
    for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++) {
        unsigned char c = *p;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            ok = buf_append(out, p, 1);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            ok = buf_append(out, esc, sizeof esc);
        }
    }
    return ok;
}

static bool local_tm(int64_t t, int offset_s, struct tm *tm)
{
    time_t local = (time_t)(t + offset_s);
    return gmtime_r(&local, tm) != NULL;
}

static void offset_parts(int offset_s, char *sign, int *hours, int *minutes)
{
    *sign = offset_s < 0 ? '-' : '+';
    int a = offset_s < 0 ? -offset_s : offset_s;
    *hours = a / 3600;
    *minutes = a % 3600 / 60;
}

void landing_time_text(char out[LANDING_TIME_SIZE], int64_t t, int offset_s)
{
    struct tm tm;
    char sign;
    int oh, om;
    offset_parts(offset_s, &sign, &oh, &om);
    if (!local_tm(t, offset_s, &tm)) {
        snprintf(out, LANDING_TIME_SIZE, "%lld", (long long)t);
        return;
    }
    snprintf(out, LANDING_TIME_SIZE, "%04d-%02d-%02d %02d:%02d (UTC%c%02d:%02d)", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, sign, oh, om);
}

void landing_time_iso(char out[LANDING_TIME_SIZE], int64_t t, int offset_s)
{
    struct tm tm;
    char sign;
    int oh, om;
    offset_parts(offset_s, &sign, &oh, &om);
    if (!local_tm(t, offset_s, &tm)) {
        out[0] = '\0';
        return;
    }
    snprintf(out, LANDING_TIME_SIZE, "%04d-%02d-%02dT%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, sign, oh, om);
}

const char *landing_status_words(int status)
{
    static const char *const words[] = {
        [STATUS_NONE] = "Not collected yet",
        [STATUS_COLLECTED] = "Collected",
        [STATUS_TRANSPORT] = "In transport",
        [STATUS_DISPATCH] = "Out for delivery",
        [STATUS_SIGNED] = "Signed",
        [STATUS_ABNORMAL] = "Exception",
        [STATUS_SIGNED_PROXY] = "Signed on behalf",
    };
    if (status < 0 || (size_t)status >= sizeof words / sizeof words[0])
        return "Unknown";
    return words[status];
}

bool landing_back_link(struct buf *out, const char *appid, const char *path)
{
    bool ok = buf_puts(out, "weixin://dl/business/?appid=") && url_encode(out, appid);
    if (ok && path[0])
        ok = buf_puts(out, "&path=") && url_encode(out, path);
    return ok;
}

static void page_begin(struct buf *out, const char *title)
{
    buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                  "<meta name=\"referrer\" content=\"no-referrer\">\n"
                  "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
                  "<meta name=\"format-detection\" content=\"telephone=no\">\n<title>");
    html_escape(out, title);
    buf_puts(out, "</title>\n<style>");
    buf_puts(out, style);
    buf_puts(out, "</style>\n</head>\n<body>\n<main>\n");
}

static void page_end(struct buf *out)
{
    buf_puts(out, "<p class=\"foot\">Tracking by waybilld</p>\n</main>\n</body>\n</html>\n");
}

/* The goods URL as an image source: http(s) as stored, a scheme-less host/path as https (SPEC
 * §6.3); NULL for anything else, which then shows no image. */
static const char *img_src(const char *url, bool *add_https)
{
    *add_https = false;
    if (!url || !url[0])
        return NULL;
    if (strncasecmp(url, "https://", 8) == 0 || strncasecmp(url, "http://", 7) == 0)
        return url;
    if (strstr(url, "://") || strchr(url, ':') == url)
        return NULL;
    *add_https = true;
    return url;
}

static void goods_item(struct buf *out, const json_t *item)
{
    const char *name = json_string_value(json_object_get(item, "goods_name"));
    const char *img = json_string_value(json_object_get(item, "goods_img_url"));
    const char *desc = json_string_value(json_object_get(item, "goods_desc"));
    name = name ? name : "";
    bool add_https;
    const char *src = img_src(img, &add_https);
    buf_puts(out, "<li class=\"item\">");
    if (src) {
        buf_puts(out, "<img src=\"");
        if (add_https)
            buf_puts(out, "https://");
        html_escape(out, src);
        buf_puts(out, "\" alt=\"");
        html_escape(out, name);
        buf_puts(out, "\" width=\"64\" height=\"64\" referrerpolicy=\"no-referrer\">");
    }
    buf_puts(out, "<div><p class=\"name\">");
    html_escape(out, name);
    buf_puts(out, "</p>");
    if (desc && desc[0] && strcmp(desc, name) != 0) {
        buf_puts(out, "<p class=\"desc\">");
        html_escape(out, desc);
        buf_puts(out, "</p>");
    }
    buf_puts(out, "</div></li>\n");
}

static void goods_card(struct buf *out, const char *goods_json)
{
    json_t *list = goods_json ? json_loads(goods_json, 0, NULL) : NULL;
    size_t n = json_is_array(list) ? json_array_size(list) : 0;
    buf_printf(out, "<section class=\"card\" id=\"goods-card\">\n<h2>Goods (%zu)</h2>\n", n);
    if (n) {
        buf_puts(out, "<ul class=\"goods\" id=\"goods\">\n");
        size_t i;
        const json_t *item;
        json_array_foreach(list, i, item)
        {
            goods_item(out, item);
        }
        buf_puts(out, "</ul>\n");
    } else {
        buf_puts(out, "<p class=\"empty\">No goods listed.</p>\n");
    }
    buf_puts(out, "</section>\n");
    json_decref(list);
}

static void hero(struct buf *out, const struct waybill_view *v, int offset_s)
{
    char when[LANDING_TIME_SIZE];
    buf_printf(out,
               "<header class=\"card hero s%d\">\n<p class=\"eyebrow\">Parcel status</p>\n"
               "<h1 id=\"status\" data-status=\"%d\">",
               v->status, v->status);
    html_escape(out, landing_status_words(v->status));
    buf_puts(out, "</h1>\n");
    if (v->trace_count) {
        landing_time_text(when, v->trace[v->trace_count - 1].action_time, offset_s);
        buf_puts(out, "<p class=\"when\">Updated ");
        html_escape(out, when);
        buf_puts(out, "</p>\n");
    } else {
        buf_puts(out, "<p class=\"when\">No tracking updates yet</p>\n");
    }
    buf_puts(out, "</header>\n");
}

static void carrier_card(struct buf *out, const struct waybill_view *v)
{
    buf_puts(out, "<section class=\"card\" id=\"carrier-card\">\n<h2>Delivery</h2>\n<dl>\n"
                  "<div class=\"kv\"><dt>Carrier</dt><dd id=\"carrier\">");
    html_escape(out, v->has_carrier ? v->carrier.delivery_name : "Not known yet");
    buf_puts(out, "</dd></div>\n<div class=\"kv\"><dt>Waybill</dt><dd id=\"waybill-id\">");
    html_escape(out, v->binding->waybill_id);
    buf_puts(out, "</dd></div>\n</dl>\n</section>\n");
}

/* Newest first, as people read a tracking page; the JSON form keeps the API's oldest first. */
static void trace_card(struct buf *out, const struct waybill_view *v, int offset_s)
{
    buf_puts(out, "<section class=\"card\" id=\"trace-card\">\n<h2>Tracking</h2>\n");
    if (!v->trace_count) {
        buf_puts(out, "<p class=\"empty\" id=\"trace-empty\">No tracking events yet.</p>\n"
                      "</section>\n");
        return;
    }
    buf_puts(out, "<ol class=\"trace\" id=\"trace\">\n");
    for (size_t i = v->trace_count; i-- > 0;) {
        const struct view_event *e = &v->trace[i];
        char text[LANDING_TIME_SIZE], iso[LANDING_TIME_SIZE];
        landing_time_text(text, e->action_time, offset_s);
        landing_time_iso(iso, e->action_time, offset_s);
        buf_printf(out, "<li data-status=\"%d\" data-action-time=\"%lld\"><p class=\"msg\">",
                   e->status, (long long)e->action_time);
        html_escape(out, e->action_msg[0] ? e->action_msg : landing_status_words(e->status));
        buf_puts(out, "</p><span class=\"meta\"><time datetime=\"");
        html_escape(out, iso);
        buf_puts(out, "\">");
        html_escape(out, text);
        buf_puts(out, "</time>");
        const char *words = landing_status_words(e->status);
        if (e->action_msg[0] && strcasecmp(e->action_msg, words) != 0) {
            buf_puts(out, " · ");
            html_escape(out, words);
        }
        buf_puts(out, "</span></li>\n");
    }
    buf_puts(out, "</ol>\n</section>\n");
}

bool landing_page_render(struct buf *out, const struct waybill_view *v, const char *appid,
                         int offset_s)
{
    page_begin(out, "Your parcel");
    hero(out, v, offset_s);
    goods_card(out, v->binding->goods_json);
    carrier_card(out, v);
    trace_card(out, v, offset_s);
    struct buf link;
    buf_init(&link, 8192);
    landing_back_link(&link, appid, v->binding->order_detail_path);
    buf_puts(out, "<a class=\"back\" id=\"back\" href=\"");
    html_escape(out, link.ptr ? link.ptr : "");
    buf_puts(out, v->binding->order_detail_path[0] ? "\">View order in mini program</a>\n"
                                                   : "\">Open the mini program</a>\n");
    bool ok = !link.overflow && !link.oom;
    buf_release(&link);
    page_end(out);
    return ok && !out->overflow && !out->oom;
}

bool landing_page_not_found(struct buf *out)
{
    page_begin(out, "Parcel not found");
    buf_puts(out, "<header class=\"card hero missing\">\n<p class=\"eyebrow\">Parcel tracking</p>\n"
                  "<h1 id=\"status\">Parcel not found</h1>\n</header>\n"
                  "<section class=\"card\">\n<p class=\"msg\">This tracking link is not valid, "
                  "or the parcel's details are no longer kept.</p>\n"
                  "<p class=\"desc\">Open the order in the mini program you bought from to see "
                  "its delivery.</p>\n</section>\n");
    page_end(out);
    return !out->overflow && !out->oom;
}

bool landing_page_error(struct buf *out, const char *rid)
{
    page_begin(out, "Temporarily unavailable");
    buf_puts(out,
             "<header class=\"card hero missing\">\n<p class=\"eyebrow\">Parcel tracking</p>\n"
             "<h1 id=\"status\">Temporarily unavailable</h1>\n</header>\n"
             "<section class=\"card\">\n<p class=\"msg\">The parcel's details cannot be "
             "shown right now. Please try again in a moment.</p>\n<p class=\"desc\">Reference: ");
    html_escape(out, rid);
    buf_puts(out, "</p>\n</section>\n");
    page_end(out);
    return !out->overflow && !out->oom;
}
