/* SQLite ops for notifications: writing them at key nodes, the inbox, and the outbox's
 * claim → settle cycle. */
#include "store/sqlite_db.h"

#include "domain/keynode.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A binding that still follows its waybill, as the key-node step needs it. */
struct follower {
    int64_t id;
    struct keynode_progress progress;
    int64_t notified;
};

static int load_followers(struct sq_conn *c, const char *waybill_id, int64_t now,
                          struct follower **out, size_t *count)
{
    static const char sql[] =
        "SELECT id, node_rank, abnormal_told, notified FROM bindings INDEXED BY bindings_waybill"
        " WHERE waybill_id = ?1"
        " AND family = 0 AND mismatched = 0 AND purged_at = 0 AND expires_at > ?2";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, waybill_id);
    sq_bind_int(st, 2, now);
    size_t n = 0, cap = 0;
    struct follower *list = NULL;
    int rc;
    while ((rc = sq_step_row(c, st)) == STORE_OK) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct follower *grown = realloc(list, cap * sizeof *list);
            if (!grown) {
                rc = STORE_ERROR;
                break;
            }
            list = grown;
        }
        list[n++] = (struct follower){
            sqlite3_column_int64(st, 0),
            {sqlite3_column_int(st, 1), sqlite3_column_int(st, 2) != 0},
            sqlite3_column_int64(st, 3),
        };
    }
    sqlite3_reset(st);
    if (rc == STORE_ERROR) {
        free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return STORE_OK;
}

/* The first goods item of a binding as JSON, and how many there are. */
static int first_goods(struct sq_conn *c, int64_t binding_id, char out[GOODS_ITEM_SIZE], int *count,
                       char path[PATH_SIZE])
{
    static const char sql[] = "SELECT goods_json, order_detail_path FROM bindings WHERE id = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_int(st, 1, binding_id);
    int rc = sq_step_row(c, st);
    if (rc == STORE_OK) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        json_t *list = json_loads(text ? text : "[]", 0, NULL);
        char *first = json_dumps(json_array_get(list, 0), JSON_COMPACT | JSON_ENCODE_ANY);
        int n = snprintf(out, GOODS_ITEM_SIZE, "%s", first ? first : "{}");
        *count = (int)json_array_size(list);
        if (!first || n < 0 || n >= GOODS_ITEM_SIZE) /* never a cut-off snapshot */
            rc = STORE_ERROR;
        free(first);
        json_decref(list);
        sq_column_text(st, 1, path, PATH_SIZE);
    }
    sqlite3_reset(st);
    return rc;
}

static int insert_notice(struct sq_conn *c, const struct notice *n)
{
    static const char sql[] =
        "INSERT INTO notifications(id, binding_id, appid, openid, waybill_id, type, sequence,"
        " status, delivery_id, delivery_name, goods, goods_count, order_detail_path,"
        " action_time, created_at, next_attempt_at)"
        " SELECT ?1, id, appid, openid, waybill_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11"
        " FROM bindings WHERE id = ?12";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, n->id);
    sq_bind_text(st, 2, n->type);
    sq_bind_int(st, 3, n->sequence);
    sq_bind_int(st, 4, n->status);
    sq_bind_text(st, 5, n->delivery_id);
    sq_bind_text(st, 6, n->delivery_name);
    sq_bind_text(st, 7, n->goods);
    sq_bind_int(st, 8, n->goods_count);
    sq_bind_text(st, 9, n->order_detail_path);
    sq_bind_int(st, 10, n->action_time);
    sq_bind_int(st, 11, n->created_at);
    sq_bind_int(st, 12, n->binding_id);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

