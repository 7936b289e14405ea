/* The SQLite backend: its ops table, and store_open, which picks the backend for a URL. */
#include "store/sqlite_db.h"
#include "store/pg.h"

#include "base/log.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void sq_close(struct store *s)
{
    struct sq_store *sq = (struct sq_store *)s;
    sq_writer_stop(sq);
    for (int i = 0; i < sq->idle_count; i++)
        sq_conn_close(sq->idle[i]);
    for (int i = 0; i < SQ_OWNED; i++)
        sq_conn_close(sq->owned[i]);
    pthread_mutex_destroy(&sq->lock);
    pthread_cond_destroy(&sq->freed);
    pthread_mutex_destroy(&sq->queue_lock);
    pthread_cond_destroy(&sq->queue_ready);
    pthread_cond_destroy(&sq->units_done);
    pthread_cond_destroy(&sq->checkpoint_ready);
    free(sq);
}

static int sq_ping(struct store *s)
{
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, { rc = sq_exec(c, "SELECT 1"); });
    return rc;
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .exclusive = true,
    .close = sq_close,
    .ping = sq_ping,
    .snapshot_begin = sq_snapshot_begin,
    .snapshot_end = sq_snapshot_end,
    .meta_get = sq_meta_get,
    .meta_set = sq_meta_set,
    .app_put = sq_app_put,
    .app_get = sq_app_get,
    .app_update = sq_app_update,
    .app_list = sq_app_list,
    .user_put = sq_user_put,
    .user_get = sq_user_get,
    .carrier_put = sq_carrier_put,
    .carrier_get = sq_carrier_get,
    .carrier_update = sq_carrier_update,
    .carrier_list = sq_carrier_list,
    .carrier_by_key = sq_carrier_by_key,
    .token_issue = sq_token_issue,
    .token_get = sq_token_get,
    .stable_get = sq_stable_get,
    .stable_rotate = sq_stable_rotate,
    .counter_take = sq_counter_take,
    .counter_get = sq_counter_get,
    .counter_reserve = sq_counter_reserve,
    .counter_release = sq_counter_release,
    .waybill_get = sq_waybill_get,
    .waybill_trace = sq_waybill_trace,
    .waybill_binding_count = sq_waybill_binding_count,
    .events_apply = sq_events_apply,
    .events_apply_then = sq_events_apply_then,
    .scripts_due = sq_scripts_due,
    .script_next = sq_script_next,
    .purge = sq_purge,
    .notices_list = sq_notices_list,
    .notice_get = sq_notice_get,
    .notice_redeliver = sq_notice_redeliver,
    .outbox_claim = sq_outbox_claim,
    .outbox_settle = sq_outbox_settle,
    .outbox_release = sq_outbox_release,
    .notice_counts = sq_notice_counts,
    .bind = sq_bind,
    .bind_then = sq_bind_then,
    .binding_by_token = sq_binding_by_token,
    .binding_update_goods = sq_binding_update_goods,
    .binding_update_goods_then = sq_binding_update_goods_then,
};

static struct store *sqlite_open(const char *path)
{
    /* no global counting of SQLite's allocations, which takes a process-wide mutex on each
     * (refused, harmlessly, once SQLite is in use) */
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    struct sq_store *sq = calloc(1, sizeof *sq);
    if (!sq)
        return NULL;
    static _Atomic uint64_t next_id = 1;
    sq->base.ops = &sqlite_ops;
    sq->id = atomic_fetch_add(&next_id, 1);
    size_t n = strlen(path);
    if (n >= sizeof sq->path) {
        log_msg("error", "sqlite: path too long");
        free(sq);
        return NULL;
    }
    memcpy(sq->path, path, n + 1);
    pthread_mutex_init(&sq->lock, NULL);
    pthread_cond_init(&sq->freed, NULL);
    pthread_mutex_init(&sq->queue_lock, NULL);
    pthread_cond_init(&sq->queue_ready, NULL);
    pthread_cond_init(&sq->units_done, NULL);
    pthread_cond_init(&sq->checkpoint_ready, NULL);
    sq->wal_fd = -1;
    struct sq_conn *c = sq_acquire(sq);
    if (!c || sq_migrate(c)) {
        sq_release(sq, c);
        sq_close(&sq->base);
        return NULL;
    }
    sq_release(sq, c);
    if (sq_writer_start(sq)) {
        sq_close(&sq->base);
        return NULL;
    }
    return &sq->base;
}

struct store *store_open(const char *url)
{
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return pg_open(url);
    if (strncmp(url, "sqlite://", 9) == 0)
        url += 9;
    return sqlite_open(url);
}
