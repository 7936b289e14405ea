/* The store: every read and write of persistent state goes through this one ops table.
 *
 * Each write operation is one unit of work — it runs in one transaction and is durable when it
 * returns STORE_OK — so that a backend may gather the units of concurrent callers into one commit
 * (group commit) without the callers changing. All functions are safe to call from any thread. */
#ifndef WB_STORE_STORE_H
#define WB_STORE_STORE_H

#include "domain/feed.h"
#include "domain/lifetime.h"
#include "domain/model.h"
#include "domain/tokens.h"

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

/* A follow/trace as one unit of work, in the order of SPEC §2.1: the user (a user of the app; in
 * the sandbox an unknown openid becomes one), count the call against the user's daily quota, then —
 * unless an earlier check already refused the call — return the live binding of (appid, openid,
 * waybill_id, family) or create one, unless max_bindings valid ones exist. */
enum bind_outcome {
    BIND_DONE = 0,       /* out holds the binding (created or found) */
    BIND_USER_QUOTA = 1, /* the user's daily quota was used up; nothing changed */
    BIND_COUNTED = 2,    /* counted; the caller refuses the call for its own reason */
    BIND_CAP = 3,        /* counted; max_bindings valid bindings exist */
    BIND_NO_USER = 4,    /* the openid is no user (and was not to become one); nothing changed */
    BIND_OTHER_APP = 5,  /* the openid is a user of another app; nothing changed */
};

struct bind_op {
    struct binding binding; /* the new binding; goods_json borrowed */
    int64_t now;
    bool register_unknown; /* an unknown openid becomes a user of the app (the sandbox) */
    const char *quota_key; /* the user's daily counter (SQLite counts in the user's row) */
    int64_t quota_day;
    int64_t quota_limit;
    bool count_only;      /* a later check refused the call: count it, bind nothing */
    int64_t max_bindings; /* < 0: no cap */
    struct lifetime_config lifetime;
    int64_t script_next_at; /* sandbox test waybills: the script's first delivery, else 0; the
                               script starts at now unless the waybill's has started already */
};

/* Carrier events as one unit of work (SPEC §5.3): each is a duplicate (its carrier reported its
 * event_id before), rejected (the waybill belongs to another carrier), or accepted: stored, folded
 * into its waybill's status, its phone tail checked against the bindings, their expiry moved. */
enum event_outcome { EVENT_ACCEPTED = 0, EVENT_DUPLICATE = 1, EVENT_REJECTED = 2 };

struct event_result {
    enum event_outcome outcome;
    char reason[128]; /* for rejected events */
};

struct events_op {
    const struct feed_event *events; /* each with its carrier set */
    size_t count;
    int64_t now;
    struct lifetime_config lifetime;
    bool notify_abnormal;
    int64_t *notices; /* out: how many notifications the unit of work wrote */
};

/* Which notifications a list shows: NULL / -1 for any. */
struct notice_filter {
    const char *appid;
    const char *openid;
    int state;
};

/* How a delivery attempt ended: the state, attempts, next attempt and error to store. */
struct notice_outcome {
    const char *id;
    enum notice_state state;
    int attempts;
    int64_t next_attempt_at;
    int64_t delivered_at;
    const char *error;
};

/* Where a page of notifications ends: the last one's created_at and seq. */
struct notice_cursor {
    int64_t created_at;
    int64_t seq;
};

typedef int (*store_notice_cb)(void *ctx, const struct notice *n);

typedef int (*store_event_cb)(void *ctx, const struct feed_event *e);
typedef int (*store_script_cb)(void *ctx, const char *waybill_id, int64_t start);

/* A page of a list: items after the cursor `after` ("" for the first page), at most limit. */
typedef int (*store_app_cb)(void *ctx, const struct app *a);
typedef int (*store_carrier_cb)(void *ctx, const struct carrier *c);

struct store;

struct store_ops {
    const char *name;
    /* One process owns the store (SQLite): leases left by a killed process can be ended at start.
     */
    bool exclusive;
    void (*close)(struct store *s);
    /* STORE_OK when the store answers. */
    int (*ping)(struct store *s);
    /* Optional: the calling thread's reads between snapshot_begin and snapshot_end see one
     * snapshot, in one read transaction (cheaper than one per read). Only for reads that need not
     * see a write made in between. */
    void (*snapshot_begin)(struct store *s);
    void (*snapshot_end)(struct store *s);

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
    /* The carrier whose feed key hashes to key_hash. */
    int (*carrier_by_key)(struct store *s, const char *key_hash, struct carrier *out);

    /* Stores a new token and ends older ones of (appid, kind): the one issued just before keeps
     * valid_until = grace_until, older ones end at t->issued_at. */
    int (*token_issue)(struct store *s, const struct token_rec *t, int64_t grace_until);
    int (*token_get)(struct store *s, const char *hash, struct token_rec *out);
    int (*stable_get)(struct store *s, const char *appid, struct stable_rec *out);
    /* Makes r the app's stable-token state and t its stable token in one unit of work, provided
     * the stored nonce is still expected_nonce ("" when there is none yet); STORE_CONFLICT when
     * another process rotated first. The token before t stays valid until grace_until. */
    int (*stable_rotate)(struct store *s, const struct stable_rec *r, const char *expected_nonce,
                         const struct token_rec *t, int64_t grace_until);

