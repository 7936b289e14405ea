/* SQLite ops for carrier events: applying them to waybills and bindings, traces, sandbox
 * scripts, and the purge of expired bindings. */
#include "store/sqlite_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_duplicate(struct sq_conn *c, const struct feed_event *e)
{
    static const char sql[] = "SELECT 1 FROM events WHERE carrier = ?1 AND event_id = ?2";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, e->carrier);
    sq_bind_text(st, 2, e->event_id);
    int rc = sq_step_row(c, st);
    sqlite3_reset(st);
    return rc; /* STORE_OK: seen before */
}

/* The event's waybill, created or claimed for its carrier; STORE_CONFLICT when another owns it. */
static int own_waybill(struct sq_conn *c, const struct events_op *op, const struct feed_event *e,
                       struct waybill *w)
{
    static const char create_sql[] =
        "INSERT INTO waybills(waybill_id, owner, created_at) VALUES(?1, ?2, ?3)"
        " ON CONFLICT(waybill_id) DO UPDATE SET owner = excluded.owner WHERE owner = ''";
    sqlite3_stmt *st = sq_prepare(c, create_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, e->waybill_id);
    sq_bind_text(st, 2, e->carrier);
    sq_bind_int(st, 3, op->now);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    if (rc || (rc = sq_waybill_read(c, e->waybill_id, w)))
        return rc;
    return strcmp(w->owner, e->carrier) == 0 ? STORE_OK : STORE_CONFLICT;
}

static int insert_event(struct sq_conn *c, const struct events_op *op, const struct feed_event *e,
                        int64_t *seq)
{
    static const char sql[] =
        "INSERT INTO events(carrier, event_id, waybill_id, action_time, action_type, status,"
        " action_msg, phone_tail, received_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, e->carrier);
    sq_bind_text(st, 2, e->event_id);
    sq_bind_text(st, 3, e->waybill_id);
    sq_bind_int(st, 4, e->action_time);
    sq_bind_int(st, 5, e->action_type);
    sq_bind_int(st, 6, e->status);
    sq_bind_text(st, 7, e->action_msg);
    sq_bind_text(st, 8, e->phone_tail);
    sq_bind_int(st, 9, op->now);
    int rc = sq_step_done(c, st);
    *seq = sqlite3_last_insert_rowid(c->db);
    sqlite3_reset(st);
    return rc;
}

