/* The PostgreSQL backend's plumbing: a pool of connections with prepared statements, and units of
 * work that run again after a deadlock, a serialization failure or a lost connection. */
#include "store/pg_db.h"

#include "base/log.h"
#include "base/rand.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The first line of a libpq message: a log line is one line. */
static int msg_len(const char *m)
{
    size_t n = m ? strcspn(m, "\n") : 0;
    while (n > 0 && m[n - 1] == ' ')
        n--;
    return (int)(n > 4000 ? 4000 : n);
}

/* The server's notices ("relation … already exists, skipping") are not the service's news. */
static void quiet_notice_cb(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *pg_connect(const char *url, const char *application_name)
{
    /* the URL may override the timeout and the name, not the encoding (the store speaks UTF-8) */
    const char *keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                          "client_encoding", NULL};
    const char *values[] = {"10", application_name, url, "UTF8", NULL};
    PGconn *db = PQconnectdbParams(keys, values, 1);
    if (!db || PQstatus(db) != CONNECTION_OK) {
        const char *m = db ? PQerrorMessage(db) : "out of memory";
        log_msg("error", "postgresql: cannot connect: %.*s", msg_len(m), m);
        PQfinish(db);
        return NULL;
    }
    PQsetNoticeProcessor(db, quiet_notice_cb, NULL);
    return db;
}

static void conn_free(struct pg_conn *c)
{
    if (!c)
        return;
    PQfinish(c->db);
    free(c);
}

struct pg_conn *pg_acquire(struct pg_store *s)
{
    pthread_mutex_lock(&s->lock);
    while (s->idle_count == 0 && s->open_count >= PG_POOL)
        pthread_cond_wait(&s->freed, &s->lock);
    if (s->idle_count > 0) {
        struct pg_conn *c = s->idle[--s->idle_count];
        pthread_mutex_unlock(&s->lock);
        return c;
    }
    s->open_count++;
    pthread_mutex_unlock(&s->lock);
    struct pg_conn *c = calloc(1, sizeof *c);
    if (c)
        c->db = pg_connect(s->url, "waybilld");
    if (!c || !c->db) {
        free(c);
        pthread_mutex_lock(&s->lock);
        s->open_count--;
        pthread_cond_signal(&s->freed);
        pthread_mutex_unlock(&s->lock);
        return NULL;
    }
    return c;
}

void pg_release(struct pg_store *s, struct pg_conn *c)
{
    if (!c)
        return;
    bool keep = !c->broken && PQstatus(c->db) == CONNECTION_OK &&
                PQtransactionStatus(c->db) == PQTRANS_IDLE;
    struct pg_conn *stale[PG_POOL];
    int nstale = 0;
    pthread_mutex_lock(&s->lock);
    if (keep) {
        s->idle[s->idle_count++] = c;
    } else {
        /* the server went away or restarted: the idle ones are most likely gone too */
        s->open_count--;
        if (c->broken) {
            nstale = s->idle_count;
            memcpy(stale, s->idle, (size_t)nstale * sizeof stale[0]);
            s->idle_count = 0;
            s->open_count -= nstale;
        }
    }
    pthread_cond_broadcast(&s->freed);
    pthread_mutex_unlock(&s->lock);
    if (!keep)
        conn_free(c);
    for (int i = 0; i < nstale; i++)
        conn_free(stale[i]);
}

void pg_param_text(struct pg_params *p, const char *s)
{
    if (p->count < PG_MAX_PARAMS)
        p->values[p->count] = s;
    p->count++;
}

void pg_param_int(struct pg_params *p, int64_t v)
{
    if (p->count < PG_MAX_PARAMS) {
        snprintf(p->numbers[p->count], sizeof p->numbers[0], "%" PRId64, v);
        p->values[p->count] = p->numbers[p->count];
    }
    p->count++;
}

void pg_param_limit(struct pg_params *p, int64_t v)
{
    if (v == LIMIT_DEFAULT)
        pg_param_text(p, NULL);
    else
        pg_param_int(p, v);
}

static bool lost_state(const char *state)
{
    /* connection exceptions, and the server shutting down or restarting under us */
    return strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 ||
           strcmp(state, "57P02") == 0 || strcmp(state, "57P03") == 0;
}

/* What a result means: STORE_OK, STORE_CONFLICT, PG_RETRY or STORE_ERROR (logged). */
static int classify(struct pg_conn *c, const PGresult *r)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return STORE_OK;
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *m = r ? PQresultErrorMessage(r) : "";
    if (!m || !*m)
        m = PQerrorMessage(c->db);
    if (PQstatus(c->db) != CONNECTION_OK || (state && lost_state(state))) {
        c->broken = true;
        log_msg("warn", "postgresql: connection lost: %.*s", msg_len(m), m);
        return PG_RETRY;
    }
    if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        return PG_RETRY; /* the transaction was undone: run it again */
    if (state && strncmp(state, "23", 2) == 0)
        return STORE_CONFLICT;
    log_msg("error", "postgresql: %.*s", msg_len(m), m);
    return STORE_ERROR;
}

/* The name of sql's prepared statement on c, preparing it on first use; NULL (with *rc set when
 * preparing failed) to run it unnamed. */
