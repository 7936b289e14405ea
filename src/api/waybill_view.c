/* The waybill as a binding's user sees it, shared by the query reply and the landing page. */
#include "api/waybill_view.h"

#include "base/log.h"
#include "carrier/recognize.h"

#include <stdlib.h>
#include <string.h>

struct trace_load {
    struct waybill_view *v;
    size_t cap;
    bool oom;
};

static int trace_cb(void *ctx, const struct feed_event *e)
{
    struct trace_load *tl = ctx;
    struct waybill_view *v = tl->v;
    if (v->trace_count == tl->cap) {
        size_t cap = tl->cap ? tl->cap * 2 : 8;
        struct view_event *p = realloc(v->trace, cap * sizeof *p);
        if (!p) {
            tl->oom = true;
            return 1; /* stops the walk */
        }
        v->trace = p;
        tl->cap = cap;
    }
    struct view_event *out = &v->trace[v->trace_count++];
    out->action_time = e->action_time;
    out->action_type = e->action_type;
    out->status = e->status;
    memcpy(out->action_msg, e->action_msg, sizeof out->action_msg);
    out->action_msg[sizeof out->action_msg - 1] = '\0';
    return 0;
}

int waybill_view_binding(struct store *s, const char *hash_key, const char *token,
                         struct binding *out)
{
    struct waybill_token_ref ref;
    tokens_waybill_open(&ref, hash_key, token);
    int rc = s->ops->binding_by_token(s, &ref, out);
    if (rc == STORE_OK && ref.binding_id &&
        !tokens_waybill_proved(&ref, hash_key, out->token_nonce)) {
        binding_release(out);
        rc = STORE_NOT_FOUND;
    }
    return rc;
}

int waybill_view_load(struct store *s, bool sandbox, const struct binding *b,
                      struct waybill_view *out)
{
    memset(out, 0, sizeof *out);
    out->binding = b;
    if (b->mismatched)
        return STORE_OK;
    struct waybill w;
    int rc = s->ops->waybill_get(s, b->waybill_id, &w);
    if (rc == STORE_ERROR)
        return STORE_ERROR;
    out->status = rc == STORE_OK ? w.status : 0;
    enum recognize_result known = recognize_known(s, sandbox, rc == STORE_OK ? &w : NULL,
                                                  b->waybill_id, b->delivery_id, &out->carrier);
    if (known == RECOGNIZE_FAILED)
        return STORE_ERROR;
    out->has_carrier = known == RECOGNIZE_KNOWN && out->carrier.delivery_id[0];
    /* a waybill no carrier reported yet (every event moves last_event_at) has no trace to read */
    if (rc != STORE_OK || w.last_event_at == 0)
        return STORE_OK;
    struct trace_load tl = {.v = out};
    rc = s->ops->waybill_trace(s, b->waybill_id, trace_cb, &tl);
    if (tl.oom) {
        log_msg("error", "out of memory loading the trace of a waybill");
        rc = STORE_ERROR;
    }
    if (rc) {
        waybill_view_release(out);
        return STORE_ERROR;
    }
    return STORE_OK;
}

bool waybill_view_json(const struct waybill_view *v, struct buf *body)
{
    const struct binding *b = v->binding;
    buf_printf(body, ",\"waybill_info\":{\"status\":%d,\"waybill_id\":", v->status);
    buf_json_string(body, b->waybill_id);
    buf_puts(body, "},\"shop_info\":{\"goods_info\":{\"detail_list\":");
    buf_puts(body, b->goods_json ? b->goods_json : "[]");
    buf_puts(body, "}}");
    if (v->has_carrier) {
        buf_puts(body, ",\"delivery_info\":{\"delivery_id\":");
        buf_json_string(body, v->carrier.delivery_id);
        buf_puts(body, ",\"delivery_name\":");
        buf_json_string(body, v->carrier.delivery_name);
        buf_puts(body, "}");
    }
    buf_printf(body, ",\"path_item_num\":%zu,\"path_item_list\":[", v->trace_count);
    for (size_t i = 0; i < v->trace_count; i++) {
        const struct view_event *e = &v->trace[i];
        buf_printf(body,
                   "%s{\"action_time\":%lld,\"action_type\":%ld,\"action_msg\":", i ? "," : "",
                   (long long)e->action_time, e->action_type);
        buf_json_string(body, e->action_msg);
        buf_puts(body, "}");
    }
    buf_puts(body, "]");
    return !body->overflow && !body->oom;
}

void waybill_view_release(struct waybill_view *v)
{
    free(v->trace);
    v->trace = NULL;
    v->trace_count = 0;
}
