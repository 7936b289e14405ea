/* PostgreSQL ops for waybills and the bindings that follow them. A bind locks its user's row, then
 * its waybill's row, so that binds of one user, and binds and events of one waybill, take turns
 * across processes. */
#include "store/pg_db.h"

#include "domain/keynode.h"

#include <stdlib.h>
#include <string.h>

#define BINDING_COLUMNS                                                                            \
    "id, appid, openid, waybill_id, family, token_hash, token_nonce, receiver_hash,"               \
    " receiver_tail, sender_hash, sender_tail, delivery_id, goods_json, trans_id,"                 \
    " order_detail_path, updates, mismatched, created_at, expires_at, purged_at"

static int read_binding(const PGresult *r, int row, struct binding *b)
{
    memset(b, 0, sizeof *b);
    b->id = pg_get_int(r, row, 0);
    pg_get_text(r, row, 1, b->appid, sizeof b->appid);
    pg_get_text(r, row, 2, b->openid, sizeof b->openid);
    pg_get_text(r, row, 3, b->waybill_id, sizeof b->waybill_id);
    b->family = pg_get_int(r, row, 4) ? FAMILY_QUERY : FAMILY_MESSAGE;
    pg_get_text(r, row, 5, b->token_hash, sizeof b->token_hash);
    pg_get_text(r, row, 6, b->token_nonce, sizeof b->token_nonce);
    pg_get_text(r, row, 7, b->receiver_hash, sizeof b->receiver_hash);
    pg_get_text(r, row, 8, b->receiver_tail, sizeof b->receiver_tail);
    pg_get_text(r, row, 9, b->sender_hash, sizeof b->sender_hash);
    pg_get_text(r, row, 10, b->sender_tail, sizeof b->sender_tail);
    pg_get_text(r, row, 11, b->delivery_id, sizeof b->delivery_id);
    b->goods_json = strdup(PQgetisnull(r, row, 12) ? "[]" : PQgetvalue(r, row, 12));
    pg_get_text(r, row, 13, b->trans_id, sizeof b->trans_id);
    pg_get_text(r, row, 14, b->order_detail_path, sizeof b->order_detail_path);
    b->updates = pg_get_int(r, row, 15);
    b->mismatched = pg_get_int(r, row, 16) != 0;
    b->created_at = pg_get_int(r, row, 17);
    b->expires_at = pg_get_int(r, row, 18);
    b->purged_at = pg_get_int(r, row, 19);
    return b->goods_json ? STORE_OK : STORE_ERROR;
}

int pg_waybill_read(struct pg_conn *c, const char *waybill_id, bool lock, struct waybill *w)
{
#define WAYBILL_READ                                                                               \
    "SELECT owner, status, last_event_at, final_at, created_at, latest_at, latest_seq,"            \
    " latest_status, signed_at, signed_seq, signed_status, script_start"                           \
    " FROM waybills WHERE waybill_id = $1"
    static const char read_sql[] = WAYBILL_READ;
    static const char lock_sql[] = WAYBILL_READ " FOR UPDATE";
#undef WAYBILL_READ
    struct pg_params p = {0};
    pg_param_text(&p, waybill_id);
    PGresult *r;
    int rc = pg_run(c, lock ? lock_sql : read_sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK) {
        memset(w, 0, sizeof *w);
        memcpy(w->waybill_id, waybill_id, strnlen(waybill_id, WAYBILL_ID_SIZE - 1));
        pg_get_text(r, 0, 0, w->owner, sizeof w->owner);
        w->status = (int)pg_get_int(r, 0, 1);
        w->last_event_at = pg_get_int(r, 0, 2);
        w->final_at = pg_get_int(r, 0, 3);
        w->created_at = pg_get_int(r, 0, 4);
        w->marks.latest = (struct status_mark){pg_get_int(r, 0, 5), pg_get_int(r, 0, 6),
                                               (int)pg_get_int(r, 0, 7)};
        w->marks.latest_signed = (struct status_mark){pg_get_int(r, 0, 8), pg_get_int(r, 0, 9),
                                                      (int)pg_get_int(r, 0, 10)};
        w->script_start = pg_get_int(r, 0, 11);
    }
    PQclear(r);
    return rc;
}

int pg_waybill_get(struct store *s, const char *waybill_id, struct waybill *out)
{
    for (int attempt = 0; attempt < 2; attempt++) { /* once more after a lost connection */
        struct pg_conn *c = pg_acquire(PG_STORE(s));
        if (!c)
            return STORE_ERROR;
        int rc = pg_waybill_read(c, waybill_id, false, out);
        pg_release(PG_STORE(s), c);
        if (rc != PG_RETRY)
            return rc;
    }
    return STORE_ERROR;
}

