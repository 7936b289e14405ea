/* A VFS over SQLite's default one that hands a commit's WAL frames to the kernel in large writes.
 *
 * SQLite writes each WAL frame with two calls (its 24-byte header, then the page), so a commit of
 * fifty pages costs a hundred system calls. Here the frames a connection appends to its WAL gather
 * in a buffer and go out in a few large writes when the commit's last frame is written: the page
 * that follows a frame header whose "database size after commit" field is set (the WAL file format,
 * https://sqlite.org/fileformat2.html#walformat). SQLite publishes a commit to readers (in the
 * WAL index) only after its frames are written, so readers never see a frame that is still here.
 * Anything else on the WAL (a read, a write of another shape or elsewhere, a sync, a truncate, a
 * size, a close) first writes what is buffered; a write that is not a frame's header or its page
 * is never buffered, so a SQLite that wrote frames differently would simply gain nothing. Files
 * other than WALs are the default VFS's own, untouched. */
#include "store/sqlite_db.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define VFS_NAME "waybilld"
#define FRAME_HEADER 24       /* bytes of a WAL frame's header */
#define GATHER_MAX (1u << 20) /* past this, frames go out before their commit ends */
#define WRITE_MAX (1u << 16)  /* bytes a call */

struct wal_file {
    struct sq_file file;
    unsigned char *buf;
    size_t len;
    sqlite3_int64 at;  /* the file offset of buf[0] */
    sqlite3_int64 end; /* one past the last byte appended: frames are gathered only from here on */
    bool after_header; /* the last write was a frame's header */
    bool commit_frame; /* ... of a commit's last frame */
};

static sqlite3_vfs *base_vfs;
static sqlite3_vfs vfs;

/* Writes n bytes at offset in pieces the default VFS takes whole (its unix write masks a length
 * to 17 bits). */
static int write_pieces(sqlite3_file *real, const unsigned char *data, size_t n,
                        sqlite3_int64 offset)
{
    int rc = SQLITE_OK;
    for (size_t done = 0; rc == SQLITE_OK && done < n; done += WRITE_MAX) {
        size_t piece = n - done < WRITE_MAX ? n - done : WRITE_MAX;
        rc = real->pMethods->xWrite(real, data + done, (int)piece, offset + (sqlite3_int64)done);
    }
    return rc;
}

static int flush(struct wal_file *w)
{
    int rc = write_pieces(w->file.real, w->buf, w->len, w->at);
    w->len = 0;
    return rc;
}

static uint32_t big_endian32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int wal_write(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset)
{
    struct wal_file *w = (struct wal_file *)f;
    size_t n = (size_t)amount;
    sqlite3_int64 gathered_end = w->at + (sqlite3_int64)w->len;
    /* only new frames, written as SQLite appends them (header, then page, end to end), are
     * gathered; a write below the end (SQLite rewrites headers and pages of frames it already
     * wrote) or of another shape goes straight through, after what is gathered */
    bool header = n == FRAME_HEADER && offset >= w->end;
    bool page = !header && w->after_header && w->len && offset == gathered_end;
    int rc = SQLITE_OK;
    if (w->len && (!(header || page) || offset != gathered_end || w->len + n > GATHER_MAX))
        rc = flush(w);
    w->after_header = false;
    if (rc != SQLITE_OK)
        return rc;
    if (offset == 0) /* the WAL's header: the WAL starts over */
        w->end = 0;
    if (offset + (sqlite3_int64)n > w->end)
        w->end = offset + (sqlite3_int64)n;
    if (!(header || page))
        return write_pieces(w->file.real, data, n, offset);
    if (!w->buf && !(w->buf = malloc(GATHER_MAX))) /* only connections that write need one */
        return write_pieces(w->file.real, data, n, offset);
    if (w->len == 0)
        w->at = offset;
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    if (header) {
        w->after_header = true;
        w->commit_frame = big_endian32((const unsigned char *)data + 4) != 0;
        return SQLITE_OK;
    }
    return w->commit_frame ? flush(w) : SQLITE_OK;
}

/* The other methods pass through, after the buffer where they could see the file's contents. */
#define FLUSHED(w, call)                                                                           \
    do {                                                                                           \
        int rc_ = flush(w);                                                                        \
        return rc_ != SQLITE_OK ? rc_ : (call);                                                    \
    } while (0)

static int wal_close(sqlite3_file *f)
{
    struct wal_file *w = (struct wal_file *)f;
    int flushed = flush(w);
    int rc = w->file.real->pMethods ? w->file.real->pMethods->xClose(w->file.real) : SQLITE_OK;
    free(w->buf);
    w->buf = NULL;
    return flushed != SQLITE_OK ? flushed : rc;
}

static int wal_read(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset)
{
    FLUSHED((struct wal_file *)f, SQ_REAL(f)->pMethods->xRead(SQ_REAL(f), out, amount, offset));
}

static int wal_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    struct wal_file *w = (struct wal_file *)f;
    if (w->end > size)
        w->end = size;
    FLUSHED(w, SQ_REAL(f)->pMethods->xTruncate(SQ_REAL(f), size));
}

static int wal_sync(sqlite3_file *f, int flags)
{
    FLUSHED((struct wal_file *)f, SQ_REAL(f)->pMethods->xSync(SQ_REAL(f), flags));
}

static int wal_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    FLUSHED((struct wal_file *)f, SQ_REAL(f)->pMethods->xFileSize(SQ_REAL(f), size));
}

static int wal_file_control(sqlite3_file *f, int op, void *arg)
{
    FLUSHED((struct wal_file *)f, SQ_REAL(f)->pMethods->xFileControl(SQ_REAL(f), op, arg));
}

