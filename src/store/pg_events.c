/* PostgreSQL ops for carrier events: applying them to waybills and bindings, traces, sandbox
 * scripts, and the purge of expired bindings. A batch locks the waybills it touches, in one
 * order, so that batches and binds of one waybill take turns across processes. */
#include "store/pg_db.h"

#include "base/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_duplicate(struct pg_conn *c, const struct feed_event *e)
{
    static const char sql[] = "SELECT 1 FROM events WHERE carrier = $1 AND event_id = $2";
    struct pg_params p = {0};
    pg_param_text(&p, e->carrier);
    pg_param_text(&p, e->event_id);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    PQclear(r);
    return rc; /* STORE_OK: seen before */
}

static int compare_ids(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Locks the batch's existing waybills in the order of their ids, so that two batches that share
 * waybills do not each hold one the other waits for. New waybills are locked as they are made. */
static int lock_waybills(struct pg_conn *c, const struct events_op *op)
{
    static const char sql[] = "SELECT 1 FROM waybills WHERE waybill_id = ANY($1::text[])"
                              " ORDER BY waybill_id FOR UPDATE";
    if (op->count < 2)
        return STORE_OK;
    const char **ids = malloc(op->count * sizeof *ids);
    if (!ids)
        return STORE_ERROR;
    for (size_t i = 0; i < op->count; i++)
        ids[i] = op->events[i].waybill_id;
    qsort(ids, op->count, sizeof *ids, compare_ids);
    struct buf list;
    buf_init(&list, op->count * (WAYBILL_ID_SIZE * 2 + 3) + 3);
    bool ok = buf_puts(&list, "{");
    for (size_t i = 0; ok && i < op->count; i++) {
        if (i > 0 && strcmp(ids[i], ids[i - 1]) == 0)
            continue;
        ok = buf_puts(&list, i ? ",\"" : "\"");
        for (const char *ch = ids[i]; ok && *ch; ch++) {
            if (*ch == '"' || *ch == '\\')
                ok = buf_puts(&list, "\\");
            ok = ok && buf_append(&list, ch, 1);
        }
        ok = ok && buf_puts(&list, "\"");
    }
    ok = ok && buf_puts(&list, "}");
    free(ids);
    int rc = STORE_ERROR;
    if (ok) {
        struct pg_params p = {0};
        pg_param_text(&p, list.ptr);
        rc = pg_run_cmd(c, sql, &p, NULL);
    }
    buf_release(&list);
    return rc;
}

/* The event's waybill, created or claimed for its carrier, and locked; STORE_CONFLICT when
 * another carrier owns it. */
static int own_waybill(struct pg_conn *c, const struct events_op *op, const struct feed_event *e,
                       struct waybill *w)
{
    static const char create_sql[] =
        "INSERT INTO waybills(waybill_id, owner, created_at) VALUES($1, $2, $3)"
        " ON CONFLICT(waybill_id) DO UPDATE SET owner = excluded.owner WHERE waybills.owner = ''";
    struct pg_params p = {0};
    pg_param_text(&p, e->waybill_id);
    pg_param_text(&p, e->carrier);
    pg_param_int(&p, op->now);
    int rc = pg_run_cmd(c, create_sql, &p, NULL);
    if (rc || (rc = pg_waybill_read(c, e->waybill_id, true, w)))
        return rc;
    return strcmp(w->owner, e->carrier) == 0 ? STORE_OK : STORE_CONFLICT;
}

static int insert_event(struct pg_conn *c, const struct events_op *op, const struct feed_event *e,
                        int64_t *seq)
{
    static const char sql[] =
        "INSERT INTO events(carrier, event_id, waybill_id, action_time, action_type, status,"
        " action_msg, phone_tail, received_at) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING seq";
    struct pg_params p = {0};
    pg_param_text(&p, e->carrier);
    pg_param_text(&p, e->event_id);
    pg_param_text(&p, e->waybill_id);
    pg_param_int(&p, e->action_time);
    pg_param_int(&p, e->action_type);
    pg_param_int(&p, e->status);
    pg_param_text(&p, e->action_msg);
    pg_param_text(&p, e->phone_tail);
    pg_param_int(&p, op->now);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    if (rc == STORE_OK)
        *seq = pg_get_int(r, 0, 0);
    PQclear(r);
    /* another process stored the same event_id (for another waybill) meanwhile: the batch runs
     * again and finds it a duplicate */
    return rc == STORE_CONFLICT ? PG_RETRY : rc;
}

static int save_waybill(struct pg_conn *c, const struct waybill *w)
{
    static const char sql[] =
        "UPDATE waybills SET status = $2, last_event_at = $3, final_at = $4, latest_at = $5,"
        " latest_seq = $6, latest_status = $7, signed_at = $8, signed_seq = $9,"
        " signed_status = $10 WHERE waybill_id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, w->waybill_id);
    pg_param_int(&p, w->status);
    pg_param_int(&p, w->last_event_at);
    pg_param_int(&p, w->final_at);
    pg_param_int(&p, w->marks.latest.at);
    pg_param_int(&p, w->marks.latest.seq);
    pg_param_int(&p, w->marks.latest.status);
    pg_param_int(&p, w->marks.latest_signed.at);
    pg_param_int(&p, w->marks.latest_signed.seq);
    pg_param_int(&p, w->marks.latest_signed.status);
    return pg_run_cmd(c, sql, &p, NULL);
}

/* The phone check of SPEC §5.3, then the expiry of the bindings that still follow the waybill. */
static int update_bindings(struct pg_conn *c, const struct events_op *op,
                           const struct feed_event *e, const struct waybill *w)
{
    static const char mismatch_sql[] =
        "UPDATE bindings SET mismatched = 1, expires_at = $3"
        " WHERE waybill_id = $1 AND mismatched = 0 AND purged_at = 0 AND receiver_tail <> $2";
    static const char expiry_sql[] =
        "UPDATE bindings SET expires_at = $2 WHERE waybill_id = $1 AND mismatched = 0"
        " AND purged_at = 0 AND expires_at > $3";
    int rc = STORE_OK;
    if (e->phone_tail[0]) {
        struct pg_params p = {0};
        pg_param_text(&p, e->waybill_id);
        pg_param_text(&p, e->phone_tail);
        pg_param_int(&p, op->now + LIFETIME_MISMATCH_S);
        if ((rc = pg_run_cmd(c, mismatch_sql, &p, NULL)))
            return rc;
    }
    struct pg_params p = {0};
    pg_param_text(&p, e->waybill_id);
    pg_param_int(&p, lifetime_expires_at(&op->lifetime, w, op->now));
    pg_param_int(&p, op->now);
    return pg_run_cmd(c, expiry_sql, &p, NULL);
}

static int apply_one(struct pg_conn *c, const struct events_op *batch, const struct feed_event *e,
                     struct event_result *r)
{
    struct events_op at = *batch;
    if (e->arrived_at)
        at.now = e->arrived_at;
    const struct events_op *op = &at;
    int rc = is_duplicate(c, e);
    if (rc != STORE_NOT_FOUND) {
        r->outcome = EVENT_DUPLICATE;
        return rc;
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
    return w.status != before ? pg_notify_followers(c, op, e, &w) : STORE_OK;
}

struct apply_args {
    const struct events_op *op;
    struct event_result *results;
};

static int events_apply_unit(struct pg_conn *c, void *arg)
{
    const struct apply_args *a = arg;
    /* a run after a deadlock starts from nothing */
    if (a->op->notices)
        *a->op->notices = 0;
    int rc = lock_waybills(c, a->op);
    for (size_t i = 0; !rc && i < a->op->count; i++) {
        memset(&a->results[i], 0, sizeof a->results[i]);
        rc = apply_one(c, a->op, &a->op->events[i], &a->results[i]);
    }
    return rc;
}

int pg_events_apply(struct store *s, const struct events_op *op, struct event_result *results)
{
    struct apply_args a = {op, results};
    int rc = pg_unit(PG_STORE(s), events_apply_unit, &a);
    if (rc && op->notices)
        *op->notices = 0;
    return rc;
}

int pg_waybill_trace(struct store *s, const char *waybill_id, store_event_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT carrier, event_id, action_time, action_type, status, action_msg, phone_tail"
        " FROM events WHERE waybill_id = $1 ORDER BY action_time, seq";
    struct pg_params p = {0};
    pg_param_text(&p, waybill_id);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    struct feed_event e;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        memset(&e, 0, sizeof e);
        pg_get_text(r, i, 0, e.carrier, sizeof e.carrier);
        pg_get_text(r, i, 1, e.event_id, sizeof e.event_id);
        snprintf(e.waybill_id, sizeof e.waybill_id, "%s", waybill_id);
        e.action_time = pg_get_int(r, i, 2);
        e.action_type = (long)pg_get_int(r, i, 3);
        e.status = (int)pg_get_int(r, i, 4);
        pg_get_text(r, i, 5, e.action_msg, sizeof e.action_msg);
        pg_get_text(r, i, 6, e.phone_tail, sizeof e.phone_tail);
        if (each(ctx, &e))
            break;
    }
    PQclear(r);
    return rc;
}

int pg_waybill_binding_count(struct store *s, const char *waybill_id, int64_t *count)
{
    static const char sql[] = "SELECT count(*) FROM bindings WHERE waybill_id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, waybill_id);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    *count = rc == STORE_OK ? pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

#define SCRIPTS_PAGE 64

int pg_scripts_due(struct store *s, int64_t now, store_script_cb each, void *ctx)
{
    static const char sql[] = "SELECT waybill_id, script_start FROM waybills"
                              " WHERE script_next_at > 0 AND script_next_at <= $1"
                              " ORDER BY script_next_at LIMIT 64";
    /* read a page first, so that each callback may use the store */
    struct {
        char id[WAYBILL_ID_SIZE];
        int64_t start;
    } due[SCRIPTS_PAGE];
    int n = 0, rc;
    do {
        struct pg_params p = {0};
        pg_param_int(&p, now);
        PGresult *r;
        rc = pg_once(PG_STORE(s), sql, &p, &r);
        n = rc == STORE_OK ? PQntuples(r) : 0;
        if (n > SCRIPTS_PAGE)
            n = SCRIPTS_PAGE;
        for (int i = 0; i < n; i++) {
            pg_get_text(r, i, 0, due[i].id, sizeof due[i].id);
            due[i].start = pg_get_int(r, i, 1);
        }
        PQclear(r);
        for (int i = 0; !rc && i < n; i++)
            rc = each(ctx, due[i].id, due[i].start);
    } while (!rc && n == SCRIPTS_PAGE);
    return rc;
}

int pg_script_next(struct store *s, const char *waybill_id, int64_t next_at)
{
    static const char sql[] = "UPDATE waybills SET script_next_at = $2 WHERE waybill_id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, waybill_id);
    pg_param_int(&p, next_at);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

struct purge_args {
    int64_t now;
    int64_t purge_s;
    int64_t *count;
};

static int purge_unit(struct pg_conn *c, void *arg)
{
    static const char purge_sql[] =
        "UPDATE bindings SET purged_at = $1, goods_json = '[]', receiver_hash = '',"
        " receiver_tail = '', sender_hash = '', sender_tail = '', trans_id = '',"
        " order_detail_path = '' WHERE purged_at = 0 AND expires_at <= $2";
    /* the goods snapshots of their notifications go too; the inbox keeps what was sent when */
    static const char snapshots_sql[] =
        "UPDATE notifications SET goods = '{}', order_detail_path = '' WHERE binding_id IN"
        " (SELECT id FROM bindings WHERE purged_at = $1)";
    static const char tokens_sql[] = "DELETE FROM access_tokens WHERE expires_at < $1";
    const struct purge_args *a = arg;
    struct pg_params p = {0};
    pg_param_int(&p, a->now);
    pg_param_int(&p, a->now - a->purge_s);
    int rc = pg_run_cmd(c, purge_sql, &p, a->count);
    if (rc)
        return rc;
    struct pg_params n = {0};
    pg_param_int(&n, a->now);
    if ((rc = pg_run_cmd(c, snapshots_sql, &n, NULL)))
        return rc;
    struct pg_params t = {0};
    pg_param_int(&t, a->now - 86400);
    return pg_run_cmd(c, tokens_sql, &t, NULL);
}

int pg_purge(struct store *s, int64_t now, int64_t purge_s, int64_t *count)
{
    struct purge_args a = {now, purge_s, count};
    *count = 0;
    int rc = pg_unit(PG_STORE(s), purge_unit, &a);
    if (rc)
        *count = 0;
    return rc;
}
