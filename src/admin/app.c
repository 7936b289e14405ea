/* Apps and their users: creation with fresh credentials, settings, limits in effect and usage. */
#include "admin/admin.h"
#include "store/allowance.h"
#include "store/cache.h"

#include "base/clock.h"
#include "base/crypto.h"
#include "base/rand.h"
#include "domain/quota.h"
#include "domain/rules.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define NAME_CHARS 64
#define SECRET_BYTES 16      /* shown as 32 hex digits */
#define PUSH_SECRET_BYTES 32 /* shown as 43 base64url characters */
#define OPENID_BYTES 21      /* minted openids: 28 base64url characters */
#define ID_ATTEMPTS 4        /* fresh random ids tried before a collision is taken as a failure */

/* The overridable limits: field name, where it lives, and the default when not overridden. */
static int64_t *limit_field(struct app *a, const char *key)
{
    if (strcmp(key, "daily_quota") == 0)
        return &a->daily_quota;
    if (strcmp(key, "user_daily_quota") == 0)
        return &a->user_daily_quota;
    if (strcmp(key, "user_daily_quota_query") == 0)
        return &a->user_daily_quota_query;
    if (strcmp(key, "max_bindings") == 0)
        return &a->max_bindings;
    if (strcmp(key, "max_updates") == 0)
        return &a->max_updates;
    return NULL;
}

/* An absolute http(s) URL with a host, without spaces or control characters, at most 1024 bytes.
 * Private addresses are allowed: webhook receivers often run next to the service. */
static bool push_url_ok(const char *url, const char **why)
{
    size_t len = strlen(url);
    if (len > URL_SIZE - 1) {
        *why = "is longer than 1024 bytes";
        return false;
    }
    for (const char *p = url; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
            *why = "contains a space or a control character";
            return false;
        }
    }
    const char *rest = NULL;
    if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    if (!rest) {
        *why = "must start with http:// or https://";
        return false;
    }
    size_t authority = strcspn(rest, "/?#");
    const char *at = memchr(rest, '@', authority);
    const char *host = at ? at + 1 : rest;
    if (host == rest + authority || *host == ':') {
        *why = "has no host";
        return false;
    }
    return true;
}

