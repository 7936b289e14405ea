/* SQLite ops for the deployment's registry: settings, apps, users and carriers. */
#include "store/sqlite_db.h"

#include <string.h>

int sq_meta_get(struct store *s, const char *key, char *out, size_t size)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, key);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                sq_column_text(st, 0, out, size);
            sqlite3_reset(st);
        }
    });
    return rc;
}

struct meta_args {
    const char *key;
    const char *value;
};

static int meta_set_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                              " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    const struct meta_args *m = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, m->key);
    sq_bind_text(st, 2, m->value);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_meta_set(struct store *s, const char *key, const char *value)
{
    struct meta_args m = {key, value};
    return sq_write(SQ_STORE(s), meta_set_unit, &m);
}

#define APP_COLUMNS                                                                                \
    "appid, name, secret_hash, push_secret, push_url, released, pay_tx_90d, enabled,"              \
    " daily_quota, user_daily_quota, user_daily_quota_query, max_bindings, max_updates,"           \
    " created_at"

static void bind_app(sqlite3_stmt *st, const struct app *a)
{
    sq_bind_text(st, 1, a->appid);
    sq_bind_text(st, 2, a->name);
    sq_bind_text(st, 3, a->secret_hash);
    sq_bind_text(st, 4, a->push_secret);
    sq_bind_text(st, 5, a->push_url);
    sq_bind_int(st, 6, a->released);
    sq_bind_int(st, 7, a->pay_tx_90d);
    sq_bind_int(st, 8, a->enabled);
    sq_bind_limit(st, 9, a->daily_quota);
    sq_bind_limit(st, 10, a->user_daily_quota);
    sq_bind_limit(st, 11, a->user_daily_quota_query);
    sq_bind_limit(st, 12, a->max_bindings);
    sq_bind_limit(st, 13, a->max_updates);
    sq_bind_int(st, 14, a->created_at);
}

static void read_app(sqlite3_stmt *st, struct app *a)
{
    memset(a, 0, sizeof *a);
    sq_column_text(st, 0, a->appid, sizeof a->appid);
    sq_column_text(st, 1, a->name, sizeof a->name);
    sq_column_text(st, 2, a->secret_hash, sizeof a->secret_hash);
    sq_column_text(st, 3, a->push_secret, sizeof a->push_secret);
    sq_column_text(st, 4, a->push_url, sizeof a->push_url);
    a->released = sqlite3_column_int(st, 5) != 0;
    a->pay_tx_90d = sqlite3_column_int64(st, 6);
    a->enabled = sqlite3_column_int(st, 7) != 0;
    a->daily_quota = sq_column_limit(st, 8);
    a->user_daily_quota = sq_column_limit(st, 9);
    a->user_daily_quota_query = sq_column_limit(st, 10);
    a->max_bindings = sq_column_limit(st, 11);
    a->max_updates = sq_column_limit(st, 12);
    a->created_at = sqlite3_column_int64(st, 13);
}

static int app_put_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "INSERT INTO apps(" APP_COLUMNS ")"
                              " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    bind_app(st, arg);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_app_put(struct store *s, const struct app *a)
{
    return sq_write(SQ_STORE(s), app_put_unit, (void *)a);
}

static int app_update_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] =
        "UPDATE apps SET name = ?2, secret_hash = ?3, push_secret = ?4, push_url = ?5,"
        " released = ?6, pay_tx_90d = ?7, enabled = ?8, daily_quota = ?9,"
        " user_daily_quota = ?10, user_daily_quota_query = ?11, max_bindings = ?12,"
        " max_updates = ?13, created_at = ?14 WHERE appid = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    bind_app(st, arg);
    int rc = sq_step_done(c, st);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_NOT_FOUND;
    sqlite3_reset(st);
    return rc;
}

int sq_app_update(struct store *s, const struct app *a)
{
    return sq_write(SQ_STORE(s), app_update_unit, (void *)a);
}