static int save_progress(struct sq_conn *c, const struct follower *f)
{
    static const char sql[] =
        "UPDATE bindings SET node_rank = ?2, abnormal_told = ?3, notified = ?4 WHERE id = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_int(st, 1, f->id);
    sq_bind_int(st, 2, f->progress.rank);
    sq_bind_int(st, 3, f->progress.abnormal_told);
    sq_bind_int(st, 4, f->notified);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_notify_followers(struct sq_conn *c, const struct events_op *op, const struct feed_event *e,
                        const struct waybill *w)
{
    struct follower *list = NULL;
    size_t count = 0;
    int rc = load_followers(c, w->waybill_id, op->now, &list, &count);
    for (size_t i = 0; !rc && i < count; i++) {
        struct follower *f = &list[i];
        struct keynode_progress before = f->progress;
        enum keynode node = keynode_decide(&f->progress, w->status, op->notify_abnormal);
        if (node != KEYNODE_NONE) {
            struct notice n;
            if (!keynode_notice(&n, node, f->id, ++f->notified, w->status, e, op->now)) {
                rc = STORE_ERROR;
                break;
            }
            rc = first_goods(c, f->id, n.goods, &n.goods_count, n.order_detail_path);
            if (!rc)
                rc = insert_notice(c, &n);
            if (!rc && op->notices)
                (*op->notices)++;
        }
        if (!rc && (node != KEYNODE_NONE || keynode_progress_moved(&before, &f->progress)))
            rc = save_progress(c, f);
    }
    free(list);
    return rc;
}

#define NOTICE_COLUMNS                                                                             \
    "n.seq, n.id, n.binding_id, n.appid, n.openid, n.waybill_id, n.type, n.sequence, n.status,"    \
    " n.delivery_id, n.delivery_name, n.goods, n.goods_count, n.order_detail_path,"                \
    " n.action_time, n.created_at, n.state, n.attempts, n.next_attempt_at, n.delivered_at,"        \
    " n.last_error"

static void read_notice(sqlite3_stmt *st, struct notice *n)
{
    memset(n, 0, sizeof *n);
    n->seq = sqlite3_column_int64(st, 0);
    sq_column_text(st, 1, n->id, sizeof n->id);
    n->binding_id = sqlite3_column_int64(st, 2);
    sq_column_text(st, 3, n->appid, sizeof n->appid);
    sq_column_text(st, 4, n->openid, sizeof n->openid);
    sq_column_text(st, 5, n->waybill_id, sizeof n->waybill_id);
    sq_column_text(st, 6, n->type, sizeof n->type);
    n->sequence = sqlite3_column_int64(st, 7);
    n->status = sqlite3_column_int(st, 8);
    sq_column_text(st, 9, n->delivery_id, sizeof n->delivery_id);
    sq_column_text(st, 10, n->delivery_name, sizeof n->delivery_name);
    sq_column_text(st, 11, n->goods, sizeof n->goods);
    n->goods_count = sqlite3_column_int(st, 12);
    sq_column_text(st, 13, n->order_detail_path, sizeof n->order_detail_path);
    n->action_time = sqlite3_column_int64(st, 14);
    n->created_at = sqlite3_column_int64(st, 15);
    int state = sqlite3_column_int(st, 16);
    n->state = state == NOTICE_DELIVERED ? NOTICE_DELIVERED
               : state == NOTICE_DEAD    ? NOTICE_DEAD
                                         : NOTICE_PENDING;
    n->attempts = sqlite3_column_int(st, 17);
    n->next_attempt_at = sqlite3_column_int64(st, 18);
    n->delivered_at = sqlite3_column_int64(st, 19);
    sq_column_text(st, 20, n->last_error, sizeof n->last_error);
}

int sq_notices_list(struct store *s, const struct notice_filter *f,
                    const struct notice_cursor *before, int limit, store_notice_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT " NOTICE_COLUMNS " FROM notifications n"
        " WHERE (?1 IS NULL OR n.appid = ?1) AND (?2 IS NULL OR n.openid = ?2)"
        " AND (?3 < 0 OR n.state = ?3) AND (?4 = 0 OR (n.created_at, n.seq) < (?4, ?6))"
        " ORDER BY n.created_at DESC, n.seq DESC LIMIT ?5";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            if (f->appid)
                sq_bind_text(st, 1, f->appid);
            if (f->openid)
                sq_bind_text(st, 2, f->openid);
            sq_bind_int(st, 3, f->state);
            sq_bind_int(st, 4, before ? before->created_at : 0);
            sq_bind_int(st, 5, limit);
            sq_bind_int(st, 6, before ? before->seq : 0);
            struct notice n;
            while ((rc = sq_step_row(c, st)) == STORE_OK) {
                read_notice(st, &n);
                if (each(ctx, &n))
                    break;
            }
            if (rc == STORE_NOT_FOUND || rc == STORE_OK)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_notice_get(struct store *s, const char *id, struct notice *out)
{
    static const char sql[] = "SELECT " NOTICE_COLUMNS " FROM notifications n WHERE n.id = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, id);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                read_notice(st, out);
            sqlite3_reset(st);
        }
    });
    return rc;
}

struct redeliver_args {
    const char *id;
    int64_t now;
};

