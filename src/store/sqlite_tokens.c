/* SQLite ops for access tokens, stable-token state and the daily counters behind every quota. */
#include "store/sqlite_db.h"

#include <string.h>

static int end_older_tokens(struct sq_conn *c, const struct token_rec *t, int64_t grace_until)
{
    static const char latest_sql[] =
        "SELECT hash FROM access_tokens WHERE appid = ?1 AND kind = ?2 AND valid_until > ?3"
        " ORDER BY issued_at DESC, rowid DESC LIMIT 1";
    static const char end_sql[] =
        "UPDATE access_tokens SET valid_until = ?3"
        " WHERE appid = ?1 AND kind = ?2 AND valid_until > ?3 AND hash <> ?4";
    static const char grace_sql[] =
        "UPDATE access_tokens SET valid_until = min(valid_until, ?2) WHERE hash = ?1";
    char latest[HASH_SIZE] = "";
    sqlite3_stmt *st = sq_prepare(c, latest_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, t->appid);
    sq_bind_int(st, 2, t->kind);
    sq_bind_int(st, 3, t->issued_at);
    int rc = sq_step_row(c, st);
    if (rc == STORE_OK)
        sq_column_text(st, 0, latest, sizeof latest);
    sqlite3_reset(st);
    if (rc == STORE_ERROR)
        return rc;
    if (!(st = sq_prepare(c, end_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, t->appid);
    sq_bind_int(st, 2, t->kind);
    sq_bind_int(st, 3, t->issued_at);
    sq_bind_text(st, 4, latest);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    if (rc || !latest[0])
        return rc;
    if (!(st = sq_prepare(c, grace_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, latest);
    sq_bind_int(st, 2, grace_until);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

struct issue_args {
    const struct token_rec *t;
    int64_t grace_until;
};

static int token_issue_unit(struct sq_conn *c, void *arg)
{
    static const char insert_sql[] =
        "INSERT INTO access_tokens(hash, appid, kind, issued_at, expires_at, valid_until)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
    const struct issue_args *a = arg;
    int rc = end_older_tokens(c, a->t, a->grace_until);
    sqlite3_stmt *st = rc ? NULL : sq_prepare(c, insert_sql);
    if (!st)
        return rc ? rc : STORE_ERROR;
    sq_bind_text(st, 1, a->t->hash);
    sq_bind_text(st, 2, a->t->appid);
    sq_bind_int(st, 3, a->t->kind);
    sq_bind_int(st, 4, a->t->issued_at);
    sq_bind_int(st, 5, a->t->expires_at);
    sq_bind_int(st, 6, a->t->valid_until);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_token_issue(struct store *s, const struct token_rec *t, int64_t grace_until)
{
    struct issue_args a = {t, grace_until};
    return sq_write(SQ_STORE(s), token_issue_unit, &a);
}

int sq_token_get(struct store *s, const char *hash, struct token_rec *out)
{
    static const char sql[] = "SELECT appid, kind, issued_at, expires_at, valid_until"
                              " FROM access_tokens WHERE hash = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, hash);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK) {
                memset(out, 0, sizeof *out);
                memcpy(out->hash, hash, strnlen(hash, HASH_SIZE - 1));
                sq_column_text(st, 0, out->appid, sizeof out->appid);
                out->kind = sqlite3_column_int(st, 1) ? TOKEN_STABLE : TOKEN_PLAIN;
                out->issued_at = sqlite3_column_int64(st, 2);
                out->expires_at = sqlite3_column_int64(st, 3);
                out->valid_until = sqlite3_column_int64(st, 4);
            }
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_stable_get(struct store *s, const char *appid, struct stable_rec *out)
{
    static const char sql[] =
        "SELECT nonce, issued_at, expires_at, force_day, force_count, last_force_at"
        " FROM stable_tokens WHERE appid = ?1";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, appid);
            rc = sq_step_row(c, st);
            if (rc == STORE_OK) {
                memset(out, 0, sizeof *out);
                memcpy(out->appid, appid, strnlen(appid, APPID_SIZE - 1));
                sq_column_text(st, 0, out->nonce, sizeof out->nonce);
                out->issued_at = sqlite3_column_int64(st, 1);
                out->expires_at = sqlite3_column_int64(st, 2);
                out->force_day = sqlite3_column_int64(st, 3);
                out->force_count = sqlite3_column_int64(st, 4);
                out->last_force_at = sqlite3_column_int64(st, 5);
            }
            sqlite3_reset(st);
        }
    });
    return rc;
}

struct rotate_args {
    const struct stable_rec *r;
    const char *expected_nonce;
    struct issue_args issue;
};

static int stable_rotate_unit(struct sq_conn *c, void *arg)
{
    static const char read_sql[] = "SELECT nonce FROM stable_tokens WHERE appid = ?1";
    static const char put_sql[] =
        "INSERT INTO stable_tokens(appid, nonce, issued_at, expires_at, force_day, force_count,"
        " last_force_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(appid) DO UPDATE SET"
        " nonce = excluded.nonce, issued_at = excluded.issued_at,"
        " expires_at = excluded.expires_at, force_day = excluded.force_day,"
        " force_count = excluded.force_count, last_force_at = excluded.last_force_at";
    const struct rotate_args *a = arg;
    const struct stable_rec *r = a->r;
    sqlite3_stmt *st = sq_prepare(c, read_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, r->appid);
    char current[HASH_SIZE] = "";
    int rc = sq_step_row(c, st);
    if (rc == STORE_OK)
        sq_column_text(st, 0, current, sizeof current);
    sqlite3_reset(st);
    if (rc == STORE_ERROR)
        return rc;
    if (strcmp(current, a->expected_nonce) != 0)
        return STORE_CONFLICT;
    if (!(st = sq_prepare(c, put_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, r->appid);
    sq_bind_text(st, 2, r->nonce);
    sq_bind_int(st, 3, r->issued_at);
    sq_bind_int(st, 4, r->expires_at);
    sq_bind_int(st, 5, r->force_day);
    sq_bind_int(st, 6, r->force_count);
    sq_bind_int(st, 7, r->last_force_at);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc ? rc : token_issue_unit(c, (void *)&a->issue);
}

int sq_stable_rotate(struct store *s, const struct stable_rec *r, const char *expected_nonce,
                     const struct token_rec *t, int64_t grace_until)
{
    struct rotate_args a = {r, expected_nonce, {t, grace_until}};
    return sq_write(SQ_STORE(s), stable_rotate_unit, &a);
}

int sq_counter_get(struct store *s, const char *key, int64_t day, int64_t *value)
{
    static const char sql[] = "SELECT value FROM counters WHERE key = ?1 AND day = ?2";
    int rc = STORE_ERROR;
    WITH_CONN(s, c, rc, {
        sqlite3_stmt *st = sq_prepare(c, sql);
        if (st) {
            sq_bind_text(st, 1, key);
            sq_bind_int(st, 2, day);
            rc = sq_step_row(c, st);
            *value = rc == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
            if (rc == STORE_NOT_FOUND)
                rc = STORE_OK;
            sqlite3_reset(st);
        }
    });
    return rc;
}

int sq_counter_add_one(struct sq_conn *c, const char *key, int64_t day, int64_t limit,
                       int64_t *value)
{
    /* one statement, so the check and the increment are one atomic step */
    static const char take_sql[] =
        "INSERT INTO counters(key, day, value) VALUES(?1, ?2, 1)"
        " ON CONFLICT(key, day) DO UPDATE SET value = value + 1 WHERE value < ?3"
        " RETURNING value";
    static const char read_sql[] = "SELECT value FROM counters WHERE key = ?1 AND day = ?2";
    sqlite3_stmt *st = sq_prepare(c, limit > 0 ? take_sql : read_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, key);
    sq_bind_int(st, 2, day);
    if (limit > 0)
        sq_bind_int(st, 3, limit);
    int rc = sq_step_row(c, st);
    *value = rc == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == STORE_OK && limit > 0)
        return STORE_OK;
    if (rc == STORE_ERROR)
        return rc;
    if (limit > 0) { /* refused: report the count as it stands */
        if (!(st = sq_prepare(c, read_sql)))
            return STORE_ERROR;
        sq_bind_text(st, 1, key);
        sq_bind_int(st, 2, day);
        if (sq_step_row(c, st) == STORE_OK)
            *value = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    return STORE_LIMIT;
}

struct take_args {
    const char *key;
    int64_t day;
    int64_t limit;
    int64_t *value;
};

static int counter_take_unit(struct sq_conn *c, void *arg)
{
    const struct take_args *a = arg;
    return sq_counter_add_one(c, a->key, a->day, a->limit, a->value);
}

int sq_counter_take(struct store *s, const char *key, int64_t day, int64_t limit, int64_t *value)
{
    struct take_args a = {key, day, limit, value};
    return sq_write(SQ_STORE(s), counter_take_unit, &a);
}

struct reserve_args {
    const char *key;
    int64_t day, limit, want;
    int64_t *granted;
};

static int counter_reserve_unit(struct sq_conn *c, void *arg)
{
    static const char read_sql[] = "SELECT value FROM counters WHERE key = ?1 AND day = ?2";
    static const char add_sql[] = "INSERT INTO counters(key, day, value) VALUES(?1, ?2, ?3)"
                                  " ON CONFLICT(key, day) DO UPDATE SET value = value + ?3";
    const struct reserve_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, read_sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, a->key);
    sq_bind_int(st, 2, a->day);
    int rc = sq_step_row(c, st);
    int64_t value = rc == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc == STORE_ERROR)
        return rc;
    int64_t left = a->limit - value;
    if (left <= 0)
        return STORE_LIMIT;
    /* an eighth of what is left at most, so that near the limit every process still gets some */
    int64_t share = left / 8 > 1 ? left / 8 : 1;
    *a->granted = a->want < share ? a->want : share;
    if (!(st = sq_prepare(c, add_sql)))
        return STORE_ERROR;
    sq_bind_text(st, 1, a->key);
    sq_bind_int(st, 2, a->day);
    sq_bind_int(st, 3, *a->granted);
    rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_counter_reserve(struct store *s, const char *key, int64_t day, int64_t limit, int64_t want,
                       int64_t *granted)
{
    struct reserve_args a = {key, day, limit, want > 0 ? want : 1, granted};
    *granted = 0;
    return sq_write(SQ_STORE(s), counter_reserve_unit, &a);
}

struct release_args {
    const char *key;
    int64_t day, n;
};

static int counter_release_unit(struct sq_conn *c, void *arg)
{
    static const char sql[] =
        "UPDATE counters SET value = max(0, value - ?3) WHERE key = ?1 AND day = ?2";
    const struct release_args *a = arg;
    sqlite3_stmt *st = sq_prepare(c, sql);
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, a->key);
    sq_bind_int(st, 2, a->day);
    sq_bind_int(st, 3, a->n);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc;
}

int sq_counter_release(struct store *s, const char *key, int64_t day, int64_t n)
{
    struct release_args a = {key, day, n};
    return sq_write(SQ_STORE(s), counter_release_unit, &a);
}
