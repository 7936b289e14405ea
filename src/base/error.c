/* Lookups into the errcode table and the error value's setters. */
#include "base/error.h"

#include <stdarg.h>
#include <stdio.h>

static const struct {
    int number;
    const char *message;
} table[] = {
#define XX(name, code, msg) [WB_##name] = {code, msg},
    WB_ERRORS(XX)
#undef XX
};

int wb_code_number(enum wb_code code)
{
    return table[code].number;
}

const char *wb_code_message(enum wb_code code)
{
    return table[code].message;
}

enum wb_code wb_err_set(struct wb_err *e, enum wb_code code, const char *fmt, ...)
{
    e->code = code;
    e->detail[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->detail, sizeof e->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

void wb_err_clear(struct wb_err *e)
{
    e->code = WB_OK;
    e->detail[0] = '\0';
}
