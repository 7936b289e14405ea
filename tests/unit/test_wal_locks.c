/* Unit tests of src/store/sqlite_shm.c on a real SQLite file: the WAL index's locks, kept in the
 * process, still give every reader a consistent snapshot while the writer commits and the
 * checkpointer copies, and still keep other processes' connections -- through this VFS, as the
 * admin command line opens the store, and through SQLite's default one, as sqlite3 does -- in
 * step with the store's: no commit lost, none torn, the file whole. */
#include "sqlite_fixture.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define TOTAL 1000000   /* each pair's sum, whatever moves between its two rows */
#define CHILD_MOVES 300 /* each other process's commits */
#define READERS 3
#define PAIRS 3 /* "a"/"b" moved by the store's writer, "c0"/"d0" and "c1"/"d1" by the children */

static const char *const pair_keys[PAIRS][2] = {{"a", "b"}, {"c0", "d0"}, {"c1", "d1"}};

static int create_unit(struct sq_conn *c, void *arg)
{
    (void)arg;
    return sq_exec(c, "CREATE TABLE pairs(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
                      "CREATE TABLE pad(x BLOB NOT NULL);"
                      "INSERT INTO pairs VALUES('a', 1000000), ('b', 0), ('c0', 1000000),"
                      " ('d0', 0), ('c1', 1000000), ('d1', 0)");
}

/* Moves one from a to b, with a row of padding so that the WAL grows and is checkpointed. */
static int move_unit(struct sq_conn *c, void *arg)
{
    (void)arg;
    return sq_exec(c, "UPDATE pairs SET v = v - 1 WHERE k = 'a';"
                      "UPDATE pairs SET v = v + 1 WHERE k = 'b';"
                      "INSERT INTO pad VALUES(randomblob(3000))");
}

static int64_t value_of(sqlite3 *db, const char *key)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, "SELECT v FROM pairs WHERE k = ?1", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* One read transaction: every pair sums to TOTAL; *moved is b's value. False if one does not. */
static bool snapshot_consistent(sqlite3 *db, int64_t *moved)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return false;
    bool ok = true;
    for (int i = 0; i < PAIRS; i++)
        ok = ok && value_of(db, pair_keys[i][0]) + value_of(db, pair_keys[i][1]) == TOTAL;
    *moved = value_of(db, "b");
    return sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK && ok;
}

/* In another process: CHILD_MOVES commits moving one from cN to dN, each followed by a read that
 * checks every pair, a checkpoint now and then. Exits 0, 1 (a pair did not sum up) or 2. */
static int child(const char *path, const char *vfs, int n)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, vfs) != SQLITE_OK)
        return 2;
    sqlite3_busy_timeout(db, 10000);
    char move[200];
    snprintf(
        move, sizeof move,
        "BEGIN IMMEDIATE; UPDATE pairs SET v = v - 1 WHERE k = 'c%d';"
        " UPDATE pairs SET v = v + 1 WHERE k = 'd%d'; INSERT INTO pad VALUES(randomblob(3000));"
        " COMMIT",
        n, n);
    int rc = 0;
    for (int i = 0; i < CHILD_MOVES && !rc; i++) {
        int64_t moved = 0;
        if (sqlite3_exec(db, move, NULL, NULL, NULL) != SQLITE_OK)
            rc = 2;
        else if (!snapshot_consistent(db, &moved))
            rc = 1;
        else if (i % 25 == 0 &&
                 sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL) != SQLITE_OK)
            rc = 2;
        usleep(2000); /* room for the store's writer between two of these */
    }
    if (rc)
        fprintf(stderr, "child %d (%s): %s\n", n, vfs ? vfs : "default VFS", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* In another process, through SQLite's default VFS: commits, waits, then checkpoints. Exits 0
 * when the checkpoint copied every frame of the WAL, 1 when the store's process held it back. */
static int checkpointing_child(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return 2;
    sqlite3_busy_timeout(db, 10000);
    int rc = 0;
    for (int i = 0; i < 50 && !rc; i++)
        if (sqlite3_exec(db,
                         "UPDATE pairs SET v = v - 1 WHERE k = 'c0';"
                         " UPDATE pairs SET v = v + 1 WHERE k = 'd0'",
                         NULL, NULL, NULL) != SQLITE_OK)
            rc = 2;
    usleep(2500000); /* the store lets go of its idle read marks within a second */
    int frames = 0, copied = 0;
    if (!rc && sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &frames, &copied) !=
                   SQLITE_OK)
        rc = 2;
    if (!rc && (frames == 0 || copied != frames)) {
        fprintf(stderr, "checkpoint copied %d of %d frames\n", copied, frames);
        rc = 1;
    }
    sqlite3_close(db);
    return rc;
}

