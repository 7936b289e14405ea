/* Internals of the PostgreSQL backend: the connection pool, prepared statements, parameters,
 * results, and units of work that run again after a deadlock or a serialization failure. */
#ifndef WB_STORE_PG_DB_H
#define WB_STORE_PG_DB_H

#include "store/store.h"

#include <libpq-fe.h>
#include <pthread.h>

#define PG_POOL 16       /* connections per process at most */
#define PG_CACHE 64      /* prepared statements per connection */
#define PG_MAX_PARAMS 24 /* parameters of one statement */
#define PG_ATTEMPTS 8    /* runs of a unit of work that deadlocked or lost its connection */

/* Not a store_rc: the statement failed in a way that undoes the transaction (a deadlock, a
 * serialization failure, a lost connection), and running the whole unit again is safe. Units see
 * it; pg_unit turns it into another run, or STORE_ERROR after PG_ATTEMPTS. */
#define PG_RETRY (-2)

/* The first key of the advisory locks this backend takes: "WBLD". */
#define PG_LOCK_CLASS 1464028228
/* The second key of the lock that serialises migrations (liveness keys are never 0 or 1). */
#define PG_LOCK_MIGRATE 1

#define PG_STORE(s) ((struct pg_store *)(s))

struct pg_conn {
    PGconn *db;
    struct {
        const char *sql; /* a static string: the cache key is its address */
        char name[16];
    } cache[PG_CACHE];
    int cached;
    bool broken; /* the connection was lost: it is closed, not pooled, at release */
};

struct pg_store {
    struct store base;
    char *url;
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct pg_conn *idle[PG_POOL];
    int idle_count;
    int open_count;
    /* Liveness: a session of its own holds the advisory lock (PG_LOCK_CLASS, live_key) while this
     * process lives; the leases it takes carry live_key, so that other processes see at once that
     * a lease's holder died (its session ended) instead of waiting for the lease to lapse.
     * live_key is 0 where the engine takes no advisory locks: leases then only lapse. */
    pthread_mutex_t live_lock;
    PGconn *live;
    int live_key;
    int64_t live_checked_us;
    bool live_unsupported;
};

/* A statement's parameters, $1, $2, … in the order they are added; text values are borrowed. */
struct pg_params {
    const char *values[PG_MAX_PARAMS];
    char numbers[PG_MAX_PARAMS][24];
    int count;
};

void pg_param_text(struct pg_params *p, const char *s); /* NULL: SQL NULL */
void pg_param_int(struct pg_params *p, int64_t v);
/* v, or NULL when v is LIMIT_DEFAULT. */
void pg_param_limit(struct pg_params *p, int64_t v);

/* Opens a connection to url with this backend's settings; NULL (logged) on failure. */
PGconn *pg_connect(const char *url, const char *application_name);

/* Takes a connection from the pool (opening one when none is idle); NULL on failure. */
struct pg_conn *pg_acquire(struct pg_store *s);
/* Gives it back, or closes it when it was lost or is inside a transaction. */
void pg_release(struct pg_store *s, struct pg_conn *c);

/* Runs the static SQL string sql as a prepared statement on c. STORE_OK with *res (the caller's
 * to PQclear) when it succeeded, whatever the number of rows; STORE_CONFLICT for a constraint;
 * PG_RETRY as above; STORE_ERROR (logged). *res is NULL unless STORE_OK. */
int pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, PGresult **res);
/* pg_run for statements whose rows do not matter; *changed (may be NULL) gets the rows they
 * touched. */
int pg_run_cmd(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *changed);
/* Runs SQL text without parameters (several statements allowed); codes as pg_run. */
int pg_exec(struct pg_conn *c, const char *sql);

/* One statement on a pooled connection, outside any transaction: pg_run's codes, except that a
 * lost connection fails as STORE_ERROR; a SELECT that lost an idle connection runs once more on
 * a fresh one. */
int pg_once(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res);
int pg_once_cmd(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *changed);

/* A unit of work: runs inside a transaction on c; STORE_OK commits it, anything else rolls it
 * back. It may run more than once (after PG_RETRY), so it must reset what it reports. */
typedef int (*pg_unit_fn)(struct pg_conn *c, void *arg);
/* Runs fn(c, arg) in one transaction, again (on a fresh connection if it was lost) while it
 * answers PG_RETRY, up to PG_ATTEMPTS times. Returns fn's result, STORE_ERROR when the commit
 * failed, or STORE_ERROR after the last attempt. */
int pg_unit(struct pg_store *s, pg_unit_fn fn, void *arg);

