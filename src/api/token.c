/* /cgi-bin/token and /cgi-bin/stable_token (SPEC §3). */
#include "api/call.h"

#include "api/reply.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "domain/quota.h"
#include "domain/tokens.h"
#include "store/cache.h"

#include <string.h>

/* The credentials of a token request, checked in the order grant_type → appid → secret → limit. */
struct grant {
    const char *grant_type;
    const char *appid;
    const char *secret;
};

static bool check_grant(struct api *api, const struct grant *g, bool stable, int64_t now,
                        struct app *app, struct wb_err *e)
{
    if (!g->grant_type || strcmp(g->grant_type, "client_credential") != 0) {
        wb_err_set(e, WB_INVALID_GRANT_TYPE, "grant_type must be client_credential");
        return false;
    }
    if (!g->appid || !*g->appid) {
        wb_err_set(e, WB_APPID_MISSING, NULL);
        return false;
    }
    int rc = strlen(g->appid) < APPID_SIZE ? api->store->ops->app_get(api->store, g->appid, app)
                                           : STORE_NOT_FOUND;
    if (rc) {
        if (rc == STORE_NOT_FOUND)
            wb_err_set(e, WB_INVALID_APPID, "no mini program has this appid");
        else
            call_store_failed_in(e);
        return false;
    }
    if (!g->secret || !*g->secret) {
        wb_err_set(e, WB_APPSECRET_MISSING, NULL);
        return false;
    }
    if (!crypto_secret_verify(app->secret_hash, g->secret)) {
        wb_err_set(e, WB_INVALID_APPSECRET, "the secret does not match this appid");
        return false;
    }
    char key[QUOTA_KEY_SIZE];
    quota_key_token(key, app->appid, stable);
    int64_t used = 0, limit = stable ? QUOTA_STABLE_DAILY : QUOTA_TOKEN_DAILY;
    rc = api->store->ops->counter_take(api->store, key, clock_day(now, api->cfg.day_offset_s),
                                       limit, &used);
    if (rc == STORE_LIMIT)
        wb_err_set(e, WB_DAILY_LIMIT, "%s allows %lld calls per app per day",
                   stable ? "stable_token" : "token", (long long)limit);
    else if (rc)
        call_store_failed_in(e);
    return rc == STORE_OK;
}

static void reply_token(struct http_reply *reply, const char *token, int64_t expires_in)
{
    reply->status = 200;
    reply->errcode = 0;
    buf_puts(&reply->body, "{\"access_token\":");
    buf_json_string(&reply->body, token);
    buf_printf(&reply->body, ",\"expires_in\":%lld}", (long long)expires_in);
}

void token_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    struct wb_err e = {0};
    struct app app;
    int64_t now = clock_now();
    reply->endpoint = "token";
    struct grant g = {http_query(req, "grant_type"), http_query(req, "appid"),
                      http_query(req, "secret")};
    if (!check_grant(api, &g, false, now, &app, &e))
        goto fail;
    char token[ACCESS_TOKEN_LEN + 1];
    struct token_rec t = {.kind = TOKEN_PLAIN,
                          .issued_at = now,
                          .expires_at = now + TOKEN_LIFETIME,
                          .valid_until = now + TOKEN_LIFETIME};
    if (!tokens_new_access(token)) {
        wb_err_set(&e, WB_SYSTEM, "no randomness");
        goto fail;
    }
    crypto_sha256_hex(t.hash, token);
    memcpy(t.appid, app.appid, sizeof t.appid);
    if (api->store->ops->token_issue(api->store, &t, now + TOKEN_OVERLAP)) {
        call_store_failed_in(&e);
        goto fail;
    }
    cache_forget_tokens(app.appid); /* the one before now ends sooner */
    reply_token(reply, token, TOKEN_LIFETIME);
    return;
fail:
    reply_wechat_error(reply, req, &e);
}

/* Makes a new stable token current for r's app; the previous one stays valid until grace_until.
 * When another call (of any process) rotated first, r becomes what it made instead. */
