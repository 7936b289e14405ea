/* PostgreSQL ops for the deployment's registry: settings, apps, users and carriers. */
#include "store/pg_db.h"

#include <string.h>

int pg_meta_get(struct store *s, const char *key, char *out, size_t size)
{
    static const char sql[] = "SELECT value FROM meta WHERE key = $1";
    struct pg_params p = {0};
    pg_param_text(&p, key);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        pg_get_text(r, 0, 0, out, size);
    PQclear(r);
    return rc;
}

int pg_meta_set(struct store *s, const char *key, const char *value)
{
    static const char sql[] = "INSERT INTO meta(key, value) VALUES($1, $2)"
                              " ON CONFLICT(key) DO UPDATE SET value = excluded.value";
    struct pg_params p = {0};
    pg_param_text(&p, key);
    pg_param_text(&p, value);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

#define APP_COLUMNS                                                                                \
    "appid, name, secret_hash, push_secret, push_url, released, pay_tx_90d, enabled,"              \
    " daily_quota, user_daily_quota, user_daily_quota_query, max_bindings, max_updates,"           \
    " created_at"

static void app_params(struct pg_params *p, const struct app *a)
{
    pg_param_text(p, a->appid);
    pg_param_text(p, a->name);
    pg_param_text(p, a->secret_hash);
    pg_param_text(p, a->push_secret);
    pg_param_text(p, a->push_url);
    pg_param_int(p, a->released);
    pg_param_int(p, a->pay_tx_90d);
    pg_param_int(p, a->enabled);
    pg_param_limit(p, a->daily_quota);
    pg_param_limit(p, a->user_daily_quota);
    pg_param_limit(p, a->user_daily_quota_query);
    pg_param_limit(p, a->max_bindings);
    pg_param_limit(p, a->max_updates);
    pg_param_int(p, a->created_at);
}

static void read_app(const PGresult *r, int row, struct app *a)
{
    memset(a, 0, sizeof *a);
    pg_get_text(r, row, 0, a->appid, sizeof a->appid);
    pg_get_text(r, row, 1, a->name, sizeof a->name);
    pg_get_text(r, row, 2, a->secret_hash, sizeof a->secret_hash);
    pg_get_text(r, row, 3, a->push_secret, sizeof a->push_secret);
    pg_get_text(r, row, 4, a->push_url, sizeof a->push_url);
    a->released = pg_get_int(r, row, 5) != 0;
    a->pay_tx_90d = pg_get_int(r, row, 6);
    a->enabled = pg_get_int(r, row, 7) != 0;
    a->daily_quota = pg_get_limit(r, row, 8);
    a->user_daily_quota = pg_get_limit(r, row, 9);
    a->user_daily_quota_query = pg_get_limit(r, row, 10);
    a->max_bindings = pg_get_limit(r, row, 11);
    a->max_updates = pg_get_limit(r, row, 12);
    a->created_at = pg_get_int(r, row, 13);
}

int pg_app_put(struct store *s, const struct app *a)
{
    static const char sql[] = "INSERT INTO apps(" APP_COLUMNS ")"
                              " VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)";
    struct pg_params p = {0};
    app_params(&p, a);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

int pg_app_update(struct store *s, const struct app *a)
{
    static const char sql[] =
        "UPDATE apps SET name = $2, secret_hash = $3, push_secret = $4, push_url = $5,"
        " released = $6, pay_tx_90d = $7, enabled = $8, daily_quota = $9,"
        " user_daily_quota = $10, user_daily_quota_query = $11, max_bindings = $12,"
        " max_updates = $13, created_at = $14 WHERE appid = $1";
    struct pg_params p = {0};
    app_params(&p, a);
    int64_t changed = 0;
    int rc = pg_once_cmd(PG_STORE(s), sql, &p, &changed);
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

int pg_app_get(struct store *s, const char *appid, struct app *out)
{
    static const char sql[] = "SELECT " APP_COLUMNS " FROM apps WHERE appid = $1";
    struct pg_params p = {0};
    pg_param_text(&p, appid);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        read_app(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_app_list(struct store *s, const char *after, int limit, store_app_cb each, void *ctx)
{
    static const char sql[] =
        "SELECT " APP_COLUMNS " FROM apps WHERE appid > $1 ORDER BY appid LIMIT $2";
    struct pg_params p = {0};
    pg_param_text(&p, after ? after : "");
    pg_param_int(&p, limit);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    struct app a;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        read_app(r, i, &a);
        if (each(ctx, &a))
            break;
    }
    PQclear(r);
    return rc;
}

int pg_user_put(struct store *s, const struct user *u)
{
    static const char sql[] = "INSERT INTO users(openid, appid, phone_hash, phone_tail, created_at)"
                              " VALUES($1, $2, $3, $4, $5)";
    struct pg_params p = {0};
    pg_param_text(&p, u->openid);
    pg_param_text(&p, u->appid);
    pg_param_text(&p, u->phone_hash);
    pg_param_text(&p, u->phone_tail);
    pg_param_int(&p, u->created_at);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

int pg_user_get(struct store *s, const char *openid, struct user *out)
{
    static const char sql[] = "SELECT openid, appid, phone_hash, phone_tail, created_at"
                              " FROM users WHERE openid = $1";
    struct pg_params p = {0};
    pg_param_text(&p, openid);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK) {
        memset(out, 0, sizeof *out);
        pg_get_text(r, 0, 0, out->openid, sizeof out->openid);
        pg_get_text(r, 0, 1, out->appid, sizeof out->appid);
        pg_get_text(r, 0, 2, out->phone_hash, sizeof out->phone_hash);
        pg_get_text(r, 0, 3, out->phone_tail, sizeof out->phone_tail);
        out->created_at = pg_get_int(r, 0, 4);
    }
    PQclear(r);
    return rc;
}

#define CARRIER_COLUMNS "delivery_id, delivery_name, waybill_pattern, key_hash, enabled, created_at"

static void carrier_params(struct pg_params *p, const struct carrier *c)
{
    pg_param_text(p, c->delivery_id);
    pg_param_text(p, c->delivery_name);
    pg_param_text(p, c->waybill_pattern);
    pg_param_text(p, c->key_hash);
    pg_param_int(p, c->enabled);
    pg_param_int(p, c->created_at);
}

static void read_carrier(const PGresult *r, int row, struct carrier *c)
{
    memset(c, 0, sizeof *c);
    pg_get_text(r, row, 0, c->delivery_id, sizeof c->delivery_id);
    pg_get_text(r, row, 1, c->delivery_name, sizeof c->delivery_name);
    pg_get_text(r, row, 2, c->waybill_pattern, sizeof c->waybill_pattern);
    pg_get_text(r, row, 3, c->key_hash, sizeof c->key_hash);
    c->enabled = pg_get_int(r, row, 4) != 0;
    c->created_at = pg_get_int(r, row, 5);
}

int pg_carrier_put(struct store *s, const struct carrier *carrier)
{
    static const char sql[] = "INSERT INTO carriers(" CARRIER_COLUMNS ") VALUES($1,$2,$3,$4,$5,$6)";
    struct pg_params p = {0};
    carrier_params(&p, carrier);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}

int pg_carrier_update(struct store *s, const struct carrier *carrier)
{
    static const char sql[] =
        "UPDATE carriers SET delivery_name = $2, waybill_pattern = $3,"
        " key_hash = $4, enabled = $5, created_at = $6 WHERE delivery_id = $1";
    struct pg_params p = {0};
    carrier_params(&p, carrier);
    int64_t changed = 0;
    int rc = pg_once_cmd(PG_STORE(s), sql, &p, &changed);
    return rc == STORE_OK && changed == 0 ? STORE_NOT_FOUND : rc;
}

static int carrier_one(struct store *s, const char *sql, const char *key, struct carrier *out)
{
    struct pg_params p = {0};
    pg_param_text(&p, key);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK)
        read_carrier(r, 0, out);
    PQclear(r);
    return rc;
}

int pg_carrier_get(struct store *s, const char *delivery_id, struct carrier *out)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers WHERE delivery_id = $1";
    return carrier_one(s, sql, delivery_id, out);
}

int pg_carrier_by_key(struct store *s, const char *key_hash, struct carrier *out)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers WHERE key_hash = $1";
    return carrier_one(s, sql, key_hash, out);
}

int pg_carrier_list(struct store *s, store_carrier_cb each, void *ctx)
{
    static const char sql[] = "SELECT " CARRIER_COLUMNS " FROM carriers ORDER BY delivery_id";
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, NULL, &r);
    struct carrier carrier;
    for (int i = 0; rc == STORE_OK && i < PQntuples(r); i++) {
        read_carrier(r, i, &carrier);
        if (each(ctx, &carrier))
            break;
    }
    PQclear(r);
    return rc;
}
