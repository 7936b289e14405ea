/* The PostgreSQL backend: its ops table, opening and closing, and the liveness lock that lets
 * other processes take over the deliveries of one that died. */
#include "store/pg.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "store/pg_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_CHECK_US 5000000 /* how often the liveness session is checked */

static void pg_close(struct store *st)
{
    struct pg_store *s = PG_STORE(st);
    for (int i = 0; i < s->idle_count; i++) {
        PQfinish(s->idle[i]->db);
        free(s->idle[i]);
    }
    PQfinish(s->live); /* ends the liveness lock: our leases can be taken over at once */
    free(s->url);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->freed);
    pthread_mutex_destroy(&s->live_lock);
    free(s);
}

static int pg_ping(struct store *st)
{
    PGresult *r;
    int rc = pg_once(PG_STORE(st), "SELECT 1", NULL, &r);
    PQclear(r);
    return rc;
}

/* Takes the lock (PG_LOCK_CLASS, k) for a random k on the liveness session; false when the engine
 * has no advisory locks (then live_unsupported is set). */
static bool take_live_lock(struct pg_store *s)
{
    for (int i = 0; i < 8 && !s->live_key; i++) {
        /* never 0 (no lease) or 1 (migrations) */
        int64_t k = (int64_t)(rand_u32() % 2147483000u) + 2;
        char klass[24], key[24];
        snprintf(klass, sizeof klass, "%d", PG_LOCK_CLASS);
        snprintf(key, sizeof key, "%lld", (long long)k);
        const char *values[2] = {klass, key};
        PGresult *r = PQexecParams(s->live, "SELECT pg_try_advisory_lock($1::int4, $2::int4)", 2,
                                   NULL, values, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (ok && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
            s->live_key = (int)k;
        PQclear(r);
        if (!ok) {
            if (PQstatus(s->live) == CONNECTION_OK) {
                log_msg("info", "postgresql: no advisory locks here: the leases of a process that"
                                " stopped lapse after their time");
                s->live_unsupported = true;
            }
            return false;
        }
    }
    return s->live_key != 0;
}

int pg_live_key(struct pg_store *s)
{
    int key = 0;
    pthread_mutex_lock(&s->live_lock);
    int64_t now = clock_mono_us();
    if (s->live_unsupported)
        goto out;
    if (s->live && now - s->live_checked_us < LIVE_CHECK_US)
        goto out;
    if (s->live) {
        PGresult *r = PQexec(s->live, "SELECT 1");
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        PQclear(r);
        if (ok) {
            s->live_checked_us = now;
            goto out;
        }
        log_msg("warn", "postgresql: the liveness session was lost; taking a new one");
        PQfinish(s->live);
        s->live = NULL;
        s->live_key = 0;
    }
    s->live = pg_connect(s->url, "waybilld-liveness");
    if (s->live && !take_live_lock(s)) {
        PQfinish(s->live);
        s->live = NULL;
    }
    s->live_checked_us = now;
out:
    key = s->live ? s->live_key : 0;
    pthread_mutex_unlock(&s->live_lock);
    return key;
}

static const struct store_ops pg_ops = {
    .name = "postgresql",
    /* several processes share the database: none may end the others' leases */
    .exclusive = false,
    .close = pg_close,
    .ping = pg_ping,
    .meta_get = pg_meta_get,
    .meta_set = pg_meta_set,
    .app_put = pg_app_put,
    .app_get = pg_app_get,
    .app_update = pg_app_update,
    .app_list = pg_app_list,
    .user_put = pg_user_put,
    .user_get = pg_user_get,
    .carrier_put = pg_carrier_put,
    .carrier_get = pg_carrier_get,
    .carrier_update = pg_carrier_update,
    .carrier_list = pg_carrier_list,
    .carrier_by_key = pg_carrier_by_key,
    .token_issue = pg_token_issue,
    .token_get = pg_token_get,
    .stable_get = pg_stable_get,
    .stable_rotate = pg_stable_rotate,
    .counter_take = pg_counter_take,
    .counter_get = pg_counter_get,
    .counter_reserve = pg_counter_reserve,
    .counter_release = pg_counter_release,
    .waybill_get = pg_waybill_get,
    .waybill_trace = pg_waybill_trace,
    .waybill_binding_count = pg_waybill_binding_count,
    .events_apply = pg_events_apply,
    .scripts_due = pg_scripts_due,
    .script_next = pg_script_next,
    .purge = pg_purge,
    .notices_list = pg_notices_list,
    .notice_get = pg_notice_get,
    .notice_redeliver = pg_notice_redeliver,
    .outbox_claim = pg_outbox_claim,
    .outbox_settle = pg_outbox_settle,
    .outbox_release = pg_outbox_release,
    .notice_counts = pg_notice_counts,
    .bind = pg_bind,
    .binding_by_token = pg_binding_by_token,
    .binding_update_goods = pg_binding_update_goods,
};

struct store *pg_open(const char *url)
{
    struct pg_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &pg_ops;
    s->url = strdup(url);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->freed, NULL);
    pthread_mutex_init(&s->live_lock, NULL);
    if (!s->url || pg_migrate(s) != STORE_OK) {
        pg_close(&s->base);
        return NULL;
    }
    return &s->base;
}
