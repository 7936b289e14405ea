/* Carriers: registration with a fresh feed key, their waybill patterns, and a paged list. */
#include "admin/admin.h"
#include "carrier/recognize.h"
#include "store/cache.h"

#include "base/clock.h"
#include "base/crypto.h"
#include "base/rand.h"
#include "domain/rules.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_CHARS 64
#define KEY_BYTES 32 /* carrier keys: 43 base64url characters */

static json_t *carrier_json(const struct carrier *k)
{
    return json_pack("{s:s,s:s,s:s?,s:b,s:I}", "delivery_id", k->delivery_id, "delivery_name",
                     k->delivery_name, "waybill_pattern",
                     k->waybill_pattern[0] ? k->waybill_pattern : NULL, "enabled", (int)k->enabled,
                     "created_at", (json_int_t)k->created_at);
}

/* waybill_pattern: null for none, else a POSIX ERE that compiles. */
static bool pattern_field(const json_t *v, char out[PATTERN_SIZE], struct admin_err *e)
{
    if (json_is_null(v)) {
        out[0] = '\0';
        return true;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        admin_fail(e, 400, "waybill_pattern must be a non-empty string or null");
        return false;
    }
    if (json_string_length(v) >= PATTERN_SIZE) {
        admin_fail(e, 400, "waybill_pattern is longer than %d bytes", PATTERN_SIZE - 1);
        return false;
    }
    const char *costly = NULL;
    if (!rules_pattern_ok(json_string_value(v), &costly)) {
        admin_fail(e, 400, "waybill_pattern is too costly to match: %s", costly);
        return false;
    }
    regex_t re;
    int rc = regcomp(&re, json_string_value(v), REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char why[128];
        regerror(rc, &re, why, sizeof why);
        admin_fail(e, 400, "waybill_pattern is not a POSIX extended regular expression: %s", why);
        return false;
    }
    regfree(&re);
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return true;
}

/* Applies body's fields to k; delivery_id only when creating. */
static bool apply_fields(struct carrier *k, const json_t *body, bool creating, struct admin_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        bool ok = true;
        if (creating && strcmp(key, "delivery_id") == 0) {
            if (json_is_null(v))
                continue;
            if (!json_is_string(v) || !rules_id_ok(json_string_value(v), DELIVERY_ID_SIZE - 1) ||
                strlen(json_string_value(v)) != json_string_length(v)) {
                admin_fail(e, 400, "delivery_id must be 1 to 32 characters of [A-Za-z0-9_-]");
                ok = false;
            } else {
                memcpy(k->delivery_id, json_string_value(v), json_string_length(v) + 1);
            }
        } else if (strcmp(key, "delivery_name") == 0) {
            ok = admin_field_text(key, v, NAME_CHARS, k->delivery_name, sizeof k->delivery_name, e);
        } else if (strcmp(key, "waybill_pattern") == 0) {
            ok = pattern_field(v, k->waybill_pattern, e);
        } else if (strcmp(key, "enabled") == 0) {
            ok = admin_field_bool(key, v, true, &k->enabled, e);
        } else {
            admin_fail(e, 400, "unknown field %s", key);
            ok = false;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* A fresh key into key (KEY_BYTES as base64url) and its hash into k. */
static bool new_key(struct carrier *k, char *key)
{
    if (!rand_base64url(key, KEY_BYTES))
        return false;
    crypto_sha256_hex(k->key_hash, key);
    return true;
}

static bool load_carrier(const struct admin_ctx *c, const char *id, struct carrier *k,
                         struct admin_err *e)
{
    if (!id || !rules_id_ok(id, DELIVERY_ID_SIZE - 1)) {
        admin_fail(e, 404, "carrier %s not found", id ? id : "");
        return false;
    }
    int rc = c->store->ops->carrier_get(c->store, id, k);
    if (rc != STORE_OK) {
        admin_store_fail(e, rc, "carrier", id);
        return false;
    }
    return true;
}

json_t *admin_carrier_create(const struct admin_ctx *c, const json_t *body, struct admin_err *e)
{
    struct carrier k = {.enabled = true};
    char key[64];
    if (!admin_body_ok(body, e) || (body && !apply_fields(&k, body, true, e)))
        return NULL;
    if (!k.delivery_id[0])
        return admin_fail(e, 400, "delivery_id is required");
    if (strcmp(k.delivery_id, SANDBOX_CARRIER_ID) == 0)
        return admin_fail(e, 409, "delivery_id %s is the sandbox's built-in carrier",
                          SANDBOX_CARRIER_ID);
    if (!k.delivery_name[0])
        return admin_fail(e, 400, "delivery_name is required");
    if (!new_key(&k, key))
        return admin_fail(e, 500, "the random generator failed");
    k.created_at = clock_now();
    int rc = c->store->ops->carrier_put(c->store, &k);
    cache_forget_carriers();
    if (rc != STORE_OK)
        return admin_store_fail(e, rc, "carrier", k.delivery_id);
    json_t *out = carrier_json(&k);
    if (!out || json_object_set_new(out, "carrier_key", json_string(key))) {
        json_decref(out);
        return admin_fail(e, 500, "out of memory");
    }
    return out;
}

json_t *admin_carrier_get(const struct admin_ctx *c, const char *delivery_id, struct admin_err *e)
{
    struct carrier k;
    if (!load_carrier(c, delivery_id, &k, e))
        return NULL;
    json_t *out = carrier_json(&k);
    return out ? out : admin_fail(e, 500, "out of memory");
}

/* carrier_list has no cursor: the carriers are few, so they are gathered, sorted and paged here. */
struct gather {
    struct carrier *items;
    size_t count, cap;
    bool oom;
};

static int gather_cb(void *ctx, const struct carrier *k)
{
    struct gather *g = ctx;
    if (g->count == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct carrier *p = realloc(g->items, cap * sizeof *p);
        if (!p) {
            g->oom = true;
            return 0;
        }
        g->items = p;
        g->cap = cap;
    }
    g->items[g->count++] = *k;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct carrier *)a)->delivery_id,
                  ((const struct carrier *)b)->delivery_id);
}

