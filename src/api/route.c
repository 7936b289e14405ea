/* The route table: which surface answers a path, and how much body it reads. */
#include "api/api.h"

#include "api/reply.h"
#include "api/sandbox.h"
#include "base/error.h"

#include <string.h>

#define KIB 1024u
#define MIB (1024u * 1024u)

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void unknown_cgi_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    (void)ctx;
    struct wb_err e;
    wb_err_set(&e, WB_INVALID_URL, "no such API: %s", req->path);
    reply->endpoint = "unknown";
    reply_wechat_error(reply, req, &e);
}

http_handler_fn api_route(void *ctx, const char *method, const char *path,
                          struct http_route_limits *limits)
{
    (void)method;
    struct api *api = ctx;
    if (has_prefix(path, "/cgi-bin/")) {
        /* bodies past 64 KiB are read and dropped, so the reply can be the documented 47001 */
        limits->keep = 64 * KIB;
        limits->refuse = 8 * MIB;
        if (strcmp(path, "/cgi-bin/token") == 0)
            return token_handle;
        if (strcmp(path, "/cgi-bin/stable_token") == 0)
            return stable_token_handle;
        if (has_prefix(path, "/cgi-bin/express/delivery/open_msg/"))
            return openmsg_handle;
        return unknown_cgi_handle;
    }
    limits->keep = limits->refuse = MIB;
    if (has_prefix(path, "/admin/v1/sandbox/")) {
        if (api->cfg.sandbox && strcmp(path, "/admin/v1/sandbox/clock") == 0)
            return sandbox_clock_handle;
        if (api->cfg.sandbox && strcmp(path, "/admin/v1/sandbox/events") == 0)
            return sandbox_events_handle;
        return NULL;
    }
    if (has_prefix(path, "/admin/v1/"))
        return admin_handle;
    if (has_prefix(path, "/l/"))
        return landing_handle;
    if (strcmp(path, "/carrier/v1/events") == 0)
        return carrier_feed_handle;
    if (strcmp(path, "/metrics") == 0)
        return metrics_handle;
    if (strcmp(path, "/healthz") == 0 || strcmp(path, "/readyz") == 0)
        return health_handle;
    return NULL;
}
