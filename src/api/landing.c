/* The landing page, GET /l/WAYBILL_TOKEN and its JSON form ?format=json (SPEC §7). */
#include "api/api.h"

#include "api/landing_page.h"
#include "api/reply.h"
#include "api/waybill_view.h"
#include "base/crypto.h"
#include "base/error.h"
#include "domain/rules.h"

#include <string.h>

#define LANDING_PREFIX "/l/"
#define HTML_TYPE "text/html; charset=utf-8"

/* Every landing reply, page or JSON, found or not: nothing from it is cached, sniffed, framed or
 * sent on as a referrer (the token is in the URL). */
static void security_headers(struct http_reply *reply)
{
    http_reply_header(reply, "Content-Security-Policy", landing_page_csp());
    http_reply_header(reply, "X-Content-Type-Options", "nosniff");
    http_reply_header(reply, "Referrer-Policy", "no-referrer");
    http_reply_header(reply, "Cache-Control", "no-store");
}

static void html_reply(struct http_reply *reply, unsigned status, int errcode)
{
    reply->status = status;
    reply->errcode = errcode;
    reply->content_type = HTML_TYPE;
}

/* Unknown, malformed and purged tokens get the same reply, so that it tells nothing. */
static void not_found(struct http_reply *reply, bool json)
{
    int code = wb_code_number(WB_INVALID_WAYBILL_TOKEN);
    buf_release(&reply->body);
    if (json) {
        reply_status_error(reply, 404, code, "%s", wb_code_message(WB_INVALID_WAYBILL_TOKEN));
        return;
    }
    html_reply(reply, 404, code);
    landing_page_not_found(&reply->body);
}

static void failed(struct http_reply *reply, const struct http_request *req, bool json)
{
    int code = wb_code_number(WB_SYSTEM);
    buf_release(&reply->body);
    if (json) {
        reply_status_error(reply, 500, code, "%s rid: %s", wb_code_message(WB_SYSTEM), req->rid);
        return;
    }
    html_reply(reply, 500, code);
    landing_page_error(&reply->body, req->rid);
}

static bool token_ok(const char *token)
{
    return strlen(token) == WAYBILL_TOKEN_LEN && rules_token_shape_ok(token, WAYBILL_TOKEN_LEN);
}

static bool render_json(struct http_reply *reply, const struct waybill_view *v)
{
    reply_ok_begin(reply);
    waybill_view_json(v, &reply->body);
    buf_puts(&reply->body, ",\"appid\":");
    buf_json_string(&reply->body, v->binding->appid);
    buf_puts(&reply->body, ",\"order_detail_path\":");
    buf_json_string(&reply->body, v->binding->order_detail_path);
    reply_ok_end(reply);
    return !reply->body.overflow && !reply->body.oom;
}

void landing_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    struct binding b = {0};
    struct waybill_view v = {0};
    reply->endpoint = "landing";
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        http_reply_header(reply, "Allow", "GET, HEAD");
        http_reply_header(reply, "X-Content-Type-Options", "nosniff");
        http_reply_header(reply, "Cache-Control", "no-store");
        reply_text(reply, 405, "text/plain; charset=utf-8", "method not allowed\n");
        return;
    }
    security_headers(reply);
    const char *format = http_query(req, "format");
    bool json = format && strcmp(format, "json") == 0;
    const char *token = req->path + strlen(LANDING_PREFIX);
    if (!token_ok(token)) {
        not_found(reply, json);
        goto out;
    }
    int rc = waybill_view_binding(api->store, api->cfg.hash_key, token, &b);
    if (rc == STORE_NOT_FOUND || (rc == STORE_OK && b.purged_at)) {
        not_found(reply, json);
        goto out;
    }
    if (rc || waybill_view_load(api->store, api->cfg.sandbox, &b, &v)) {
        failed(reply, req, json);
        goto out;
    }
    bool ok;
    if (json) {
        ok = render_json(reply, &v);
    } else {
        html_reply(reply, 200, 0);
        buf_release(&reply->body);
        ok = landing_page_render(&reply->body, &v, b.appid, api->cfg.day_offset_s);
    }
    if (!ok)
        failed(reply, req, json);
out:
    waybill_view_release(&v);
    binding_release(&b);
}