static pid_t spawn_child(const char *path, const char *vfs, int n)
{
    pid_t pid = fork();
    if (pid == 0) {
        char id[4];
        snprintf(id, sizeof id, "%d", n);
        execl("/proc/self/exe", "test_wal_locks", "--child", path, vfs, id, (char *)NULL);
        _exit(3);
    }
    return pid;
}

struct readers {
    struct sq_store *store;
    atomic_bool stop;
    atomic_int torn;   /* snapshots in which a pair did not sum up */
    atomic_int behind; /* snapshots older than one the same reader saw before */
    atomic_long snapshots;
};

static void *read_loop(void *arg)
{
    struct readers *r = arg;
    struct sq_conn *c = sq_conn_open(r->store);
    if (!c) {
        atomic_fetch_add(&r->torn, 1);
        return NULL;
    }
    int64_t last = 0;
    while (!atomic_load(&r->stop)) {
        int64_t moved = 0;
        if (!snapshot_consistent(c->db, &moved))
            atomic_fetch_add(&r->torn, 1);
        if (moved < last)
            atomic_fetch_add(&r->behind, 1);
        last = moved;
        atomic_fetch_add(&r->snapshots, 1);
    }
    sq_conn_close(c);
    return NULL;
}

static void test_snapshots_whole_across_threads_and_processes(void **state)
{
    struct fixture *f = *state;
    struct sq_store *s = SQ_STORE(f->store);
    assert_int_equal(sq_write(s, create_unit, NULL), STORE_OK);
    pid_t children[2] = {spawn_child(f->path, "waybilld", 0), spawn_child(f->path, "unix", 1)};
    struct readers r = {.store = s};
    pthread_t threads[READERS];
    for (int i = 0; i < READERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, read_loop, &r), 0);
    /* the store's own writes meanwhile, each seen at once by a new read on another connection */
    struct sq_conn *mine = sq_conn_open(s);
    assert_non_null(mine);
    int64_t moves = 0;
    int exited = 0, status[2] = {-1, -1};
    while ((exited < 2 || moves < 1000) && moves < 100000) {
        assert_int_equal(sq_write(s, move_unit, NULL), STORE_OK);
        moves++;
        assert_int_equal(value_of(mine->db, "b"), moves);
        for (int i = 0; i < 2; i++)
            if (children[i] > 0 && waitpid(children[i], &status[i], WNOHANG) == children[i]) {
                children[i] = 0;
                exited++;
            }
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < READERS; i++)
        pthread_join(threads[i], NULL);
    for (int i = 0; i < 2; i++) {
        assert_true(WIFEXITED(status[i]));
        assert_int_equal(WEXITSTATUS(status[i]), 0);
    }
    assert_int_equal(atomic_load(&r.torn), 0);
    assert_int_equal(atomic_load(&r.behind), 0);
    assert_true(atomic_load(&r.snapshots) > 100);
    /* every commit of every process is there, and the file is whole */
    assert_int_equal(value_of(mine->db, "a"), TOTAL - moves);
    assert_int_equal(value_of(mine->db, "d0"), CHILD_MOVES);
    assert_int_equal(value_of(mine->db, "c1"), TOTAL - CHILD_MOVES);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(mine->db, "PRAGMA integrity_check", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    sq_conn_close(mine);
}

/* The store's process, idle after reading, holds no other process's checkpoint back for long: its
 * kept read marks go within a second. */
static void test_idle_reader_lets_others_checkpoint(void **state)
{
    struct fixture *f = *state;
    struct sq_store *s = SQ_STORE(f->store);
    assert_int_equal(sq_write(s, create_unit, NULL), STORE_OK);
    for (int i = 0; i < 3; i++) /* reads between commits take read marks, which stay kept */
        assert_int_equal(sq_write(s, move_unit, NULL), STORE_OK);
    struct sq_conn *mine = sq_conn_open(s);
    assert_non_null(mine);
    assert_int_equal(value_of(mine->db, "b"), 3);
    pid_t child = fork();
    if (child == 0) {
        execl("/proc/self/exe", "test_wal_locks", "--checkpoint", f->path, (char *)NULL);
        _exit(3);
    }
    int status = -1;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    sq_conn_close(mine);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--checkpoint") == 0)
        return checkpointing_child(argv[2]);
    if (argc == 5 && strcmp(argv[1], "--child") == 0) {
        sq_vfs(); /* registers the VFS */
        return child(argv[2], argv[3], (int)strtol(argv[4], NULL, 10));
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_snapshots_whole_across_threads_and_processes, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_reader_lets_others_checkpoint, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
