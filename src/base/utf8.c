/* A strict UTF-8 decoder (RFC 3629), used to count characters the way the API's limits do. */
#include "base/utf8.h"

size_t utf8_char_len(const char *s, size_t avail)
{
    const unsigned char *p = (const unsigned char *)s;
    if (avail == 0)
        return 0;
    unsigned c = p[0];
    size_t extra;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        extra = 1, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        extra = 2, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        extra = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (avail <= extra)
        return 0;
    for (size_t i = 1; i <= extra; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return extra + 1;
}

long utf8_count(const char *s, size_t len)
{
    long count = 0;
    for (size_t i = 0; i < len; count++) {
        size_t n = utf8_char_len(s + i, len - i);
        if (n == 0)
            return -1;
        i += n;
    }
    return count;
}

bool utf8_has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20)
            return true;
    return false;
}
