/* Unit tests of src/store/sqlite_writer.c, sqlite_vfs.c and allowance.c on a real SQLite file:
 * units of one batch that fail leave nothing behind while the others commit, commits of any size
 * read back whole through another connection, and allowances never grant more than the limit
 * however fast they are taken. */
#include "store/allowance.h"
#include "sqlite_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* A unit that writes meta(key) and then answers rc; it counts its runs. */
struct probe {
    const char *key;
    int rc;
    int runs;
    int told; /* the rc the writer told, once told */
    bool done;
};

static int probe_unit(struct sq_conn *c, void *arg)
{
    struct probe *p = arg;
    p->runs++;
    sqlite3_stmt *st = sq_prepare(c, "INSERT INTO meta(key, value) VALUES(?1, 'x')");
    if (!st)
        return STORE_ERROR;
    sq_bind_text(st, 1, p->key);
    int rc = sq_step_done(c, st);
    sqlite3_reset(st);
    return rc ? rc : p->rc;
}

/* Holds the writer so that the units queued meanwhile form one batch. */
static int slow_unit(struct sq_conn *c, void *arg)
{
    (void)c;
    (void)arg;
    usleep(100000);
    return STORE_OK;
}

static void told(void *ctx, int rc)
{
    struct probe *p = ctx;
    p->told = rc;
    p->done = true;
}

static void wait_told(struct probe *probes, int n)
{
    for (int tries = 0; tries < 500; tries++) {
        bool all = true;
        for (int i = 0; i < n; i++)
            all = all && __atomic_load_n(&probes[i].done, __ATOMIC_ACQUIRE);
        if (all)
            return;
        usleep(10000);
    }
    fail_msg("the writer did not answer every unit");
}

static bool stored(struct store *s, const char *key)
{
    char value[16];
    return s->ops->meta_get(s, key, value, sizeof value) == STORE_OK;
}

static void run_batch_of(struct store *s, struct probe *probes, int n)
{
    struct probe hold = {.rc = STORE_OK};
    assert_int_equal(sq_write_then(SQ_STORE(s), slow_unit, NULL, told, &hold), STORE_OK);
    usleep(20000); /* the writer is inside slow_unit now */
    for (int i = 0; i < n; i++)
        assert_int_equal(sq_write_then(SQ_STORE(s), probe_unit, &probes[i], told, &probes[i]),
                         STORE_OK);
    wait_told(probes, n);
    wait_told(&hold, 1);
}

static void test_unit_failing_after_a_write_leaves_nothing(void **state)
{
    struct fixture *f = *state;
    struct probe probes[] = {
        {.key = "a", .rc = STORE_OK},
        {.key = "b", .rc = STORE_CONFLICT}, /* wrote, then failed */
        {.key = "c", .rc = STORE_OK},
    };
    run_batch_of(f->store, probes, 3);
    assert_int_equal(probes[0].told, STORE_OK);
    assert_int_equal(probes[1].told, STORE_CONFLICT);
    assert_int_equal(probes[2].told, STORE_OK);
    assert_true(stored(f->store, "a"));
    assert_false(stored(f->store, "b"));
    assert_true(stored(f->store, "c"));
    /* the batch ran a second time, each unit in a savepoint */
    assert_int_equal(probes[0].runs, 2);
    assert_int_equal(probes[1].runs, 2);
}

static void test_unit_failing_before_writing_costs_no_rerun(void **state)
{
    struct fixture *f = *state;
    struct probe probes[] = {
        {.key = "d", .rc = STORE_OK},
        {.key = "d", .rc = STORE_OK}, /* the same key: its insert fails, nothing written */
        {.key = "e", .rc = STORE_OK},
    };
    run_batch_of(f->store, probes, 3);
    assert_int_equal(probes[0].told, STORE_OK);
    assert_int_equal(probes[1].told, STORE_CONFLICT);
    assert_int_equal(probes[2].told, STORE_OK);
    assert_true(stored(f->store, "d"));
    assert_true(stored(f->store, "e"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(probes[i].runs, 1);
}

static void test_blocking_write_sees_its_commit(void **state)
{
    struct fixture *f = *state;
    struct probe p = {.key = "f", .rc = STORE_OK};
    assert_int_equal(sq_write(SQ_STORE(f->store), probe_unit, &p), STORE_OK);
    assert_true(stored(f->store, "f"));
}

/* A unit that writes `size` bytes under meta(key). */
struct blob {
    char key[16];
    size_t size;
};

static int blob_unit(struct sq_conn *c, void *arg)
{
    const struct blob *b = arg;
    char *value = malloc(b->size + 1);
    if (!value)
        return STORE_ERROR;
    memset(value, 'v', b->size);
    value[b->size] = '\0';
    sqlite3_stmt *st = sq_prepare(c, "INSERT INTO meta(key, value) VALUES(?1, ?2)");
    int rc = STORE_ERROR;
    if (st) {
        sq_bind_text(st, 1, b->key);
        sq_bind_text(st, 2, value);
        rc = sq_step_done(c, st);
        sqlite3_reset(st);
    }
    free(value);
    return rc;
}

static void test_commits_of_any_size_read_back_elsewhere(void **state)
{
    struct fixture *f = *state;
    /* a commit far larger than what the WAL writer gathers, then many small ones */
    size_t sizes[] = {3u << 20, 10, 5000, 100000, 1, 70000};
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct blob b = {.size = sizes[i]};
            snprintf(b.key, sizeof b.key, "k%d-%zu", round, i);
            assert_int_equal(sq_write(SQ_STORE(f->store), blob_unit, &b), STORE_OK);
        }
    /* another connection (with a WAL buffer of its own) reads every row whole */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, sq_vfs()), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*), sum(length(value)) FROM meta"
                                        " WHERE key LIKE 'k%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 20 * 6);
    int64_t bytes = (3 << 20) + 10 + 5000 + 100000 + 1 + 70000;
    assert_int_equal(sqlite3_column_int64(st, 1), 20 * bytes);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* A transaction larger than its connection's cache: SQLite spills pages to the WAL before the
 * commit, then changes some of them again, rewriting frames (and, at the commit, their headers)
 * that are already in the WAL. */
