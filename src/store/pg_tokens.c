/* PostgreSQL ops for access tokens, stable-token state and the daily counters behind every quota.
 * Counters change in single statements or under a row lock, so they stay exact across processes.
 */
#include "store/pg_db.h"

#include <string.h>

struct issue_args {
    const struct token_rec *t;
    int64_t grace_until;
};

static int token_issue_unit(struct pg_conn *c, void *arg)
{
    /* the app's row lock puts the issues of one app in a row, across processes, so that exactly
     * one token is the one "issued just before"; FOR NO KEY UPDATE leaves new users (whose
     * foreign key only shares the row) unblocked */
    static const char lock_sql[] = "SELECT 1 FROM apps WHERE appid = $1 FOR NO KEY UPDATE";
    static const char latest_sql[] =
        "SELECT hash FROM access_tokens WHERE appid = $1 AND kind = $2 AND valid_until > $3"
        " ORDER BY issued_at DESC, seq DESC LIMIT 1";
    static const char end_sql[] =
        "UPDATE access_tokens SET valid_until = $3"
        " WHERE appid = $1 AND kind = $2 AND valid_until > $3 AND hash <> $4";
    static const char grace_sql[] =
        "UPDATE access_tokens SET valid_until = LEAST(valid_until, $2) WHERE hash = $1";
    static const char insert_sql[] =
        "INSERT INTO access_tokens(hash, appid, kind, issued_at, expires_at, valid_until)"
        " VALUES($1, $2, $3, $4, $5, $6)";
    const struct issue_args *a = arg;
    const struct token_rec *t = a->t;
    struct pg_params p = {0};
    pg_param_text(&p, t->appid);
    int rc = pg_run_cmd(c, lock_sql, &p, NULL);
    if (rc)
        return rc;
    pg_param_int(&p, t->kind);
    pg_param_int(&p, t->issued_at);
    PGresult *r;
    if ((rc = pg_run(c, latest_sql, &p, &r)))
        return rc;
    char latest[HASH_SIZE] = "";
    if (PQntuples(r) > 0)
        pg_get_text(r, 0, 0, latest, sizeof latest);
    PQclear(r);
    pg_param_text(&p, latest);
    if ((rc = pg_run_cmd(c, end_sql, &p, NULL)))
        return rc;
    if (latest[0]) {
        struct pg_params g = {0};
        pg_param_text(&g, latest);
        pg_param_int(&g, a->grace_until);
        if ((rc = pg_run_cmd(c, grace_sql, &g, NULL)))
            return rc;
    }
    struct pg_params in = {0};
    pg_param_text(&in, t->hash);
    pg_param_text(&in, t->appid);
    pg_param_int(&in, t->kind);
    pg_param_int(&in, t->issued_at);
    pg_param_int(&in, t->expires_at);
    pg_param_int(&in, t->valid_until);
    return pg_run_cmd(c, insert_sql, &in, NULL);
}

int pg_token_issue(struct store *s, const struct token_rec *t, int64_t grace_until)
{
    struct issue_args a = {t, grace_until};
    return pg_unit(PG_STORE(s), token_issue_unit, &a);
}

int pg_token_get(struct store *s, const char *hash, struct token_rec *out)
{
    static const char sql[] = "SELECT appid, kind, issued_at, expires_at, valid_until"
                              " FROM access_tokens WHERE hash = $1";
    struct pg_params p = {0};
    pg_param_text(&p, hash);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK) {
        memset(out, 0, sizeof *out);
        memcpy(out->hash, hash, strnlen(hash, HASH_SIZE - 1));
        pg_get_text(r, 0, 0, out->appid, sizeof out->appid);
        out->kind = pg_get_int(r, 0, 1) ? TOKEN_STABLE : TOKEN_PLAIN;
        out->issued_at = pg_get_int(r, 0, 2);
        out->expires_at = pg_get_int(r, 0, 3);
        out->valid_until = pg_get_int(r, 0, 4);
    }
    PQclear(r);
    return rc;
}

