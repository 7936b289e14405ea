/* SQLite ops for waybills and the bindings that follow them. */
#include "store/sqlite_db.h"

#include "domain/keynode.h"

#include <stdlib.h>
#include <string.h>

#define BINDING_COLUMNS                                                                            \
    "id, appid, openid, waybill_id, family, token_hash, token_nonce, receiver_hash,"               \
    " receiver_tail, sender_hash, sender_tail, delivery_id, goods_json, trans_id,"                 \
    " order_detail_path, updates, mismatched, created_at, expires_at, purged_at"

static int read_binding(sqlite3_stmt *st, struct binding *b)
{
    memset(b, 0, sizeof *b);
    b->id = sqlite3_column_int64(st, 0);
    sq_column_text(st, 1, b->appid, sizeof b->appid);
    sq_column_text(st, 2, b->openid, sizeof b->openid);
    sq_column_text(st, 3, b->waybill_id, sizeof b->waybill_id);
    b->family = sqlite3_column_int(st, 4) ? FAMILY_QUERY : FAMILY_MESSAGE;
    sq_column_text(st, 5, b->token_hash, sizeof b->token_hash);
    sq_column_text(st, 6, b->token_nonce, sizeof b->token_nonce);
    sq_column_text(st, 7, b->receiver_hash, sizeof b->receiver_hash);
    sq_column_text(st, 8, b->receiver_tail, sizeof b->receiver_tail);
    sq_column_text(st, 9, b->sender_hash, sizeof b->sender_hash);
    sq_column_text(st, 10, b->sender_tail, sizeof b->sender_tail);
    sq_column_text(st, 11, b->delivery_id, sizeof b->delivery_id);
    const unsigned char *goods = sqlite3_column_text(st, 12);
    b->goods_json = strdup(goods ? (const char *)goods : "[]");
    sq_column_text(st, 13, b->trans_id, sizeof b->trans_id);
    sq_column_text(st, 14, b->order_detail_path, sizeof b->order_detail_path);
    b->updates = sqlite3_column_int64(st, 15);
    b->mismatched = sqlite3_column_int(st, 16) != 0;
    b->created_at = sqlite3_column_int64(st, 17);
    b->expires_at = sqlite3_column_int64(st, 18);
    b->purged_at = sqlite3_column_int64(st, 19);
    return b->goods_json ? STORE_OK : STORE_ERROR;
}

int sq_waybill_read(struct sq_conn *c, const char *waybill_id, struct waybill *w)
{
    static const char sql[] =
        "SELECT owner, status, last_event_at, final_at, created_at, latest_at, latest_seq,"
        " latest_status, signed_at, signed_seq, signed_status, script_start"
        " FROM waybills WHERE waybill_id = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, waybill_id);
    int rc = sq_step_row(c, st);
    if (rc == STORE_OK) {
        memset(w, 0, sizeof *w);
        memcpy(w->waybill_id, waybill_id, strnlen(waybill_id, WAYBILL_ID_SIZE - 1));
        sq_column_text(st, 0, w->owner, sizeof w->owner);
        w->status = sqlite3_column_int(st, 1);
        w->last_event_at = sqlite3_column_int64(st, 2);
        w->final_at = sqlite3_column_int64(st, 3);
        w->created_at = sqlite3_column_int64(st, 4);
        w->marks.latest = (struct status_mark){
            sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6), sqlite3_column_int(st, 7)};
        w->marks.latest_signed = (struct status_mark){
            sqlite3_column_int64(st, 8), sqlite3_column_int64(st, 9), sqlite3_column_int(st, 10)};
        w->script_start = sqlite3_column_int64(st, 11);
    }
    sqlite3_reset(st);
    return rc;
}

int sq_waybill_get(struct store *s, const char *waybill_id, struct waybill *out)
{
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, { rc = sq_waybill_read(c, waybill_id, out); });
    return rc;
}

static int find_live(struct sq_conn *c, const struct bind_op *op, struct binding *out)
{
    static const char sql[] =
        /* the planner, without statistics, would walk bindings_expiry: every live binding */
        "SELECT " BINDING_COLUMNS " FROM bindings INDEXED BY bindings_user"
        " WHERE appid = ?1 AND openid = ?2"
        " AND family = ?3 AND waybill_id = ?4 AND purged_at = 0 AND expires_at > ?5"
        " ORDER BY id DESC LIMIT 1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    const struct binding *b = &op->binding;
    sq_bind_text(st, 1, b->appid);
    sq_bind_text(st, 2, b->openid);
    sq_bind_int(st, 3, b->family);
    sq_bind_text(st, 4, b->waybill_id);
    sq_bind_int(st, 5, op->now);
    int rc = sq_step_row(c, st);
    if (rc == STORE_OK)
        rc = read_binding(st, out);
    sqlite3_reset(st);
    return rc;
}

