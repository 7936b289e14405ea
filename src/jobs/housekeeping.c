/* Periodic work: sandbox script deliveries, the shared sandbox clock, purges. */
#include "jobs/housekeeping.h"

#include "api/feed.h"
#include "api/sandbox.h"
#include "base/clock.h"
#include "base/log.h"
#include "carrier/recognize.h"
#include "domain/script.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t run_lock = PTHREAD_MUTEX_INITIALIZER;

static int deliver_script_cb(void *ctx, const char *waybill_id, int64_t start)
{
    struct api *api = ctx;
    struct feed_event events[SCRIPT_MAX_EVENTS];
    struct event_result results[SCRIPT_MAX_EVENTS];
    int64_t next_at = 0;
    int n = script_due(waybill_id, start, clock_now(), events, &next_at);
    for (int i = 0; i < n; i++) {
        memcpy(events[i].carrier, SANDBOX_CARRIER_ID, sizeof SANDBOX_CARRIER_ID);
        memcpy(events[i].carrier_name, SANDBOX_CARRIER_NAME, sizeof SANDBOX_CARRIER_NAME);
    }
    int rc = feed_apply(api, events, (size_t)n, results);
    return rc ? rc : api->store->ops->script_next(api->store, waybill_id, next_at);
}

int housekeeping_run(struct api *api)
{
    struct store *s = api->store;
    int rc = STORE_OK;
    pthread_mutex_lock(&run_lock);
    if (api->cfg.sandbox) {
        if (!sandbox_clock_load(s))
            rc = STORE_ERROR;
        if (!rc)
            rc = s->ops->scripts_due(s, clock_now(), deliver_script_cb, api);
    }
    int64_t purged = 0;
    if (!rc)
        rc = s->ops->purge(s, clock_now(), api->cfg.purge_s, &purged);
    if (purged)
        log_msg("info", "purged %lld expired bindings", (long long)purged);
    pthread_mutex_unlock(&run_lock);
    if (api->outbox_due) /* retries may have fallen due on a moved sandbox clock */
        api->outbox_due(api->outbox_ctx);
    return rc;
}

struct housekeeping {
    struct api *api;
    unsigned interval_ms;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

static void *loop(void *arg)
{
    struct housekeeping *h = arg;
    pthread_mutex_lock(&h->lock);
    while (!h->stopping) {
        pthread_mutex_unlock(&h->lock);
        if (housekeeping_run(h->api))
            log_msg("warn", "housekeeping failed; retrying");
        pthread_mutex_lock(&h->lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += h->interval_ms / 1000;
        until.tv_nsec += (long)(h->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!h->stopping && pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

struct housekeeping *housekeeping_start(struct api *api, unsigned interval_ms)
{
    struct housekeeping *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->api = api;
    h->interval_ms = interval_ms;
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    if (pthread_create(&h->thread, NULL, loop, h) != 0) {
        free(h);
        return NULL;
    }
    pthread_setname_np(h->thread, "housekeeping");
    return h;
}

void housekeeping_stop(struct housekeeping *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stopping = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->wake);
    free(h);
}