int sq_file_lock(sqlite3_file *f, int level)
{
    return SQ_REAL(f)->pMethods->xLock(SQ_REAL(f), level);
}

int sq_file_unlock(sqlite3_file *f, int level)
{
    return SQ_REAL(f)->pMethods->xUnlock(SQ_REAL(f), level);
}

int sq_file_check_reserved(sqlite3_file *f, int *out)
{
    return SQ_REAL(f)->pMethods->xCheckReservedLock(SQ_REAL(f), out);
}

int sq_file_sector_size(sqlite3_file *f)
{
    return SQ_REAL(f)->pMethods->xSectorSize(SQ_REAL(f));
}

int sq_file_device_characteristics(sqlite3_file *f)
{
    return SQ_REAL(f)->pMethods->xDeviceCharacteristics(SQ_REAL(f));
}

/* Version 1 methods: a WAL has no shared memory or memory map of its own. */
static const sqlite3_io_methods wal_methods = {
    .iVersion = 1,
    .xClose = wal_close,
    .xRead = wal_read,
    .xWrite = wal_write,
    .xTruncate = wal_truncate,
    .xSync = wal_sync,
    .xFileSize = wal_file_size,
    .xLock = sq_file_lock,
    .xUnlock = sq_file_unlock,
    .xCheckReservedLock = sq_file_check_reserved,
    .xFileControl = wal_file_control,
    .xSectorSize = sq_file_sector_size,
    .xDeviceCharacteristics = sq_file_device_characteristics,
};

static int vfs_open(sqlite3_vfs *self, sqlite3_filename name, sqlite3_file *f, int flags,
                    int *out_flags)
{
    (void)self;
    if (flags & SQLITE_OPEN_MAIN_DB)
        return sq_vfs_open_db(base_vfs, name, f, flags, out_flags);
    if (!(flags & SQLITE_OPEN_WAL)) /* the default VFS's file, in place */
        return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
    struct wal_file *w = (struct wal_file *)f;
    memset(w, 0, sizeof *w);
    w->file.real = (sqlite3_file *)(w + 1);
    int rc = base_vfs->xOpen(base_vfs, name, w->file.real, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc;
    w->file.base.pMethods = &wal_methods;
    return SQLITE_OK;
}

/* The rest of the VFS is the default one's. */
static int vfs_delete(sqlite3_vfs *self, const char *name, int sync_dir)
{
    (void)self;
    return base_vfs->xDelete(base_vfs, name, sync_dir);
}

static int vfs_access(sqlite3_vfs *self, const char *name, int flags, int *out)
{
    (void)self;
    return base_vfs->xAccess(base_vfs, name, flags, out);
}

static int vfs_full_pathname(sqlite3_vfs *self, const char *name, int n, char *out)
{
    (void)self;
    return base_vfs->xFullPathname(base_vfs, name, n, out);
}

static void *vfs_dl_open(sqlite3_vfs *self, const char *name)
{
    (void)self;
    return base_vfs->xDlOpen(base_vfs, name);
}

static void vfs_dl_error(sqlite3_vfs *self, int n, char *out)
{
    (void)self;
    base_vfs->xDlError(base_vfs, n, out);
}

static void (*vfs_dl_sym(sqlite3_vfs *self, void *handle, const char *symbol))(void)
{
    (void)self;
    return base_vfs->xDlSym(base_vfs, handle, symbol);
}

static void vfs_dl_close(sqlite3_vfs *self, void *handle)
{
    (void)self;
    base_vfs->xDlClose(base_vfs, handle);
}

static int vfs_randomness(sqlite3_vfs *self, int n, char *out)
{
    (void)self;
    return base_vfs->xRandomness(base_vfs, n, out);
}

static int vfs_sleep(sqlite3_vfs *self, int us)
{
    (void)self;
    return base_vfs->xSleep(base_vfs, us);
}

static int vfs_current_time(sqlite3_vfs *self, double *out)
{
    (void)self;
    return base_vfs->xCurrentTime(base_vfs, out);
}

static int vfs_last_error(sqlite3_vfs *self, int n, char *out)
{
    (void)self;
    return base_vfs->xGetLastError(base_vfs, n, out);
}

static int vfs_current_time64(sqlite3_vfs *self, sqlite3_int64 *out)
{
    (void)self;
    return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

static void register_vfs(void)
{
    base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs || base_vfs->iVersion < 2)
        return;
    vfs = (sqlite3_vfs){
        .iVersion = 2,
        .szOsFile = (int)(sizeof(struct wal_file) > sq_vfs_db_file_size() ? sizeof(struct wal_file)
                                                                          : sq_vfs_db_file_size()) +
                    base_vfs->szOsFile,
        .mxPathname = base_vfs->mxPathname,
        .zName = VFS_NAME,
        .xOpen = vfs_open,
        .xDelete = vfs_delete,
        .xAccess = vfs_access,
        .xFullPathname = vfs_full_pathname,
        .xDlOpen = vfs_dl_open,
        .xDlError = vfs_dl_error,
        .xDlSym = vfs_dl_sym,
        .xDlClose = vfs_dl_close,
        .xRandomness = vfs_randomness,
        .xSleep = vfs_sleep,
        .xCurrentTime = vfs_current_time,
        .xGetLastError = vfs_last_error,
        .xCurrentTimeInt64 = vfs_current_time64,
    };
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK)
        base_vfs = NULL;
}

int sq_vfs_flush(sqlite3 *db)
{
    sqlite3_file *f = NULL;
    if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) != SQLITE_OK || !f ||
        f->pMethods != &wal_methods)
        return SQLITE_OK;
    return flush((struct wal_file *)f);
}

const char *sq_vfs(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_vfs);
    return base_vfs ? VFS_NAME : NULL;
}
