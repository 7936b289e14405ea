/* The sandbox endpoints: the clock (read and move its stored offset) and event injection. */
#include "api/sandbox.h"

#include "admin/admin.h"
#include "api/api.h"
#include "api/call.h"
#include "api/feed.h"
#include "api/reply.h"
#include "base/clock.h"
#include "base/log.h"
#include "carrier/recognize.h"
#include "jobs/housekeeping.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCK_KEY "clock_offset"
#define CLOCK_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z: keeps every sum in range */

/* One move at a time within the process, so that two advances add up. */
static pthread_mutex_t move_lock = PTHREAD_MUTEX_INITIALIZER;

bool sandbox_clock_load(struct store *s)
{
    char text[32];
    int rc = s->ops->meta_get(s, CLOCK_KEY, text, sizeof text);
    if (rc == STORE_NOT_FOUND)
        return true;
    if (rc != STORE_OK)
        return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
        log_msg("error", "the stored sandbox clock offset is not a number");
        return false;
    }
    clock_set_offset((int64_t)v);
    return true;
}

static void reply_now(struct http_reply *reply)
{
    reply->status = 200;
    reply->errcode = 0;
    buf_release(&reply->body);
    buf_printf(&reply->body, "{\"now\":%" PRId64 "}", clock_now());
}

/* The target time of a move from body; false with a 400 reply when the body asks for none. */
static bool parse_move(const json_t *body, int64_t now, int64_t *target, struct http_reply *reply)
{
    const json_t *advance = NULL, *set = NULL;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        if (json_is_null(v))
            continue;
        if (strcmp(key, "advance") == 0) {
            advance = v;
        } else if (strcmp(key, "set") == 0) {
            set = v;
        } else {
            reply_status_error(reply, 400, 47001, "unknown field %s", key);
            return false;
        }
    }
    if (!advance == !set) {
        reply_status_error(reply, 400, 47001, "give one of advance (seconds) or set (unix time)");
        return false;
    }
    if (advance) {
        if (!json_is_integer(advance) || json_integer_value(advance) < 0 ||
            json_integer_value(advance) > CLOCK_MAX - now) {
            reply_status_error(reply, 400, 47001,
                               "advance must be a non-negative integer number of seconds");
            return false;
        }
        *target = now + (int64_t)json_integer_value(advance);
        return true;
    }
    if (!json_is_integer(set) || json_integer_value(set) > CLOCK_MAX) {
        reply_status_error(reply, 400, 47001, "set must be an integer unix time");
        return false;
    }
    if (json_integer_value(set) < now) {
        reply_status_error(
            reply, 400, 47001,
            "set is in the past: the sandbox clock is at %" PRId64 " and only moves forward", now);
        return false;
    }
    *target = (int64_t)json_integer_value(set);
    return true;
}

void sandbox_clock_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    json_t *body = NULL;
    bool locked = false;
    reply->endpoint = "sandbox_clock";
    if (!api->cfg.sandbox) {
        reply_status_error(reply, 404, 404, "not found: the server does not run with --sandbox");
        goto out;
    }
    if (!admin_key_ok(http_header(req, "Authorization"), api->cfg.admin_key)) {
        http_reply_header(reply, "WWW-Authenticate", "Bearer");
        reply_status_error(reply, 401, 401, "the admin key is missing or wrong");
        goto out;
    }
    bool get = strcmp(req->method, "GET") == 0;
    if (!get && strcmp(req->method, "POST") != 0) {
        http_reply_header(reply, "Allow", "GET, POST");
        reply_status_error(reply, 405, 405, "use GET or POST");
        goto out;
    }
    if (!get) {
        if (req->body_too_large) {
            reply_status_error(reply, 413, 413, "the body is larger than %zu bytes",
                               req->body_limit);
            goto out;
        }
        struct wb_err e;
        wb_err_clear(&e);
        if (req->body_len == 0) {
            reply_status_error(reply, 400, 47001,
                               "the body is empty; send {\"advance\":SECONDS}"
                               " or {\"set\":UNIX}");
            goto out;
        }
        if (!(body = call_parse_body(req, &e))) {
            reply_status_error(reply, 400, 47001, "%s", e.detail);
            goto out;
        }
    }
    pthread_mutex_lock(&move_lock);
    locked = true;
    if (!sandbox_clock_load(api->store)) {
        reply_status_error(reply, 500, -1, "the store failed");
        goto out;
    }
    if (!get) {
        /* One reading of the system clock, so that a second ticking over cannot shorten a move. */
        int64_t sys = clock_system(), now = sys + clock_offset(), target = 0;
        if (!parse_move(body, now, &target, reply))
            goto out;
        int64_t offset = target - sys;
        char text[32];
        snprintf(text, sizeof text, "%" PRId64, offset);
        if (api->store->ops->meta_set(api->store, CLOCK_KEY, text) != STORE_OK) {
            reply_status_error(reply, 500, -1, "the store failed");
            goto out;
        }
        clock_set_offset(offset);
        /* the reply comes after what fell due: script events, expiries, purges */
        if (housekeeping_run(api) != STORE_OK) {
            reply_status_error(reply, 500, -1,
                               "the clock moved, but applying what fell due failed");
            goto out;
        }
    }
    reply_now(reply);
out:
    if (locked)
        pthread_mutex_unlock(&move_lock);
    json_decref(body);
}

/* Test waybills report as the sandbox carrier; others as their owner, or the one carrier whose
 * pattern recognises them. */
static bool injected_carrier_cb(void *ctx, struct feed_event *e, char why[128])
{
    struct api *api = ctx;
    struct carrier carrier;
    enum recognize_result r = recognize_waybill(api->store, true, e->waybill_id, "", &carrier);
    if (r == RECOGNIZE_FAILED) {
        snprintf(why, 128, "the store failed");
        return false;
    }
    if (r == RECOGNIZE_UNKNOWN || !carrier.delivery_id[0]) {
        snprintf(why, 128, "no carrier recognises waybill %s", e->waybill_id);
        return false;
    }
    memcpy(e->carrier, carrier.delivery_id, sizeof e->carrier);
    memcpy(e->carrier_name, carrier.delivery_name, sizeof e->carrier_name);
    return true;
}

void sandbox_events_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    reply->endpoint = "sandbox_events";
    if (!admin_key_ok(http_header(req, "Authorization"), api->cfg.admin_key)) {
        http_reply_header(reply, "WWW-Authenticate", "Bearer");
        reply_status_error(reply, 401, 401, "the admin key is missing or wrong");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        http_reply_header(reply, "Allow", "POST");
        reply_status_error(reply, 405, 405, "POST a carrier-feed body");
        return;
    }
    feed_run(api, req, reply, injected_carrier_cb, api);
}
