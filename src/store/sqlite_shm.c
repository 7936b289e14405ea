/* The database file as the VFS opens it: the default VFS's file, except for the locks of its WAL
 * index, which this process keeps itself.
 *
 * The WAL index (the -shm file) has eight locks: the writer's, the checkpointer's, recovery's and
 * five read marks (https://sqlite.org/walformat.html). SQLite's default VFS takes each of them
 * under one mutex per file and, when no other connection of the process holds that lock, with
 * fcntl() -- on every read transaction, so threads reading at once queue on the mutex while one
 * of them is in the kernel. Here a lock is a count in this process (connections holding it shared,
 * or -1 held exclusive), and the process holds the system-level lock, on the byte of the -shm
 * file the default VFS would lock, for as long as any of its connections holds the lock. So other
 * processes (the admin command line, sqlite3) see this one as they would see SQLite's own.
 *
 * The system-level shared lock of read marks 1-4 is kept after the last of the process's readers
 * lets go, so readers take it again without a system call or a mutex. To another process it looks
 * like a reader that stays at that mark: that process's checkpoints copy only the frames up to it
 * and it does not start the WAL over, which SQLite allows any reader to cause; this process's own
 * checkpoints see only its own readers. The store lets go of kept marks every second
 * (sq_vfs_let_go_of_kept_locks), so that a process of its own that stays idle does not hold back
 * another's checkpoints for longer than that. Read mark 0 (a reader of a WAL copied whole, which
 * reads the database file alone) is never kept: a checkpoint of any process needs it free to copy a
 * single frame. An exclusive lock is taken in the process first, then in the system (where it
 * replaces a kept shared lock of the same process); letting go of it keeps a kept mark's shared
 * lock in the system, the others' none.
 *
 * Every connection of this process to the database must come through this VFS: one of the default
 * VFS would not see these locks. The store opens all of its connections through it. */
#include "store/sqlite_db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOCK_BYTE 120 /* the -shm file's byte of lock 0, as SQLite's unix VFS locks it */
#define FIRST_KEPT 4  /* read marks 1-4; read mark 0 (lock 3) is never kept, see above */
#define EXCLUSIVE (-1)

struct shm_locks {
    struct shm_locks *next;
    char *path;             /* the -shm file */
    int fd;                 /* the process's system-level locks are taken on it */
    int users;              /* connections that mapped the WAL index; under registry_lock */
    pthread_mutex_t system; /* held while a lock changes at the system level */
    _Atomic int holders[SQLITE_SHM_NLOCK]; /* connections holding it shared, or EXCLUSIVE */
    _Atomic bool kept[SQLITE_SHM_NLOCK];   /* the process holds it shared at the system level */
};

