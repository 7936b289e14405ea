/* Bounded growable buffers: every length the service accepts from outside is capped here. */
#include "base/buf.h"

#include "base/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf){.max = max};
}

void buf_release(struct buf *b)
{
    free(b->ptr);
    buf_init(b, b->max);
}

static bool reserve(struct buf *b, size_t extra)
{
    if (extra > b->max - b->len) {
        b->overflow = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->ptr, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->ptr = p;
    b->cap = cap;
    return true;
}

bool buf_append(struct buf *b, const void *data, size_t n)
{
    if (!reserve(b, n))
        return false;
    if (n)
        memcpy(b->ptr + b->len, data, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return true;
}

bool buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

bool buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof small)
        return buf_append(b, small, (size_t)n);
    if (!reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

bool buf_json_string(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = strlen(s);
    bool ok = buf_append(b, "\"", 1);
    size_t run = 0; /* start of the bytes that pass through as they are */
    for (size_t i = 0; ok && i < len;) {
        unsigned char c = (unsigned char)s[i];
        size_t n = utf8_char_len(s + i, len - i);
        if (n > 1 || (n == 1 && c >= 0x20 && c != '"' && c != '\\')) {
            i += n;
            continue;
        }
        ok = buf_append(b, s + run, i - run);
        char esc[7] = {'\\', (char)c};
        size_t elen = 2;
        if (n == 0) /* not UTF-8: the replacement character keeps the JSON valid */
            memcpy(esc, "\\ufffd", elen = 6);
        else if (c == '\n')
            esc[1] = 'n';
        else if (c == '\t')
            esc[1] = 't';
        else if (c == '\r')
            esc[1] = 'r';
        else if (c < 0x20) {
            memcpy(esc, "\\u00", 4);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        ok = ok && buf_append(b, esc, elen);
        run = ++i;
    }
    return ok && buf_append(b, s + run, len - run) && buf_append(b, "\"", 1);
}

char *buf_steal(struct buf *b)
{
    char *p = b->ptr;
    if (!p)
        p = calloc(1, 1);
    buf_init(b, b->max);
    return p;
}