    /* Adds 1 to counter (key, day) when it is below limit, atomically; STORE_LIMIT otherwise.
     * *value gets the count after the call. */
    int (*counter_take)(struct store *s, const char *key, int64_t day, int64_t limit,
                        int64_t *value);
    int (*counter_get)(struct store *s, const char *key, int64_t day, int64_t *value);
    /* Reserves up to want calls of counter (key, day) below limit, atomically: *granted gets how
     * many (at least 1, fewer as the limit nears, so that processes share the rest fairly), or
     * STORE_LIMIT when none are left. */
    int (*counter_reserve)(struct store *s, const char *key, int64_t day, int64_t limit,
                           int64_t want, int64_t *granted);
    /* Gives back n reserved calls that were not used. */
    int (*counter_release)(struct store *s, const char *key, int64_t day, int64_t n);

    int (*waybill_get)(struct store *s, const char *waybill_id, struct waybill *out);
    /* The waybill's events, oldest first (action_time, then arrival). */
    int (*waybill_trace)(struct store *s, const char *waybill_id, store_event_cb each, void *ctx);
    int (*waybill_binding_count)(struct store *s, const char *waybill_id, int64_t *count);
    /* results has op->count entries. */
    int (*events_apply)(struct store *s, const struct events_op *op, struct event_result *results);
    /* Optional: the same without waiting, like bind_then; op and results must stay valid until
     * done. */
    int (*events_apply_then)(struct store *s, const struct events_op *op,
                             struct event_result *results, void (*done)(void *ctx, int rc),
                             void *ctx);

    /* Notifications, newest first (by created_at, then creation order), after the cursor
     * before (NULL for the first page). */
    int (*notices_list)(struct store *s, const struct notice_filter *f,
                        const struct notice_cursor *before, int limit, store_notice_cb each,
                        void *ctx);
    int (*notice_get)(struct store *s, const char *id, struct notice *out);
    /* Queues a delivered or dead notification again (attempts from 0); STORE_CONFLICT when it
     * is pending. */
    int (*notice_redeliver)(struct store *s, const char *id, int64_t now);
    /* Claims up to limit pending notifications due by now whose lease has lapsed (lease times on
     * the system clock): each is leased to owner until lease_until and handed to each, with the
     * app's push_url and push_secret and the binding's token nonce. */
    int (*outbox_claim)(struct store *s, const char *owner, int64_t now, int64_t system_now,
                        int64_t lease_until, int limit, store_notice_cb each, void *ctx);
    /* Records an attempt's outcome and ends the lease. */
    int (*outbox_settle)(struct store *s, const struct notice_outcome *o);
    /* Ends every lease (a single process owning its store, at start). */
    int (*outbox_release)(struct store *s);
    /* counts[state] = notifications in that state. */
    int (*notice_counts)(struct store *s, int64_t counts[3]);

    /* Sandbox scripts with a delivery due by now, and moving a script's next delivery (0: done). */
    int (*scripts_due)(struct store *s, int64_t now, store_script_cb each, void *ctx);
    int (*script_next)(struct store *s, const char *waybill_id, int64_t next_at);

    /* Purges bindings expired for purge_s by now: their goods, phones and trans_id are erased and
     * their token answers 9300559 from then on. *count gets how many. Also forgets access tokens
     * a day past expiry. */
    int (*purge)(struct store *s, int64_t now, int64_t purge_s, int64_t *count);

    /* *outcome says what happened; with BIND_DONE, *created whether out is new, and
     * out->goods_json is the caller's to free. */
    int (*bind)(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
                struct binding *out, bool *created);
    /* bind without waiting, where the backend can (NULL where it cannot): done(ctx, rc) is called
     * on another thread once the unit of work is durable, with bind's codes; op, outcome, out and
     * created must stay valid until then. STORE_OK when started; otherwise done is never called. */
    int (*bind_then)(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
                     struct binding *out, bool *created, void (*done)(void *ctx, int rc),
                     void *ctx);
    /* The binding a waybill token names (tokens_waybill_open): by id (the caller proves the token
     * against its nonce), or by a token from before tokens named bindings, by its hash. */
    int (*binding_by_token)(struct store *s, const struct waybill_token_ref *ref,
                            struct binding *out);
    /* Replaces the goods when updates < max_updates and counts the update; STORE_LIMIT otherwise.
     */
    int (*binding_update_goods)(struct store *s, int64_t binding_id, const char *goods_json,
                                int64_t max_updates);
    /* Optional: the same without waiting, like bind_then; goods_json must stay valid until done. */
    int (*binding_update_goods_then)(struct store *s, int64_t binding_id, const char *goods_json,
                                     int64_t max_updates, void (*done)(void *ctx, int rc),
                                     void *ctx);
};

struct store {
    const struct store_ops *ops;
};

/* Opens the store named by url: a SQLite file path, or "postgresql://…" (later). Creates or
 * migrates the schema. NULL (after logging why) on failure. */
struct store *store_open(const char *url);

/* The snapshot ops where the store has them (a no-op otherwise). */
static inline void store_snapshot_begin(struct store *s)
{
    if (s->ops->snapshot_begin)
        s->ops->snapshot_begin(s);
}

static inline void store_snapshot_end(struct store *s)
{
    if (s->ops->snapshot_end)
        s->ops->snapshot_end(s);
}

#endif