struct db_file {
    struct sq_file file;
    sqlite3_filename name;
    struct shm_locks *locks;    /* once the connection mapped the WAL index */
    unsigned shared, exclusive; /* the locks this connection holds, one bit each */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shm_locks *registry;

/* type: F_RDLCK, F_WRLCK or F_UNLCK on locks [first, first + n); SQLITE_BUSY when another
 * process holds one of them in a way that conflicts. */
static int system_lock(struct shm_locks *l, short type, int first, int n)
{
    struct flock fl = {
        .l_type = type, .l_whence = SEEK_SET, .l_start = LOCK_BYTE + first, .l_len = n};
    if (fcntl(l->fd, F_SETLK, &fl) == 0)
        return SQLITE_OK;
    return errno == EAGAIN || errno == EACCES ? SQLITE_BUSY : SQLITE_IOERR_SHMLOCK;
}

/* A read mark whose system-level lock the process keeps: one atomic step, unless an exclusive
 * lock came and went in between (it dropped the system-level lock). */
static bool share_kept(struct shm_locks *l, int i)
{
    int n = atomic_load(&l->holders[i]);
    while (n >= 0 && atomic_load(&l->kept[i]))
        if (atomic_compare_exchange_weak(&l->holders[i], &n, n + 1)) {
            if (atomic_load(&l->kept[i]))
                return true;
            atomic_fetch_sub(&l->holders[i], 1);
            return false;
        }
    return false;
}

static int lock_shared(struct shm_locks *l, int i)
{
    if (i >= FIRST_KEPT && share_kept(l, i))
        return SQLITE_OK;
    pthread_mutex_lock(&l->system);
    int rc = SQLITE_OK;
    if (atomic_load(&l->holders[i]) == EXCLUSIVE)
        rc = SQLITE_BUSY;
    else if (!atomic_load(&l->kept[i]) && (rc = system_lock(l, F_RDLCK, i, 1)) == SQLITE_OK)
        atomic_store(&l->kept[i], true);
    if (rc == SQLITE_OK)
        atomic_fetch_add(&l->holders[i], 1);
    pthread_mutex_unlock(&l->system);
    return rc;
}

static void unlock_shared(struct shm_locks *l, int i)
{
    if (i >= FIRST_KEPT) { /* the system-level lock stays */
        atomic_fetch_sub(&l->holders[i], 1);
        return;
    }
    pthread_mutex_lock(&l->system);
    if (atomic_fetch_sub(&l->holders[i], 1) == 1) {
        system_lock(l, F_UNLCK, i, 1);
        atomic_store(&l->kept[i], false);
    }
    pthread_mutex_unlock(&l->system);
}

static int lock_exclusive(struct shm_locks *l, int first, int n)
{
    pthread_mutex_lock(&l->system);
    int taken = 0;
    for (int none = 0; taken < n; taken++, none = 0)
        if (!atomic_compare_exchange_strong(&l->holders[first + taken], &none, EXCLUSIVE))
            break;
    /* a failed F_SETLK changes none of the process's locks: kept ones stay */
    int rc = taken < n ? SQLITE_BUSY : system_lock(l, F_WRLCK, first, n);
    if (rc != SQLITE_OK)
        while (taken--)
            atomic_store(&l->holders[first + taken], 0);
    pthread_mutex_unlock(&l->system);
    return rc;
}

static void unlock_exclusive(struct shm_locks *l, int i)
{
    pthread_mutex_lock(&l->system);
    bool keep = i >= FIRST_KEPT && system_lock(l, F_RDLCK, i, 1) == SQLITE_OK;
    if (!keep)
        system_lock(l, F_UNLCK, i, 1);
    /* kept first: a reader that sees the lock free must see whether the system holds it */
    atomic_store(&l->kept[i], keep);
    atomic_store(&l->holders[i], 0);
    pthread_mutex_unlock(&l->system);
}

/* Lets go of the kept read marks no reader of the process holds. Each is marked EXCLUSIVE while it
 * goes, so a reader that comes meanwhile leaves the fast path and waits for the mutex rather than
 * count itself in without the system-level lock. */
static void let_go_of_kept(struct shm_locks *l)
{
    pthread_mutex_lock(&l->system);
    for (int i = FIRST_KEPT; i < SQLITE_SHM_NLOCK; i++) {
        int none = 0;
        if (!atomic_load(&l->kept[i]) ||
            !atomic_compare_exchange_strong(&l->holders[i], &none, EXCLUSIVE))
            continue;
        system_lock(l, F_UNLCK, i, 1);
        atomic_store(&l->kept[i], false);
        atomic_store(&l->holders[i], 0);
    }
    pthread_mutex_unlock(&l->system);
}

void sq_vfs_let_go_of_kept_locks(void)
{
    pthread_mutex_lock(&registry_lock);
    for (struct shm_locks *l = registry; l; l = l->next)
        let_go_of_kept(l);
    pthread_mutex_unlock(&registry_lock);
}

static int db_shm_lock(sqlite3_file *f, int first, int n, int flags)
{
    struct db_file *d = (struct db_file *)f;
    struct shm_locks *l = d->locks;
    if (!l || first < 0 || n < 1 || first + n > SQLITE_SHM_NLOCK)
        return SQLITE_IOERR_SHMLOCK;
    unsigned mask = ((1u << n) - 1) << first;
    if (flags & SQLITE_SHM_UNLOCK) {
        for (int i = first; i < first + n; i++) {
            unsigned bit = 1u << i;
            if (d->shared & bit)
                unlock_shared(l, i);
            else if (d->exclusive & bit)
                unlock_exclusive(l, i);
        }
        d->shared &= ~mask;
        d->exclusive &= ~mask;
        return SQLITE_OK;
    }
    if (flags & SQLITE_SHM_SHARED) { /* SQLite shares one lock at a time */
        if (n != 1)
            return SQLITE_IOERR_SHMLOCK;
        int rc = d->shared & mask ? SQLITE_OK : lock_shared(l, first);
        if (rc == SQLITE_OK)
            d->shared |= mask;
        return rc;
    }
    int rc = (d->exclusive & mask) == mask ? SQLITE_OK : lock_exclusive(l, first, n);
    if (rc == SQLITE_OK)
        d->exclusive |= mask;
    return rc;
}

static void db_shm_barrier(sqlite3_file *f)
{
    (void)f;
    atomic_thread_fence(memory_order_seq_cst);
}

/* Under registry_lock. */
static struct shm_locks *attach(const char *db_path)
{
    size_t len = strlen(db_path);
    for (struct shm_locks *l = registry; l; l = l->next)
        if (strncmp(l->path, db_path, len) == 0 && strcmp(l->path + len, "-shm") == 0) {
            l->users++;
            return l;
        }
    struct shm_locks *l = calloc(1, sizeof *l);
    if (!l || !(l->path = malloc(len + sizeof "-shm")))
        goto fail;
    snprintf(l->path, len + sizeof "-shm", "%s-shm", db_path);
    /* read-only when the file is (readonly_shm): shared locks are all such a connection takes */
    if ((l->fd = open(l->path, O_RDWR | O_CLOEXEC)) < 0 &&
        (l->fd = open(l->path, O_RDONLY | O_CLOEXEC)) < 0)
        goto fail;
    pthread_mutex_init(&l->system, NULL);
    l->users = 1;
    l->next = registry;
    registry = l;
    return l;
fail:
    if (l)
        free(l->path);
    free(l);
    return NULL;
}

/* Under registry_lock, after the default VFS let go of the -shm file. */
static void detach(struct db_file *d)
{
    struct shm_locks *l = d->locks;
    db_shm_lock(&d->file.base, 0, SQLITE_SHM_NLOCK,
                SQLITE_SHM_UNLOCK); /* none, unless SQLite erred */
    d->locks = NULL;
    if (--l->users > 0)
        return;
    struct shm_locks **p = &registry;
    while (*p != l)
        p = &(*p)->next;
    *p = l->next;
    close(l->fd); /* the default VFS closed its own: the process holds no lock on the file now */
    pthread_mutex_destroy(&l->system);
    free(l->path);
    free(l);
}

static int db_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **out)
{
    struct db_file *d = (struct db_file *)f;
    if (d->locks)
        return d->file.real->pMethods->xShmMap(d->file.real, region, size, extend, out);
    pthread_mutex_lock(&registry_lock);
    int rc = d->file.real->pMethods->xShmMap(d->file.real, region, size, extend, out);
    /* the default VFS maps the WAL index also when it answers SQLITE_READONLY(_CANTINIT) */
    bool mapped = rc == SQLITE_OK || (rc & 0xff) == SQLITE_READONLY;
    if (mapped && !(d->locks = attach(d->name))) {
        /* let go of the default VFS's map too, so that the two count the same connections, and
         * of the region it handed out */
        d->file.real->pMethods->xShmUnmap(d->file.real, 0);
        *out = NULL;
        rc = SQLITE_IOERR_SHMOPEN;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

static int db_shm_unmap(sqlite3_file *f, int delete_flag)
{
    struct db_file *d = (struct db_file *)f;
    pthread_mutex_lock(&registry_lock);
    int rc = d->file.real->pMethods->xShmUnmap(d->file.real, delete_flag);
    if (d->locks)
        detach(d);
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

static int db_close(sqlite3_file *f)
{
    struct db_file *d = (struct db_file *)f;
    if (d->locks) /* SQLite unmaps before it closes; in case it did not */
        db_shm_unmap(f, 0);
    return d->file.real->pMethods ? d->file.real->pMethods->xClose(d->file.real) : SQLITE_OK;
}

/* The rest is the default VFS's file's. */
static int db_read(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset)
{
    return SQ_REAL(f)->pMethods->xRead(SQ_REAL(f), out, amount, offset);
}

static int db_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
    return SQ_REAL(f)->pMethods->xWrite(SQ_REAL(f), data, amount, offset);
}

static int db_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return SQ_REAL(f)->pMethods->xTruncate(SQ_REAL(f), size);
}

static int db_sync(sqlite3_file *f, int flags)
{
    return SQ_REAL(f)->pMethods->xSync(SQ_REAL(f), flags);
}

static int db_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return SQ_REAL(f)->pMethods->xFileSize(SQ_REAL(f), size);
}