/* Column values of row of r. */
void pg_get_text(const PGresult *r, int row, int col, char *dst, size_t size);
int64_t pg_get_int(const PGresult *r, int row, int col);
int64_t pg_get_limit(const PGresult *r, int row, int col); /* NULL: LIMIT_DEFAULT */

/* The schema's migrations, applied in order at open under an advisory lock (pg_schema.c). */
int pg_migrate(struct pg_store *s);

/* Takes (or checks, at most every few seconds) this process's liveness lock; returns live_key,
 * or 0 when there is none (pg.c). */
int pg_live_key(struct pg_store *s);

/* Reads a waybill inside the caller's transaction; with lock, it is locked until its end. */
int pg_waybill_read(struct pg_conn *c, const char *waybill_id, bool lock, struct waybill *w);

/* Writes the notifications a status change causes, inside the caller's transaction. */
int pg_notify_followers(struct pg_conn *c, const struct events_op *op, const struct feed_event *e,
                        const struct waybill *w);

/* Adds 1 to counter (key, day) when below limit, inside the caller's transaction; STORE_LIMIT
 * otherwise. *value gets the count. */
int pg_counter_add_one(struct pg_conn *c, const char *key, int64_t day, int64_t limit,
                       int64_t *value);

/* The ops of each part (pg_apps.c, pg_tokens.c, pg_bindings.c, pg_events.c, pg_notices.c). */
int pg_meta_get(struct store *s, const char *key, char *out, size_t size);
int pg_meta_set(struct store *s, const char *key, const char *value);
int pg_app_put(struct store *s, const struct app *a);
int pg_app_get(struct store *s, const char *appid, struct app *out);
int pg_app_update(struct store *s, const struct app *a);
int pg_app_list(struct store *s, const char *after, int limit, store_app_cb each, void *ctx);
int pg_user_put(struct store *s, const struct user *u);
int pg_user_get(struct store *s, const char *openid, struct user *out);
int pg_carrier_put(struct store *s, const struct carrier *c);
int pg_carrier_get(struct store *s, const char *delivery_id, struct carrier *out);
int pg_carrier_update(struct store *s, const struct carrier *c);
int pg_carrier_list(struct store *s, store_carrier_cb each, void *ctx);
int pg_carrier_by_key(struct store *s, const char *key_hash, struct carrier *out);
int pg_token_issue(struct store *s, const struct token_rec *t, int64_t grace_until);
int pg_token_get(struct store *s, const char *hash, struct token_rec *out);
int pg_stable_get(struct store *s, const char *appid, struct stable_rec *out);
int pg_stable_rotate(struct store *s, const struct stable_rec *r, const char *expected_nonce,
                     const struct token_rec *t, int64_t grace_until);
int pg_counter_take(struct store *s, const char *key, int64_t day, int64_t limit, int64_t *value);
int pg_counter_get(struct store *s, const char *key, int64_t day, int64_t *value);
int pg_counter_reserve(struct store *s, const char *key, int64_t day, int64_t limit, int64_t want,
                       int64_t *granted);
int pg_counter_release(struct store *s, const char *key, int64_t day, int64_t n);
int pg_waybill_get(struct store *s, const char *waybill_id, struct waybill *out);
int pg_waybill_trace(struct store *s, const char *waybill_id, store_event_cb each, void *ctx);
int pg_waybill_binding_count(struct store *s, const char *waybill_id, int64_t *count);
int pg_events_apply(struct store *s, const struct events_op *op, struct event_result *results);
int pg_scripts_due(struct store *s, int64_t now, store_script_cb each, void *ctx);
int pg_script_next(struct store *s, const char *waybill_id, int64_t next_at);
int pg_notices_list(struct store *s, const struct notice_filter *f,
                    const struct notice_cursor *before, int limit, store_notice_cb each, void *ctx);
int pg_notice_get(struct store *s, const char *id, struct notice *out);
int pg_notice_redeliver(struct store *s, const char *id, int64_t now);
int pg_outbox_claim(struct store *s, const char *owner, int64_t now, int64_t system_now,
                    int64_t lease_until, int limit, store_notice_cb each, void *ctx);
int pg_outbox_settle(struct store *s, const struct notice_outcome *o);
int pg_outbox_release(struct store *s);
int pg_notice_counts(struct store *s, int64_t counts[3]);
int pg_purge(struct store *s, int64_t now, int64_t purge_s, int64_t *count);
int pg_bind(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
            struct binding *out, bool *created);
int pg_binding_by_token(struct store *s, const struct waybill_token_ref *ref,
                        struct binding *out);
int pg_binding_update_goods(struct store *s, int64_t binding_id, const char *goods_json,
                            int64_t max_updates);

#endif
