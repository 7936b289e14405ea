/* Formatting of log lines; each line is built in memory and written with one call. */
#include "base/log.h"

#include "base/buf.h"
#include "base/clock.h"
#include "base/utf8.h"

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

static void stamp(char out[32])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static void emit(struct buf *b)
{
    buf_append(b, "\n", 1);
    if (b->ptr) {
        ssize_t n = write(STDERR_FILENO, b->ptr, b->len);
        (void)n;
    }
    buf_release(b);
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
    struct buf b;
    buf_init(&b, 4096);
    if (as_json) {
        buf_printf(&b, "{\"time\":\"%s\",\"rid\":\"%s\",\"method\":", when, a->rid);
        buf_json_string(&b, a->method);
        buf_puts(&b, ",\"path\":");
        buf_json_string(&b, path);
        buf_printf(&b, ",\"status\":%u,\"errcode\":%d,\"duration_ms\":%.3f}", a->status, a->errcode,
                   (double)a->duration_us / 1000.0);
    } else {
        buf_printf(&b, "%s %s %s %s %u %d %.3fms", when, a->rid, a->method, path, a->status,
                   a->errcode, (double)a->duration_us / 1000.0);
    }
    emit(&b);
}
