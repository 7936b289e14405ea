/* PostgreSQL ops for notifications: writing them at key nodes, the inbox, and the outbox's
 * claim → settle cycle, shared by every process: claims skip rows another process is claiming
 * (FOR UPDATE SKIP LOCKED), and a lease ends when it lapses or when its holder's session did. */
#include "store/pg_db.h"

#include "base/buf.h"
#include "domain/keynode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first goods item of a binding's goods as JSON, and how many there are. */
static void first_goods(const char *goods_json, char out[GOODS_ITEM_SIZE], int *count)
{
    json_t *list = json_loads(goods_json ? goods_json : "[]", 0, NULL);
    char *first = json_dumps(json_array_get(list, 0), JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, GOODS_ITEM_SIZE, "%s", first ? first : "{}");
    *count = (int)json_array_size(list);
    free(first);
    json_decref(list);
}

static int insert_notice(struct pg_conn *c, const struct notice *n)
{
    static const char sql[] =
        "INSERT INTO notifications(id, binding_id, appid, openid, waybill_id, type, sequence,"
        " status, delivery_id, delivery_name, goods, goods_count, order_detail_path,"
        " action_time, created_at, next_attempt_at)"
        " SELECT $1, id, appid, openid, waybill_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11"
        " FROM bindings WHERE id = $12";
    struct pg_params p = {0};
    pg_param_text(&p, n->id);
    pg_param_text(&p, n->type);
    pg_param_int(&p, n->sequence);
    pg_param_int(&p, n->status);
    pg_param_text(&p, n->delivery_id);
    pg_param_text(&p, n->delivery_name);
    pg_param_text(&p, n->goods);
    pg_param_int(&p, n->goods_count);
    pg_param_text(&p, n->order_detail_path);
    pg_param_int(&p, n->action_time);
    pg_param_int(&p, n->created_at);
    pg_param_int(&p, n->binding_id);
    return pg_run_cmd(c, sql, &p, NULL);
}

static int save_progress(struct pg_conn *c, int64_t id, const struct keynode_progress *progress,
                         int64_t notified)
{
    static const char sql[] =
        "UPDATE bindings SET node_rank = $2, abnormal_told = $3, notified = $4 WHERE id = $1";
    struct pg_params p = {0};
    pg_param_int(&p, id);
    pg_param_int(&p, progress->rank);
    pg_param_int(&p, progress->abnormal_told);
    pg_param_int(&p, notified);
    return pg_run_cmd(c, sql, &p, NULL);
}

int pg_notify_followers(struct pg_conn *c, const struct events_op *op, const struct feed_event *e,
                        const struct waybill *w)
{
    /* the bindings that still follow the waybill; the caller holds the waybill's lock, so no
     * bind adds one meanwhile */
    static const char sql[] =
        "SELECT id, node_rank, abnormal_told, notified, goods_json, order_detail_path"
        " FROM bindings WHERE waybill_id = $1 AND family = 0 AND mismatched = 0"
        " AND purged_at = 0 AND expires_at > $2 ORDER BY id";
    struct pg_params p = {0};
    pg_param_text(&p, w->waybill_id);
    pg_param_int(&p, op->now);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    int rows = rc == STORE_OK ? PQntuples(r) : 0;
    for (int i = 0; !rc && i < rows; i++) {
        int64_t id = pg_get_int(r, i, 0);
        struct keynode_progress progress = {(int)pg_get_int(r, i, 1), pg_get_int(r, i, 2) != 0};
        struct keynode_progress before = progress;
        int64_t notified = pg_get_int(r, i, 3);
        enum keynode node = keynode_decide(&progress, w->status, op->notify_abnormal);
        if (node != KEYNODE_NONE) {
            struct notice n;
            if (!keynode_notice(&n, node, id, ++notified, w->status, e, op->now)) {
                rc = STORE_ERROR;
                break;
            }
            first_goods(PQgetvalue(r, i, 4), n.goods, &n.goods_count);
            pg_get_text(r, i, 5, n.order_detail_path, sizeof n.order_detail_path);
            rc = insert_notice(c, &n);
            if (!rc && op->notices)
                (*op->notices)++;
        }
        if (!rc && (node != KEYNODE_NONE || keynode_progress_moved(&before, &progress)))
            rc = save_progress(c, id, &progress, notified);
    }
    PQclear(r);
    return rc;
}

#define NOTICE_COLUMNS                                                                             \
    "n.seq, n.id, n.binding_id, n.appid, n.openid, n.waybill_id, n.type, n.sequence, n.status,"    \
    " n.delivery_id, n.delivery_name, n.goods, n.goods_count, n.order_detail_path,"                \
    " n.action_time, n.created_at, n.state, n.attempts, n.next_attempt_at, n.delivered_at,"        \
    " n.last_error"

