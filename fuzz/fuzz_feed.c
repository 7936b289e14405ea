/* libFuzzer target: arbitrary bytes as a carrier-feed body (SPEC §5.3), through the feed's parsers.
 *
 * The bytes go where POST /carrier/v1/events sends them: call_parse_body (JSON, duplicate keys,
 * control characters), feed_events_array, then feed_event_parse for every element. Besides "no
 * crash, no leak, no UB", every decision is compared with an independent reference written from
 * SPEC §5.3 and domain/feed.h, and every accepted event must have the shape the store relies on. */
#include "api/call.h"
#include "base/error.h"
#include "domain/feed.h"
#include "domain/status.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The service clock the events are checked against: 2025-11-29 00:00 UTC. */
#define NOW INT64_C(1764374400)

/* An invariant the parsers promise; a broken one is a crash libFuzzer records. */
static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* Every failure names its errcode in its return and in e, with a detail for the carrier. */
static void check_error(enum wb_code code, const struct wb_err *e)
{
    check(code == WB_OK || code == WB_DATA_FORMAT, "an errcode other than 47001");
    check(code == e->code, "returned code differs from e->code");
    if (code == WB_OK)
        return;
    check(memchr(e->detail, '\0', sizeof e->detail) != NULL, "detail not terminated");
    check(e->detail[0] != '\0', "an error without a detail");
}

/* ---- the reference, from SPEC §5.3 ----------------------------------------------------------- */

/* A field as the feed reads it: absent and null are the same. */
static const json_t *ref_field(const json_t *event, const char *key)
{
    const json_t *v = json_object_get(event, key);
    return json_is_null(v) ? NULL : v;
}

static bool ref_id(const json_t *v, size_t max)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool ref_event_id(const json_t *v)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < 1 || n > EVENT_ID_SIZE - 1)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* SPEC §5.3's table; 0 for an action_type it does not map. */
static int ref_status_of(json_int_t type)
{
    static const struct {
        json_int_t type;
        int status;
    } map[] = {{100001, 1}, {100002, 1}, {100003, 1}, {200001, 2}, {300002, 3},
               {300003, 4}, {300004, 5}, {400001, 5}, {400002, 5}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i].type == type)
            return map[i].status;
    return 0;
}

/* Code points of valid UTF-8 (jansson hands over nothing else), or -1. */
static long ref_chars(const char *s, size_t n)
{
    long chars = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            chars++;
    return chars;
}

/* What feed_event_parse must decide for v: true and *status when the event is acceptable. The
 * bounds that SPEC leaves to the implementation are those of domain/feed.h: action_type a positive
 * integer below 10^9, action_msg at most 256 characters. */
static bool ref_accept(const json_t *v, int *status)
{
    if (!json_is_object(v))
        return false;
    if (!ref_event_id(ref_field(v, "event_id")) || !ref_id(ref_field(v, "waybill_id"), 64))
        return false;
    const json_t *when = ref_field(v, "action_time");
    if (!json_is_integer(when) || json_integer_value(when) < 0 ||
        json_integer_value(when) > NOW + FEED_FUTURE_SLACK)
        return false;
    const json_t *type = ref_field(v, "action_type");
    const json_t *st = ref_field(v, "status");
    if ((type && !json_is_integer(type)) || (st && !json_is_integer(st)) || (!type && !st))
        return false;
    if (type && (json_integer_value(type) <= 0 || json_integer_value(type) >= 1000000000))
        return false;
    if (st) {
        if (json_integer_value(st) < 1 || json_integer_value(st) > 6)
            return false;
        *status = (int)json_integer_value(st);
    } else if (!(*status = ref_status_of(json_integer_value(type)))) {
        return false;
    }
    const json_t *msg = ref_field(v, "action_msg");
    if (msg &&
        (!json_is_string(msg) || ref_chars(json_string_value(msg), json_string_length(msg)) > 256))
        return false;
    const json_t *tail = ref_field(v, "receiver_phone_tail");
    if (tail) {
        if (!json_is_string(tail) || json_string_length(tail) != 4)
            return false;
        for (size_t i = 0; i < 4; i++)
            if (json_string_value(tail)[i] < '0' || json_string_value(tail)[i] > '9')
                return false;
    }
    return true;
}

