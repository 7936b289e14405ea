/* String copies that never overrun their field. */
#include "base/text.h"

#include <string.h>

bool text_copy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size);
    bool fits = n < size;
    if (!fits)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return fits;
}