int pg_stable_get(struct store *s, const char *appid, struct stable_rec *out)
{
    static const char sql[] =
        "SELECT nonce, issued_at, expires_at, force_day, force_count, last_force_at"
        " FROM stable_tokens WHERE appid = $1";
    struct pg_params p = {0};
    pg_param_text(&p, appid);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), sql, &p, &r);
    if (rc == STORE_OK && PQntuples(r) == 0)
        rc = STORE_NOT_FOUND;
    if (rc == STORE_OK) {
        memset(out, 0, sizeof *out);
        memcpy(out->appid, appid, strnlen(appid, APPID_SIZE - 1));
        pg_get_text(r, 0, 0, out->nonce, sizeof out->nonce);
        out->issued_at = pg_get_int(r, 0, 1);
        out->expires_at = pg_get_int(r, 0, 2);
        out->force_day = pg_get_int(r, 0, 3);
        out->force_count = pg_get_int(r, 0, 4);
        out->last_force_at = pg_get_int(r, 0, 5);
    }
    PQclear(r);
    return rc;
}

struct rotate_args {
    const struct stable_rec *r;
    const char *expected_nonce;
    struct issue_args issue;
};

static int stable_rotate_unit(struct pg_conn *c, void *arg)
{
    /* the app's row lock orders the rotations of one app across processes */
    static const char lock_sql[] = "SELECT 1 FROM apps WHERE appid = $1 FOR NO KEY UPDATE";
    static const char read_sql[] = "SELECT nonce FROM stable_tokens WHERE appid = $1";
    static const char put_sql[] =
        "INSERT INTO stable_tokens(appid, nonce, issued_at, expires_at, force_day, force_count,"
        " last_force_at) VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT(appid) DO UPDATE SET"
        " nonce = excluded.nonce, issued_at = excluded.issued_at,"
        " expires_at = excluded.expires_at, force_day = excluded.force_day,"
        " force_count = excluded.force_count, last_force_at = excluded.last_force_at";
    const struct rotate_args *a = arg;
    const struct stable_rec *rec = a->r;
    struct pg_params p = {0};
    pg_param_text(&p, rec->appid);
    int rc = pg_run_cmd(c, lock_sql, &p, NULL);
    if (rc)
        return rc;
    PGresult *r;
    if ((rc = pg_run(c, read_sql, &p, &r)))
        return rc;
    char current[HASH_SIZE] = "";
    if (PQntuples(r) > 0)
        pg_get_text(r, 0, 0, current, sizeof current);
    PQclear(r);
    if (strcmp(current, a->expected_nonce) != 0)
        return STORE_CONFLICT;
    struct pg_params put = {0};
    pg_param_text(&put, rec->appid);
    pg_param_text(&put, rec->nonce);
    pg_param_int(&put, rec->issued_at);
    pg_param_int(&put, rec->expires_at);
    pg_param_int(&put, rec->force_day);
    pg_param_int(&put, rec->force_count);
    pg_param_int(&put, rec->last_force_at);
    if ((rc = pg_run_cmd(c, put_sql, &put, NULL)))
        return rc;
    return token_issue_unit(c, (void *)&a->issue);
}

int pg_stable_rotate(struct store *s, const struct stable_rec *r, const char *expected_nonce,
                     const struct token_rec *t, int64_t grace_until)
{
    struct rotate_args a = {r, expected_nonce, {t, grace_until}};
    return pg_unit(PG_STORE(s), stable_rotate_unit, &a);
}

static const char counter_read_sql[] = "SELECT value FROM counters WHERE key = $1 AND day = $2";

/* One statement, so the check and the increment are one atomic step: a concurrent taker waits for
 * the row and sees the count it left. */
static const char counter_take_sql[] =
    "INSERT INTO counters(key, day, value) VALUES($1, $2, 1)"
    " ON CONFLICT(key, day) DO UPDATE SET value = counters.value + 1"
    " WHERE counters.value < $3 RETURNING value";

int pg_counter_get(struct store *s, const char *key, int64_t day, int64_t *value)
{
    struct pg_params p = {0};
    pg_param_text(&p, key);
    pg_param_int(&p, day);
    PGresult *r;
    int rc = pg_once(PG_STORE(s), counter_read_sql, &p, &r);
    *value = rc == STORE_OK && PQntuples(r) > 0 ? pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    return rc;
}