static int stable_rotate(struct api *api, struct stable_rec *r, int64_t now, int64_t grace_until)
{
    struct stable_rec next = *r;
    if (!tokens_new_nonce(next.nonce))
        return STORE_ERROR;
    next.issued_at = now;
    next.expires_at = now + TOKEN_LIFETIME;
    char token[ACCESS_TOKEN_LEN + 1];
    tokens_stable(token, api->cfg.hash_key, next.appid, next.nonce);
    struct token_rec t = {.kind = TOKEN_STABLE,
                          .issued_at = now,
                          .expires_at = next.expires_at,
                          .valid_until = next.expires_at};
    crypto_sha256_hex(t.hash, token);
    memcpy(t.appid, next.appid, sizeof t.appid);
    int rc = api->store->ops->stable_rotate(api->store, &next, r->nonce, &t, grace_until);
    cache_forget_tokens(r->appid);
    if (rc == STORE_CONFLICT)
        return api->store->ops->stable_get(api->store, r->appid, r);
    if (rc == STORE_OK)
        *r = next;
    return rc;
}

static int stable_current(struct api *api, const struct app *app, bool force, int64_t now,
                          struct stable_rec *r)
{
    int rc = api->store->ops->stable_get(api->store, app->appid, r);
    if (rc == STORE_NOT_FOUND) {
        memset(r, 0, sizeof *r);
        memcpy(r->appid, app->appid, sizeof r->appid);
        return stable_rotate(api, r, now, now);
    }
    if (rc)
        return rc;
    if (now >= r->expires_at)
        return stable_rotate(api, r, now, now);
    if (force) {
        int64_t day = clock_day(now, api->cfg.day_offset_s);
        if (r->force_day != day) {
            r->force_day = day;
            r->force_count = 0;
        }
        bool allowed = r->force_count < QUOTA_FORCE_DAILY &&
                       (r->last_force_at == 0 || now - r->last_force_at >= QUOTA_FORCE_INTERVAL);
        if (allowed) {
            r->force_count++;
            r->last_force_at = now;
            return stable_rotate(api, r, now, now);
        }
        return STORE_OK;
    }
    if (r->expires_at - now <= TOKEN_OVERLAP)
        return stable_rotate(api, r, now, r->expires_at);
    return STORE_OK;
}

void stable_token_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    struct wb_err e = {0};
    json_t *body = NULL;
    reply->endpoint = "stable_token";
    if (strcmp(req->method, "POST") != 0) {
        wb_err_set(&e, WB_REQUIRE_POST, "stable_token takes POST with a JSON body");
        goto fail;
    }
    if (req->body_len == 0 && !req->body_too_large) {
        wb_err_set(&e, WB_EMPTY_POST, "send {\"grant_type\":..,\"appid\":..,\"secret\":..}");
        goto fail;
    }
    if (!(body = call_parse_body(req, &e)))
        goto fail;
    const json_t *force = json_object_get(body, "force_refresh");
    if (force && !json_is_null(force) && !json_is_boolean(force)) {
        wb_err_set(&e, WB_DATA_FORMAT, "force_refresh must be true or false");
        goto fail;
    }
    struct grant g = {json_string_value(json_object_get(body, "grant_type")),
                      json_string_value(json_object_get(body, "appid")),
                      json_string_value(json_object_get(body, "secret"))};
    struct app app;
    int64_t now = clock_now();
    if (!check_grant(api, &g, true, now, &app, &e))
        goto fail;
    struct stable_rec r;
    int rc = stable_current(api, &app, json_is_true(force), now, &r);
    if (rc) {
        call_store_failed_in(&e);
        goto fail;
    }
    char token[ACCESS_TOKEN_LEN + 1];
    tokens_stable(token, api->cfg.hash_key, app.appid, r.nonce);
    reply_token(reply, token, r.expires_at - now);
    json_decref(body);
    return;
fail:
    json_decref(body);
    reply_wechat_error(reply, req, &e);
}
