/* Group commit: one writer thread runs the units of work of concurrent callers in one
 * transaction (a unit that fails leaves nothing behind), commits it, makes it durable with one
 * fsync of the WAL and only then answers their callers. The units that arrive meanwhile make the
 * next batch. */
#include "store/sqlite_db.h"

#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A caller's unit of work, waiting in the queue. A waiting caller's lives on its stack; one that
 * is told later (then != NULL) is on the heap and freed once told. */
struct sq_unit {
    sq_unit_fn run;
    void *arg;
    int rc;
    bool done;
    sq_then_fn then;
    void *then_ctx;
    struct sq_unit *next;
};

#define BATCH_MAX 512

/* A unit in a savepoint of its own: one that did not succeed leaves nothing behind, and the batch
 * goes on. */
static int run_unit_saved(struct sq_conn *c, struct sq_unit *u)
{
    if (sq_run(c, "SAVEPOINT unit"))
        return STORE_ERROR;
    int rc = u->run(c, u->arg);
    if (rc != STORE_OK && sq_run(c, "ROLLBACK TO unit"))
        rc = STORE_ERROR;
    if (sq_run(c, "RELEASE unit"))
        return STORE_ERROR;
    return rc;
}

enum batch_result { BATCH_DONE, BATCH_FAILED, BATCH_REDO };

/* Runs every unit of batch in one transaction and commits it. Without savepoints (the fast way,
 * a savepoint copies every page a unit touches), a unit that fails after writing cannot be undone
 * alone: the transaction is then rolled back and the batch is to be run again with them. */
static enum batch_result run_batch_once(struct sq_conn *c, struct sq_unit *batch, bool savepoints)
{
    if (sq_begin(c))
        return BATCH_FAILED;
    for (struct sq_unit *u = batch; u; u = u->next) {
        sqlite3_int64 changes = sqlite3_total_changes64(c->db);
        u->rc = savepoints ? run_unit_saved(c, u) : u->run(c, u->arg);
        if (sqlite3_get_autocommit(c->db)) /* SQLite ended the transaction itself (I/O, full) */
            return BATCH_FAILED;
        if (u->rc != STORE_OK && !savepoints && sqlite3_total_changes64(c->db) != changes) {
            sq_rollback(c);
            return BATCH_REDO;
        }
    }
    if (sq_commit(c)) {
        sq_rollback(c);
        return BATCH_FAILED;
    }
    /* the whole commit in the kernel's hands before the fdatasync that is to cover it */
    if (sq_vfs_flush(c->db) != SQLITE_OK) {
        log_msg("error", "sqlite: cannot write the WAL: %s; stopping", sqlite3_errmsg(c->db));
        abort();
    }
    return BATCH_DONE;
}

/* True when the batch was committed. */
static bool run_batch(struct sq_conn *c, struct sq_unit *batch)
{
    enum batch_result r = run_batch_once(c, batch, false);
    if (r == BATCH_REDO)
        r = run_batch_once(c, batch, true);
    if (r == BATCH_FAILED) /* nothing of the batch is durable: every caller hears so */
        for (struct sq_unit *u = batch; u; u = u->next)
            u->rc = STORE_ERROR;
    return r == BATCH_DONE;
}

/* Answers the callers of a batch whose outcome is settled: durable, or failed. */
static void tell_units(struct sq_store *s, struct sq_unit *batch)
{
    /* callers told later are told now, outside the lock; the others wake below */
    struct sq_unit *waiting = NULL;
    for (struct sq_unit *u = batch, *next; u; u = next) {
        next = u->next;
        if (u->then) {
            u->then(u->then_ctx, u->rc);
            free(u);
        } else {
            u->next = waiting;
            waiting = u;
        }
    }
    pthread_mutex_lock(&s->queue_lock);
    for (struct sq_unit *u = waiting; u; u = u->next)
        u->done = true; /* its caller reads it only once the lock is free again */
    pthread_cond_broadcast(&s->units_done);
    pthread_mutex_unlock(&s->queue_lock);
}

/* One fdatasync of the WAL makes every commit written before it durable (the WAL is appended in
 * commit order, and SQLite's recovery keeps its longest valid prefix). It runs after the commit
 * has let go of the WAL's write lock, so that other processes (the admin command line) can write
 * meanwhile. */
static void sync_wal(struct sq_store *s)
{
    if (fdatasync(s->wal_fd) != 0) {
        /* the kernel may have dropped the pages it could not write: what was committed is no
         * longer known to be on disk, and no caller may hear otherwise */
        log_msg("error", "sqlite: fdatasync of the WAL failed: %s; stopping", strerror(errno));
        abort();
    }
}

static void *writer_loop(void *arg)
{
    struct sq_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        while (!s->queue && !s->writer_thread.stopping)
            pthread_cond_wait(&s->queue_ready, &s->queue_lock);
        if (!s->queue && s->writer_thread.stopping)
            break;
        /* take up to BATCH_MAX units in arrival order */
        struct sq_unit *batch = s->queue, *last = batch;
        int n = 1;
        while (last->next && n < BATCH_MAX) {
            last = last->next;
            n++;
        }
        s->queue = last->next;
        if (!s->queue)
            s->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->queue_lock);

        sq_checkpoint_catch_up(s);
        bool committed = run_batch(s->writer, batch);
        s->batches++; /* the writer's alone; read once it has stopped */
        s->units += (uint64_t)n;
        if (committed && s->wal_fd >= 0) /* else nothing to sync, or the commit synced itself */
            sync_wal(s);
        tell_units(s, batch);
        pthread_mutex_lock(&s->queue_lock);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/* Appends u to the queue; false when the writer is stopping. Called with queue_lock held. */