int pg_counter_take(struct store *s, const char *key, int64_t day, int64_t limit, int64_t *value)
{
    *value = 0;
    int rc = STORE_OK;
    if (limit > 0) {
        struct pg_params p = {0};
        pg_param_text(&p, key);
        pg_param_int(&p, day);
        pg_param_int(&p, limit);
        PGresult *r;
        rc = pg_once(PG_STORE(s), counter_take_sql, &p, &r);
        bool taken = rc == STORE_OK && PQntuples(r) > 0;
        if (taken)
            *value = pg_get_int(r, 0, 0);
        PQclear(r);
        if (rc || taken)
            return rc;
    }
    /* refused: report the count as it stands */
    rc = pg_counter_get(s, key, day, value);
    return rc ? rc : STORE_LIMIT;
}

int pg_counter_add_one(struct pg_conn *c, const char *key, int64_t day, int64_t limit,
                       int64_t *value)
{
    struct pg_params p = {0};
    pg_param_text(&p, key);
    pg_param_int(&p, day);
    PGresult *r;
    int rc;
    *value = 0;
    if (limit > 0) {
        pg_param_int(&p, limit);
        if ((rc = pg_run(c, counter_take_sql, &p, &r)))
            return rc;
        bool taken = PQntuples(r) > 0;
        if (taken)
            *value = pg_get_int(r, 0, 0);
        PQclear(r);
        if (taken)
            return STORE_OK;
        p.count = 2;
    }
    if ((rc = pg_run(c, counter_read_sql, &p, &r)))
        return rc;
    if (PQntuples(r) > 0)
        *value = pg_get_int(r, 0, 0);
    PQclear(r);
    return STORE_LIMIT;
}

struct reserve_args {
    const char *key;
    int64_t day, limit, want;
    int64_t *granted;
};

static int counter_reserve_unit(struct pg_conn *c, void *arg)
{
    static const char make_sql[] = "INSERT INTO counters(key, day, value) VALUES($1, $2, 0)"
                                   " ON CONFLICT(key, day) DO NOTHING";
    static const char lock_sql[] =
        "SELECT value FROM counters WHERE key = $1 AND day = $2 FOR UPDATE";
    static const char add_sql[] =
        "UPDATE counters SET value = value + $3 WHERE key = $1 AND day = $2";
    const struct reserve_args *a = arg;
    *a->granted = 0;
    struct pg_params p = {0};
    pg_param_text(&p, a->key);
    pg_param_int(&p, a->day);
    int rc = pg_run_cmd(c, make_sql, &p, NULL);
    PGresult *r;
    if (rc || (rc = pg_run(c, lock_sql, &p, &r)))
        return rc;
    int64_t value = PQntuples(r) > 0 ? pg_get_int(r, 0, 0) : 0;
    PQclear(r);
    int64_t left = a->limit - value;
    if (left <= 0)
        return STORE_LIMIT;
    /* an eighth of what is left at most, so that near the limit every process still gets some */
    int64_t share = left / 8 > 1 ? left / 8 : 1;
    int64_t granted = a->want < share ? a->want : share;
    pg_param_int(&p, granted);
    if ((rc = pg_run_cmd(c, add_sql, &p, NULL)))
        return rc;
    *a->granted = granted;
    return STORE_OK;
}

int pg_counter_reserve(struct store *s, const char *key, int64_t day, int64_t limit, int64_t want,
                       int64_t *granted)
{
    struct reserve_args a = {key, day, limit, want > 0 ? want : 1, granted};
    *granted = 0;
    int rc = pg_unit(PG_STORE(s), counter_reserve_unit, &a);
    if (rc)
        *granted = 0;
    return rc;
}

int pg_counter_release(struct store *s, const char *key, int64_t day, int64_t n)
{
    static const char sql[] =
        "UPDATE counters SET value = GREATEST(0, value - $3) WHERE key = $1 AND day = $2";
    struct pg_params p = {0};
    pg_param_text(&p, key);
    pg_param_int(&p, day);
    pg_param_int(&p, n);
    return pg_once_cmd(PG_STORE(s), sql, &p, NULL);
}