static int save_waybill(struct sq_conn *c, const struct waybill *w)
{
    static const char sql[] =
        "UPDATE waybills SET status = ?2, last_event_at = ?3, final_at = ?4, latest_at = ?5,"
        " latest_seq = ?6, latest_status = ?7, signed_at = ?8, signed_seq = ?9,"
        " signed_status = ?10 WHERE waybill_id = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, w->waybill_id);
    sq_bind_int(st, 2, w->status);
    sq_bind_int(st, 3, w->last_event_at);
    sq_bind_int(st, 4, w->final_at);
    sq_bind_int(st, 5, w->marks.latest.at);
    sq_bind_int(st, 6, w->marks.latest.seq);
    sq_bind_int(st, 7, w->marks.latest.status);
    sq_bind_int(st, 8, w->marks.latest_signed.at);
    sq_bind_int(st, 9, w->marks.latest_signed.seq);
    sq_bind_int(st, 10, w->marks.latest_signed.status);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

/* The phone check of SPEC §5.3, then the expiry of the bindings that still follow the waybill. */
static int update_bindings(struct sq_conn *c, const struct events_op *op,
                           const struct feed_event *e, const struct waybill *w)
{
    static const char mismatch_sql[] =
        "UPDATE bindings INDEXED BY bindings_waybill SET mismatched = 1, expires_at = ?3"
        " WHERE waybill_id = ?1 AND mismatched = 0 AND purged_at = 0 AND receiver_tail <> ?2";
    static const char expiry_sql[] =
        "UPDATE bindings INDEXED BY bindings_waybill SET expires_at = ?2 WHERE waybill_id = ?1"
        " AND mismatched = 0"
        " AND purged_at = 0 AND expires_at > ?3";
    sqlite3_stmt *st;
    int rc = STORE_OK;
    if (e->phone_tail[0]) {
        if (!(st = sq_prepare(c, mismatch_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, e->waybill_id);
        sq_bind_text(st, 2, e->phone_tail);
        sq_bind_int(st, 3, op->now + LIFETIME_MISMATCH_S);
        rc = sq_step_done(c, st);
        sqlite3_reset(st);
        if (rc)
            return rc;
    }
    if (!(st = sq_prepare(c, expiry_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, e->waybill_id);
    sq_bind_int(st, 2, lifetime_expires_at(&op->lifetime, w, op->now));
    sq_bind_int(st, 3, op->now);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

static int apply_one(struct sq_conn *c, const struct events_op *batch, const struct feed_event *e,
                     struct event_result *r)
{
    struct events_op at = *batch;
    if (e->arrived_at)
        at.now = e->arrived_at;
    const struct events_op *op = &at;
    int rc = is_duplicate(c, e);
    if (rc != STORE_NOT_FOUND) {
        r->outcome = EVENT_DUPLICATE;
        return rc == STORE_OK ? STORE_OK : rc;
    }
    struct waybill w;
    rc = own_waybill(c, op, e, &w);
    if (rc == STORE_CONFLICT) {
        r->outcome = EVENT_REJECTED;
        snprintf(r->reason, sizeof r->reason, "waybill %s belongs to another carrier",
                 e->waybill_id);
        return STORE_OK;
    }
    int64_t seq = 0;
    if (rc || (rc = insert_event(c, op, e, &seq)))
        return rc;
    int before = w.status;
    lifetime_fold_event(&w, e->action_time, seq, e->status, op->now);
    r->outcome = EVENT_ACCEPTED;
    if ((rc = save_waybill(c, &w)) || (rc = update_bindings(c, op, e, &w)))
        return rc;
    /* in the same transaction as the status change: no change without its notifications */
    return w.status != before ? sq_notify_followers(c, op, e, &w) : STORE_OK;
}

struct apply_args {
    const struct events_op *op;
    struct event_result *results;
};

static int events_apply_unit(struct sq_conn *c, void *arg)
{
    const struct apply_args *a = arg;
    int rc = STORE_OK;
    if (a->op->notices)
        *a->op->notices = 0;
    for (size_t i = 0; !rc && i < a->op->count; i++) {
        memset(&a->results[i], 0, sizeof a->results[i]);
        rc = apply_one(c, a->op, &a->op->events[i], &a->results[i]);
    }
    return rc;
}

/* What a failed apply must not leave behind: a count of notifications it did not make. */
static void apply_settle(void *arg, int rc)
{
    const struct apply_args *a = arg;
    if (rc && a->op->notices)
        *a->op->notices = 0;
}

int sq_events_apply(struct store *s, const struct events_op *op, struct event_result *results)
{
    struct apply_args a = {op, results};
    int rc = sq_write(SQ_STORE(s), events_apply_unit, &a);
    apply_settle(&a, rc);
    return rc;
}

int sq_events_apply_then(struct store *s, const struct events_op *op, struct event_result *results,
                         void (*done)(void *ctx, int rc), void *ctx)
{
    struct apply_args a = {op, results};
    return sq_write_later(SQ_STORE(s), events_apply_unit, &a, sizeof a, apply_settle, done, ctx);
}

int sq_waybill_trace(struct store *s, const char *waybill_id, store_event_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT carrier, event_id, action_time, action_type, status, action_msg, phone_tail"
        " FROM events WHERE waybill_id = ?1 ORDER BY action_time, seq";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, waybill_id);
            struct feed_event e;
            while ((rc = sq_step_row(c, st)) == STORE_OK) {
                memset(&e, 0, sizeof e);
                sq_column_text(st, 0, e.carrier, sizeof e.carrier);
                sq_column_text(st, 1, e.event_id, sizeof e.event_id);
                snprintf(e.waybill_id, sizeof e.waybill_id, "%s", waybill_id);
                e.action_time = sqlite3_column_int64(st, 2);
                e.action_type = (long)sqlite3_column_int64(st, 3);
                e.status = sqlite3_column_int(st, 4);
                sq_column_text(st, 5, e.action_msg, sizeof e.action_msg);
                sq_column_text(st, 6, e.phone_tail, sizeof e.phone_tail);
                if (each(ctx, &e))
                    break;
            }
            if (rc == STORE_NOT_FOUND || rc == STORE_OK)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_waybill_binding_count(struct store *s, const char *waybill_id, int64_t *count)
{
    static const char sql[] = "SELECT count(*) FROM bindings WHERE waybill_id = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, waybill_id);
            rc = sq_step_row(c, st);
            *count = rc == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_scripts_due(struct store *s, int64_t now, store_script_cb each, void *ctx)
{
    static const char sql[] = "SELECT waybill_id, script_start FROM waybills"
                              " WHERE script_next_at > 0 AND script_next_at <= ?1"
                              " ORDER BY script_next_at LIMIT 1000";
    /* collected first, so that each callback may use the store */
    struct {
        char id[WAYBILL_ID_SIZE];
        int64_t start;
    } due[64];
    int n = 0, rc = STORE_ERROR;
    do {
        n = 0;
        WITH_CONN(s, c, rc, {
            sqlite3_stmt *st = sq_prepare(c, sql);
            if (st) {
                sq_bind_int(st, 1, now);
                while (n < 64 && (rc = sq_step_row(c, st)) == STORE_OK) {
                    sq_column_text(st, 0, due[n].id, sizeof due[n].id);
                    due[n].start = sqlite3_column_int64(st, 1);
                    n++;
                }
                if (rc == STORE_NOT_FOUND || rc == STORE_OK)
                    rc = STORE_OK;
                sqlite3_reset(st);
            }
        });
        for (int i = 0; !rc && i < n; i++)
            rc = each(ctx, due[i].id, due[i].start);
    } while (!rc && n == 64);
    return rc;
}

struct script_args {
    const char *waybill_id;
    int64_t next_at;
};

static int script_next_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "UPDATE waybills SET script_next_at = ?2 WHERE waybill_id = ?1";
    const struct script_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, a->waybill_id);
    sq_bind_int(st, 2, a->next_at);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_script_next(struct store *s, const char *waybill_id, int64_t next_at)
{
    struct script_args a = {waybill_id, next_at};
    return sq_write(SQ_STORE(s), script_next_unit, &a);
}

struct purge_args {
    int64_t now;
    int64_t purge_s;
    int64_t *count;
};

static int purge_unit(struct sq_conn *c, void *arg)
{
    static const char purge_sql[] =
        "UPDATE bindings SET purged_at = ?1, goods_json = '[]', receiver_hash = '',"
        " receiver_tail = '', sender_hash = '', sender_tail = '', trans_id = '',"
        " order_detail_path = '' WHERE purged_at = 0 AND expires_at <= ?2";
    /* the goods snapshots of their notifications go too; the inbox keeps what was sent when */
    static const char snapshots_sql[] =
        "UPDATE notifications SET goods = '{}', order_detail_path = '' WHERE binding_id IN"
        " (SELECT id FROM bindings WHERE purged_at = ?1)";
    static const char tokens_sql[] = "DELETE FROM access_tokens WHERE expires_at < ?1";
    const struct purge_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, purge_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_int(st, 1, a->now);
    sq_bind_int(st, 2, a->now - a->purge_s);
    int rc = sq_step_done(c, st);
    *a->count = sqlite3_changes(c->db);
    sqlite3_reset(st);
    if (rc || !(st = sq_prepare(c, snapshots_sql)))
        return rc ? rc : STORE_ERROR;
    sq_bind_int(st, 1, a->now);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    if (rc || !(st = sq_prepare(c, tokens_sql)))
        return rc ? rc : STORE_ERROR;
    sq_bind_int(st, 1, a->now - 86400);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_purge(struct store *s, int64_t now, int64_t purge_s, int64_t *count)
{
    struct purge_args a = {now, purge_s, count};
    *count = 0;
    return sq_write(SQ_STORE(s), purge_unit, &a);
}