int sq_app_get(struct store *s, const char *appid, struct app *out)
{
    static const char sql[] = "SELECT " APP_COLUMNS " FROM apps WHERE appid = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, appid);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                read_app(st, out);
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_app_list(struct store *s, const char *after, int limit, store_app_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT " APP_COLUMNS " FROM apps WHERE appid > ?1 ORDER BY appid LIMIT ?2";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, after ? after : "");
            sq_bind_int(st, 2, limit);
            struct app a;
            while ((rc = sq_step_row(c, st)) == STORE_OK) {
                read_app(st, &a);
                if (each(ctx, &a))
                    break;
            }
            if (rc == STORE_NOT_FOUND || rc == STORE_OK)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}

static int user_put_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "INSERT INTO users(openid, appid, phone_hash, phone_tail, created_at)"
                              " VALUES(?1, ?2, ?3, ?4, ?5)";
    const struct user *u = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, u->openid);
    sq_bind_text(st, 2, u->appid);
    sq_bind_text(st, 3, u->phone_hash);
    sq_bind_text(st, 4, u->phone_tail);
    sq_bind_int(st, 5, u->created_at);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_user_put(struct store *s, const struct user *u)
{
    return sq_write(SQ_STORE(s), user_put_unit, (void *)u);
}

int sq_user_get(struct store *s, const char *openid, struct user *out)
{
    static const char sql[] = "SELECT openid, appid, phone_hash, phone_tail, created_at"
                              " FROM users WHERE openid = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, openid);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK) {
                memset(out, 0, sizeof *out);
                sq_column_text(st, 0, out->openid, sizeof out->openid);
                sq_column_text(st, 1, out->appid, sizeof out->appid);
                sq_column_text(st, 2, out->phone_hash, sizeof out->phone_hash);
                sq_column_text(st, 3, out->phone_tail, sizeof out->phone_tail);
                out->created_at = sqlite3_column_int64(st, 4);
            }
            sqlite3_reset(st);
        }
    });
    return rc;
}

#define CARRIER_COLUMNS "delivery_id, delivery_name, waybill_pattern, key_hash, enabled, created_at"

static void bind_carrier(sqlite3_stmt *st, const struct carrier *c)
{
    sq_bind_text(st, 1, c->delivery_id);
    sq_bind_text(st, 2, c->delivery_name);
    sq_bind_text(st, 3, c->waybill_pattern);
    sq_bind_text(st, 4, c->key_hash);
    sq_bind_int(st, 5, c->enabled);
    sq_bind_int(st, 6, c->created_at);
}

static void read_carrier(sqlite3_stmt *st, struct carrier *c)
{
    memset(c, 0, sizeof *c);
    sq_column_text(st, 0, c->delivery_id, sizeof c->delivery_id);
    sq_column_text(st, 1, c->delivery_name, sizeof c->delivery_name);
    sq_column_text(st, 2, c->waybill_pattern, sizeof c->waybill_pattern);
    sq_column_text(st, 3, c->key_hash, sizeof c->key_hash);
    c->enabled = sqlite3_column_int(st, 4) != 0;
    c->created_at = sqlite3_column_int64(st, 5);
}

static int carrier_put_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] = "INSERT INTO carriers(" CARRIER_COLUMNS ") VALUES(?1,?2,?3,?4,?5,?6)";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    bind_carrier(st, arg);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_carrier_put(struct store *s, const struct carrier *carrier)
{
    return sq_write(SQ_STORE(s), carrier_put_unit, (void *)carrier);
}

static int carrier_update_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] =
        "UPDATE carriers SET delivery_name = ?2, waybill_pattern = ?3,"
        " key_hash = ?4, enabled = ?5, created_at = ?6 WHERE delivery_id = ?1";
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    bind_carrier(st, arg);
    int rc = sq_step_done(c, st);
    if (rc == STORE_OK && sqlite3_changes(c->db) == 0)
        rc = STORE_NOT_FOUND;
    sqlite3_reset(st);
    return rc;
}

int sq_carrier_update(struct store *s, const struct carrier *carrier)
{
    return sq_write(SQ_STORE(s), carrier_update_unit, (void *)carrier);
}

int sq_carrier_get(struct store *s, const char *delivery_id, struct carrier *out)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers WHERE delivery_id = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, delivery_id);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                read_carrier(st, out);
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_carrier_by_key(struct store *s, const char *key_hash, struct carrier *out)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers WHERE key_hash = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, key_hash);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK)
                read_carrier(st, out);
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_carrier_list(struct store *s, store_carrier_cb each, void *ctx)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers ORDER BY delivery_id";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            struct carrier carrier;
            while ((rc = sq_step_row(c, st)) == STORE_OK) {
                read_carrier(st, &carrier);
                if (each(ctx, &carrier))
                    break;
            }
            if (rc == STORE_NOT_FOUND || rc == STORE_OK)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}
