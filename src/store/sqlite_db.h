/* Internals of the SQLite backend: the connection pool, cached statements and transactions. */
#ifndef WB_STORE_SQLITE_DB_H
#define WB_STORE_SQLITE_DB_H

#include "store/store.h"

#include <pthread.h>
#include <sqlite3.h>

#define SQ_CACHE 96 /* more than the statements of every op together */
#define SQ_POOL 16
#define SQ_OWNED 256 /* threads with a connection of their own */

#define SQ_STORE(s) ((struct sq_store *)(s))

/* Runs body with a pooled connection c; rc is the result. */
#define WITH_CONN(s, c, rc, body)                                                                  \
    do {                                                                                           \
        struct sq_conn *c = sq_acquire(SQ_STORE(s));                                               \
        if (!c) {                                                                                  \
            rc = STORE_ERROR;                                                                      \
            break;                                                                                 \
        }                                                                                          \
        body;                                                                                      \
        sq_release(SQ_STORE(s), c);                                                                \
    } while (0)

struct sq_conn {
    sqlite3 *db;
    struct {
        const char *sql; /* a static string: the cache key is its address */
        sqlite3_stmt *stmt;
    } cache[SQ_CACHE];
    int cached;
};

struct sq_unit;

/* One of the store's threads (writer, checkpointer); each waits on a condition under the
 * store's queue_lock and ends its loop once `stopping` is set. */
struct sq_thread {
    pthread_t id;
    bool running;
    bool stopping;
};

struct sq_store {
    struct store base;
    uint64_t id; /* unique in the process, so a thread's connection is never another store's */
    char path[1024];
    struct sq_conn *owned[SQ_OWNED]; /* the threads' own connections, closed with the store */
    int owned_count;
    /* the pool of connections for reads */
    pthread_mutex_t lock;
    pthread_cond_t freed;
    struct sq_conn *idle[SQ_POOL];
    int idle_count;
    int open_count;
    /* the writer: one connection, one thread, a queue of units of work (sqlite_writer.c) */
    struct sq_conn *writer;
    struct sq_thread writer_thread;
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_ready;
    pthread_cond_t units_done;
    struct sq_unit *queue, *queue_tail;
    uint64_t batches, units;
    /* the WAL the writer syncs after each commit (-1: none, each commit syncs by itself) */
    int wal_fd;
    /* the checkpointer (sqlite_checkpoint.c) */
    struct sq_conn *checkpointer;
    struct sq_thread checkpointer_thread;
    _Atomic bool checkpoint_asked; /* read by the writer's commit hook without the lock */
    int checkpoint_frames; /* the WAL's frames when the last checkpoint was asked for (writer) */
    _Atomic bool checkpoint_catch_up;
    pthread_cond_t checkpoint_ready;
};

/* A unit of work: runs inside the writer's transaction on c; STORE_OK keeps its writes, anything
 * else undoes them (and only them). A unit may run twice, its first run undone: it sets every
 * output from scratch. It resets every statement it stepped before returning (SQLite counts a
 * statement's changes, which tell the writer whether a failed unit wrote, once it is reset). */
typedef int (*sq_unit_fn)(struct sq_conn *c, void *arg);

/* Runs run(c, arg) in the next group commit and returns its result once the commit is durable
 * (STORE_ERROR if the commit failed). Blocks the calling thread. */
int sq_write(struct sq_store *s, sq_unit_fn run, void *arg);
/* The same without waiting: then(ctx, rc) is called on the writer's thread once
 * the commit is durable (or failed). STORE_OK when queued; otherwise then is never called. run,
 * arg and ctx must stay valid until then. */
typedef void (*sq_then_fn)(void *ctx, int rc);
int sq_write_then(struct sq_store *s, sq_unit_fn run, void *arg, sq_then_fn then, void *ctx);
/* sq_write_then for a unit whose arguments (size bytes at args) are copied to live until it is
 * told: once the commit is durable (or failed), settle(copy, rc) runs if given (to release what a
 * unit that did not succeed left in its outputs), then done(ctx, rc). */
int sq_write_later(struct sq_store *s, sq_unit_fn run, const void *args, size_t size,
                   void (*settle)(void *args, int rc), void (*done)(void *ctx, int rc), void *ctx);
/* Starts loop(s) on t (logged on failure) / stops it: sets t->stopping under the queue lock,
 * signals wake and waits for the loop to end. Stopping a thread that never ran does nothing. */