json_t *admin_carrier_list(const struct admin_ctx *c, const char *after, int limit,
                           struct admin_err *e)
{
    struct gather g = {0};
    json_t *items = NULL, *out = NULL;
    if (after && after[0] && !rules_id_ok(after, DELIVERY_ID_SIZE - 1))
        return admin_fail(e, 400, "after is not a cursor of this list");
    if (c->store->ops->carrier_list(c->store, gather_cb, &g) != STORE_OK) {
        admin_fail(e, 500, "the store failed");
        goto out;
    }
    if (g.oom || !(items = json_array())) {
        admin_fail(e, 500, "out of memory");
        goto out;
    }
    if (g.count > 1)
        qsort(g.items, g.count, sizeof *g.items, by_id);
    size_t i = 0;
    while (i < g.count && after && after[0] && strcmp(g.items[i].delivery_id, after) <= 0)
        i++;
    const char *next = NULL;
    for (int n = 0; i < g.count; i++, n++) {
        if (n == limit) {
            next = g.items[i - 1].delivery_id;
            break;
        }
        if (json_array_append_new(items, carrier_json(&g.items[i]))) {
            admin_fail(e, 500, "out of memory");
            goto out;
        }
    }
    out = json_pack("{s:O,s:s?}", "carriers", items, "next", next);
    if (!out)
        admin_fail(e, 500, "out of memory");
out:
    json_decref(items);
    free(g.items);
    return out;
}

json_t *admin_carrier_patch(const struct admin_ctx *c, const char *delivery_id, const json_t *body,
                            struct admin_err *e)
{
    struct carrier k;
    json_t *out = NULL;
    if (!admin_body_ok(body, e))
        return NULL;
    admin_lock();
    if (!load_carrier(c, delivery_id, &k, e) || (body && !apply_fields(&k, body, false, e)))
        goto out;
    int rc = c->store->ops->carrier_update(c->store, &k);
    cache_forget_carriers();
    if (rc != STORE_OK) {
        admin_store_fail(e, rc, "carrier", delivery_id);
        goto out;
    }
    out = carrier_json(&k);
    if (!out)
        admin_fail(e, 500, "out of memory");
out:
    admin_unlock();
    return out;
}

json_t *admin_carrier_reset_key(const struct admin_ctx *c, const char *delivery_id,
                                struct admin_err *e)
{
    struct carrier k;
    char key[64];
    json_t *out = NULL;
    admin_lock();
    if (!load_carrier(c, delivery_id, &k, e))
        goto out;
    if (!new_key(&k, key)) {
        admin_fail(e, 500, "the random generator failed");
        goto out;
    }
    int rc = c->store->ops->carrier_update(c->store, &k);
    cache_forget_carriers();
    if (rc != STORE_OK) {
        admin_store_fail(e, rc, "carrier", delivery_id);
        goto out;
    }
    out = json_pack("{s:s,s:s}", "delivery_id", k.delivery_id, "carrier_key", key);
    if (!out)
        admin_fail(e, 500, "out of memory");
out:
    admin_unlock();
    return out;
}
