/* The API surfaces' shared context and the route table that maps paths to them. */
#ifndef WB_API_API_H
#define WB_API_API_H

#include "http/http.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

/* The settings of SPEC §9.1 that the handlers use, resolved (keys loaded, defaults applied). */
struct api_config {
    bool sandbox;
    const char *public_url; /* e.g. "http://127.0.0.1:8080", no trailing slash */
    const char *admin_key;  /* compared in constant time */
    const char *hash_key;   /* keys phone hashes and token derivation */
    int day_offset_s;       /* quota days start at 00:00 at this UTC offset */
    int64_t max_updates;    /* default per binding */
    bool notify_abnormal;
    int64_t expire_unbound_s, expire_stalled_s, expire_final_s, purge_s;
};

struct api {
    struct store *store;
    struct api_config cfg;
    /* Called when notifications may have fallen due: new ones were written, or the clock moved. */
    void (*outbox_due)(void *ctx);
    void *outbox_ctx;
};

/* The server's route function (http_route_fn); ctx is a struct api. */
http_handler_fn api_route(void *ctx, const char *method, const char *path,
                          struct http_route_limits *limits);

/* The surfaces, each in its own file. */
void token_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void stable_token_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void openmsg_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void admin_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void carrier_feed_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void landing_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void metrics_handle(void *ctx, const struct http_request *req, struct http_reply *reply);
void health_handle(void *ctx, const struct http_request *req, struct http_reply *reply);

#endif