int sq_thread_start(struct sq_store *s, struct sq_thread *t, void *(*loop)(void *),
                    const char *what);
void sq_thread_stop(struct sq_store *s, struct sq_thread *t, pthread_cond_t *wake);
int sq_writer_start(struct sq_store *s);
void sq_writer_stop(struct sq_store *s);
/* Starts / stops the checkpointer, which takes checkpoints over from the writer's connection. */
int sq_checkpointer_start(struct sq_store *s);
void sq_checkpointer_stop(struct sq_store *s);
/* On the writer's thread between transactions: finishes a checkpoint the checkpointer made. */
void sq_checkpoint_catch_up(struct sq_store *s);

/* The VFS connections open with (sqlite_vfs.c): the default one, with a commit's WAL frames
 * written in one call; NULL (the default VFS) if it could not be registered. */
const char *sq_vfs(void);
/* Writes out whatever db's WAL still gathers (nothing once a commit has returned, unless SQLite
 * wrote its frames in a way the VFS does not know); an SQLite code. */
int sq_vfs_flush(sqlite3 *db);
/* The VFS's files (sqlite_vfs.c: WALs; sqlite_shm.c: databases) each wrap one of the default VFS's
 * and begin with this; the sq_file_* methods pass a call on to the wrapped file as it is. */
struct sq_file {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, allocated right after the wrapper */
};
#define SQ_REAL(f) (((struct sq_file *)(f))->real)
int sq_file_lock(sqlite3_file *f, int level);
int sq_file_unlock(sqlite3_file *f, int level);
int sq_file_check_reserved(sqlite3_file *f, int *out);
int sq_file_sector_size(sqlite3_file *f);
int sq_file_device_characteristics(sqlite3_file *f);
/* The VFS's database files (sqlite_shm.c): the default VFS's, with the WAL index's locks kept in
 * this process. sq_vfs_open_db opens one into f, which has sq_vfs_db_file_size() bytes before the
 * default VFS's file. */
size_t sq_vfs_db_file_size(void);
/* Lets go of the system-level read locks the process keeps and no reader of its holds now, so that
 * other processes can checkpoint past them (sqlite_shm.c). */
void sq_vfs_let_go_of_kept_locks(void);
int sq_vfs_open_db(sqlite3_vfs *base, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags);
/* Opens a connection to s's file with the backend's settings / closes one; NULL on failure. */
struct sq_conn *sq_conn_open(struct sq_store *s);
void sq_conn_close(struct sq_conn *c);
/* Takes the calling thread's own connection, or one from the pool (opening one when none is idle);
 * NULL on failure. */
struct sq_conn *sq_acquire(struct sq_store *s);
void sq_release(struct sq_store *s, struct sq_conn *c);
/* The snapshot ops: a read transaction on the calling thread's own connection. */
void sq_snapshot_begin(struct store *s);
void sq_snapshot_end(struct store *s);
/* The cached, reset statement for a static SQL string; NULL (logged) on failure. */
sqlite3_stmt *sq_prepare(struct sq_conn *c, const char *sql);
/* Runs SQL that returns no rows; STORE_OK or STORE_ERROR (logged). */
int sq_exec(struct sq_conn *c, const char *sql);
/* Runs a static statement that returns no rows, prepared once per connection. */
int sq_run(struct sq_conn *c, const char *sql);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int sq_begin(struct sq_conn *c);
int sq_commit(struct sq_conn *c);
void sq_rollback(struct sq_conn *c);
/* Steps a statement that returns no rows: STORE_OK, STORE_CONFLICT on a constraint, STORE_ERROR. */
int sq_step_done(struct sq_conn *c, sqlite3_stmt *st);
/* Steps a statement: STORE_OK with a row, STORE_NOT_FOUND when done, STORE_ERROR. */
int sq_step_row(struct sq_conn *c, sqlite3_stmt *st);

void sq_bind_text(sqlite3_stmt *st, int idx, const char *s);
void sq_bind_int(sqlite3_stmt *st, int idx, int64_t v);
/* Binds v, or NULL when v is LIMIT_DEFAULT. */
void sq_bind_limit(sqlite3_stmt *st, int idx, int64_t v);
void sq_column_text(sqlite3_stmt *st, int col, char *dst, size_t size);
int64_t sq_column_limit(sqlite3_stmt *st, int col);

/* Adds 1 to counter (key, day) when below limit, inside the caller's transaction; STORE_LIMIT
 * otherwise. *value gets the count. */