/* ---- the checks ------------------------------------------------------------------------------ */

static bool same_string(const char *got, const json_t *want)
{
    return json_is_string(want) && strlen(got) == json_string_length(want) &&
           memcmp(got, json_string_value(want), json_string_length(want)) == 0;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void check_accepted(const json_t *v, const struct feed_event *ev, int want_status)
{
    check(ev->status >= STATUS_COLLECTED && ev->status <= STATUS_SIGNED_PROXY, "status not 1-6");
    check(ev->status == want_status, "status differs from the explicit one or the mapping");
    size_t n = strlen(ev->waybill_id);
    check(n >= 1 && n <= 64 &&
              strspn(ev->waybill_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                     "0123456789_-") == n,
          "waybill_id not 1-64 of [A-Za-z0-9_-]");
    check(same_string(ev->waybill_id, json_object_get(v, "waybill_id")), "waybill_id copied");
    n = strlen(ev->event_id);
    check(n >= 1 && n < EVENT_ID_SIZE && printable(ev->event_id), "event_id not printable");
    check(same_string(ev->event_id, json_object_get(v, "event_id")), "event_id copied");
    n = strlen(ev->phone_tail);
    check(n == 0 || (n == 4 && strspn(ev->phone_tail, "0123456789") == 4), "phone tail");
    const json_t *tail = ref_field(v, "receiver_phone_tail");
    check(tail ? same_string(ev->phone_tail, tail) : n == 0, "phone tail copied");
    check(ev->action_time >= 0 && ev->action_time <= NOW + FEED_FUTURE_SLACK, "action_time");
    check(ev->action_time == json_integer_value(json_object_get(v, "action_time")),
          "action_time copied");
    const json_t *type = ref_field(v, "action_type");
    check(ev->action_type == (type ? (long)json_integer_value(type) : 0), "action_type copied");
    const json_t *msg = ref_field(v, "action_msg");
    check(msg ? same_string(ev->action_msg, msg) : ev->action_msg[0] == '\0', "action_msg");
    check(ev->carrier[0] == '\0' && ev->carrier_name[0] == '\0' && ev->arrived_at == 0,
          "fields the parser does not own are set");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the HTTP layer hands over a NUL-terminated copy */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct http_request req = {.method = "POST",
                               .path = "/carrier/v1/events",
                               .body = text,
                               .body_len = size,
                               .body_limit = 1u << 20,
                               .rid = "00000000-00000000-00000000"};
    struct wb_err e;
    wb_err_clear(&e);
    json_t *body = call_parse_body(&req, &e);
    if (!body) {
        check_error(e.code, &e);
        check(e.code == WB_DATA_FORMAT, "call_parse_body failed without 47001");
        free(text);
        return 0;
    }
    check(json_is_object(body), "call_parse_body let a non-object through");

    const json_t *events = NULL;
    wb_err_clear(&e);
    enum wb_code code = feed_events_array(body, &events, &e);
    check_error(code, &e);
    const json_t *want = json_object_get(body, "events");
    bool want_ok = json_is_array(want) && json_array_size(want) <= FEED_MAX_EVENTS;
    check((code == WB_OK) == want_ok, "feed_events_array decided unlike SPEC §5.3");
    if (code == WB_OK) {
        check(events == want, "feed_events_array returned another array");
        size_t i;
        const json_t *v;
        json_array_foreach(events, i, v)
        {
            struct feed_event ev;
            int want_status = 0;
            bool accept = ref_accept(v, &want_status);
            wb_err_clear(&e);
            code = feed_event_parse(v, NOW, &ev, &e);
            check_error(code, &e);
            check((code == WB_OK) == accept, "feed_event_parse decided unlike the reference");
            if (code == WB_OK)
                check_accepted(v, &ev, want_status);
        }
    }
    json_decref(body);
    free(text);
    return 0;
}
