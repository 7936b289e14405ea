/* The carrier feed: POST /carrier/v1/events, and the batch logic sandbox injection shares. */
#include "api/feed.h"

#include "api/call.h"
#include "api/reply.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "http/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int feed_apply(struct api *api, const struct feed_event *events, size_t count,
               struct event_result *results)
{
    int64_t notices = 0;
    struct events_op op = {
        .events = events,
        .count = count,
        .now = clock_now(),
        .lifetime = {api->cfg.expire_unbound_s, api->cfg.expire_stalled_s, api->cfg.expire_final_s},
        .notify_abnormal = api->cfg.notify_abnormal,
        .notices = &notices,
    };
    int rc = count ? api->store->ops->events_apply(api->store, &op, results) : STORE_OK;
    if (rc == STORE_OK && notices > 0 && api->outbox_due)
        api->outbox_due(api->outbox_ctx);
    return rc;
}

/* A rejected event: its index in the request and why. */
struct rejection {
    size_t index;
    char why[WB_DETAIL_MAX];
};

static void reject(struct rejection *list, int *count, size_t index, const char *why)
{
    list[*count].index = index;
    snprintf(list[*count].why, sizeof list[*count].why, "%s", why);
    (*count)++;
}

static int by_index(const void *a, const void *b)
{
    size_t x = ((const struct rejection *)a)->index, y = ((const struct rejection *)b)->index;
    return (x > y) - (x < y);
}

void feed_run(struct api *api, const struct http_request *req, struct http_reply *reply,
              feed_carrier_fn carrier_for, void *ctx)
{
    struct wb_err e = {0};
    const json_t *list = NULL;
    struct feed_event *events = NULL;
    struct event_result *results = NULL;
    size_t *origin = NULL;
    struct rejection *rejected = NULL;
    json_t *body = call_parse_body(req, &e);
    if (!body || feed_events_array(body, &list, &e)) {
        if (req->body_len == 0)
            wb_err_set(&e, WB_DATA_FORMAT, "the body is empty; send {\"events\":[…]}");
        reply_status_error(reply, 400, 47001, "data format error: %s", e.detail);
        goto out;
    }
    size_t total = json_array_size(list), good = 0;
    events = calloc(total + 1, sizeof *events);
    results = calloc(total + 1, sizeof *results);
    origin = calloc(total + 1, sizeof *origin);
    rejected = calloc(total + 1, sizeof *rejected);
    if (!events || !results || !origin || !rejected) {
        reply_status_error(reply, 500, -1, "system error: out of memory");
        goto out;
    }
    int64_t now = clock_now();
    int nrejected = 0;
    for (size_t i = 0; i < total; i++) {
        char why[128];
        if (feed_event_parse(json_array_get(list, i), now, &events[good], &e)) {
            reject(rejected, &nrejected, i, e.detail);
        } else if (!carrier_for(ctx, &events[good], why)) {
            reject(rejected, &nrejected, i, why);
        } else {
            origin[good++] = i;
        }
    }
    if (feed_apply(api, events, good, results)) {
        reply_status_error(reply, 500, -1, "system error: storage unavailable, nothing stored");
        goto out;
    }
    long accepted = 0, duplicates = 0;
    for (size_t i = 0; i < good; i++) {
        if (results[i].outcome == EVENT_ACCEPTED)
            accepted++;
        else if (results[i].outcome == EVENT_DUPLICATE)
            duplicates++;
        else
            reject(rejected, &nrejected, origin[i], results[i].reason);
    }
    metrics_events(accepted, duplicates, nrejected);
    qsort(rejected, (size_t)nrejected, sizeof *rejected, by_index);
    reply_ok_begin(reply);
    buf_printf(&reply->body, ",\"accepted\":%ld,\"duplicates\":%ld,\"rejected\":[", accepted,
               duplicates);
    for (int i = 0; i < nrejected; i++) {
        buf_printf(&reply->body, "%s{\"index\":%zu,\"errcode\":47001,\"errmsg\":", i ? "," : "",
                   rejected[i].index);
        buf_json_string(&reply->body, rejected[i].why);
        buf_puts(&reply->body, "}");
    }
    buf_puts(&reply->body, "]");
    reply_ok_end(reply);
out:
    json_decref(body);
    free(events);
    free(results);
    free(origin);
    free(rejected);
}

/* The carrier a feed key belongs to; the key is the request's bearer token. */
static bool authenticate(struct api *api, const struct http_request *req, struct carrier *out)
{
    const char *auth = http_header(req, "Authorization");
    if (!auth || strncmp(auth, "Bearer ", 7) != 0 || !auth[7])
        return false;
    char hash[HASH_SIZE];
    crypto_sha256_hex(hash, auth + 7);
    return api->store->ops->carrier_by_key(api->store, hash, out) == STORE_OK && out->enabled;
}

static bool as_reporter_cb(void *ctx, struct feed_event *e, char why[128])
{
    (void)why;
    const struct carrier *c = ctx;
    memcpy(e->carrier, c->delivery_id, sizeof e->carrier);
    memcpy(e->carrier_name, c->delivery_name, sizeof e->carrier_name);
    return true;
}

void carrier_feed_handle(void *ctx, const struct http_request *req, struct http_reply *reply)
{
    struct api *api = ctx;
    struct carrier carrier;
    reply->endpoint = "carrier_events";
    if (!authenticate(api, req, &carrier)) {
        http_reply_header(reply, "WWW-Authenticate", "Bearer");
        reply_status_error(reply, 401, 401, "a carrier key is required: Authorization: Bearer KEY");
        return;
    }
    if (strcmp(req->method, "POST") != 0) {
        http_reply_header(reply, "Allow", "POST");
        reply_status_error(reply, 405, 405, "POST the events");
        return;
    }
    feed_run(api, req, reply, as_reporter_cb, &carrier);
}