static int db_file_control(sqlite3_file *f, int op, void *arg)
{
    return SQ_REAL(f)->pMethods->xFileControl(SQ_REAL(f), op, arg);
}

static int db_fetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out)
{
    return SQ_REAL(f)->pMethods->xFetch(SQ_REAL(f), offset, amount, out);
}

static int db_unfetch(sqlite3_file *f, sqlite3_int64 offset, void *page)
{
    return SQ_REAL(f)->pMethods->xUnfetch(SQ_REAL(f), offset, page);
}

static const sqlite3_io_methods db_methods = {
    .iVersion = 3,
    .xClose = db_close,
    .xRead = db_read,
    .xWrite = db_write,
    .xTruncate = db_truncate,
    .xSync = db_sync,
    .xFileSize = db_file_size,
    .xLock = sq_file_lock,
    .xUnlock = sq_file_unlock,
    .xCheckReservedLock = sq_file_check_reserved,
    .xFileControl = db_file_control,
    .xSectorSize = sq_file_sector_size,
    .xDeviceCharacteristics = sq_file_device_characteristics,
    .xShmMap = db_shm_map,
    .xShmLock = db_shm_lock,
    .xShmBarrier = db_shm_barrier,
    .xShmUnmap = db_shm_unmap,
    .xFetch = db_fetch,
    .xUnfetch = db_unfetch,
};

size_t sq_vfs_db_file_size(void)
{
    return sizeof(struct db_file);
}

int sq_vfs_open_db(sqlite3_vfs *base, sqlite3_filename name, sqlite3_file *f, int flags,
                   int *out_flags)
{
    struct db_file *d = (struct db_file *)f;
    memset(d, 0, sizeof *d);
    d->file.real = (sqlite3_file *)(d + 1);
    d->name = name;
    int rc = base->xOpen(base, name, d->file.real, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc;
    if (d->file.real->pMethods->iVersion < 3 || !name) {
        /* not a file this can keep the locks of: the default VFS's own, in place */
        d->file.real->pMethods->xClose(d->file.real);
        return base->xOpen(base, name, f, flags, out_flags);
    }
    d->file.base.pMethods = &db_methods;
    return SQLITE_OK;
}
