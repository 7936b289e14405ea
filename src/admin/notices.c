/* Notifications for operators: a user's inbox, the dead letters, and redelivery. */
#include "admin/admin.h"

#include "base/clock.h"

#include <stdlib.h>
#include <string.h>

static json_t *notice_json(const struct notice *n)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:i,s:s,s:i,s:I,s:I,s:o,s:s?}", "id", n->id, "appid",
                     n->appid, "openid", n->openid, "waybill_id", n->waybill_id, "type", n->type,
                     "sequence", (json_int_t)n->sequence, "status", n->status, "state",
                     notice_state_name(n->state), "attempts", n->attempts, "created_at",
                     (json_int_t)n->created_at, "next_attempt_at", (json_int_t)n->next_attempt_at,
                     "delivered_at", n->delivered_at ? json_integer(n->delivered_at) : json_null(),
                     "last_error", n->last_error[0] ? n->last_error : NULL);
}

struct page {
    json_t *items;
    int64_t last_seq;
};

static int page_cb(void *ctx, const struct notice *n)
{
    struct page *p = ctx;
    p->last_seq = n->seq;
    json_t *item = notice_json(n);
    return item && json_array_append_new(p->items, item) == 0 ? 0 : -1;
}

json_t *admin_notices_list(const struct admin_ctx *c, const struct notice_filter *f,
                           const char *after, int limit, struct admin_err *e)
{
    int64_t before = 0;
    if (after && *after) {
        char *end;
        before = strtoll(after, &end, 10);
        if (*end || before <= 0)
            return admin_fail(e, 400, "after must be a cursor from a previous page");
    }
    struct page p = {json_array(), 0};
    if (!p.items)
        return admin_fail(e, 500, "out of memory");
    /* one more than asked tells whether there is a next page */
    int rc = c->store->ops->notices_list(c->store, f, before, limit + 1, page_cb, &p);
    if (rc) {
        json_decref(p.items);
        return admin_fail(e, 500, "the store failed");
    }
    json_t *next = json_null();
    if (json_array_size(p.items) > (size_t)limit) {
        json_array_remove(p.items, (size_t)limit);
        const char *id =
            json_string_value(json_object_get(json_array_get(p.items, (size_t)limit - 1), "id"));
        struct notice last;
        if (id && c->store->ops->notice_get(c->store, id, &last) == STORE_OK) {
            char cursor[32];
            snprintf(cursor, sizeof cursor, "%lld", (long long)last.seq);
            next = json_string(cursor);
        }
    }
    return json_pack("{s:o,s:o}", "notifications", p.items, "next", next);
}

json_t *admin_notice_redeliver(const struct admin_ctx *c, const char *id, struct admin_err *e)
{
    int rc = c->store->ops->notice_redeliver(c->store, id, clock_now());
    if (rc == STORE_CONFLICT)
        return admin_fail(e, 409, "notification %s is pending already", id);
    if (rc)
        return admin_store_fail(e, rc, "notification", id);
    struct notice n;
    if (c->store->ops->notice_get(c->store, id, &n))
        return admin_fail(e, 500, "the store failed");
    return notice_json(&n);
}
