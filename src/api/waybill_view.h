/* What a binding's user may see of its waybill (SPEC §4.2, §5.3): status, carrier, trace, goods —
 * loaded once, written as the query reply's JSON or rendered as the landing page. */
#ifndef WB_API_WAYBILL_VIEW_H
#define WB_API_WAYBILL_VIEW_H

#include "base/buf.h"
#include "domain/feed.h"
#include "domain/model.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One trace entry, as the query reply and the landing page show it. */
struct view_event {
    int64_t action_time;
    long action_type; /* 0 when the carrier gave none */
    int status;       /* 1–6 */
    char action_msg[ACTION_MSG_SIZE];
};

struct waybill_view {
    const struct binding *binding; /* borrowed: waybill_id, goods_json, order_detail_path */
    int status;                    /* 0 for a mismatched binding */
    bool has_carrier;              /* carrier holds the known carrier */
    struct carrier carrier;
    struct view_event *trace; /* owned; oldest first; empty for a mismatched binding */
    size_t trace_count;
};

/* The binding that waybill token names, proved (SPEC §4.2): STORE_OK, STORE_NOT_FOUND for a token
 * this service did not make with hash_key, or STORE_ERROR. out is the caller's to release. */
int waybill_view_binding(struct store *s, const char *hash_key, const char *token,
                         struct binding *out);

/* Loads the view of binding b, which must not be purged: the waybill's status, its carrier (owner,
 * the one named at bind, the one matching pattern, or the sandbox carrier) and its trace. A
 * mismatched binding sees status 0, no carrier and no trace, so someone else's parcel does not
 * leak. Returns STORE_OK, or STORE_ERROR when the store failed (logged by the store). out borrows b
 * until waybill_view_release. */
int waybill_view_load(struct store *s, bool sandbox, const struct binding *b,
                      struct waybill_view *out);

/* Appends the query reply's fields after "errmsg" (SPEC §4.2): ,"waybill_info":{…},
 * "shop_info":{…}[,"delivery_info":{…}],"path_item_num":N,"path_item_list":[…]. False when body
 * overflowed or ran out of memory. */
bool waybill_view_json(const struct waybill_view *v, struct buf *body);

/* Frees the trace; v is empty afterwards. */
void waybill_view_release(struct waybill_view *v);

#endif