static int redeliver_unit(struct sq_conn *c, void *arg)
{
    static const char update_sql[] =
        "UPDATE notifications SET state = 0, attempts = 0, next_attempt_at = ?2,"
        " delivered_at = 0, last_error = '', lease_owner = '', lease_until = 0"
        " WHERE id = ?1 AND state <> 0";
    static const char exists_sql[] = "SELECT 1 FROM notifications WHERE id = ?1";
    const struct redeliver_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, update_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, a->id);
    sq_bind_int(st, 2, a->now);
    int rc = sq_step_done(c, st);
    bool changed = sqlite3_changes(c->db) > 0;
    sqlite3_reset(st);
    if (rc || changed)
        return rc;
    /* nothing changed: pending already, or no such notification */
    if (!(st = sq_prepare(c, exists_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, a->id);
    rc = sq_step_row(c, st);
    sqlite3_reset(st);
    return rc == STORE_OK ? STORE_CONFLICT : rc;
}

int sq_notice_redeliver(struct store *s, const char *id, int64_t now)
{
    struct redeliver_args a = {id, now};
    return sq_write(SQ_STORE(s), redeliver_unit, &a);
}

struct claim_args {
    const char *owner;
    int64_t now, system_now, lease_until;
    int limit;
    struct notice *picked;
    int count;
};

static int claim_unit(struct sq_conn *c, void *arg)
{
    static const char pick_sql[] =
        "SELECT " NOTICE_COLUMNS ", b.token_nonce, a.push_url, a.push_secret, b.token_hash <> ''"
        " FROM notifications n JOIN bindings b ON b.id = n.binding_id"
        " JOIN apps a ON a.appid = n.appid"
        " WHERE n.state = 0 AND n.next_attempt_at <= ?1 AND n.lease_until < ?2"
        " ORDER BY n.next_attempt_at LIMIT ?3";
    static const char lease_sql[] =
        "UPDATE notifications SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1";
    struct claim_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, pick_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_int(st, 1, a->now);
    sq_bind_int(st, 2, a->system_now);
    sq_bind_int(st, 3, a->limit);
    int rc;
    a->count = 0;
    while (a->count < a->limit && (rc = sq_step_row(c, st)) == STORE_OK) {
        struct notice *n = &a->picked[a->count++];
        read_notice(st, n);
        sq_column_text(st, 21, n->token_nonce, sizeof n->token_nonce);
        sq_column_text(st, 22, n->push_url, sizeof n->push_url);
        sq_column_text(st, 23, n->push_secret, sizeof n->push_secret);
        n->token_legacy = sqlite3_column_int(st, 24) != 0;
    }
    sqlite3_reset(st);
    if (rc == STORE_ERROR)
        return rc;
    for (int i = 0; i < a->count; i++) {
        if (!(st = sq_prepare(c, lease_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, a->picked[i].id);
        sq_bind_text(st, 2, a->owner);
        sq_bind_int(st, 3, a->lease_until);
        rc = sq_step_done(c, st);
        sqlite3_reset(st);
        if (rc)
            return rc;
    }
    return STORE_OK;
}

int sq_outbox_claim(struct store *s, const char *owner, int64_t now, int64_t system_now,
                    int64_t lease_until, int limit, store_notice_cb each, void *ctx)
{
    struct claim_args a = {owner, now, system_now, lease_until, limit, NULL, 0};
    if (limit <= 0 || !(a.picked = calloc((size_t)limit, sizeof *a.picked)))
        return limit <= 0 ? STORE_OK : STORE_ERROR;
    int rc = sq_write(SQ_STORE(s), claim_unit, &a);
    for (int i = 0; !rc && i < a.count; i++)
        if (each(ctx, &a.picked[i]))
            break;
    free(a.picked);
    return rc;
}

static int settle_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] =
        "UPDATE notifications SET state = ?2, attempts = ?3, next_attempt_at = ?4,"
        " delivered_at = ?5, last_error = ?6, lease_owner = '', lease_until = 0 WHERE id = ?1";
    const struct notice_outcome *o = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, o->id);
    sq_bind_int(st, 2, o->state);
    sq_bind_int(st, 3, o->attempts);
    sq_bind_int(st, 4, o->next_attempt_at);
    sq_bind_int(st, 5, o->delivered_at);
    sq_bind_text(st, 6, o->error ? o->error : "");
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_outbox_settle(struct store *s, const struct notice_outcome *o)
{
    return sq_write(SQ_STORE(s), settle_unit, (void *)o);
}

static int release_unit(struct sq_conn *c, void *arg)
{
    (void)arg;
    return sq_exec(c, "UPDATE notifications SET lease_owner = '', lease_until = 0"
                      " WHERE lease_until <> 0");
}

int sq_outbox_release(struct store *s)
{
    return sq_write(SQ_STORE(s), release_unit, NULL);
}

int sq_notice_counts(struct store *s, int64_t counts[3])
{
    static const char sql[] = "SELECT state, count(*) FROM notifications GROUP BY state";
    int rc = STORE_ERROR;
    counts[0] = counts[1] = counts[2] = 0;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            while ((rc = sq_step_row(c, st)) == STORE_OK) {
                int state = sqlite3_column_int(st, 0);
                if (state >= 0 && state < 3)
                    counts[state] = sqlite3_column_int64(st, 1);
            }
            if (rc == STORE_NOT_FOUND)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}
