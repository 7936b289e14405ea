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

static struct events_op events_op_for(struct api *api, const struct feed_event *events,
                                      size_t count, int64_t *notices)
{
    *notices = 0;
    return (struct events_op){
        .events = events,
        .count = count,
        .now = clock_now(),
        .lifetime = {api->cfg.expire_unbound_s, api->cfg.expire_stalled_s, api->cfg.expire_final_s},
        .notify_abnormal = api->cfg.notify_abnormal,
        .notices = notices,
    };
}

/* After a durable apply: the dispatcher looks at once for the notifications it made. */
static void applied(struct api *api, int rc, int64_t notices)
{
    if (rc == STORE_OK && notices > 0 && api->outbox_due)
        api->outbox_due(api->outbox_ctx);
}

int feed_apply(struct api *api, const struct feed_event *events, size_t count,
               struct event_result *results)
{
    int64_t notices;
    struct events_op op = events_op_for(api, events, count, &notices);
    int rc = count ? api->store->ops->events_apply(api->store, &op, results) : STORE_OK;
    applied(api, rc, notices);
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

/* A feed request on its way through the store: what its unit of work and its reply need, on the
 * heap so that the reply can be made on a later turn of the server (http_defer) while the commit
 * runs. */
struct feed_call {
    struct call_write write; /* first: the store's done callback is call_write_done */
    struct api *api;
    struct feed_event *events;
    struct event_result *results;
    size_t *origin; /* the request's index of each good event */
    struct rejection *rejected;
    int nrejected;
    size_t good;
    int64_t notices;
    struct events_op op;
};

static void feed_call_free(struct feed_call *fc)
{
    free(fc->events);
    free(fc->results);
    free(fc->origin);
    free(fc->rejected);
    free(fc);
}

static struct feed_call *feed_call_new(struct api *api, size_t total)
{
    struct feed_call *fc = calloc(1, sizeof *fc);
    if (!fc)
        return NULL;
    fc->api = api;
    fc->events = calloc(total + 1, sizeof *fc->events);
    fc->results = calloc(total + 1, sizeof *fc->results);
    fc->origin = calloc(total + 1, sizeof *fc->origin);
    fc->rejected = calloc(total + 1, sizeof *fc->rejected);
    if (!fc->events || !fc->results || !fc->origin || !fc->rejected) {
        feed_call_free(fc);
        return NULL;
    }
    return fc;
}

/* The reply once the good events are applied (or not). */
static void feed_reply(struct feed_call *fc, struct http_reply *reply)
{
    if (fc->write.rc) {
        reply_status_error(reply, 500, -1, "system error: storage unavailable, nothing stored");
        return;
    }
    applied(fc->api, fc->write.rc, fc->notices);
    long accepted = 0, duplicates = 0;
    for (size_t i = 0; i < fc->good; i++) {
        if (fc->results[i].outcome == EVENT_ACCEPTED)
            accepted++;
        else if (fc->results[i].outcome == EVENT_DUPLICATE)
            duplicates++;
        else
            reject(fc->rejected, &fc->nrejected, fc->origin[i], fc->results[i].reason);
    }
    metrics_events(accepted, duplicates, fc->nrejected);
    qsort(fc->rejected, (size_t)fc->nrejected, sizeof *fc->rejected, by_index);
    reply_ok_begin(reply);
    buf_printf(&reply->body, ",\"accepted\":%ld,\"duplicates\":%ld,\"rejected\":[", accepted,
               duplicates);
    for (int i = 0; i < fc->nrejected; i++) {
        buf_printf(&reply->body, "%s{\"index\":%zu,\"errcode\":47001,\"errmsg\":", i ? "," : "",
                   fc->rejected[i].index);
        buf_json_string(&reply->body, fc->rejected[i].why);
        buf_puts(&reply->body, "}");
    }
    buf_puts(&reply->body, "]");
    reply_ok_end(reply);
}

static void feed_start_cb(void *arg, struct http_deferred *d)
{
    struct feed_call *fc = arg;
    struct store *s = fc->api->store;
    fc->write.deferred = d;
    int rc = s->ops->events_apply_then(s, &fc->op, fc->results, call_write_done, fc);
    if (rc)
        call_write_done(fc, rc);
}

static void feed_finish_cb(void *arg, const struct http_request *req, struct http_reply *reply)
{
    (void)req;
    struct feed_call *fc = arg;
    feed_reply(fc, reply);
    feed_call_free(fc);
}

/* Parses and checks every event of the body; NULL (and replied) when the body is not a feed or
 * memory ran out. */
static struct feed_call *feed_parse(struct api *api, const struct http_request *req,
                                    struct http_reply *reply, feed_carrier_fn carrier_for,
                                    void *ctx)
{
    struct wb_err e = {0};
    const json_t *list = NULL;
    struct feed_call *fc = NULL;
    json_t *body = call_parse_body(req, &e);
    if (!body || feed_events_array(body, &list, &e)) {
        if (req->body_len == 0)
            wb_err_set(&e, WB_DATA_FORMAT, "the body is empty; send {\"events\":[…]}");
        reply_status_error(reply, 400, 47001, "data format error: %s", e.detail);
        goto out;
    }
    size_t total = json_array_size(list);
    if (!(fc = feed_call_new(api, total))) {
        reply_status_error(reply, 500, -1, "system error: out of memory");
        goto out;
    }
    int64_t now = clock_now();
    for (size_t i = 0; i < total; i++) {
        char why[128];
        if (feed_event_parse(json_array_get(list, i), now, &fc->events[fc->good], &e))
            reject(fc->rejected, &fc->nrejected, i, e.detail);
        else if (!carrier_for(ctx, &fc->events[fc->good], why))
            reject(fc->rejected, &fc->nrejected, i, why);
        else
            fc->origin[fc->good++] = i;
    }
    fc->op = events_op_for(api, fc->events, fc->good, &fc->notices);
out:
    json_decref(body);
    return fc;
}

void feed_run(struct api *api, const struct http_request *req, struct http_reply *reply,
              feed_carrier_fn carrier_for, void *ctx)
{
    struct feed_call *fc = feed_parse(api, req, reply, carrier_for, ctx);
    if (!fc)
        return;
    struct store *s = api->store;
    /* where the store commits on its own thread, the worker thread moves on meanwhile */
    if (fc->good && s->ops->events_apply_then && http_defer(req, feed_start_cb, feed_finish_cb, fc))
        return;
    fc->write.rc = fc->good ? s->ops->events_apply(s, &fc->op, fc->results) : STORE_OK;
    feed_reply(fc, reply);
    feed_call_free(fc);
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
