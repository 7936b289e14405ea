/* The admin API (SPEC §9.2): the key check, the paths under /admin/v1/ and their replies. */
#include "admin/admin.h"
#include "api/api.h"
#include "api/call.h"
#include "api/reply.h"
#include "api/sandbox.h"

#include <stdlib.h>
#include <string.h>

#define PREFIX "/admin/v1/"
#define MAX_SEGMENTS 5

/* The path after PREFIX cut at '/': up to MAX_SEGMENTS non-empty segments. */
struct segments {
    char copy[512];
    const char *at[MAX_SEGMENTS];
    int n;
};

static bool split(const char *path, struct segments *sg)
{
    size_t len = strlen(path);
    if (len >= sizeof sg->copy)
        return false;
    memcpy(sg->copy, path, len + 1);
    sg->n = 0;
    char *p = sg->copy;
    while (*p) {
        char *slash = strchr(p, '/');
        if (slash == p || sg->n == MAX_SEGMENTS)
            return false; /* an empty segment or too many */
        sg->at[sg->n++] = p;
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
        if (!*p)
            return false; /* a trailing slash */
    }
    return sg->n > 0;
}

static bool is(const struct segments *sg, int i, const char *name)
{
    return i < sg->n && strcmp(sg->at[i], name) == 0;
}

static void reply_error(struct http_reply *reply, const struct admin_err *e)
{
    reply_status_error(reply, e->status, e->errcode, "%s", e->msg);
}

/* Writes v (stolen) as the body with status, or the error e when v is NULL. */
static void reply_result(struct http_reply *reply, unsigned status, json_t *v,
                         const struct admin_err *e)
{
    if (!v) {
        reply_error(reply, e);
        return;
    }
    char *text = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    buf_release(&reply->body);
    if (!text || !buf_puts(&reply->body, text)) {
        free(text);
        reply_status_error(reply, 500, -1, "the reply could not be written");
        return;
    }
    free(text);
    reply->status = status;
    reply->errcode = 0;
}

/* The request's JSON body into *body (NULL when empty, which the operations take as {}). */
static bool read_body(const struct http_request *req, json_t **body, struct admin_err *e)
{
    *body = NULL;
    if (req->body_too_large) {
        admin_fail(e, 413, "the body is larger than %zu bytes", req->body_limit);
        return false;
    }
    if (req->body_len == 0)
        return true;
    struct wb_err err;
    wb_err_clear(&err);
    *body = call_parse_body(req, &err);
    if (!*body) {
        admin_fail(e, 400, "%s", err.detail);
        return false;
    }
    return true;
}

static bool list_limit(const struct http_request *req, int *limit, struct admin_err *e)
{
    return admin_parse_limit(http_query(req, "limit"), limit, e);
}

static bool parse_state(const char *text, int *state)
{
    static const char *const names[] = {"pending", "delivered", "dead"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *state = i;
            return true;
        }
    return false;
}

/* Answers a method that the path does not take. */
static void wrong_method(struct http_reply *reply, const char *allow)
{
    http_reply_header(reply, "Allow", allow);
    reply_status_error(reply, 405, 405, "method not allowed here; use %s", allow);
}

