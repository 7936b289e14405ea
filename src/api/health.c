/* /healthz (the process answers), /readyz (the store answers) and /metrics. */
#include "api/api.h"

#include "api/reply.h"
#include "http/metrics.h"

#include <string.h>

void health_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    bool ready = strcmp(req->path, "/readyz") == 0;
    reply->endpoint = ready ? "readyz" : "healthz"; /* labels outlive the request */
    if (ready && api->store->ops->ping(api->store) != STORE_OK) {
        reply_text(reply, 503, "text/plain; charset=utf-8", "store unreachable\n");
        return;
    }
    reply_text(reply, 200, "text/plain; charset=utf-8", "ok\n");
}

void metrics_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    (void)req;
    reply->endpoint = "metrics";
    struct metrics_gauges g = {{0}};
    if (api->store->ops->notice_counts(api->store, g.notices)) {
        reply_text(reply, 503, "text/plain; charset=utf-8", "store unreachable\n");
        return;
    }
    reply->status = 200;
    reply->content_type = "text/plain; version=0.0.4; charset=utf-8";
    buf_release(&reply->body);
    metrics_render(&reply->body, &g);
}
