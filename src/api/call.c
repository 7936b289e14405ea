/* The checks every merchant call passes before its own, in the order of SPEC §2.1. */
#include "api/call.h"

#include "base/clock.h"
#include "base/crypto.h"
#include "api/reply.h"
#include "domain/merchant.h"
#include "domain/quota.h"
#include "domain/rules.h"
#include "domain/tokens.h"
#include "store/allowance.h"
#include "store/cache.h"

#include <string.h>

void call_write_done(void *ctx, int rc)
{
    struct call_write *w = ctx;
    w->rc = rc;
    http_deferred_done(w->deferred);
}

enum wb_code call_store_failed_in(struct wb_err *e)
{
    return wb_err_set(e, WB_SYSTEM, "storage unavailable, retry later");
}

enum wb_code call_store_failed(struct call *c)
{
    return call_store_failed_in(&c->err);
}

static bool check_access_token(struct call *c)
{
    const char *token = http_query(c->req, "access_token");
    if (!token || !*token) {
        wb_err_set(&c->err, WB_TOKEN_MISSING, "add ?access_token=TOKEN to the URL");
        return false;
    }
    if (!rules_token_shape_ok(token, ACCESS_TOKEN_MAX)) {
        wb_err_set(&c->err, WB_INVALID_CREDENTIAL, "access_token is malformed");
        return false;
    }
    char hash[HASH_SIZE];
    crypto_sha256_hex(hash, token);
    struct token_rec t;
    int rc = cache_token_get(c->api->store, hash, &t);
    if (rc == STORE_NOT_FOUND) {
        wb_err_set(&c->err, WB_INVALID_CREDENTIAL, "access_token is not one this service issued");
        return false;
    }
    if (rc) {
        call_store_failed(c);
        return false;
    }
    enum wb_code code = tokens_check(c->now, t.expires_at, t.valid_until);
    if (code == WB_INVALID_CREDENTIAL) {
        wb_err_set(&c->err, code, "access_token was superseded by a newer one");
        return false;
    }
    if (code) {
        wb_err_set(&c->err, code, "get a new access_token");
        return false;
    }
    rc = cache_app_get(c->api->store, t.appid, &c->app);
    if (rc) {
        if (rc == STORE_NOT_FOUND)
            wb_err_set(&c->err, WB_INVALID_CREDENTIAL, "the access_token's app no longer exists");
        else
            call_store_failed(c);
        return false;
    }
    return true;
}

static bool check_eligible(struct call *c)
{
    const char *why = NULL;
    if (!c->app.released)
        why = "the mini program is not released";
    else if (c->app.pay_tx_90d <= 0)
        why = "the mini program has no WeChat Pay transactions in the last 90 days";
    else if (!c->app.enabled)
        why = "the logistics message capability is disabled for this mini program";
    if (why)
        wb_err_set(&c->err, WB_UNAUTHORIZED, "%s", why);
    return !why;
}

static bool take_app_quota(struct call *c)
{
    char key[QUOTA_KEY_SIZE];
    quota_key_app(key, c->app.appid, c->family);
    int64_t limit = quota_limit(c->app.daily_quota, QUOTA_APP_DAILY);
    int rc = allowance_take(c->api->store, key, c->day, limit);
    if (rc == STORE_LIMIT)
        wb_err_set(&c->err, WB_OUT_OF_QUOTA, "the app's daily call quota (%lld) is used up",
                   (long long)limit);
    else if (rc)
        call_store_failed(c);
    return rc == STORE_OK;
}

json_t *call_parse_body(const struct http_request *req, struct wb_err *e)
{
    if (req->body_too_large) {
        wb_err_set(e, WB_DATA_FORMAT, "the body is larger than the limit of %zu bytes",
                   req->body_limit);
        return NULL;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        wb_err_set(e, WB_DATA_FORMAT, "the body is not valid JSON: %s at line %d column %d",
                   jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        wb_err_set(e, WB_DATA_FORMAT, "the body must be a JSON object");
        return NULL;
    }
    if (json_check_controls(body, e)) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static bool parse_body(struct call *c, bool empty_ok)
{
    if (c->req->body_len == 0 && !c->req->body_too_large) {
        if (empty_ok) {
            c->body = json_object();
            return c->body != NULL;
        }
        wb_err_set(&c->err, WB_EMPTY_POST, "the body is empty; send a JSON object");
        return false;
    }
    c->body = call_parse_body(c->req, &c->err);
    return c->body != NULL;
}

bool call_begin(struct call *c, bool empty_ok)
{
    c->now = clock_now();
    c->day = clock_day(c->now, c->api->cfg.day_offset_s);
    return check_access_token(c) && check_eligible(c) && take_app_quota(c) &&
           parse_body(c, empty_ok);
}

void call_end(struct call *c)
{
    if (c->err.code != WB_OK)
        reply_wechat_error(c->reply, c->req, &c->err);
    json_decref(c->body);
    c->body = NULL;
}
