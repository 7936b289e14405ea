/* Checkpoints off the writer's path: a checkpointer thread copies the WAL into the database while
 * the writer goes on committing, then the writer copies the few frames committed meanwhile, so
 * that its next transaction can start the WAL over. */
#include "store/sqlite_db.h"

#include "base/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <time.h>

#define CHECKPOINT_FRAMES 1024 /* each ~4 MiB of new WAL frames asks for a checkpoint */

static void checkpoint(sqlite3 *db, const char *who)
{
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        log_msg("warn", "sqlite: %s checkpoint: %s", who, sqlite3_errmsg(db));
}

/* Called by SQLite on the writer's thread after each commit, with the frames in the WAL. */
static int on_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    struct sq_store *s = arg;
    if (frames < s->checkpoint_frames) /* the WAL started over */
        s->checkpoint_frames = 0;
    /* frames counts the whole WAL, copied or not: ask once per CHECKPOINT_FRAMES new ones */
    if (frames - s->checkpoint_frames >= CHECKPOINT_FRAMES && !atomic_load(&s->checkpoint_asked)) {
        s->checkpoint_frames = frames;
        pthread_mutex_lock(&s->queue_lock);
        atomic_store(&s->checkpoint_asked, true);
        pthread_cond_signal(&s->checkpoint_ready);
        pthread_mutex_unlock(&s->queue_lock);
    }
    return SQLITE_OK;
}

/* Waits for a checkpoint to be asked for, or at most a second (queue_lock held); false then. */
static bool wait_for_ask(struct sq_store *s)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (!atomic_load(&s->checkpoint_asked) && !s->checkpointer_thread.stopping)
        if (pthread_cond_timedwait(&s->checkpoint_ready, &s->queue_lock, &until) == ETIMEDOUT)
            return atomic_load(&s->checkpoint_asked);
    return true;
}

static void *checkpointer_loop(void *arg)
{
    struct sq_store *s = arg;
    pthread_mutex_lock(&s->queue_lock);
    for (;;) {
        bool asked = wait_for_ask(s);
        if (s->checkpointer_thread.stopping)
            break;
        pthread_mutex_unlock(&s->queue_lock);
        /* once a second, and after each checkpoint: another process's checkpoints are held back by
         * this one's idle read marks for no longer */
        if (!asked) {
            sq_vfs_let_go_of_kept_locks();
            pthread_mutex_lock(&s->queue_lock);
            continue;
        }
        checkpoint(s->checkpointer->db, "background");
        sq_vfs_let_go_of_kept_locks();
        pthread_mutex_lock(&s->queue_lock);
        atomic_store(&s->checkpoint_asked, false);
        atomic_store(&s->checkpoint_catch_up, true);
    }
    pthread_mutex_unlock(&s->queue_lock);
    return NULL;
}

void sq_checkpoint_catch_up(struct sq_store *s)
{
    if (atomic_exchange(&s->checkpoint_catch_up, false))
        checkpoint(s->writer->db, "writer");
}

int sq_checkpointer_start(struct sq_store *s)
{
    s->checkpointer = sq_conn_open(s);
    if (!s->checkpointer)
        return STORE_ERROR;
    /* the writer no longer checkpoints by itself (the hook replaces its automatic checkpoints) */
    sqlite3_wal_hook(s->writer->db, on_commit, s);
    return sq_thread_start(s, &s->checkpointer_thread, checkpointer_loop, "checkpointer");
}

void sq_checkpointer_stop(struct sq_store *s)
{
    sq_thread_stop(s, &s->checkpointer_thread, &s->checkpoint_ready);
    sq_conn_close(s->checkpointer);
    s->checkpointer = NULL;
}
