/* The SQLite schema as numbered migrations; the database records how far it has come. */
#include "store/sqlite_db.h"

#include "base/log.h"

#include <stdio.h>

static const char *const migrations[] = {
    /* 1: apps, users, carriers, tokens, quotas, waybills and bindings */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE apps("
    " appid TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL,"
    " push_secret TEXT NOT NULL, push_url TEXT NOT NULL DEFAULT '',"
    " released INTEGER NOT NULL, pay_tx_90d INTEGER NOT NULL, enabled INTEGER NOT NULL,"
    " daily_quota INTEGER, user_daily_quota INTEGER, user_daily_quota_query INTEGER,"
    " max_bindings INTEGER, max_updates INTEGER, created_at INTEGER NOT NULL);"
    "CREATE TABLE users("
    " openid TEXT PRIMARY KEY, appid TEXT NOT NULL REFERENCES apps(appid),"
    " phone_hash TEXT NOT NULL, phone_tail TEXT NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE TABLE carriers("
    " delivery_id TEXT PRIMARY KEY, delivery_name TEXT NOT NULL, waybill_pattern TEXT NOT NULL,"
    " key_hash TEXT NOT NULL, enabled INTEGER NOT NULL, created_at INTEGER NOT NULL);"
    "CREATE INDEX carriers_key ON carriers(key_hash);"
    "CREATE TABLE access_tokens("
    " hash TEXT PRIMARY KEY, appid TEXT NOT NULL, kind INTEGER NOT NULL,"
    " issued_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, valid_until INTEGER NOT NULL);"
    "CREATE INDEX access_tokens_app ON access_tokens(appid, kind, valid_until);"
    "CREATE TABLE stable_tokens("
    " appid TEXT PRIMARY KEY, nonce TEXT NOT NULL, issued_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, force_day INTEGER NOT NULL, force_count INTEGER NOT NULL,"
    " last_force_at INTEGER NOT NULL);"
    "CREATE TABLE counters("
    " key TEXT NOT NULL, day INTEGER NOT NULL, value INTEGER NOT NULL,"
    " PRIMARY KEY(key, day)) WITHOUT ROWID;"
    "CREATE TABLE waybills("
    " waybill_id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0, last_event_at INTEGER NOT NULL DEFAULT 0,"
    " final_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
    "CREATE TABLE bindings("
    " id INTEGER PRIMARY KEY, appid TEXT NOT NULL, openid TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL REFERENCES waybills(waybill_id), family INTEGER NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE, token_nonce TEXT NOT NULL,"
    " receiver_hash TEXT NOT NULL, receiver_tail TEXT NOT NULL,"
    " sender_hash TEXT NOT NULL, sender_tail TEXT NOT NULL, delivery_id TEXT NOT NULL,"
    " goods_json TEXT NOT NULL, trans_id TEXT NOT NULL, order_detail_path TEXT NOT NULL,"
    " updates INTEGER NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " purged_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX bindings_user ON bindings(appid, openid, family, waybill_id);"
    "CREATE INDEX bindings_waybill ON bindings(waybill_id);",

    /* 2: carrier events, the status marks they fold into, sandbox scripts, purge */
    "ALTER TABLE waybills ADD COLUMN latest_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN latest_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN latest_status INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN signed_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN signed_seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN signed_status INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN script_start INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE waybills ADD COLUMN script_next_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE INDEX waybills_script ON waybills(script_next_at) WHERE script_next_at > 0;"
    "CREATE TABLE events("
    " seq INTEGER PRIMARY KEY, carrier TEXT NOT NULL, event_id TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL, action_time INTEGER NOT NULL, action_type INTEGER NOT NULL,"
    " status INTEGER NOT NULL, action_msg TEXT NOT NULL, phone_tail TEXT NOT NULL,"
    " received_at INTEGER NOT NULL, UNIQUE(carrier, event_id));"
    "CREATE INDEX events_waybill ON events(waybill_id, action_time, seq);"
    "CREATE INDEX bindings_expiry ON bindings(purged_at, expires_at);"
    "CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);",

    /* 3: notifications, and each binding's progress along the key nodes */
    "ALTER TABLE bindings ADD COLUMN node_rank INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE bindings ADD COLUMN abnormal_told INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE bindings ADD COLUMN notified INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE notifications("
    " seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, binding_id INTEGER NOT NULL,"
    " appid TEXT NOT NULL, openid TEXT NOT NULL, waybill_id TEXT NOT NULL, type TEXT NOT NULL,"
    " sequence INTEGER NOT NULL, status INTEGER NOT NULL, delivery_id TEXT NOT NULL,"
    " delivery_name TEXT NOT NULL, goods TEXT NOT NULL, goods_count INTEGER NOT NULL,"
    " order_detail_path TEXT NOT NULL, action_time INTEGER NOT NULL,"
    " created_at INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,"
    " delivered_at INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    " lease_owner TEXT NOT NULL DEFAULT '', lease_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX notifications_due ON notifications(state, next_attempt_at);"
    "CREATE INDEX notifications_user ON notifications(appid, openid, seq);"
    "CREATE INDEX notifications_state ON notifications(state, seq);",

    /* 4: waybill tokens name their binding; only the tokens from before are found by hash. SQLite
     * cannot drop a column's UNIQUE, so the table is made again without it (no table refers to
     * bindings; the columns keep their order). */
    "CREATE TABLE bindings_v4("
    " id INTEGER PRIMARY KEY, appid TEXT NOT NULL, openid TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL REFERENCES waybills(waybill_id), family INTEGER NOT NULL,"
    " token_hash TEXT NOT NULL, token_nonce TEXT NOT NULL,"
    " receiver_hash TEXT NOT NULL, receiver_tail TEXT NOT NULL,"
    " sender_hash TEXT NOT NULL, sender_tail TEXT NOT NULL, delivery_id TEXT NOT NULL,"
    " goods_json TEXT NOT NULL, trans_id TEXT NOT NULL, order_detail_path TEXT NOT NULL,"
    " updates INTEGER NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,"
    " created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
    " purged_at INTEGER NOT NULL DEFAULT 0, node_rank INTEGER NOT NULL DEFAULT 0,"
    " abnormal_told INTEGER NOT NULL DEFAULT 0, notified INTEGER NOT NULL DEFAULT 0);"
    "INSERT INTO bindings_v4 SELECT * FROM bindings;"
    "DROP TABLE bindings;"
    "ALTER TABLE bindings_v4 RENAME TO bindings;"
    "CREATE INDEX bindings_user ON bindings(appid, openid, family, waybill_id);"
    "CREATE INDEX bindings_waybill ON bindings(waybill_id);"
    "CREATE INDEX bindings_expiry ON bindings(purged_at, expires_at);"
    "CREATE UNIQUE INDEX bindings_legacy_token ON bindings(token_hash) WHERE token_hash <> '';",

    /* 5: users and waybills kept in their key's B-tree alone (a bind inserts into one tree for
     * each, not two); made again, as SQLite cannot change that of a table */
    "CREATE TABLE users_v5("
    " openid TEXT PRIMARY KEY, appid TEXT NOT NULL REFERENCES apps(appid),"
    " phone_hash TEXT NOT NULL, phone_tail TEXT NOT NULL, created_at INTEGER NOT NULL)"
    " WITHOUT ROWID;"
    "INSERT INTO users_v5 SELECT openid, appid, phone_hash, phone_tail, created_at FROM users;"
    "DROP TABLE users;"
    "ALTER TABLE users_v5 RENAME TO users;"
    "CREATE TABLE waybills_v5("
    " waybill_id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0, last_event_at INTEGER NOT NULL DEFAULT 0,"
    " final_at INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    " latest_at INTEGER NOT NULL DEFAULT 0, latest_seq INTEGER NOT NULL DEFAULT 0,"
    " latest_status INTEGER NOT NULL DEFAULT 0, signed_at INTEGER NOT NULL DEFAULT 0,"
    " signed_seq INTEGER NOT NULL DEFAULT 0, signed_status INTEGER NOT NULL DEFAULT 0,"
    " script_start INTEGER NOT NULL DEFAULT 0, script_next_at INTEGER NOT NULL DEFAULT 0)"
    " WITHOUT ROWID;"
    "INSERT INTO waybills_v5 SELECT waybill_id, owner, status, last_event_at, final_at,"
    " created_at, latest_at, latest_seq, latest_status, signed_at, signed_seq, signed_status,"
    " script_start, script_next_at FROM waybills;"
    "DROP TABLE waybills;"
    "ALTER TABLE waybills_v5 RENAME TO waybills;"
    "CREATE INDEX waybills_script ON waybills(script_next_at) WHERE script_next_at > 0;",

    /* 6: a user's bind calls of the day kept in the user's row (a bind writes one B-tree fewer);
     * the counts move there from the counters, the latest day of each user */
    "ALTER TABLE users ADD COLUMN bind_day INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN binds_message INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE users ADD COLUMN binds_query INTEGER NOT NULL DEFAULT 0;"
    "UPDATE users SET bind_day = coalesce((SELECT max(day) FROM counters WHERE key IN"
    " ('user:' || users.openid || ':m', 'user:' || users.openid || ':q')), 0);"
    "UPDATE users SET binds_message = coalesce((SELECT value FROM counters"
    " WHERE key = 'user:' || users.openid || ':m' AND day = users.bind_day), 0),"
    " binds_query = coalesce((SELECT value FROM counters"
    " WHERE key = 'user:' || users.openid || ':q' AND day = users.bind_day), 0);"
    "DELETE FROM counters WHERE substr(key, 1, 5) = 'user:';",
};

/* Whether every foreign key holds (tables made again hold the rows that others refer to). */
static bool foreign_keys_hold(struct sq_conn *c)
{
    sqlite3_stmt *st = sq_prepare(c, "PRAGMA foreign_key_check");
    int rc = st ? sq_step_row(c, st) : STORE_ERROR;
    if (rc == STORE_OK)
        log_msg("error", "sqlite: a migration broke a foreign key of table %s",
                sqlite3_column_text(st, 0));
    if (st)
        sqlite3_reset(st);
    return rc == STORE_NOT_FOUND;
}

static int migrate(struct sq_conn *c)
{
    if (sq_begin(c))
        return STORE_ERROR;
    if (sq_exec(c, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)"))
        goto fail;
    sqlite3_stmt *st = sq_prepare(c, "SELECT max(version) FROM schema_version");
    if (!st || sq_step_row(c, st) != STORE_OK)
        goto fail;
    int version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    int count = (int)(sizeof migrations / sizeof migrations[0]);
    if (version > count) {
        log_msg("error",
                "sqlite: the database's schema (version %d) is newer than this binary's (%d)",
                version, count);
        goto fail;
    }
    for (int v = version; v < count; v++) {
        char record[80];
        snprintf(record, sizeof record, "INSERT INTO schema_version VALUES(%d)", v + 1);
        if (sq_exec(c, migrations[v]) || sq_exec(c, record))
            goto fail;
        log_msg("info", "sqlite: schema migrated to version %d", v + 1);
    }
    if (version < count && !foreign_keys_hold(c))
        goto fail;
    return sq_commit(c);
fail:
    sq_rollback(c);
    return STORE_ERROR;
}

/* Migrations run with foreign keys off, as SQLite's way of making a table again needs (a table
 * that others refer to is dropped and made again), and are checked before they commit. */
int sq_migrate(struct sq_conn *c)
{
    if (sq_exec(c, "PRAGMA foreign_keys=OFF"))
        return STORE_ERROR;
    int rc = migrate(c);
    return sq_exec(c, "PRAGMA foreign_keys=ON") ? STORE_ERROR : rc;
}
