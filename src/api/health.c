/* /healthz (the process answers) and /readyz (the store answers). */
#include "api/api.h"

#include "api/reply.h"

#include <string.h>

void health_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    reply->endpoint = req->path + 1;
    if (strcmp(req->path, "/readyz") == 0 && api->store->ops->ping(api->store) != STORE_OK) {
        reply_text(reply, 503, "text/plain; charset=utf-8", "store unreachable\n");
        return;
    }
    reply_text(reply, 200, "text/plain; charset=utf-8", "ok\n");
}
