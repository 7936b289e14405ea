/* A merchant API call on its way through the common checks of SPEC §2.1: access token,
 * eligibility, the per-app daily quota and the body. */
#ifndef WB_API_CALL_H
#define WB_API_CALL_H

#include "api/api.h"
#include "base/error.h"

#include <jansson.h>

struct call {
    struct api *api;
    const struct http_request *req;
    struct http_reply *reply;
    enum family family;
    struct app app; /* the access token's app, once checked */
    json_t *body;   /* owned; NULL until parsed */
    int64_t now;    /* service clock at the start of the call */
    int64_t day;    /* the quota day of now */
    struct wb_err err;
};

/* Runs access token → eligibility → per-app quota → body; false with c->err set when one fails.
 * empty_ok: an empty body stands for {} (get_delivery_list). */
bool call_begin(struct call *c, bool empty_ok);
/* Replies c->err when it is set, frees the body. */
void call_end(struct call *c);

/* Parses a JSON object body with the API's rules (duplicate keys, UTF-8, control characters).
 * NULL with e set (47001) otherwise. Shared with the token endpoints. */
json_t *call_parse_body(const struct http_request *req, struct wb_err *e);

/* A store failure as errcode -1: into c->err, or into e. */
enum wb_code call_store_failed(struct call *c);
enum wb_code call_store_failed_in(struct wb_err *e);

/* A call whose reply waits for its write (http_defer): the server's handle and the write's code.
 * The call's state begins with it, so that call_write_done can be the store's done callback (its
 * ctx the state), which records the code and lets the server finish the reply. */
struct call_write {
    struct http_deferred *deferred;
    int rc;
};
void call_write_done(void *ctx, int rc);

#endif