static bool enqueue(struct sq_store *s, struct sq_unit *u)
{
    if (s->writer_thread.stopping)
        return false;
    if (s->queue_tail)
        s->queue_tail->next = u;
    else
        s->queue = u;
    s->queue_tail = u;
    pthread_cond_signal(&s->queue_ready);
    return true;
}

int sq_write_then(struct sq_store *s, sq_unit_fn run, void *arg, sq_then_fn then, void *ctx)
{
    struct sq_unit *u = calloc(1, sizeof *u);
    if (!u)
        return STORE_ERROR;
    *u = (struct sq_unit){.run = run, .arg = arg, .then = then, .then_ctx = ctx};
    pthread_mutex_lock(&s->queue_lock);
    bool queued = enqueue(s, u);
    pthread_mutex_unlock(&s->queue_lock);
    if (!queued)
        free(u);
    return queued ? STORE_OK : STORE_ERROR;
}

/* A unit told later whose arguments were copied to the heap (sq_write_later). */
struct later {
    sq_unit_fn run;
    void (*settle)(void *args, int rc);
    void (*done)(void *ctx, int rc);
    void *ctx;
    max_align_t args[]; /* the copy */
};

static int later_run(struct sq_conn *c, void *arg)
{
    struct later *l = arg;
    return l->run(c, l->args);
}

static void later_told(void *ctx, int rc)
{
    struct later *l = ctx;
    if (l->settle)
        l->settle(l->args, rc);
    l->done(l->ctx, rc);
    free(l);
}

int sq_write_later(struct sq_store *s, sq_unit_fn run, const void *args, size_t size,
                   void (*settle)(void *args, int rc), void (*done)(void *ctx, int rc), void *ctx)
{
    struct later *l = malloc(sizeof *l + size);
    if (!l)
        return STORE_ERROR;
    *l = (struct later){run, settle, done, ctx};
    memcpy(l->args, args, size);
    int rc = sq_write_then(s, later_run, l, later_told, l);
    if (rc)
        free(l);
    return rc;
}

int sq_write(struct sq_store *s, sq_unit_fn run, void *arg)
{
    struct sq_unit u = {.run = run, .arg = arg};
    pthread_mutex_lock(&s->queue_lock);
    if (!enqueue(s, &u)) {
        pthread_mutex_unlock(&s->queue_lock);
        return STORE_ERROR;
    }
    while (!u.done)
        pthread_cond_wait(&s->units_done, &s->queue_lock);
    pthread_mutex_unlock(&s->queue_lock);
    return u.rc;
}

/* Opens the WAL for the writer's fdatasync, and lets the writer's commits skip their own sync; -1
 * (and synchronous=FULL kept) when the file cannot be opened. */
static int open_wal(struct sq_store *s)
{
    /* a read opens (and if need be creates) the WAL */
    if (sq_exec(s->writer, "SELECT count(*) FROM sqlite_master"))
        return -1;
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->writer->db, "main"));
    int fd = wal ? open(wal, O_RDWR | O_CLOEXEC) : -1;
    if (fd < 0) {
        log_msg("warn", "sqlite: WAL not found; every commit syncs by itself");
        return -1;
    }
    /* checkpoints still sync the WAL before copying it and the database after */
    if (sq_exec(s->writer, "PRAGMA synchronous=NORMAL")) {
        close(fd);
        return -1;
    }
    return fd;
}

int sq_thread_start(struct sq_store *s, struct sq_thread *t, void *(*loop)(void *),
                    const char *what)
{
    t->stopping = false;
    if (pthread_create(&t->id, NULL, loop, s) != 0) {
        log_msg("error", "sqlite: cannot start the %s thread", what);
        return STORE_ERROR;
    }
    t->running = true;
    pthread_setname_np(t->id, what); /* as `top -H` and `ps -L` show it */
    return STORE_OK;
}

void sq_thread_stop(struct sq_store *s, struct sq_thread *t, pthread_cond_t *wake)
{
    if (!t->running)
        return;
    pthread_mutex_lock(&s->queue_lock);
    t->stopping = true;
    pthread_cond_signal(wake);
    pthread_mutex_unlock(&s->queue_lock);
    pthread_join(t->id, NULL);
    t->running = false;
}

int sq_writer_start(struct sq_store *s)
{
    s->wal_fd = -1;
    s->writer = sq_conn_open(s);
    if (!s->writer)
        return STORE_ERROR;
    s->wal_fd = open_wal(s);
    if (sq_checkpointer_start(s))
        return STORE_ERROR;
    return sq_thread_start(s, &s->writer_thread, writer_loop, "writer");
}

void sq_writer_stop(struct sq_store *s)
{
    sq_thread_stop(s, &s->writer_thread, &s->queue_ready);
    sq_checkpointer_stop(s);
    if (s->batches)
        log_msg("info", "sqlite: %llu units of work in %llu commits", (unsigned long long)s->units,
                (unsigned long long)s->batches);
    if (s->wal_fd >= 0)
        close(s->wal_fd);
    s->wal_fd = -1;
    sq_conn_close(s->writer);
    s->writer = NULL;
}
