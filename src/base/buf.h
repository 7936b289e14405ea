/* A growable byte buffer with a hard cap, always NUL-terminated. */
#ifndef WB_BASE_BUF_H
#define WB_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *ptr;     /* owned; NULL until the first append */
    size_t len;    /* bytes in use, not counting the terminating NUL */
    size_t cap;    /* bytes allocated */
    size_t max;    /* hard limit on len; an append past it fails and sets overflow */
    bool overflow; /* an append was refused for exceeding max */
    bool oom;      /* an allocation failed */
};

/* Initialises an empty buffer that will never hold more than max bytes. */
void buf_init(struct buf *b, size_t max);
/* Frees the storage; b is empty (and reusable) afterwards. */
void buf_release(struct buf *b);
/* Appends n bytes; returns false (and leaves b as it was) on overflow or allocation failure. */
bool buf_append(struct buf *b, const void *data, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included; bytes that are not UTF-8 become U+FFFD. */
bool buf_json_string(struct buf *b, const char *s);
/* Hands the storage to the caller (who frees it with free()); b is empty afterwards. */
char *buf_steal(struct buf *b);

#endif
