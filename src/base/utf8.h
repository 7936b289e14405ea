/* UTF-8 checks: well-formedness, code point counts, control characters. */
#ifndef WB_BASE_UTF8_H
#define WB_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Length in bytes of the well-formed character at s (avail bytes readable), or 0 if none. */
size_t utf8_char_len(const char *s, size_t avail);
/* Number of code points in the well-formed UTF-8 string s, or -1 if s is not well-formed
 * (overlong forms, surrogates and values past U+10FFFF are not well-formed). */
long utf8_count(const char *s, size_t len);
/* True if s holds a character in U+0000–U+001F. */
bool utf8_has_control(const char *s, size_t len);

#endif