static int find_live(struct pg_conn *c, const struct bind_op *op, struct binding *out)
{
    static const char sql[] =
        "SELECT " BINDING_COLUMNS " FROM bindings WHERE appid = $1 AND openid = $2"
        " AND family = $3 AND waybill_id = $4 AND purged_at = 0 AND expires_at > $5"
        " ORDER BY id DESC LIMIT 1";
    const struct binding *b = &op->binding;
    struct pg_params p = {0};
    pg_param_text(&p, b->appid);
    pg_param_text(&p, b->openid);
    pg_param_int(&p, b->family);
    pg_param_text(&p, b->waybill_id);
    pg_param_int(&p, op->now);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        rc = read_binding(r, 0, out);
    PQclear(r);
    return rc;
}

/* Valid bindings (SPEC §5.4) of the op's user and family. */
static int count_valid(struct pg_conn *c, const struct bind_op *op, int64_t *count)
{
    static const char sql[] =
        "SELECT count(*) FROM bindings b JOIN waybills w ON w.waybill_id = b.waybill_id"
        " WHERE b.appid = $1 AND b.openid = $2 AND b.family = $3 AND b.purged_at = 0"
        " AND b.mismatched = 0 AND b.expires_at > $4 AND w.status BETWEEN 0 AND 3";
    struct pg_params p = {0};
    pg_param_text(&p, op->binding.appid);
    pg_param_text(&p, op->binding.openid);
    pg_param_int(&p, op->binding.family);
    pg_param_int(&p, op->now);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    *count = rc == STORE_OK ? pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

/* The op's waybill, created if new and locked until the end of the transaction. */
static int ensure_waybill(struct pg_conn *c, const struct bind_op *op, struct waybill *w)
{
    static const char insert_sql[] = "INSERT INTO waybills(waybill_id, created_at) VALUES($1, $2)"
                                     " ON CONFLICT(waybill_id) DO NOTHING";
    static const char script_sql[] = "UPDATE waybills SET script_start = $2, script_next_at = $3"
                                     " WHERE waybill_id = $1 AND script_start = 0";
    struct pg_params p = {0};
    pg_param_text(&p, op->binding.waybill_id);
    pg_param_int(&p, op->now);
    int rc = pg_run_cmd(c, insert_sql, &p, NULL);
    if (!rc && op->script_next_at) {
        pg_param_int(&p, op->script_next_at);
        rc = pg_run_cmd(c, script_sql, &p, NULL);
    }
    return rc ? rc : pg_waybill_read(c, op->binding.waybill_id, true, w);
}

/* progress: where the waybill stands when the binding is made, so that it is told only of the
 * key nodes still ahead. */
static int insert_binding(struct pg_conn *c, const struct binding *b,
                          const struct keynode_progress *progress, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO bindings(appid, openid, waybill_id, family, token_hash, token_nonce,"
        " receiver_hash, receiver_tail, sender_hash, sender_tail, delivery_id, goods_json,"
        " trans_id, order_detail_path, created_at, expires_at, node_rank, abnormal_told,"
        " mismatched) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)"
        " RETURNING id";
    struct pg_params p = {0};
    pg_param_text(&p, b->appid);
    pg_param_text(&p, b->openid);
    pg_param_text(&p, b->waybill_id);
    pg_param_int(&p, b->family);
    pg_param_text(&p, b->token_hash);
    pg_param_text(&p, b->token_nonce);
    pg_param_text(&p, b->receiver_hash);
    pg_param_text(&p, b->receiver_tail);
    pg_param_text(&p, b->sender_hash);
    pg_param_text(&p, b->sender_tail);
    pg_param_text(&p, b->delivery_id);
    pg_param_text(&p, b->goods_json);
    pg_param_text(&p, b->trans_id);
    pg_param_text(&p, b->order_detail_path);
    pg_param_int(&p, b->created_at);
    pg_param_int(&p, b->expires_at);
    pg_param_int(&p, progress->rank);
    pg_param_int(&p, progress->abnormal_told);
    pg_param_int(&p, b->mismatched);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    if (rc == STORE_OK)
        *id = pg_get_int(r, 0, 0);
    PQclear(r);
    return rc;
}

static int tail_contradicted(struct pg_conn *c, const char *waybill_id, const char *tail,
                             bool *contradicted)
{
    static const char sql[] = "SELECT 1 FROM events WHERE waybill_id = $1 AND phone_tail <> ''"
                              " AND phone_tail <> $2 LIMIT 1";
    struct pg_params p = {0};
    pg_param_text(&p, waybill_id);
    pg_param_text(&p, tail);
    PGresult *r;
    int rc = pg_run(c, sql, &p, &r);
    *contradicted = rc == STORE_OK && PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

static int bind_in(struct pg_conn *c, const struct bind_op *op, struct binding *out, bool *created)
{
    int rc = find_live(c, op, out);
    if (rc != STORE_NOT_FOUND) {
        *created = false;
        return rc;
    }
    if (op->max_bindings >= 0) {
        int64_t valid = 0;
        if ((rc = count_valid(c, op, &valid)))
            return rc;
        if (valid >= op->max_bindings)
            return STORE_LIMIT;
    }
    struct waybill w;
    if ((rc = ensure_waybill(c, op, &w)))
        return rc;
    *out = op->binding;
    out->created_at = op->now;
    out->expires_at = lifetime_expires_at(&op->lifetime, &w, op->now);
    out->goods_json = strdup(op->binding.goods_json);
    if (!out->goods_json)
        return STORE_ERROR;
    /* an event already told a phone tail that is not this binding's: someone else's parcel */
    if ((rc = tail_contradicted(c, out->waybill_id, out->receiver_tail, &out->mismatched)))
        return rc;
    if (out->mismatched)
        out->expires_at = op->now + LIFETIME_MISMATCH_S;
    *created = true;
    int rank = keynode_rank(w.status);
    struct keynode_progress progress = {rank > 0 ? rank : 0, w.status == STATUS_ABNORMAL};
    return insert_binding(c, out, &progress, &out->id);
}

/* Locks the op's user's row (one bind per user at a time), making the user first when the op asks
 * for unknown ones; *outcome BIND_NO_USER or BIND_OTHER_APP when it cannot bind. */
static int lock_user(struct pg_conn *c, const struct bind_op *op, enum bind_outcome *outcome)
{
    static const char make_sql[] =
        "INSERT INTO users(openid, appid, phone_hash, phone_tail, created_at)"
        " VALUES($1, $2, '', '', $3) ON CONFLICT(openid) DO NOTHING";
    static const char lock_sql[] = "SELECT appid FROM users WHERE openid = $1 FOR UPDATE";
    int rc = STORE_OK;
    if (op->register_unknown) {
        struct pg_params make = {0};
        pg_param_text(&make, op->binding.openid);
        pg_param_text(&make, op->binding.appid);
        pg_param_int(&make, op->now);
        rc = pg_run_cmd(c, make_sql, &make, NULL);
    }
    struct pg_params p = {0};
    pg_param_text(&p, op->binding.openid);
    PGresult *r = NULL;
    if (!rc)
        rc = pg_run(c, lock_sql, &p, &r);
    if (!rc && PQntuples(r) == 0)
        *outcome = BIND_NO_USER;
    else if (!rc && strcmp(PQgetvalue(r, 0, 0), op->binding.appid) != 0)
        *outcome = BIND_OTHER_APP;
    PQclear(r);
    return rc;
}

struct bind_args {
    const struct bind_op *op;
    enum bind_outcome *outcome;
    struct binding *out;
    bool *created;
};

static int bind_unit(struct pg_conn *c, void *arg)
{
    const struct bind_args *a = arg;
    const struct bind_op *op = a->op;
    /* a run after a deadlock starts from nothing */
    binding_release(a->out);
    memset(a->out, 0, sizeof *a->out);
    *a->created = false;
    *a->outcome = BIND_DONE;
    int64_t used = 0;
    int rc = lock_user(c, op, a->outcome);
    if (rc || *a->outcome != BIND_DONE)
        return rc;
    if (op->quota_key)
        rc = pg_counter_add_one(c, op->quota_key, op->quota_day, op->quota_limit, &used);
    if (rc == STORE_LIMIT) {
        *a->outcome = BIND_USER_QUOTA;
        return STORE_OK;
    }
    if (rc)
        return rc;
    if (op->count_only) {
        *a->outcome = BIND_COUNTED;
        return STORE_OK;
    }
    rc = bind_in(c, op, a->out, a->created);
    if (rc == STORE_LIMIT) { /* the count stays: the call reached the per-user check */
        *a->outcome = BIND_CAP;
        return STORE_OK;
    }
    return rc;
}

int pg_bind(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
            struct binding *out, bool *created)
{
    memset(out, 0, sizeof *out);
    *created = false;
    *outcome = BIND_DONE;
    struct bind_args a = {op, outcome, out, created};
    int rc = pg_unit(PG_STORE(s), bind_unit, &a);
    if (rc || *outcome != BIND_DONE)
        binding_release(out);
    return rc;
}

int pg_binding_by_token(struct store *s, const struct waybill_token_ref *ref, struct binding *out)
{
    static const char by_id[] = "SELECT " BINDING_COLUMNS " FROM bindings WHERE id = $1";
    static const char by_hash[] = "SELECT " BINDING_COLUMNS " FROM bindings"
                                  " WHERE token_hash = $1 AND token_hash <> ''";
    memset(out, 0, sizeof *out);
    struct pg_params p = {0};
    if (ref->binding_id)
        pg_param_int(&p, ref->binding_id);
    else
        pg_param_text(&p, ref->legacy_hash);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), ref->binding_id ? by_id : by_hash, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        rc = read_binding(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_binding_update_goods(struct store *s, int64_t binding_id, const char *goods_json,
                            int64_t max_updates)
{
    /* one statement: the check and the count are one atomic step */
    static const char sql[] = "UPDATE bindings SET goods_json = $2, updates = updates + 1"
                              " WHERE id = $1 AND updates < $3";
    struct pg_params p = {0};
    pg_param_int(&p, binding_id);
    pg_param_text(&p, goods_json);
    pg_param_int(&p, max_updates);
    int64_t changed = 0;
    int rc = pg_once_cmd(PG_STORE(s), sql, &p, &changed);
    return rc == STORE_OK && changed == 0 ? STORE_LIMIT : rc;
}
