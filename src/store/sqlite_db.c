/* The SQLite backend's plumbing: a pool of WAL connections with cached prepared statements. */
#include "store/sqlite_db.h"

#include "base/log.h"

#include <stdlib.h>
#include <string.h>

static sqlite3 *open_db(const char *path)
{
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db, flags, sq_vfs()) != SQLITE_OK) {
        log_msg("error", "sqlite: cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "no memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    /* cache_size: up to 4 MiB of pages per connection, the hot part of a large store (a page
     * that misses it costs a read system call); the connections are the worker threads', the
     * writer's and a few more */
    /* synchronous=FULL: a commit that returned is on disk, also across power loss */
    if (sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                     " PRAGMA temp_store=MEMORY; PRAGMA cache_size=-4096;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        log_msg("error", "sqlite: %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

struct sq_conn *sq_conn_open(struct sq_store *s)
{
    struct sq_conn *c = calloc(1, sizeof *c);
    if (c)
        c->db = open_db(s->path);
    if (c && c->db)
        return c;
    free(c);
    return NULL;
}

void sq_conn_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->cached; i++)
        sqlite3_finalize(c->cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

/* Each thread reads through a connection of its own, so reads take no shared lock; a nested
 * acquire, or one past SQ_OWNED threads, falls back to the pool. */
static _Thread_local struct {
    uint64_t store_id;
    struct sq_conn *conn;
    bool busy;
    bool snapshot; /* conn is in a read transaction that sq_snapshot_end ends */
} mine;

static struct sq_conn *own_connection(struct sq_store *s)
{
    if (mine.store_id == s->id && mine.conn) {
        if (mine.busy)
            return NULL;
        mine.busy = true;
        return mine.conn;
    }
    if (mine.snapshot) /* the thread's connection is another store's, in a snapshot */
        return NULL;
    pthread_mutex_lock(&s->lock);
    bool room = s->owned_count < SQ_OWNED;
    if (room)
        s->owned_count++;
    pthread_mutex_unlock(&s->lock);
    struct sq_conn *c = room ? sq_conn_open(s) : NULL;
    if (!c) {
        if (room) {
            pthread_mutex_lock(&s->lock);
            s->owned_count--;
            pthread_mutex_unlock(&s->lock);
        }
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < SQ_OWNED; i++)
        if (!s->owned[i]) {
            s->owned[i] = c;
            break;
        }
    pthread_mutex_unlock(&s->lock);
    mine.store_id = s->id;
    mine.conn = c;
    mine.busy = true;
    return c;
}

struct sq_conn *sq_acquire(struct sq_store *s)
{
    struct sq_conn *c = own_connection(s);
    if (c)
        return c;
    pthread_mutex_lock(&s->lock);
    while (s->idle_count == 0 && s->open_count >= SQ_POOL)
        pthread_cond_wait(&s->freed, &s->lock);
    if (s->idle_count > 0) {
        c = s->idle[--s->idle_count];
        pthread_mutex_unlock(&s->lock);
        return c;
    }
    s->open_count++;
    pthread_mutex_unlock(&s->lock);
    c = sq_conn_open(s);
    if (!c) {
        pthread_mutex_lock(&s->lock);
        s->open_count--;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
    }
    return c;
}

void sq_release(struct sq_store *s, struct sq_conn *c)
{
    if (!c)
        return;
    if (c == mine.conn && mine.store_id == s->id) {
        mine.busy = false;
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->idle[s->idle_count++] = c;
    pthread_cond_signal(&s->freed);
    pthread_mutex_unlock(&s->lock);
}

void sq_snapshot_begin(struct store *s)
{
    if (mine.snapshot) /* already in one (of this store or another): reads keep to it */
        return;
    struct sq_conn *c = own_connection(SQ_STORE(s));
    if (!c) /* none of its own (or already in use): each read takes its own snapshot */
        return;
    mine.snapshot = sq_run(c, "BEGIN") == STORE_OK;
    mine.busy = false;
}

void sq_snapshot_end(struct store *s)
{
    if (mine.snapshot && mine.store_id == SQ_STORE(s)->id) {
        mine.snapshot = false;
        sq_run(mine.conn, "COMMIT");
    }
}

sqlite3_stmt *sq_prepare(struct sq_conn *c, const char *sql)
{
    for (int i = 0; i < c->cached; i++) {
        if (c->cache[i].sql == sql) {
            sqlite3_stmt *st = c->cache[i].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_msg("error", "sqlite: prepare: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    if (c->cached < SQ_CACHE) {
        c->cache[c->cached].sql = sql;
        c->cache[c->cached].stmt = st;
        c->cached++;
    } else {
        log_msg("warn", "sqlite: statement cache full");
    }
    return st;
}

int sq_exec(struct sq_conn *c, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_msg("error", "sqlite: %s", err ? err : sqlite3_errmsg(c->db));
        sqlite3_free(err);
        return STORE_ERROR;
    }
    return STORE_OK;
}

int sq_run(struct sq_conn *c, const char *sql)
{
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_begin(struct sq_conn *c)
{
    return sq_run(c, "BEGIN IMMEDIATE");
}

int sq_commit(struct sq_conn *c)
{
    return sq_run(c, "COMMIT");
}

void sq_rollback(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int sq_step_done(struct sq_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return STORE_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return STORE_CONFLICT;
    log_msg("error", "sqlite: step: %s", sqlite3_errmsg(c->db));
    return STORE_ERROR;
}

int sq_step_row(struct sq_conn *c, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return STORE_OK;
    if (rc == SQLITE_DONE)
        return STORE_NOT_FOUND;
    log_msg("error", "sqlite: step: %s", sqlite3_errmsg(c->db));
    return STORE_ERROR;
}

void sq_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
    sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

void sq_bind_int(sqlite3_stmt *st, int idx, int64_t v)
{
    sqlite3_bind_int64(st, idx, v);
}

void sq_bind_limit(sqlite3_stmt *st, int idx, int64_t v)
{
    if (v == LIMIT_DEFAULT)
        sqlite3_bind_null(st, idx);
    else
        sqlite3_bind_int64(st, idx, v);
}

void sq_column_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, t, n);
    dst[n] = '\0';
}

int64_t sq_column_limit(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return LIMIT_DEFAULT;
    return sqlite3_column_int64(st, col);
}
