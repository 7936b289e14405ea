/* Formatting of log lines; each line is built in memory and written with one call. Access lines,
 * one a request, may instead gather in a buffer that a flusher thread writes out a few
 * milliseconds later, many lines a call. */
#include "base/log.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool as_json;

void log_set_json(bool json)
{
    as_json = json;
}

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC); the calendar part is formatted once a second per thread. */
static void stamp(char out[32])
{
    static _Thread_local time_t second = -1;
    static _Thread_local char calendar[24];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != second) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        strftime(calendar, sizeof calendar, "%Y-%m-%dT%H:%M:%S", &tm);
        second = ts.tv_sec;
    }
    size_t n = strlen(calendar);
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000;
    memcpy(out, calendar, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

#define GATHER_NS 2000000      /* how long access lines may wait to be written */
#define PENDING_MAX (4u << 20) /* past this, lines are written at once */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;   /* lines are pending, or the flusher is to stop */
    pthread_cond_t drained; /* the flusher took the pending lines */
    struct buf lines;       /* access lines not written yet */
    bool running, stopping;
    pthread_t thread;
} flusher = {.lock = PTHREAD_MUTEX_INITIALIZER,
             .ready = PTHREAD_COND_INITIALIZER,
             .drained = PTHREAD_COND_INITIALIZER};

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void emit(struct buf *b)
{
    buf_append(b, "\n", 1);
    if (b->ptr)
        write_all(b->ptr, b->len);
    buf_release(b);
}

/* An access line: into the flusher's buffer while there is a flusher, else written now. A full
 * buffer (stderr is stalled) holds the caller back until the flusher took what is pending, so that
 * lines keep their order and memory its bound. */
static void emit_access(struct buf *b)
{
    buf_append(b, "\n", 1);
    pthread_mutex_lock(&flusher.lock);
    while (flusher.running && b->ptr && flusher.lines.len >= PENDING_MAX)
        pthread_cond_wait(&flusher.drained, &flusher.lock);
    bool gathered = flusher.running && b->ptr;
    if (gathered) {
        if (flusher.lines.len == 0)
            pthread_cond_signal(&flusher.ready);
        buf_append(&flusher.lines, b->ptr, b->len);
    }
    pthread_mutex_unlock(&flusher.lock);
    if (!gathered && b->ptr)
        write_all(b->ptr, b->len);
    buf_release(b);
}

static void *flusher_loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&flusher.lock);
    for (;;) {
        while (flusher.lines.len == 0 && !flusher.stopping)
            pthread_cond_wait(&flusher.ready, &flusher.lock);
        if (flusher.lines.len == 0)
            break;
        /* let the lines of other requests join this write */
        pthread_mutex_unlock(&flusher.lock);
        nanosleep(&(struct timespec){0, GATHER_NS}, NULL);
        pthread_mutex_lock(&flusher.lock);
        struct buf out = flusher.lines;
        buf_init(&flusher.lines, PENDING_MAX + 65536);
        pthread_cond_broadcast(&flusher.drained);
        pthread_mutex_unlock(&flusher.lock);
        write_all(out.ptr, out.len);
        buf_release(&out);
        pthread_mutex_lock(&flusher.lock);
    }
    pthread_mutex_unlock(&flusher.lock);
    return NULL;
}

void log_gather_start(void)
{
    pthread_mutex_lock(&flusher.lock);
    buf_init(&flusher.lines, PENDING_MAX + 65536);
    flusher.stopping = false;
    flusher.running = pthread_create(&flusher.thread, NULL, flusher_loop, NULL) == 0;
    if (flusher.running)
        pthread_setname_np(flusher.thread, "log-flusher");
    pthread_mutex_unlock(&flusher.lock);
}

void log_gather_stop(void)
{
    pthread_mutex_lock(&flusher.lock);
    bool running = flusher.running;
    flusher.stopping = true;
    pthread_cond_signal(&flusher.ready);
    pthread_mutex_unlock(&flusher.lock);
    if (running)
        pthread_join(flusher.thread, NULL); /* after it wrote every line */
    pthread_mutex_lock(&flusher.lock);
    flusher.running = false;
    pthread_cond_broadcast(&flusher.drained);
    /* lines that came after the flusher's last turn */
    if (flusher.lines.len)
        write_all(flusher.lines.ptr, flusher.lines.len);
    buf_release(&flusher.lines);
    pthread_mutex_unlock(&flusher.lock);
}

void log_msg(const char *level, const char *fmt, ...)
{
    char text[1024], when[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    stamp(when);
    struct buf b;
    buf_init(&b, 4096);
    if (as_json) {
        buf_printf(&b, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":", when, level);
        buf_json_string(&b, text);
        buf_puts(&b, "}");
    } else {
        buf_printf(&b, "%s %s %s", when, level, text);
    }
    emit(&b);
}

/* The path is outside input: at most 512 bytes, cut at a character boundary, valid UTF-8 (other
 * bytes become '?'), and for text lines without spaces or control characters. */
static void clean_path(char out[516], const char *path, bool escaped)
{
    size_t n = strnlen(path, 512);
    if (path[n])
        while (n > 0 && ((unsigned char)path[n] & 0xC0) == 0x80)
            n--;
    bool valid = utf8_count(path, n) >= 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)path[i];
        bool plain = escaped || (c > 0x20 && c != 0x7f);
        out[i] = !plain || (c >= 0x80 && !valid) ? '?' : (char)c;
    }
    out[n] = '\0';
}

void log_access(const struct log_access *a)
{
    char when[32], path[516];
    stamp(when);
    clean_path(path, a->path, as_json);
    long long duration = a->duration_us > 0 ? (long long)a->duration_us : 0;
    long long ms = duration / 1000, us = duration % 1000; /* milliseconds, 3 decimals */
    struct buf b;
    buf_init(&b, 4096);
    if (as_json) {
        buf_printf(&b, "{\"time\":\"%s\",\"rid\":\"%s\",\"method\":", when, a->rid);
        buf_json_string(&b, a->method);
        buf_puts(&b, ",\"path\":");
        buf_json_string(&b, path);
        buf_printf(&b, ",\"status\":%u,\"errcode\":%d,\"duration_ms\":%lld.%03lld}", a->status,
                   a->errcode, ms, us);
    } else {
        buf_printf(&b, "%s %s %s %s %u %d %lld.%03lldms", when, a->rid, a->method, path, a->status,
                   a->errcode, ms, us);
    }
    emit_access(&b);
}
