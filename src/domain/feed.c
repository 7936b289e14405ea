/* Checks of carrier events: fields, the action_type → status mapping, the clock slack. */
#include "domain/feed.h"

#include "base/utf8.h"
#include "domain/rules.h"
#include "domain/status.h"

#include <string.h>

enum wb_code feed_events_array(const json_t *body, const json_t **events, struct wb_err *e)
{
    *events = json_object_get(body, "events");
    if (!json_is_array(*events))
        return wb_err_set(e, WB_DATA_FORMAT, "the body must be {\"events\":[…]}");
    if (json_array_size(*events) > FEED_MAX_EVENTS)
        return wb_err_set(e, WB_DATA_FORMAT, "at most %d events a request, this one has %zu",
                          FEED_MAX_EVENTS, json_array_size(*events));
    return WB_OK;
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static const json_t *present(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return v && !json_is_null(v) ? v : NULL;
}

enum wb_code feed_event_parse(const json_t *v, int64_t now, struct feed_event *out,
                              struct wb_err *e)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(v))
        return wb_err_set(e, WB_DATA_FORMAT, "an event must be an object");

    /* strings with NULs inside never pass: each text is checked up to its full length */
    const json_t *id = present(v, "event_id");
    if (!json_is_string(id) || json_string_length(id) < 1 ||
        strlen(json_string_value(id)) != json_string_length(id) ||
        json_string_length(id) >= EVENT_ID_SIZE || !printable_ascii(json_string_value(id)))
        return wb_err_set(e, WB_DATA_FORMAT,
                          "event_id must be 1 to 128 printable ASCII characters");
    memcpy(out->event_id, json_string_value(id), json_string_length(id) + 1);

    const json_t *waybill = present(v, "waybill_id");
    if (!json_is_string(waybill) ||
        strlen(json_string_value(waybill)) != json_string_length(waybill) ||
        !rules_id_ok(json_string_value(waybill), WAYBILL_ID_SIZE - 1))
        return wb_err_set(e, WB_DATA_FORMAT, "waybill_id must be 1 to 64 of A-Z a-z 0-9 _ -");
    memcpy(out->waybill_id, json_string_value(waybill), json_string_length(waybill) + 1);

    const json_t *when = present(v, "action_time");
    if (!json_is_integer(when) || json_integer_value(when) < 0)
        return wb_err_set(e, WB_DATA_FORMAT, "action_time must be unix seconds");
    out->action_time = json_integer_value(when);
    if (out->action_time > now + FEED_FUTURE_SLACK)
        return wb_err_set(e, WB_DATA_FORMAT,
                          "action_time is more than %d s ahead of the service clock (%lld)",
                          FEED_FUTURE_SLACK, (long long)now);

    const json_t *type = present(v, "action_type");
    const json_t *status = present(v, "status");
    if (type && !json_is_integer(type))
        return wb_err_set(e, WB_DATA_FORMAT, "action_type must be an integer");
    if (status && !json_is_integer(status))
        return wb_err_set(e, WB_DATA_FORMAT, "status must be an integer");
    if (!type && !status)
        return wb_err_set(e, WB_DATA_FORMAT, "an event needs status or action_type");
    if (type) {
        json_int_t t = json_integer_value(type);
        out->action_type = t > 0 && t < 1000000000 ? (long)t : -1;
        if (out->action_type < 0)
            return wb_err_set(e, WB_DATA_FORMAT, "action_type is out of range");
    }
    if (status) {
        json_int_t s = json_integer_value(status);
        if (s < STATUS_COLLECTED || s > STATUS_SIGNED_PROXY)
            return wb_err_set(e, WB_DATA_FORMAT, "status must be 1 to 6");
        out->status = (int)s;
    } else {
        out->status = status_from_action_type(out->action_type);
        if (!out->status)
            return wb_err_set(e, WB_DATA_FORMAT,
                              "action_type %ld has no status; send status as well",
                              out->action_type);
    }

    const json_t *msg = present(v, "action_msg");
    if (msg) {
        if (!json_is_string(msg))
            return wb_err_set(e, WB_DATA_FORMAT, "action_msg must be a string");
        long chars = utf8_count(json_string_value(msg), json_string_length(msg));
        if (chars < 0 || chars > 256 || json_string_length(msg) >= ACTION_MSG_SIZE)
            return wb_err_set(e, WB_DATA_FORMAT, "action_msg must be at most 256 characters");
        memcpy(out->action_msg, json_string_value(msg), json_string_length(msg) + 1);
    }

    const json_t *tail = present(v, "receiver_phone_tail");
    if (tail) {
        const char *t = json_is_string(tail) ? json_string_value(tail) : "";
        if (strlen(t) != 4 || strspn(t, "0123456789") != 4)
            return wb_err_set(e, WB_DATA_FORMAT, "receiver_phone_tail must be 4 digits");
        memcpy(out->phone_tail, t, 5);
    }
    return WB_OK;
}