static void read_notice(const PGresult *r, int row, struct notice *n)
{
    memset(n, 0, sizeof *n);
    n->seq = pg_get_int(r, row, 0);
    pg_get_text(r, row, 1, n->id, sizeof n->id);
    n->binding_id = pg_get_int(r, row, 2);
    pg_get_text(r, row, 3, n->appid, sizeof n->appid);
    pg_get_text(r, row, 4, n->openid, sizeof n->openid);
    pg_get_text(r, row, 5, n->waybill_id, sizeof n->waybill_id);
    pg_get_text(r, row, 6, n->type, sizeof n->type);
    n->sequence = pg_get_int(r, row, 7);
    n->status = (int)pg_get_int(r, row, 8);
    pg_get_text(r, row, 9, n->delivery_id, sizeof n->delivery_id);
    pg_get_text(r, row, 10, n->delivery_name, sizeof n->delivery_name);
    pg_get_text(r, row, 11, n->goods, sizeof n->goods);
    n->goods_count = (int)pg_get_int(r, row, 12);
    pg_get_text(r, row, 13, n->order_detail_path, sizeof n->order_detail_path);
    n->action_time = pg_get_int(r, row, 14);
    n->created_at = pg_get_int(r, row, 15);
    int64_t state = pg_get_int(r, row, 16);
    n->state = state == NOTICE_DELIVERED ? NOTICE_DELIVERED
               : state == NOTICE_DEAD    ? NOTICE_DEAD
                                         : NOTICE_PENDING;
    n->attempts = (int)pg_get_int(r, row, 17);
    n->next_attempt_at = pg_get_int(r, row, 18);
    n->delivered_at = pg_get_int(r, row, 19);
    pg_get_text(r, row, 20, n->last_error, sizeof n->last_error);
}

int pg_notices_list(struct store *s, const struct notice_filter *f,
                    const struct notice_cursor *before, int limit, store_notice_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT " NOTICE_COLUMNS " FROM notifications n"
        " WHERE ($1::text IS NULL OR n.appid = $1::text)"
        " AND ($2::text IS NULL OR n.openid = $2::text) AND ($3::int < 0 OR n.state = $3::int)"
        " AND ($4::bigint = 0 OR (n.created_at, n.seq) < ($4::bigint, $6::bigint))"
        " ORDER BY n.created_at DESC, n.seq DESC LIMIT $5";
    struct pg_params p = {0};
    pg_param_text(&p, f->appid);
    pg_param_text(&p, f->openid);
    pg_param_int(&p, f->state);
    pg_param_int(&p, before ? before->created_at : 0);
    pg_param_int(&p, limit);
    pg_param_int(&p, before ? before->seq : 0);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    struct notice *n = rc == STORE_OK ? malloc(sizeof *n) : NULL;
    if (rc == STORE_OK && !n)
        rc = STORE_ERROR;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        read_notice(r, i, n);
        if (each(ctx, n))
            break;
    }
    free(n);
    PQclear(r);
    return rc;
}