int sq_counter_add_one(struct sq_conn *c, const char *key, int64_t day, int64_t limit,
                       int64_t *value);

/* Reads a waybill inside the caller's transaction. */
int sq_waybill_read(struct sq_conn *c, const char *waybill_id, struct waybill *w);

/* Writes the notifications a status change causes, inside the caller's transaction. */
int sq_notify_followers(struct sq_conn *c, const struct events_op *op, const struct feed_event *e,
                        const struct waybill *w);

/* The schema's migrations, applied in order at open (sqlite_schema.c). */
int sq_migrate(struct sq_conn *c);

/* The ops of each part (sqlite_apps.c, sqlite_tokens.c, sqlite_bindings.c). */
int sq_meta_get(struct store *s, const char *key, char *out, size_t size);
int sq_meta_set(struct store *s, const char *key, const char *value);
int sq_app_put(struct store *s, const struct app *a);
int sq_app_get(struct store *s, const char *appid, struct app *out);
int sq_app_update(struct store *s, const struct app *a);
int sq_app_list(struct store *s, const char *after, int limit, store_app_cb each, void *ctx);
int sq_user_put(struct store *s, const struct user *u);
int sq_user_get(struct store *s, const char *openid, struct user *out);
int sq_carrier_put(struct store *s, const struct carrier *c);
int sq_carrier_get(struct store *s, const char *delivery_id, struct carrier *out);
int sq_carrier_update(struct store *s, const struct carrier *c);
int sq_carrier_list(struct store *s, store_carrier_cb each, void *ctx);
int sq_carrier_by_key(struct store *s, const char *key_hash, struct carrier *out);
int sq_token_issue(struct store *s, const struct token_rec *t, int64_t grace_until);
int sq_token_get(struct store *s, const char *hash, struct token_rec *out);
int sq_stable_get(struct store *s, const char *appid, struct stable_rec *out);
int sq_stable_rotate(struct store *s, const struct stable_rec *r, const char *expected_nonce,
                     const struct token_rec *t, int64_t grace_until);
int sq_counter_take(struct store *s, const char *key, int64_t day, int64_t limit, int64_t *value);
int sq_counter_get(struct store *s, const char *key, int64_t day, int64_t *value);
int sq_counter_reserve(struct store *s, const char *key, int64_t day, int64_t limit, int64_t want,
                       int64_t *granted);
int sq_counter_release(struct store *s, const char *key, int64_t day, int64_t n);
int sq_waybill_get(struct store *s, const char *waybill_id, struct waybill *out);
int sq_waybill_trace(struct store *s, const char *waybill_id, store_event_cb each, void *ctx);
int sq_waybill_binding_count(struct store *s, const char *waybill_id, int64_t *count);
int sq_events_apply(struct store *s, const struct events_op *op, struct event_result *results);
int sq_events_apply_then(struct store *s, const struct events_op *op, struct event_result *results,
                         void (*done)(void *ctx, int rc), void *ctx);
int sq_scripts_due(struct store *s, int64_t now, store_script_cb each, void *ctx);
int sq_script_next(struct store *s, const char *waybill_id, int64_t next_at);
int sq_notices_list(struct store *s, const struct notice_filter *f,
                    const struct notice_cursor *before, int limit, store_notice_cb each, void *ctx);
int sq_notice_get(struct store *s, const char *id, struct notice *out);
int sq_notice_redeliver(struct store *s, const char *id, int64_t now);
int sq_outbox_claim(struct store *s, const char *owner, int64_t now, int64_t system_now,
                    int64_t lease_until, int limit, store_notice_cb each, void *ctx);
int sq_outbox_settle(struct store *s, const struct notice_outcome *o);
int sq_outbox_release(struct store *s);
int sq_notice_counts(struct store *s, int64_t counts[3]);
int sq_purge(struct store *s, int64_t now, int64_t purge_s, int64_t *count);
int sq_bind(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
            struct binding *out, bool *created);
int sq_bind_then(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
                 struct binding *out, bool *created, void (*done)(void *ctx, int rc), void *ctx);
int sq_binding_by_token(struct store *s, const struct waybill_token_ref *ref, struct binding *out);
int sq_binding_update_goods(struct store *s, int64_t binding_id, const char *goods_json,
                            int64_t max_updates);
int sq_binding_update_goods_then(struct store *s, int64_t binding_id, const char *goods_json,
                                 int64_t max_updates, void (*done)(void *ctx, int rc), void *ctx);

#endif
