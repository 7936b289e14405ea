/* Bounded copies of NUL-terminated strings into fixed-size fields. */
#ifndef WB_BASE_TEXT_H
#define WB_BASE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Copies src into dst (size bytes, size >= 1), cut short if need be, always NUL-terminated;
 * false when src did not fit whole. */
bool text_copy(char *dst, size_t size, const char *src);

#endif
