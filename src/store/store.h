/* The store: every read and write of persistent state goes through this one ops table.
 *
 * Each write operation is one unit of work — it runs in one transaction and is durable when it
 * returns STORE_OK — so that a backend may gather the units of concurrent callers into one commit
 * (group commit) without the callers changing. All functions are safe to call from any thread. */
#ifndef WB_STORE_STORE_H
#define WB_STORE_STORE_H

#include "domain/lifetime.h"
#include "domain/model.h"

#include <stddef.h>
#include <stdint.h>

enum store_rc {
    STORE_OK = 0,
    STORE_NOT_FOUND = 1, /* no such record */
    STORE_CONFLICT = 2,  /* a record with that key exists already */
    STORE_LIMIT = 3,     /* a limit checked inside the unit of work was reached */
    STORE_ERROR = -1,    /* the store failed (logged); the reply is errcode -1 */
};

enum token_kind { TOKEN_PLAIN = 0, TOKEN_STABLE = 1 };

/* An access token as stored: its hash, never the token. */
struct token_rec {
    char hash[HASH_SIZE];
    char appid[APPID_SIZE];
    enum token_kind kind;
    int64_t issued_at;
    int64_t expires_at;
    int64_t valid_until; /* superseded tokens stop before they expire */
};

/* The state of an app's stable token (SPEC §3); the token derives from nonce and the hash key. */
struct stable_rec {
    char appid[APPID_SIZE];
    char nonce[HASH_SIZE];
    int64_t issued_at;
    int64_t expires_at;
    int64_t force_day;   /* the day force_count counts */
    int64_t force_count; /* force refreshes on force_day */
    int64_t last_force_at;
};

/* A follow/trace as one unit of work: return the live binding of (appid, openid, waybill_id,
 * family), or create one, unless max_bindings valid ones exist (STORE_LIMIT). */
struct bind_op {
    struct binding binding; /* the new binding; goods_json borrowed */
    int64_t now;
    int64_t max_bindings; /* < 0: no cap */
    struct lifetime_config lifetime;
};

/* A page of a list: items after the cursor `after` ("" for the first page), at most limit. */
typedef int (*store_app_cb)(void *ctx, const struct app *a);
typedef int (*store_carrier_cb)(void *ctx, const struct carrier *c);

struct store;

struct store_ops {
    const char *name;
    void (*close)(struct store *s);
    /* STORE_OK when the store answers. */
    int (*ping)(struct store *s);

    /* Small named settings shared by every process (e.g. the sandbox clock offset). */
    int (*meta_get)(struct store *s, const char *key, char *out, size_t size);
    int (*meta_set)(struct store *s, const char *key, const char *value);

    int (*app_put)(struct store *s, const struct app *a);
    int (*app_get)(struct store *s, const char *appid, struct app *out);
    int (*app_update)(struct store *s, const struct app *a);
    int (*app_list)(struct store *s, const char *after, int limit, store_app_cb each, void *ctx);

    /* openids are unique across apps: a user belongs to one app. */
    int (*user_put)(struct store *s, const struct user *u);
    int (*user_get)(struct store *s, const char *openid, struct user *out);

    int (*carrier_put)(struct store *s, const struct carrier *c);
    int (*carrier_get)(struct store *s, const char *delivery_id, struct carrier *out);
    int (*carrier_update)(struct store *s, const struct carrier *c);
    int (*carrier_list)(struct store *s, store_carrier_cb each, void *ctx);

    /* Stores a new token and ends older ones of (appid, kind): the one issued just before keeps
     * valid_until = grace_until, older ones end at t->issued_at. */
    int (*token_issue)(struct store *s, const struct token_rec *t, int64_t grace_until);
    int (*token_get)(struct store *s, const char *hash, struct token_rec *out);
    int (*stable_get)(struct store *s, const char *appid, struct stable_rec *out);
    int (*stable_put)(struct store *s, const struct stable_rec *r);

    /* Adds 1 to counter (key, day) when it is below limit, atomically; STORE_LIMIT otherwise.
     * *value gets the count after the call. */
    int (*counter_take)(struct store *s, const char *key, int64_t day, int64_t limit,
                        int64_t *value);
    int (*counter_get)(struct store *s, const char *key, int64_t day, int64_t *value);

    int (*waybill_get)(struct store *s, const char *waybill_id, struct waybill *out);

    /* *created tells whether out is new; out->goods_json is the caller's to free. */
    int (*bind)(struct store *s, const struct bind_op *op, struct binding *out, bool *created);
    int (*binding_by_token)(struct store *s, const char *token_hash, struct binding *out);
    /* Replaces the goods when updates < max_updates and counts the update; STORE_LIMIT otherwise.
     */
    int (*binding_update_goods)(struct store *s, int64_t binding_id, const char *goods_json,
                                int64_t max_updates);
};

struct store {
    const struct store_ops *ops;
};

/* Opens the store named by url: a SQLite file path, or "postgresql://…" (later). Creates or
 * migrates the schema. NULL (after logging why) on failure. */
struct store *store_open(const char *url);

#endif