int pg_notice_get(struct store *s, const char *id, struct notice *out)
{
    static const char sql[] = "SELECT " NOTICE_COLUMNS " FROM notifications n WHERE n.id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, id);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        read_notice(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_notice_redeliver(struct store *s, const char *id, int64_t now)
{
    static const char sql[] =
        "UPDATE notifications SET state = 0, attempts = 0, next_attempt_at = $2,"
        " delivered_at = 0, last_error = '', lease_owner = '', lease_until = 0, lease_key = 0"
        " WHERE id = $1 AND state <> 0";
    static const char exists_sql[] = "SELECT state FROM notifications WHERE id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, id);
    pg_param_int(&p, now);
    int64_t changed = 0;
    int rc = pg_once_cmd(PG_STORE(s), sql, &p, &changed);
    if (rc || changed > 0)
        return rc;
    p.count = 1;
    PGresult *r;
    if ((rc = pg_once(PG_STORE(s), exists_sql, &p, &r)) == STORE_OK)
        rc = PQntuples(r) > 0 ? STORE_CONFLICT : STORE_NOT_FOUND;
    PQclear(r);
    return rc;
}

/* Pending notifications due by $1 whose lease lapsed ($2: the system clock), at most $3, locked
 * for the claim; rows another claim holds are skipped, not waited for. */
#define CLAIM_PICK(lapsed)                                                                         \
    "SELECT " NOTICE_COLUMNS ", b.token_nonce, a.push_url, a.push_secret,"                         \
    " (b.token_hash <> '')::int"                                                                   \
    " FROM notifications n JOIN bindings b ON b.id = n.binding_id"                                 \
    " JOIN apps a ON a.appid = n.appid"                                                            \
    " WHERE n.state = 0 AND n.next_attempt_at <= $1 AND " lapsed                                   \
    " ORDER BY n.next_attempt_at LIMIT $3 FOR UPDATE OF n SKIP LOCKED"

/* Leases end when they lapse. */
static const char claim_sql[] = CLAIM_PICK("n.lease_until < $2");
/* Leases also end when their holder's liveness lock is free, that is its session ended ($4: our
 * own key, whose lock we hold). Trying the lock, shared, tells it from the lock's state at this
 * moment: a process that took its lock before its claim committed is never taken for dead. */
static const char claim_live_sql[] =
    CLAIM_PICK("(n.lease_until < $2 OR (n.lease_key <> 0 AND n.lease_key <> $4"
               " AND pg_try_advisory_xact_lock_shared(1464028228, n.lease_key)))");

struct claim_args {
    const char *owner;
    int64_t now, system_now, lease_until;
    int limit;
    int key;
    struct notice *picked;
    int count;
};

static int claim_unit(struct pg_conn *c, void *arg)
{
    static const char lease_sql[] =
        "UPDATE notifications SET lease_owner = $1, lease_until = $2, lease_key = $3"
        " WHERE seq = ANY($4::bigint[])";
    struct claim_args *a = arg;
    a->count = 0;
    struct pg_params p = {0};
    pg_param_int(&p, a->now);
    pg_param_int(&p, a->system_now);
    pg_param_int(&p, a->limit);
    if (a->key)
        pg_param_int(&p, a->key);
    PGresult *r;
    int rc = pg_run(c, a->key ? claim_live_sql : claim_sql, &p, &r);
    if (rc)
        return rc;
    int rows = PQntuples(r);
    struct buf seqs;
    buf_init(&seqs, (size_t)a->limit * 24 + 4);
    bool ok = buf_puts(&seqs, "{");
    for (int i = 0; i < rows && a->count < a->limit; i++) {
        struct notice *n = &a->picked[a->count++];
        read_notice(r, i, n);
        pg_get_text(r, i, 21, n->token_nonce, sizeof n->token_nonce);
        pg_get_text(r, i, 22, n->push_url, sizeof n->push_url);
        pg_get_text(r, i, 23, n->push_secret, sizeof n->push_secret);
        n->token_legacy = pg_get_int(r, i, 24) != 0;
        ok = ok && buf_printf(&seqs, "%s%lld", i ? "," : "", (long long)n->seq);
    }
    PQclear(r);
    ok = ok && buf_puts(&seqs, "}");
    if (!ok)
        rc = STORE_ERROR;
    if (!rc && a->count > 0) {
        struct pg_params l = {0};
        pg_param_text(&l, a->owner);
        pg_param_int(&l, a->lease_until);
        pg_param_int(&l, a->key);
        pg_param_text(&l, seqs.ptr);
        rc = pg_run_cmd(c, lease_sql, &l, NULL);
    }
    buf_release(&seqs);
    return rc;
}

int pg_outbox_claim(struct store *s, const char *owner, int64_t now, int64_t system_now,
                    int64_t lease_until, int limit, store_notice_cb each, void *ctx)
{
    if (limit <= 0)
        return STORE_OK;
    struct claim_args a = {owner, now, system_now, lease_until, limit, 0, NULL, 0};
    a.key = pg_live_key(PG_STORE(s));
    a.picked = calloc((size_t)limit, sizeof *a.picked);
    if (!a.picked)
        return STORE_ERROR;
    int rc = pg_unit(PG_STORE(s), claim_unit, &a);
    for (int i = 0; !rc && i < a.count; i++)
        if (each(ctx, &a.picked[i]))
            break;
    free(a.picked);
    return rc;
}

int pg_outbox_settle(struct store *s, const struct notice_outcome *o)
{
    static const char sql[] =
        "UPDATE notifications SET state = $2, attempts = $3, next_attempt_at = $4,"
        " delivered_at = $5, last_error = $6, lease_owner = '', lease_until = 0, lease_key = 0"
        " WHERE id = $1";
    struct pg_params p = {0};
    pg_param_text(&p, o->id);
    pg_param_int(&p, o->state);
    pg_param_int(&p, o->attempts);
    pg_param_int(&p, o->next_attempt_at);
    pg_param_int(&p, o->delivered_at);
    pg_param_text(&p, o->error ? o->error : "");
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

int pg_outbox_release(struct store *s)
{
    static const char sql[] = "UPDATE notifications SET lease_owner = '', lease_until = 0,"
                              " lease_key = 0 WHERE lease_until <> 0";
    return pg_once_cmd(PG_STORE(s), sql, NULL, NULL);
}

int pg_notice_counts(struct store *s, int64_t counts[3])
{
    static const char sql[] = "SELECT state, count(*) FROM notifications GROUP BY state";
    counts[0] = counts[1] = counts[2] = 0;
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, NULL, &r);
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        int64_t state = pg_get_int(r, i, 0);
        if (state >= 0 && state < 3)
            counts[state] = pg_get_int(r, i, 1);
    }
    PQclear(r);
    return rc;
}