void admin_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    const char *path = req->path;
    if (strcmp(path, PREFIX "sandbox/clock") == 0) {
        sandbox_clock_handle(ctx, req, reply);
        return;
    }
    reply->endpoint = "admin";
    if (!admin_key_ok(http_header(req, "Authorization"), api->cfg.admin_key)) {
        http_reply_header(reply, "WWW-Authenticate", "Bearer");
        reply_status_error(reply, 401, 401, "the admin key is missing or wrong");
        return;
    }
    struct segments sg;
    if (strncmp(path, PREFIX, sizeof PREFIX - 1) != 0 || !split(path + sizeof PREFIX - 1, &sg)) {
        reply_status_error(reply, 404, 404, "no such admin path");
        return;
    }
    const struct admin_ctx c = {
        .store = api->store,
        .hash_key = api->cfg.hash_key,
        .max_updates = api->cfg.max_updates,
        .day_offset_s = api->cfg.day_offset_s,
    };
    const char *m = req->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0,
         patch = strcmp(m, "PATCH") == 0;
    struct admin_err e = {0};
    json_t *body = NULL, *out = NULL;
    unsigned status = 200;
    int limit = 0;
    const char *allow = NULL; /* set when the path does not take the method */

    if (is(&sg, 0, "apps") && sg.n == 1) {
        if (get && list_limit(req, &limit, &e))
            out = admin_app_list(&c, http_query(req, "after"), limit, &e);
        else if (post && read_body(req, &body, &e) && (out = admin_app_create(&c, body, &e)))
            status = 201;
        else if (!get && !post)
            allow = "GET, POST";
    } else if (is(&sg, 0, "apps") && sg.n == 2) {
        if (get)
            out = admin_app_get(&c, sg.at[1], &e);
        else if (patch && read_body(req, &body, &e))
            out = admin_app_patch(&c, sg.at[1], body, &e);
        else if (!patch)
            allow = "GET, PATCH";
    } else if (is(&sg, 0, "apps") && sg.n == 3 &&
               (is(&sg, 2, "secret") || is(&sg, 2, "push_secret"))) {
        if (!post)
            allow = "POST";
        else
            out = is(&sg, 2, "secret") ? admin_app_reset_secret(&c, sg.at[1], &e)
                                       : admin_app_reset_push_secret(&c, sg.at[1], &e);
    } else if (is(&sg, 0, "apps") && sg.n == 3 && is(&sg, 2, "users")) {
        if (!post)
            allow = "POST";
        else if (read_body(req, &body, &e) && (out = admin_user_create(&c, sg.at[1], body, &e)))
            status = 201;
    } else if (is(&sg, 0, "apps") && sg.n == 4 && is(&sg, 2, "users")) {
        if (!get)
            allow = "GET";
        else
            out = admin_user_get(&c, sg.at[1], sg.at[3], &e);
    } else if (is(&sg, 0, "carriers") && sg.n == 1) {
        if (get && list_limit(req, &limit, &e))
            out = admin_carrier_list(&c, http_query(req, "after"), limit, &e);
        else if (post && read_body(req, &body, &e) && (out = admin_carrier_create(&c, body, &e)))
            status = 201;
        else if (!get && !post)
            allow = "GET, POST";
    } else if (is(&sg, 0, "carriers") && sg.n == 2) {
        if (get)
            out = admin_carrier_get(&c, sg.at[1], &e);
        else if (patch && read_body(req, &body, &e))
            out = admin_carrier_patch(&c, sg.at[1], body, &e);
        else if (!patch)
            allow = "GET, PATCH";
    } else if (is(&sg, 0, "carriers") && sg.n == 3 && is(&sg, 2, "key")) {
        if (!post)
            allow = "POST";
        else
            out = admin_carrier_reset_key(&c, sg.at[1], &e);
    } else if (is(&sg, 0, "apps") && sg.n == 5 && is(&sg, 2, "users") &&
               is(&sg, 4, "notifications")) {
        struct notice_filter f = {sg.at[1], sg.at[3], -1};
        if (!get)
            allow = "GET";
        else if (list_limit(req, &limit, &e))
            out = admin_notices_list(&c, &f, http_query(req, "after"), limit, &e);
    } else if (is(&sg, 0, "notifications") && sg.n == 1) {
        struct notice_filter f = {NULL, NULL, -1};
        const char *state = http_query(req, "state");
        if (!get)
            allow = "GET";
        else if (state && !parse_state(state, &f.state))
            admin_fail(&e, 400, "state is pending, delivered or dead");
        else if (list_limit(req, &limit, &e))
            out = admin_notices_list(&c, &f, http_query(req, "after"), limit, &e);
    } else if (is(&sg, 0, "notifications") && sg.n == 3 && is(&sg, 2, "redeliver")) {
        if (!post)
            allow = "POST";
        else
            out = admin_notice_redeliver(&c, sg.at[1], &e);
        if (out && api->outbox_due)
            api->outbox_due(api->outbox_ctx);
    } else if (is(&sg, 0, "waybills") && sg.n == 2) {
        if (!get)
            allow = "GET";
        else
            out = admin_waybill_get(&c, sg.at[1], &e);
    } else {
        reply_status_error(reply, 404, 404, "no such admin path");
        return;
    }
    json_decref(body);
    if (allow)
        wrong_method(reply, allow);
    else
        reply_result(reply, status, out, &e);
}