static int spill_unit(struct sq_conn *c, void *arg)
{
    (void)arg;
    if (sq_exec(c, "PRAGMA cache_size = 10"))
        return STORE_ERROR;
    static const char put[] = "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)";
    char key[16], value[600];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 300; i++) {
            snprintf(key, sizeof key, "s%03d", i);
            memset(value, 'a' + round, sizeof value - 1);
            value[sizeof value - 1] = '\0';
            sqlite3_stmt *st = sq_prepare(c, put);
            if (!st)
                return STORE_ERROR;
            sq_bind_text(st, 1, key);
            sq_bind_text(st, 2, value);
            int rc = sq_step_done(c, st);
            sqlite3_reset(st);
            if (rc)
                return rc;
        }
    }
    return sq_exec(c, "PRAGMA cache_size = -4096");
}

static void copy_file(const char *from, const char *to)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    assert_int_equal(system(cmd), 0);
}

static void test_acknowledged_commit_is_whole_on_disk(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(sq_write(SQ_STORE(f->store), spill_unit, NULL), STORE_OK);
    /* what a crash right now would leave: the files as they are, the store still open */
    char wal[140], copy[128], copy_wal[128];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    snprintf(copy, sizeof copy, "%s/copy.db", f->dir);
    snprintf(copy_wal, sizeof copy_wal, "%s/copy.db-wal", f->dir);
    copy_file(f->path, copy);
    copy_file(wal, copy_wal);
    sqlite3 *c = NULL;
    assert_int_equal(sqlite3_open_v2(copy, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(c,
                                        "SELECT count(*), min(value), max(value) FROM meta"
                                        " WHERE key LIKE 's%'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 300);
    char want[600];
    memset(want, 'c', sizeof want - 1);
    want[sizeof want - 1] = '\0';
    assert_string_equal((const char *)sqlite3_column_text(st, 1), want);
    assert_string_equal((const char *)sqlite3_column_text(st, 2), want);
    sqlite3_finalize(st);
    sqlite3_close(c);
}

static void test_allowance_exact_at_any_speed(void **state)
{
    struct fixture *f = *state;
    const int64_t limit = 20000; /* enough for the blocks to grow to their largest */
    int64_t granted = 0;
    for (int64_t i = 0; i < limit + 100; i++)
        if (allowance_take(f->store, "unit:calls", 7, limit) == STORE_OK)
            granted++;
    assert_int_equal(granted, limit);
    int64_t counted = 0;
    assert_int_equal(f->store->ops->counter_get(f->store, "unit:calls", 7, &counted), STORE_OK);
    assert_int_equal(counted, limit);
    assert_int_equal(allowance_unused("unit:calls", 7), 0);
}

static void test_allowance_gives_back_what_it_did_not_use(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 10; i++)
        assert_int_equal(allowance_take(f->store, "unit:few", 7, 1000000), STORE_OK);
    int64_t counted = 0;
    assert_int_equal(f->store->ops->counter_get(f->store, "unit:few", 7, &counted), STORE_OK);
    assert_true(counted >= 10 && counted <= 10 + ALLOWANCE_BLOCK_MAX);
    assert_int_equal(counted - allowance_unused("unit:few", 7), 10);
    allowance_release_all(f->store);
    assert_int_equal(f->store->ops->counter_get(f->store, "unit:few", 7, &counted), STORE_OK);
    assert_int_equal(counted, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_unit_failing_after_a_write_leaves_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unit_failing_before_writing_costs_no_rerun, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_blocking_write_sees_its_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_commits_of_any_size_read_back_elsewhere, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acknowledged_commit_is_whole_on_disk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowance_exact_at_any_speed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_allowance_gives_back_what_it_did_not_use, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
