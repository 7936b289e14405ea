/* Notifications for operators: a user's inbox, the dead letters, and redelivery. */
#include "admin/admin.h"

#include "base/clock.h"

#include <stdio.h>
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
    int wanted;
    bool more;
    struct notice_cursor last;
};

static int page_cb(void *ctx, const struct notice *n)
{
    struct page *p = ctx;
    if ((int)json_array_size(p->items) == p->wanted) {
        p->more = true;
        return 1;
    }
    json_t *item = notice_json(n);
    if (!item || json_array_append_new(p->items, item))
        return -1;
    p->last = (struct notice_cursor){n->created_at, n->seq};
    return 0;
}

json_t *admin_notices_list(const struct admin_ctx *c, const struct notice_filter *f,
                           const char *after, int limit, struct admin_err *e)
{
    /* the cursor is "CREATED_AT.SEQ" of the last notification of the previous page */
    struct notice_cursor before = {0, 0};
    bool paged = after && *after;
    if (paged) {
        char *dot, *end = NULL;
        before.created_at = strtoll(after, &dot, 10);
        if (*dot == '.')
            before.seq = strtoll(dot + 1, &end, 10);
        if (*dot != '.' || *end || before.created_at <= 0 || before.seq <= 0)
            return admin_fail(e, 400, "after must be a cursor from a previous page");
    }
    struct page p = {.items = json_array(), .wanted = limit};
    if (!p.items)
        return admin_fail(e, 500, "out of memory");
    /* one more than asked tells whether there is a next page */
    if (c->store->ops->notices_list(c->store, f, paged ? &before : NULL, limit + 1, page_cb, &p)) {
        json_decref(p.items);
        return admin_fail(e, 500, "the store failed");
    }
    json_t *next = json_null();
    if (p.more) {
        char cursor[48];
        snprintf(cursor, sizeof cursor, "%lld.%lld", (long long)p.last.created_at,
                 (long long)p.last.seq);
        next = json_string(cursor);
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