/* Valid bindings (SPEC §5.4) of the op's user and family. */
static int count_valid(struct sq_conn *c, const struct bind_op *op, int64_t *count)
{
    static const char sql[] =
        "SELECT count(*) FROM bindings b INDEXED BY bindings_user"
        " JOIN waybills w ON w.waybill_id = b.waybill_id"
        " WHERE b.appid = ?1 AND b.openid = ?2 AND b.family = ?3 AND b.purged_at = 0"
        " AND b.mismatched = 0 AND b.expires_at > ?4 AND w.status BETWEEN 0 AND 3";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, op->binding.appid);
    sq_bind_text(st, 2, op->binding.openid);
    sq_bind_int(st, 3, op->binding.family);
    sq_bind_int(st, 4, op->now);
    int rc = sq_step_row(c, st);
    *count = rc == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    return rc;
}

/* The op's waybill, made now if it is new (with the op's sandbox script, if any); one that exists
 * gets the script only if it has none yet. */
static int ensure_waybill(struct sq_conn *c, const struct bind_op *op, struct waybill *w)
{
    /* no RETURNING: SQLite would open an ephemeral table for its row, which costs more than
     * the insert itself */
    static const char insert_sql[] =
        "INSERT INTO waybills(waybill_id, created_at, script_start, script_next_at)"
        " VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
    static const char script_sql[] = "UPDATE waybills SET script_start = ?2, script_next_at = ?3"
                                     " WHERE waybill_id = ?1 AND script_start = 0";
    sqlite3_stmt *st = sq_prepare(c, insert_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, op->binding.waybill_id);
    sq_bind_int(st, 2, op->now);
    sq_bind_int(st, 3, op->script_next_at ? op->now : 0);
    sq_bind_int(st, 4, op->script_next_at);
    int rc = sq_step_done(c, st);
    bool made = rc == STORE_OK && sqlite3_changes(c->db) == 1;
    sqlite3_reset(st);
    if (rc)
        return rc;
    if (made) { /* the row as just made: every other column at its default, 0 or '' */
        memset(w, 0, sizeof *w);
        memcpy(w->waybill_id, op->binding.waybill_id,
               strnlen(op->binding.waybill_id, WAYBILL_ID_SIZE - 1));
        w->created_at = op->now;
        w->script_start = op->script_next_at ? op->now : 0;
        return STORE_OK;
    }
    if (op->script_next_at) {
        if (!(st = sq_prepare(c, script_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, op->binding.waybill_id);
        sq_bind_int(st, 2, op->now);
        sq_bind_int(st, 3, op->script_next_at);
        rc = sq_step_done(c, st);
        sqlite3_reset(st);
    }
    return rc ? rc : sq_waybill_read(c, op->binding.waybill_id, w);
}

/* progress: where the waybill stands when the binding is made, so that it is told only of the
 * key nodes still ahead. */
static int insert_binding(struct sq_conn *c, const struct binding *b,
                          const struct keynode_progress *progress, int64_t *id)
{
    static const char sql[] =
        "INSERT INTO bindings(appid, openid, waybill_id, family, token_hash, token_nonce,"
        " receiver_hash, receiver_tail, sender_hash, sender_tail, delivery_id, goods_json,"
        " trans_id, order_detail_path, created_at, expires_at, node_rank, abnormal_told,"
        " mismatched) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19)";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, b->appid);
    sq_bind_text(st, 2, b->openid);
    sq_bind_text(st, 3, b->waybill_id);
    sq_bind_int(st, 4, b->family);
    sq_bind_text(st, 5, b->token_hash);
    sq_bind_text(st, 6, b->token_nonce);
    sq_bind_text(st, 7, b->receiver_hash);
    sq_bind_text(st, 8, b->receiver_tail);
    sq_bind_text(st, 9, b->sender_hash);
    sq_bind_text(st, 10, b->sender_tail);
    sq_bind_text(st, 11, b->delivery_id);
    sq_bind_text(st, 12, b->goods_json);
    sq_bind_text(st, 13, b->trans_id);
    sq_bind_text(st, 14, b->order_detail_path);
    sq_bind_int(st, 15, b->created_at);
    sq_bind_int(st, 16, b->expires_at);
    sq_bind_int(st, 17, progress->rank);
    sq_bind_int(st, 18, progress->abnormal_told);
    sq_bind_int(st, 19, b->mismatched);
    int rc = sq_step_done(c, st);
    *id = sqlite3_last_insert_rowid(c->db);
    sqlite3_reset(st);
    return rc;
}

static int tail_contradicted(struct sq_conn *c, const char *waybill_id, const char *tail,
                             bool *contradicted)
{
    static const char sql[] = "SELECT 1 FROM events WHERE waybill_id = ?1 AND phone_tail <> ''"
                              " AND phone_tail <> ?2 LIMIT 1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, waybill_id);
    sq_bind_text(st, 2, tail);
    int rc = sq_step_row(c, st);
    sqlite3_reset(st);
    *contradicted = rc == STORE_OK;
    return rc == STORE_ERROR ? rc : STORE_OK;
}

/* fresh_user: the user was made in this unit of work, so there is no binding to find or count. */
static int bind_in(struct sq_conn *c, const struct bind_op *op, bool fresh_user,
                   struct binding *out, bool *created)
{
    int rc = fresh_user ? STORE_NOT_FOUND : find_live(c, op, out);
    if (rc != STORE_NOT_FOUND) {
        *created = false;
        return rc;
    }
    if (op->max_bindings >= 0) {
        int64_t valid = 0;
        if (!fresh_user && (rc = count_valid(c, op, &valid)))
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
    /* an event already told a phone tail that is not this binding's: someone else's parcel
     * (a waybill no carrier reported yet has no events to ask) */
    if (w.last_event_at &&
        (rc = tail_contradicted(c, out->waybill_id, out->receiver_tail, &out->mismatched)))
        return rc;
    if (out->mismatched)
        out->expires_at = op->now + LIFETIME_MISMATCH_S;
    *created = true;
    int rank = keynode_rank(w.status);
    struct keynode_progress progress = {rank > 0 ? rank : 0, w.status == STATUS_ABNORMAL};
    return insert_binding(c, out, &progress, &out->id);
}

struct bind_args {
    const struct bind_op *op;
    enum bind_outcome *outcome;
    struct binding *out;
    bool *created;
};

/* The op's user, and its bind calls of the day counted in its row (SQLite's place for the per-user
 * quota; the op's quota_key is PostgreSQL's): *outcome BIND_NO_USER or BIND_OTHER_APP when it
 * cannot bind, BIND_USER_QUOTA when the day's calls are used up (nothing changed then); *fresh
 * when the user was made now (and so has no bindings yet). */
static int take_user(struct sq_conn *c, const struct bind_op *op, enum bind_outcome *outcome,
                     bool *fresh)
{
    static const char find_sql[] =
        "SELECT appid, bind_day, binds_message, binds_query FROM users WHERE openid = ?1";
    static const char make_sql[] =
        "INSERT INTO users(openid, appid, phone_hash, phone_tail, created_at, bind_day,"
        " binds_message, binds_query) VALUES(?1, ?2, '', '', ?3, ?4, ?5, ?6)";
    static const char count_sql[] = "UPDATE users SET bind_day = ?2, binds_message = ?3,"
                                    " binds_query = ?4 WHERE openid = ?1";
    bool query = op->binding.family == FAMILY_QUERY;
    sqlite3_stmt *st = sq_prepare(c, find_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, op->binding.openid);
    int rc = sq_step_row(c, st);
    int64_t today[2] = {0, 0}; /* the user's bind calls today: message family, query family */
    if (rc == STORE_OK) {
        const unsigned char *appid = sqlite3_column_text(st, 0);
        if (!appid || strcmp((const char *)appid, op->binding.appid) != 0)
            *outcome = BIND_OTHER_APP;
        else if (sqlite3_column_int64(st, 1) == op->quota_day) /* else counts of another day */
            for (int f = 0; f < 2; f++)
                today[f] = sqlite3_column_int64(st, 2 + f);
    }
    sqlite3_reset(st);
    if (rc == STORE_ERROR || *outcome != BIND_DONE)
        return rc == STORE_ERROR ? rc : STORE_OK;
    if (rc == STORE_NOT_FOUND && !op->register_unknown) {
        *outcome = BIND_NO_USER;
        return STORE_OK;
    }
    /* a new user is made even when the call is refused, as the user check comes first */
    bool counts = op->quota_key && today[query] < op->quota_limit;
    today[query] += counts;
    *fresh = rc == STORE_NOT_FOUND;
    if (*fresh) {
        if (!(st = sq_prepare(c, make_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, op->binding.openid);
        sq_bind_text(st, 2, op->binding.appid);
        sq_bind_int(st, 3, op->now);
        sq_bind_int(st, 4, op->quota_day);
        sq_bind_int(st, 5, today[0]);
        sq_bind_int(st, 6, today[1]);
    } else if (counts) {
        if (!(st = sq_prepare(c, count_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, op->binding.openid);
        sq_bind_int(st, 2, op->quota_day);
        sq_bind_int(st, 3, today[0]);
        sq_bind_int(st, 4, today[1]);
    }
    if (*fresh || counts) {
        rc = sq_step_done(c, st);
        sqlite3_reset(st);
        if (rc)
            return rc;
    }
    if (op->quota_key && !counts)
        *outcome = BIND_USER_QUOTA;
    return STORE_OK;
}

static int bind_unit(struct sq_conn *c, void *arg)
{
    const struct bind_args *a = arg;
    const struct bind_op *op = a->op;
    binding_release(a->out); /* from a run that was undone */
    memset(a->out, 0, sizeof *a->out);
    *a->created = false;
    *a->outcome = BIND_DONE;
    bool fresh = false;
    int rc = take_user(c, op, a->outcome, &fresh);
    if (rc || *a->outcome != BIND_DONE)
        return rc;
    if (op->count_only) {
        *a->outcome = BIND_COUNTED;
        return STORE_OK;
    }
    rc = bind_in(c, op, fresh, a->out, a->created);
    if (rc == STORE_LIMIT) { /* the count stays: the call reached the per-user check */
        *a->outcome = BIND_CAP;
        return STORE_OK;
    }
    *a->outcome = BIND_DONE;
    return rc;
}

/* What a bind that made no binding must not leave behind: the outputs it allocated. */
static void bind_settle(void *arg, int rc)
{
    const struct bind_args *a = arg;
    if (rc || *a->outcome != BIND_DONE)
        binding_release(a->out);
}

int sq_bind(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
            struct binding *out, bool *created)
{
    memset(out, 0, sizeof *out);
    *created = false;
    *outcome = BIND_DONE;
    struct bind_args a = {op, outcome, out, created};
    int rc = sq_write(SQ_STORE(s), bind_unit, &a);
    bind_settle(&a, rc);
    return rc;
}

int sq_bind_then(struct store *s, const struct bind_op *op, enum bind_outcome *outcome,
                 struct binding *out, bool *created, void (*done)(void *ctx, int rc), void *ctx)
{
    memset(out, 0, sizeof *out);
    *created = false;
    *outcome = BIND_DONE;
    struct bind_args a = {op, outcome, out, created};
    return sq_write_later(SQ_STORE(s), bind_unit, &a, sizeof a, bind_settle, done, ctx);
}

int sq_binding_by_token(struct store *s, const struct waybill_token_ref *ref, struct binding *out)
{
    static const char by_id[] = "SELECT " BINDING_COLUMNS " FROM bindings WHERE id = ?1";
    /* the legacy index holds only the hashes of tokens from before */
    static const char by_hash[] = "SELECT " BINDING_COLUMNS " FROM bindings"
                                  " WHERE token_hash = ?1 AND token_hash <> ''";
    int rc = STORE_ERROR;
    memset(out, 0, sizeof *out);
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, ref->binding_id ? by_id : by_hash);
        if (st) {
            if (ref->binding_id)
                sq_bind_int(st, 1, ref->binding_id);
            else
                sq_bind_text(st, 1, ref->legacy_hash);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                rc = read_binding(st, out);
            sqlite3_reset(st);
        }
    });
    return rc;
}

struct goods_args {
    int64_t binding_id;
    const char *goods_json;
    int64_t max_updates;
};

static int update_goods_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "UPDATE bindings SET goods_json = ?2, updates = updates + 1"
                              " WHERE id = ?1 AND updates < ?3";
    const struct goods_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_int(st, 1, a->binding_id);
    sq_bind_text(st, 2, a->goods_json);
    sq_bind_int(st, 3, a->max_updates);
    int rc = sq_step_done(c, st);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_LIMIT;
    sqlite3_reset(st);
    return rc;
}

int sq_binding_update_goods(struct store *s, int64_t binding_id, const char *goods_json,
                            int64_t max_updates)
{
    struct goods_args a = {binding_id, goods_json, max_updates};
    return sq_write(SQ_STORE(s), update_goods_unit, &a);
}

int sq_binding_update_goods_then(struct store *s, int64_t binding_id, const char *goods_json,
                                 int64_t max_updates, void (*done)(void *ctx, int rc), void *ctx)
{
    struct goods_args a = {binding_id, goods_json, max_updates};
    return sq_write_later(SQ_STORE(s), update_goods_unit, &a, sizeof a, NULL, done, ctx);
}
