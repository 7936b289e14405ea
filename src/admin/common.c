/* What the admin operations share: errors, the key check, list limits and body field readers. */
#include "admin/admin.h"

#include "base/crypto.h"
#include "base/error.h"
#include "base/utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void *admin_fail(struct admin_err *e, unsigned status, const char *fmt, ...)
{
    e->status = status;
    if (status == 400)
        e->errcode = wb_code_number(WB_DATA_FORMAT);
    else if (status >= 500)
        e->errcode = wb_code_number(WB_SYSTEM);
    else
        e->errcode = (int)status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return NULL;
}

bool admin_key_ok(const char *authorization, const char *admin_key)
{
    static const char scheme[] = "Bearer ";
    if (!authorization || !admin_key || !admin_key[0])
        return false;
    if (strncmp(authorization, scheme, sizeof scheme - 1) != 0)
        return false;
    const char *key = authorization + sizeof scheme - 1;
    while (*key == ' ')
        key++;
    return crypto_equal(key, admin_key);
}

bool admin_parse_limit(const char *text, int *limit, struct admin_err *e)
{
    if (!text) {
        *limit = ADMIN_LIST_DEFAULT;
        return true;
    }
    long n = 0;
    const char *p = text;
    for (; *p >= '0' && *p <= '9' && n <= ADMIN_LIST_MAX; p++)
        n = n * 10 + (*p - '0');
    if (p == text || *p || n < 1 || n > ADMIN_LIST_MAX) {
        admin_fail(e, 400, "limit must be an integer from 1 to %d", ADMIN_LIST_MAX);
        return false;
    }
    *limit = (int)n;
    return true;
}

bool admin_field_bool(const char *key, const json_t *v, bool null_value, bool *out,
                      struct admin_err *e)
{
    if (json_is_null(v))
        *out = null_value;
    else if (json_is_boolean(v))
        *out = json_is_true(v);
    else {
        admin_fail(e, 400, "%s must be true, false or null", key);
        return false;
    }
    return true;
}

bool admin_field_count(const char *key, const json_t *v, int64_t null_value, int64_t *out,
                       struct admin_err *e)
{
    if (json_is_null(v)) {
        *out = null_value;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        admin_fail(e, 400, "%s must be a non-negative integer or null", key);
        return false;
    }
    *out = (int64_t)json_integer_value(v);
    return true;
}

bool admin_field_text(const char *key, const json_t *v, long max_chars, char *out, size_t size,
                      struct admin_err *e)
{
    if (!json_is_string(v)) {
        admin_fail(e, 400, "%s must be a string", key);
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    long chars = utf8_count(s, len);
    if (chars < 0 || utf8_has_control(s, len)) {
        admin_fail(e, 400, "%s must be valid UTF-8 without control characters", key);
        return false;
    }
    if (chars < 1 || chars > max_chars || len >= size) {
        admin_fail(e, 400, "%s must have 1 to %ld characters", key, max_chars);
        return false;
    }
    memcpy(out, s, len + 1);
    return true;
}

bool admin_body_ok(const json_t *body, struct admin_err *e)
{
    if (body && !json_is_object(body)) {
        admin_fail(e, 400, "the body must be a JSON object");
        return false;
    }
    return true;
}

void *admin_store_fail(struct admin_err *e, int rc, const char *what, const char *id)
{
    if (rc == STORE_NOT_FOUND)
        return admin_fail(e, 404, "%s %s not found", what, id);
    if (rc == STORE_CONFLICT)
        return admin_fail(e, 409, "%s %s exists already", what, id);
    return admin_fail(e, 500, "the store failed");
}

void admin_lock(void)
{
    pthread_mutex_lock(&lock);
}

void admin_unlock(void)
{
    pthread_mutex_unlock(&lock);
}