static const char *statement(struct pg_conn *c, const char *sql, int *rc)
{
    *rc = STORE_OK;
    for (int i = 0; i < c->cached; i++)
        if (c->cache[i].sql == sql)
            return c->cache[i].name;
    if (c->cached >= PG_CACHE) {
        log_msg("warn", "postgresql: statement cache full");
        return NULL;
    }
    char *name = c->cache[c->cached].name;
    snprintf(name, sizeof c->cache[0].name, "wb%d", c->cached);
    PGresult *r = PQprepare(c->db, name, sql, 0, NULL);
    *rc = classify(c, r);
    PQclear(r);
    if (*rc)
        return NULL;
    c->cache[c->cached++].sql = sql;
    return name;
}

int pg_run(struct pg_conn *c, const char *sql, const struct pg_params *p, PGresult **res)
{
    *res = NULL;
    int n = p ? p->count : 0;
    if (n > PG_MAX_PARAMS) {
        log_msg("error", "postgresql: too many parameters (%d)", n);
        return STORE_ERROR;
    }
    int rc;
    const char *name = statement(c, sql, &rc);
    if (rc)
        return rc;
    const char *const *values = p ? p->values : NULL;
    PGresult *r = name ? PQexecPrepared(c->db, name, n, values, NULL, NULL, 0)
                       : PQexecParams(c->db, sql, n, NULL, values, NULL, NULL, 0);
    rc = classify(c, r);
    if (rc)
        PQclear(r);
    else
        *res = r;
    return rc;
}

static int64_t changed_rows(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

int pg_run_cmd(struct pg_conn *c, const char *sql, const struct pg_params *p, int64_t *changed)
{
    PGresult *r;
    int rc = pg_run(c, sql, p, &r);
    if (changed)
        *changed = rc == STORE_OK ? changed_rows(r) : 0;
    PQclear(r);
    return rc;
}

int pg_exec(struct pg_conn *c, const char *sql)
{
    PGresult *r = PQexec(c->db, sql);
    int rc = classify(c, r);
    PQclear(r);
    return rc;
}

static bool is_read(const char *sql)
{
    return strncmp(sql, "SELECT", 6) == 0;
}

static void backoff(int attempt)
{
    /* up to 2^attempt ms, at random, so that two units that deadlocked do not meet again */
    long us = (long)(rand_u32() % (1000u << (attempt < 8 ? attempt : 8)));
    struct timespec ts = {0, us * 1000L};
    nanosleep(&ts, NULL);
}

int pg_once(struct pg_store *s, const char *sql, const struct pg_params *p, PGresult **res)
{
    *res = NULL;
    for (int attempt = 0; attempt < PG_ATTEMPTS; attempt++) {
        if (attempt)
            backoff(attempt);
        struct pg_conn *c = pg_acquire(s);
        if (!c)
            return STORE_ERROR;
        int rc = pg_run(c, sql, p, res);
        bool lost = c->broken;
        pg_release(s, c);
        if (rc != PG_RETRY)
            return rc;
        /* a statement that deadlocked was undone; one whose connection was lost may have been
         * applied, so only a read runs again */
        if (lost && (attempt > 0 || !is_read(sql)))
            return STORE_ERROR;
    }
    return STORE_ERROR;
}

int pg_once_cmd(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *changed)
{
    PGresult *r;
    int rc = pg_once(s, sql, p, &r);
    if (changed)
        *changed = rc == STORE_OK ? changed_rows(r) : 0;
    PQclear(r);
    return rc;
}

static int commit(struct pg_conn *c)
{
    PGresult *r = PQexec(c->db, "COMMIT");
    int rc = classify(c, r);
    if (rc == STORE_OK && strcmp(PQcmdStatus(r), "COMMIT") != 0) {
        /* the transaction had failed: COMMIT rolled it back */
        log_msg("error", "postgresql: a unit of work was rolled back at commit");
        rc = STORE_ERROR;
    }
    PQclear(r);
    /* lost while committing: whether it took effect is unknown, so it must not run again */
    if (rc == PG_RETRY && c->broken)
        rc = STORE_ERROR;
    return rc;
}

static void rollback(struct pg_conn *c)
{
    if (!c->broken && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
}

int pg_unit(struct pg_store *s, pg_unit_fn fn, void *arg)
{
    for (int attempt = 0; attempt < PG_ATTEMPTS; attempt++) {
        if (attempt)
            backoff(attempt);
        struct pg_conn *c = pg_acquire(s);
        if (!c)
            return STORE_ERROR;
        int rc = pg_exec(c, "BEGIN");
        if (rc == STORE_OK)
            rc = fn(c, arg);
        if (rc == STORE_OK)
            rc = commit(c);
        else
            rollback(c);
        pg_release(s, c);
        if (rc != PG_RETRY)
            return rc;
    }
    log_msg("error", "postgresql: a unit of work failed %d times in a row", PG_ATTEMPTS);
    return STORE_ERROR;
}

void pg_get_text(const PGresult *r, int row, int col, char *dst, size_t size)
{
    const char *v = PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
    size_t n = strlen(v);
    if (n >= size)
        n = size - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

int64_t pg_get_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int64_t pg_get_limit(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return LIMIT_DEFAULT;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}