/* Applies the settings in body (an object) to a. */
static bool apply_fields(struct app *a, const json_t *body, struct admin_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        int64_t *limit = limit_field(a, key);
        bool ok = true;
        if (limit) {
            ok = admin_field_count(key, v, LIMIT_DEFAULT, limit, e);
        } else if (strcmp(key, "name") == 0) {
            ok = admin_field_text(key, v, NAME_CHARS, a->name, sizeof a->name, e);
        } else if (strcmp(key, "released") == 0) {
            ok = admin_field_bool(key, v, false, &a->released, e);
        } else if (strcmp(key, "enabled") == 0) {
            ok = admin_field_bool(key, v, true, &a->enabled, e);
        } else if (strcmp(key, "pay_tx_90d") == 0) {
            ok = admin_field_count(key, v, 0, &a->pay_tx_90d, e);
        } else if (strcmp(key, "push_url") == 0) {
            char url[URL_SIZE];
            const char *why = NULL;
            if (json_is_null(v)) {
                a->push_url[0] = '\0';
            } else if (json_is_string(v) && json_string_length(v) >= sizeof url) {
                admin_fail(e, 400, "push_url is longer than 1024 bytes");
                ok = false;
            } else if (!admin_field_text(key, v, URL_SIZE, url, sizeof url, e)) {
                ok = false;
            } else if (!push_url_ok(url, &why)) {
                admin_fail(e, 400, "push_url %s", why);
                ok = false;
            } else {
                memcpy(a->push_url, url, strlen(url) + 1);
            }
        } else {
            admin_fail(e, 400, "unknown field %s", key);
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

static json_t *limit_or_null(int64_t v)
{
    return v == LIMIT_DEFAULT ? json_null() : json_integer((json_int_t)v);
}

/* The settings of an app, as listed. */
static json_t *app_json(const struct app *a)
{
    bool eligible = a->released && a->pay_tx_90d > 0 && a->enabled;
    return json_pack(
        "{s:s,s:s,s:b,s:I,s:b,s:b,s:s?,s:o,s:o,s:o,s:o,s:o,s:I}", "appid", a->appid, "name",
        a->name, "released", (int)a->released, "pay_tx_90d", (json_int_t)a->pay_tx_90d, "enabled",
        (int)a->enabled, "eligible", (int)eligible, "push_url", a->push_url[0] ? a->push_url : NULL,
        "daily_quota", limit_or_null(a->daily_quota), "user_daily_quota",
        limit_or_null(a->user_daily_quota), "user_daily_quota_query",
        limit_or_null(a->user_daily_quota_query), "max_bindings", limit_or_null(a->max_bindings),
        "max_updates", limit_or_null(a->max_updates), "created_at", (json_int_t)a->created_at);
}

static json_t *usage_json(const struct admin_ctx *c, const char *appid, struct admin_err *e)
{
    static const char *const fields[] = {"message_calls", "query_calls", "token_calls",
                                         "stable_token_calls"};
    json_t *usage = json_object();
    if (!usage)
        return admin_fail(e, 500, "out of memory");
    int64_t day = clock_day(clock_now(), c->day_offset_s);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        char key[QUOTA_KEY_SIZE];
        if (i < 2)
            quota_key_app(key, appid, i == 0 ? FAMILY_MESSAGE : FAMILY_QUERY);
        else
            quota_key_token(key, appid, i == 3);
        int64_t value = 0;
        int rc = c->store->ops->counter_get(c->store, key, day, &value);
        if (rc != STORE_OK && rc != STORE_NOT_FOUND) {
            json_decref(usage);
            return admin_fail(e, 500, "the store failed");
        }
        /* what this process reserved and has not used yet was not used */
        value = rc == STORE_OK ? value - allowance_unused(key, day) : 0;
        if (json_object_set_new(usage, fields[i], json_integer(value))) {
            json_decref(usage);
            return admin_fail(e, 500, "out of memory");
        }
    }
    return usage;
}

/* The app as GET /apps/APPID replies it: settings, the limits in effect, today's usage. */
static json_t *app_full_json(const struct admin_ctx *c, const struct app *a, struct admin_err *e)
{
    json_t *out = app_json(a);
    json_t *limits = json_pack(
        "{s:I,s:I,s:I,s:I,s:I}", "daily_quota",
        (json_int_t)quota_limit(a->daily_quota, QUOTA_APP_DAILY), "user_daily_quota",
        (json_int_t)quota_limit(a->user_daily_quota, QUOTA_USER_DAILY), "user_daily_quota_query",
        (json_int_t)quota_limit(a->user_daily_quota_query, QUOTA_USER_DAILY_QUERY), "max_bindings",
        (json_int_t)quota_limit(a->max_bindings, QUOTA_MAX_BINDINGS), "max_updates",
        (json_int_t)quota_limit(a->max_updates, c->max_updates));
    json_t *usage = NULL;
    if (!out || !limits || json_object_set_new(out, "limits", limits)) {
        admin_fail(e, 500, "out of memory");
        goto fail;
    }
    limits = NULL;
    usage = usage_json(c, a->appid, e);
    if (!usage || json_object_set_new(out, "usage", usage)) {
        if (usage)
            admin_fail(e, 500, "out of memory");
        goto fail;
    }
    return out;
fail:
    json_decref(limits);
    json_decref(out);
    return NULL;
}

/* Reads the app named by appid; sets e (404 or 500) when there is none. */
static bool load_app(const struct admin_ctx *c, const char *appid, struct app *a,
                     struct admin_err *e)
{
    if (!appid || !rules_id_ok(appid, APPID_SIZE - 1)) {
        admin_fail(e, 404, "app %s not found", appid ? appid : "");
        return false;
    }
    int rc = c->store->ops->app_get(c->store, appid, a);
    if (rc != STORE_OK) {
        admin_store_fail(e, rc, "app", appid);
        return false;
    }
    return true;
}

/* Writes a back and forgets any cached copy; sets e (404 or 500) when the store refused. */
static bool save_app(const struct admin_ctx *c, const struct app *a, struct admin_err *e)
{
    int rc = c->store->ops->app_update(c->store, a);
    cache_forget_app(a->appid);
    if (rc != STORE_OK)
        admin_store_fail(e, rc, "app", a->appid);
    return rc == STORE_OK;
}

json_t *admin_app_create(const struct admin_ctx *c, const json_t *body, struct admin_err *e)
{
    struct app a = {
        .enabled = true,
        .daily_quota = LIMIT_DEFAULT,
        .user_daily_quota = LIMIT_DEFAULT,
        .user_daily_quota_query = LIMIT_DEFAULT,
        .max_bindings = LIMIT_DEFAULT,
        .max_updates = LIMIT_DEFAULT,
    };
    char secret[2 * SECRET_BYTES + 1];
    if (!admin_body_ok(body, e) || (body && !apply_fields(&a, body, e)))
        return NULL;
    if (!a.name[0])
        return admin_fail(e, 400, "name is required");
    if (!rand_hex(secret, SECRET_BYTES) || !rand_base64url(a.push_secret, PUSH_SECRET_BYTES) ||
        !crypto_secret_hash(a.secret_hash, secret))
        return admin_fail(e, 500, "the random generator failed");
    a.created_at = clock_now();
    int rc = STORE_CONFLICT;
    for (int i = 0; i < ID_ATTEMPTS && rc == STORE_CONFLICT; i++) {
        memcpy(a.appid, "wx", 2);
        if (!rand_hex(a.appid + 2, 8))
            return admin_fail(e, 500, "the random generator failed");
        rc = c->store->ops->app_put(c->store, &a);
    }
    if (rc != STORE_OK)
        return admin_fail(e, 500, "the store failed");
    json_t *out = json_pack("{s:s,s:s,s:s}", "appid", a.appid, "secret", secret, "push_secret",
                            a.push_secret);
    json_t *settings = app_json(&a);
    if (!out || !settings || json_object_update(out, settings)) {
        json_decref(out);
        out = admin_fail(e, 500, "out of memory");
    }
    json_decref(settings);
    return out;
}

json_t *admin_app_get(const struct admin_ctx *c, const char *appid, struct admin_err *e)
{
    struct app a;
    if (!load_app(c, appid, &a, e))
        return NULL;
    return app_full_json(c, &a, e);
}

struct list_ctx {
    json_t *items;
    int limit;
    int count;
    bool more;
    bool oom;
    char last[APPID_SIZE];
};

static int list_app_cb(void *ctx, const struct app *a)
{
    struct list_ctx *l = ctx;
    if (l->count >= l->limit) {
        l->more = true;
        return 0;
    }
    if (json_array_append_new(l->items, app_json(a)))
        l->oom = true;
    snprintf(l->last, sizeof l->last, "%s", a->appid);
    l->count++;
    return 0;
}

json_t *admin_app_list(const struct admin_ctx *c, const char *after, int limit, struct admin_err *e)
{
    if (after && after[0] && !rules_id_ok(after, APPID_SIZE - 1))
        return admin_fail(e, 400, "after is not a cursor of this list");
    struct list_ctx l = {.items = json_array(), .limit = limit};
    if (!l.items)
        return admin_fail(e, 500, "out of memory");
    /* One more than asked tells whether a next page exists. */
    int rc = c->store->ops->app_list(c->store, after ? after : "", limit + 1, list_app_cb, &l);
    if (rc != STORE_OK) {
        json_decref(l.items);
        return admin_fail(e, 500, "the store failed");
    }
    json_t *out = json_pack("{s:o,s:s?}", "apps", l.items, "next", l.more ? l.last : NULL);
    if (!out || l.oom) {
        json_decref(out);
        return admin_fail(e, 500, "out of memory");
    }
    return out;
}

json_t *admin_app_patch(const struct admin_ctx *c, const char *appid, const json_t *body,
                        struct admin_err *e)
{
    struct app a;
    json_t *out = NULL;
    if (!admin_body_ok(body, e))
        return NULL;
    admin_lock();
    if (!load_app(c, appid, &a, e) || (body && !apply_fields(&a, body, e)))
        goto out;
    if (!a.name[0]) {
        admin_fail(e, 400, "name may not be null");
        goto out;
    }
    if (!save_app(c, &a, e))
        goto out;
    out = app_full_json(c, &a, e);
out:
    admin_unlock();
    return out;
}

/* Replaces the secret (push = false) or the push_secret of an app. */
static json_t *reset(const struct admin_ctx *c, const char *appid, bool push, struct admin_err *e)
{
    struct app a;
    char secret[2 * SECRET_BYTES + 1];
    json_t *out = NULL;
    admin_lock();
    if (!load_app(c, appid, &a, e))
        goto out;
    bool ok = push ? rand_base64url(a.push_secret, PUSH_SECRET_BYTES)
                   : rand_hex(secret, SECRET_BYTES) && crypto_secret_hash(a.secret_hash, secret);
    if (!ok) {
        admin_fail(e, 500, "the random generator failed");
        goto out;
    }
    if (!save_app(c, &a, e))
        goto out;
    out = json_pack("{s:s,s:s}", "appid", a.appid, push ? "push_secret" : "secret",
                    push ? a.push_secret : secret);
    if (!out)
        admin_fail(e, 500, "out of memory");
out:
    admin_unlock();
    return out;
}

json_t *admin_app_reset_secret(const struct admin_ctx *c, const char *appid, struct admin_err *e)
{
    return reset(c, appid, false, e);
}

json_t *admin_app_reset_push_secret(const struct admin_ctx *c, const char *appid,
                                    struct admin_err *e)
{
    return reset(c, appid, true, e);
}

static json_t *user_json(const struct user *u)
{
    return json_pack("{s:s,s:s,s:s?,s:I}", "appid", u->appid, "openid", u->openid, "phone_tail",
                     u->phone_tail[0] ? u->phone_tail : NULL, "created_at",
                     (json_int_t)u->created_at);
}

json_t *admin_user_create(const struct admin_ctx *c, const char *appid, const json_t *body,
                          struct admin_err *e)
{
    struct app a;
    struct user u = {0};
    const char *key;
    json_t *v;
    if (!load_app(c, appid, &a, e) || !admin_body_ok(body, e))
        return NULL;
    json_object_foreach((json_t *)body, key, v)
    {
        if (json_is_null(v))
            continue;
        if (strcmp(key, "openid") == 0) {
            if (!json_is_string(v) || !rules_id_ok(json_string_value(v), OPENID_SIZE - 1) ||
                strlen(json_string_value(v)) != json_string_length(v))
                return admin_fail(e, 400, "openid must be 1 to 64 characters of [A-Za-z0-9_-]");
            memcpy(u.openid, json_string_value(v), json_string_length(v) + 1);
        } else if (strcmp(key, "phone") == 0) {
            char digits[32];
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
                !rules_phone_normalize(json_string_value(v), digits, u.phone_tail))
                return admin_fail(e, 400, "phone must be an optional + and 5 to 20 digits");
            if (!c->hash_key || !c->hash_key[0])
                return admin_fail(e, 500, "no hash key to keep the phone with");
            crypto_hmac_hex(u.phone_hash, c->hash_key, digits, strlen(digits));
        } else {
            return admin_fail(e, 400, "unknown field %s", key);
        }
    }
    memcpy(u.appid, a.appid, sizeof u.appid);
    u.created_at = clock_now();
    bool mint = !u.openid[0];
    int rc = STORE_CONFLICT;
    for (int i = 0; i < (mint ? ID_ATTEMPTS : 1) && rc == STORE_CONFLICT; i++) {
        if (mint && !rand_base64url(u.openid, OPENID_BYTES))
            return admin_fail(e, 500, "the random generator failed");
        rc = c->store->ops->user_put(c->store, &u);
    }
    if (rc == STORE_CONFLICT && !mint)
        return admin_fail(e, 409, "openid %s is taken", u.openid);
    if (rc != STORE_OK)
        return admin_fail(e, 500, "the store failed");
    json_t *out = user_json(&u);
    return out ? out : admin_fail(e, 500, "out of memory");
}

json_t *admin_user_get(const struct admin_ctx *c, const char *appid, const char *openid,
                       struct admin_err *e)
{
    struct app a;
    struct user u;
    if (!load_app(c, appid, &a, e))
        return NULL;
    if (!openid || !rules_id_ok(openid, OPENID_SIZE - 1))
        return admin_fail(e, 404, "user %s not found", openid ? openid : "");
    int rc = c->store->ops->user_get(c->store, openid, &u);
    if (rc == STORE_OK && strcmp(u.appid, a.appid) != 0)
        rc = STORE_NOT_FOUND;
    if (rc != STORE_OK)
        return admin_store_fail(e, rc, "user", openid);
    json_t *out = user_json(&u);
    return out ? out : admin_fail(e, 500, "out of memory");
}
