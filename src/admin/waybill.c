/* The operator's view of a waybill: status, owner, trace and how many bindings follow it. */
#include "admin/admin.h"

#include "carrier/recognize.h"

static int trace_cb(void *ctx, const struct feed_event *ev)
{
    json_t *item =
        json_pack("{s:s,s:s,s:I,s:I,s:i,s:s,s:s?}", "event_id", ev->event_id, "carrier",
                  ev->carrier, "action_time", (json_int_t)ev->action_time, "action_type",
                  (json_int_t)ev->action_type, "status", ev->status, "action_msg", ev->action_msg,
                  "receiver_phone_tail", ev->phone_tail[0] ? ev->phone_tail : NULL);
    return item && json_array_append_new(ctx, item) == 0 ? 0 : -1;
}

static json_t *time_or_null(int64_t t)
{
    return t ? json_integer(t) : json_null();
}

json_t *admin_waybill_get(const struct admin_ctx *c, const char *waybill_id, struct admin_err *e)
{
    struct store *s = c->store;
    struct waybill w;
    int rc = s->ops->waybill_get(s, waybill_id, &w);
    if (rc)
        return admin_store_fail(e, rc, "waybill", waybill_id);
    int64_t bindings = 0;
    json_t *trace = json_array();
    if (!trace || s->ops->waybill_binding_count(s, waybill_id, &bindings) ||
        s->ops->waybill_trace(s, waybill_id, trace_cb, trace)) {
        json_decref(trace);
        return admin_fail(e, 500, "the store failed");
    }
    struct carrier carrier;
    bool named = w.owner[0] && recognize_carrier_get(s, true, w.owner, &carrier) == STORE_OK;
    return json_pack("{s:s,s:i,s:s?,s:s?,s:I,s:o,s:o,s:I,s:I,s:o}", "waybill_id", w.waybill_id,
                     "status", w.status, "owner", w.owner[0] ? w.owner : NULL, "delivery_name",
                     named ? carrier.delivery_name : NULL, "created_at", (json_int_t)w.created_at,
                     "last_event_at", time_or_null(w.last_event_at), "final_at",
                     time_or_null(w.final_at), "bindings", (json_int_t)bindings, "path_item_num",
                     (json_int_t)json_array_size(trace), "trace", trace);
}
