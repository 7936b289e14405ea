/* The PostgreSQL schema as numbered migrations, applied at start under an advisory lock so that
 * processes starting together take turns; the database records how far it has come. */
#include "store/pg_db.h"

#include "base/log.h"

#include <stdio.h>
#include <string.h>

/* Plain SQL that PostgreSQL-compatible distributed engines also take: no functions of our own,
 * no triggers. Flags are INTEGER 0/1 and times BIGINT unix seconds, as in the SQLite schema. */
static const char *const migrations[] = {
    /* 1: settings, apps, users, carriers, tokens and the counters behind every quota */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE apps("
    " appid TEXT PRIMARY KEY, name TEXT NOT NULL, secret_hash TEXT NOT NULL,"
    " push_secret TEXT NOT NULL, push_url TEXT NOT NULL DEFAULT '',"
    " released INTEGER NOT NULL, pay_tx_90d BIGINT NOT NULL, enabled INTEGER NOT NULL,"
    " daily_quota BIGINT, user_daily_quota BIGINT, user_daily_quota_query BIGINT,"
    " max_bindings BIGINT, max_updates BIGINT, created_at BIGINT NOT NULL);"
    "CREATE TABLE users("
    " openid TEXT PRIMARY KEY, appid TEXT NOT NULL REFERENCES apps(appid),"
    " phone_hash TEXT NOT NULL, phone_tail TEXT NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE INDEX users_app ON users(appid);"
    "CREATE TABLE carriers("
    " delivery_id TEXT PRIMARY KEY, delivery_name TEXT NOT NULL, waybill_pattern TEXT NOT NULL,"
    " key_hash TEXT NOT NULL, enabled INTEGER NOT NULL, created_at BIGINT NOT NULL);"
    "CREATE INDEX carriers_key ON carriers(key_hash);"
    "CREATE TABLE access_tokens("
    " hash TEXT PRIMARY KEY, appid TEXT NOT NULL, kind INTEGER NOT NULL,"
    " issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL, valid_until BIGINT NOT NULL,"
    " seq BIGSERIAL NOT NULL);"
    "CREATE INDEX access_tokens_app ON access_tokens(appid, kind, valid_until);"
    "CREATE INDEX access_tokens_expiry ON access_tokens(expires_at);"
    "CREATE TABLE stable_tokens("
    " appid TEXT PRIMARY KEY, nonce TEXT NOT NULL, issued_at BIGINT NOT NULL,"
    " expires_at BIGINT NOT NULL, force_day BIGINT NOT NULL, force_count BIGINT NOT NULL,"
    " last_force_at BIGINT NOT NULL);"
    "CREATE TABLE counters("
    " key TEXT NOT NULL, day BIGINT NOT NULL, value BIGINT NOT NULL, PRIMARY KEY(key, day));",

    /* 2: waybills, the bindings that follow them, and carrier events */
    "CREATE TABLE waybills("
    " waybill_id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',"
    " status INTEGER NOT NULL DEFAULT 0, last_event_at BIGINT NOT NULL DEFAULT 0,"
    " final_at BIGINT NOT NULL DEFAULT 0, created_at BIGINT NOT NULL,"
    " latest_at BIGINT NOT NULL DEFAULT 0, latest_seq BIGINT NOT NULL DEFAULT 0,"
    " latest_status INTEGER NOT NULL DEFAULT 0, signed_at BIGINT NOT NULL DEFAULT 0,"
    " signed_seq BIGINT NOT NULL DEFAULT 0, signed_status INTEGER NOT NULL DEFAULT 0,"
    " script_start BIGINT NOT NULL DEFAULT 0, script_next_at BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX waybills_script ON waybills(script_next_at) WHERE script_next_at > 0;"
    "CREATE TABLE bindings("
    " id BIGSERIAL PRIMARY KEY, appid TEXT NOT NULL, openid TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL REFERENCES waybills(waybill_id), family INTEGER NOT NULL,"
    " token_hash TEXT NOT NULL UNIQUE, token_nonce TEXT NOT NULL,"
    " receiver_hash TEXT NOT NULL, receiver_tail TEXT NOT NULL,"
    " sender_hash TEXT NOT NULL, sender_tail TEXT NOT NULL, delivery_id TEXT NOT NULL,"
    " goods_json TEXT NOT NULL, trans_id TEXT NOT NULL, order_detail_path TEXT NOT NULL,"
    " updates BIGINT NOT NULL DEFAULT 0, mismatched INTEGER NOT NULL DEFAULT 0,"
    " created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL,"
    " purged_at BIGINT NOT NULL DEFAULT 0, node_rank INTEGER NOT NULL DEFAULT 0,"
    " abnormal_told INTEGER NOT NULL DEFAULT 0, notified BIGINT NOT NULL DEFAULT 0);"
    "CREATE INDEX bindings_user ON bindings(appid, openid, family, waybill_id);"
    "CREATE INDEX bindings_waybill ON bindings(waybill_id);"
    "CREATE INDEX bindings_expiry ON bindings(expires_at) WHERE purged_at = 0;"
    "CREATE TABLE events("
    " seq BIGSERIAL PRIMARY KEY, carrier TEXT NOT NULL, event_id TEXT NOT NULL,"
    " waybill_id TEXT NOT NULL, action_time BIGINT NOT NULL, action_type BIGINT NOT NULL,"
    " status INTEGER NOT NULL, action_msg TEXT NOT NULL, phone_tail TEXT NOT NULL,"
    " received_at BIGINT NOT NULL, UNIQUE(carrier, event_id));"
    "CREATE INDEX events_waybill ON events(waybill_id, action_time, seq);",

    /* 3: notifications; lease_key names the liveness lock of the process holding the lease */
    "CREATE TABLE notifications("
    " seq BIGSERIAL PRIMARY KEY, id TEXT NOT NULL UNIQUE, binding_id BIGINT NOT NULL,"
    " appid TEXT NOT NULL, openid TEXT NOT NULL, waybill_id TEXT NOT NULL, type TEXT NOT NULL,"
    " sequence BIGINT NOT NULL, status INTEGER NOT NULL, delivery_id TEXT NOT NULL,"
    " delivery_name TEXT NOT NULL, goods TEXT NOT NULL, goods_count INTEGER NOT NULL,"
    " order_detail_path TEXT NOT NULL, action_time BIGINT NOT NULL,"
    " created_at BIGINT NOT NULL, state INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at BIGINT NOT NULL,"
    " delivered_at BIGINT NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
    " lease_owner TEXT NOT NULL DEFAULT '', lease_until BIGINT NOT NULL DEFAULT 0,"
    " lease_key INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX notifications_due ON notifications(next_attempt_at) WHERE state = 0;"
    "CREATE INDEX notifications_user ON notifications(appid, openid, created_at, seq);"
    "CREATE INDEX notifications_state ON notifications(state, created_at, seq);"
    "CREATE INDEX notifications_created ON notifications(created_at, seq);",

    /* 4: waybill tokens name their binding; only the tokens from before are found by hash */
    ("ALTER TABLE bindings DROP CONSTRAINT bindings_token_hash_key;"
     "CREATE UNIQUE INDEX bindings_legacy_token ON bindings(token_hash) WHERE token_hash <> '';"),
};

static int current_version(struct pg_conn *c, int *version)
{
    static const char sql[] = "SELECT coalesce(max(version), 0) FROM schema_version";
    PGresult *r;
    int rc = pg_run(c, sql, NULL, &r);
    if (rc == STORE_OK)
        *version = (int)pg_get_int(r, 0, 0);
    PQclear(r);
    return rc;
}

static int apply(struct pg_conn *c, int v)
{
    char record[80];
    snprintf(record, sizeof record, "INSERT INTO schema_version(version) VALUES(%d)", v + 1);
    int rc = pg_exec(c, "BEGIN");
    if (!rc)
        rc = pg_exec(c, migrations[v]);
    if (!rc)
        rc = pg_exec(c, record);
    if (!rc)
        rc = pg_exec(c, "COMMIT");
    if (rc && PQtransactionStatus(c->db) != PQTRANS_IDLE)
        PQclear(PQexec(c->db, "ROLLBACK"));
    return rc;
}

/* Takes the session lock that puts migrations in a row; false when it failed. An engine without
 * advisory locks (SQLSTATE 42883 undefined function, 0A000 not supported) is told of in the log,
 * and the migration goes on unlocked: start one process first there. */
static bool lock_migrations(struct pg_conn *c, bool *locked)
{
    char klass[24], key[24];
    snprintf(klass, sizeof klass, "%d", PG_LOCK_CLASS);
    snprintf(key, sizeof key, "%d", PG_LOCK_MIGRATE);
    const char *values[2] = {klass, key};
    PGresult *r = PQexecParams(c->db, "SELECT pg_advisory_lock($1::int4, $2::int4)", 2, NULL,
                               values, NULL, NULL, 0);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    bool unsupported = !ok && state && (strcmp(state, "42883") == 0 || strcmp(state, "0A000") == 0);
    if (!ok) {
        const char *m = PQresultErrorMessage(r);
        log_msg(unsupported ? "warn" : "error", "postgresql: migration lock: %.*s%s",
                (int)strcspn(m, "\n"), m,
                unsupported ? " (migrating unlocked: start one process first on this engine)" : "");
    }
    PQclear(r);
    *locked = ok;
    return ok || unsupported;
}

int pg_migrate(struct pg_store *s)
{
    struct pg_conn *c = pg_acquire(s);
    if (!c)
        return STORE_ERROR;
    /* a session lock: it ends with the connection, should this process die meanwhile */
    bool locked = false;
    if (!lock_migrations(c, &locked)) {
        pg_release(s, c);
        return STORE_ERROR;
    }
    int rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY)");
    int version = 0;
    if (!rc)
        rc = current_version(c, &version);
    int count = (int)(sizeof migrations / sizeof migrations[0]);
    if (!rc && version > count) {
        log_msg("error",
                "postgresql: the database's schema (version %d) is newer than this binary's (%d)",
                version, count);
        rc = STORE_ERROR;
    }
    for (int v = version; !rc && v < count; v++) {
        if (!(rc = apply(c, v)))
            log_msg("info", "postgresql: schema migrated to version %d", v + 1);
    }
    if (locked && pg_exec(c, "SELECT pg_advisory_unlock_all()") && !rc)
        rc = STORE_ERROR;
    pg_release(s, c);
    return rc ? STORE_ERROR : STORE_OK;
}
