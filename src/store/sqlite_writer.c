/* Group commit: one writer thread runs the units of work of concurrent callers in one
 * transaction, each in its own savepoint, and answers all of them after the one fsync. */
#include "store/sqlite_db.h"

#include "base/log.h"

#include <stdlib.h>

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

static int run_unit(struct sq_conn *c, struct sq_unit *u)
{
    if (sq_run(c, "SAVEPOINT unit"))
        return STORE_ERROR;
    int rc = u->run(c, u->arg);
    /* a unit that did not succeed leaves nothing behind, and the batch goes on */
    if (rc != STORE_OK && sq_run(c, "ROLLBACK TO unit"))
        rc = STORE_ERROR;
    if (sq_run(c, "RELEASE unit"))
        return STORE_ERROR;
    return rc;
}

static void run_batch(struct sq_conn *c, struct sq_unit *batch)
{
    bool ok = sq_begin(c) == STORE_OK;
    for (struct sq_unit *u = batch; u; u = u->next)
        u->rc = ok ? run_unit(c, u) : STORE_ERROR;
    if (ok && sq_commit(c) != STORE_OK) {
        sq_rollback(c);
        ok = false;
    }
    if (!ok) /* nothing of the batch is durable: every caller hears so */
        for (struct sq_unit *u = batch; u; u = u->next)
            u->rc = STORE_ERROR;
}

static void *writer_loop(void *arg)
{
    struct sq_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        while (!s->queue && !s->stopping)
            pthread_cond_wait(&s->queue_ready, &s->queue_lock);
        if (!s->queue && s->stopping)
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

        run_batch(s->writer, batch);

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
        s->batches++;
        s->units += (uint64_t)n;
        pthread_cond_broadcast(&s->units_done);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

/* Appends u to the queue; false when the writer is stopping. Called with queue_lock held. */
static bool enqueue(struct sq_store *s, struct sq_unit *u)
{
    if (s->stopping)
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

int sq_writer_start(struct sq_store *s)
{
    s->writer = sq_conn_open(s);
    if (!s->writer)
        return STORE_ERROR;
    if (pthread_create(&s->writer_thread, NULL, writer_loop, s) != 0) {
        log_msg("error", "sqlite: cannot start the writer thread");
        return STORE_ERROR;
    }
    s->writer_running = true;
    return STORE_OK;
}

void sq_writer_stop(struct sq_store *s)
{
    if (s->writer_running) {
        pthread_mutex_lock(&s->queue_lock);
        s->stopping = true;
        pthread_cond_signal(&s->queue_ready);
        pthread_mutex_unlock(&s->queue_lock);
        pthread_join(s->writer_thread, NULL);
        s->writer_running = false;
        if (s->batches)
            log_msg("info", "sqlite: %llu units of work in %llu commits",
                    (unsigned long long)s->units, (unsigned long long)s->batches);
    }
    sq_conn_close(s->writer);
    s->writer = NULL;
}
