/* The dispatcher's loop: claim → POST with a signature → settle (delivered, retry, dead). */
#include "dispatch/dispatcher.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "dispatch/webhook.h"
#include "domain/retry.h"
#include "domain/tokens.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dispatcher {
    struct api *api;
    char instance[64];
    CURLM *multi;
    pthread_t thread;
    atomic_bool stopping;
    atomic_bool kicked;
    int in_flight;
    CURL *slots[DISPATCH_IN_FLIGHT]; /* the handles in flight, NULL where free */
};

/* One delivery attempt in flight. */
struct delivery {
    int slot;
    char id[NOTICE_ID_SIZE];
    int attempts; /* before this one */
    char *body;
    struct curl_slist *headers;
    char error[CURL_ERROR_SIZE];
};

static size_t discard_cb(char *data, size_t size, size_t count, void *ctx)
{
    (void)data;
    (void)ctx;
    return size * count;
}

static void settle(struct dispatcher *d, const char *id, int attempts, bool ok, const char *why)
{
    int64_t now = clock_now();
    struct notice_outcome o = {.id = id, .attempts = attempts, .error = why};
    if (ok) {
        o.state = NOTICE_DELIVERED;
        o.delivered_at = now;
        o.next_attempt_at = now;
    } else if (attempts >= RETRY_MAX_ATTEMPTS) {
        o.state = NOTICE_DEAD;
        o.next_attempt_at = now;
        log_msg("warn", "notification %s is dead after %d attempts: %s", id, attempts, why);
    } else {
        o.state = NOTICE_PENDING;
        o.next_attempt_at = now + retry_delay(attempts, (double)rand_u32() / 4294967296.0);
    }
    if (d->api->store->ops->outbox_settle(d->api->store, &o))
        log_msg("error", "notification %s: cannot record the attempt; it will be made again", id);
}

static void delivery_free(struct delivery *dl)
{
    free(dl->body);
    curl_slist_free_all(dl->headers);
    free(dl);
}

static int start_cb(void *ctx, const struct notice *n)
{
    struct dispatcher *d = ctx;
    if (!n->push_url[0]) { /* no push_url: the inbox is where it is delivered */
        settle(d, n->id, n->attempts, true, "");
        return 0;
    }
    struct delivery *dl = calloc(1, sizeof *dl);
    CURL *easy = curl_easy_init();
    char token[WAYBILL_TOKEN_LEN + 1];
    tokens_waybill(token, d->api->cfg.hash_key, n->binding_id, n->token_nonce, n->token_legacy);
    if (dl)
        dl->body = webhook_body(n, token, d->api->cfg.public_url);
    if (!dl || !easy || !dl->body) {
        curl_easy_cleanup(easy);
        if (dl)
            delivery_free(dl);
        log_msg("error", "notification %s: out of memory; it will be made again", n->id);
        return 0;
    }
    memcpy(dl->id, n->id, sizeof dl->id);
    dl->attempts = n->attempts;
    char signature[WEBHOOK_SIGNATURE_SIZE], header[160];
    webhook_signature(signature, n->push_secret, clock_system(), dl->body);
    dl->headers = curl_slist_append(dl->headers, "Content-Type: application/json");
    snprintf(header, sizeof header, "X-Waybilld-Event-Id: %s", n->id);
    dl->headers = curl_slist_append(dl->headers, header);
    snprintf(header, sizeof header, "X-Waybilld-Signature: %s", signature);
    dl->headers = curl_slist_append(dl->headers, header);
    dl->headers = curl_slist_append(dl->headers, "Expect:");
    curl_easy_setopt(easy, CURLOPT_URL, n->push_url);
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, dl->body);
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(dl->body));
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, dl->headers);
    curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)DISPATCH_TIMEOUT_S);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "waybilld-webhook/1");
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, dl->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, dl);
    dl->slot = 0;
    while (dl->slot < DISPATCH_IN_FLIGHT && d->slots[dl->slot])
        dl->slot++;
    if (dl->slot == DISPATCH_IN_FLIGHT || curl_multi_add_handle(d->multi, easy) != CURLM_OK) {
        curl_easy_cleanup(easy);
        delivery_free(dl);
        return 0;
    }
    d->slots[dl->slot] = easy;
    d->in_flight++;
    return 0;
}

static void finish(struct dispatcher *d, CURL *easy, CURLcode result)
{
    struct delivery *dl = NULL;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&dl);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    char why[CURL_ERROR_SIZE + 32];
    bool ok = result == CURLE_OK && code >= 200 && code < 300;
    why[0] = '\0';
    if (result != CURLE_OK)
        snprintf(why, sizeof why, "%s", dl->error[0] ? dl->error : curl_easy_strerror(result));
    else if (!ok)
        snprintf(why, sizeof why, "HTTP %ld", code);
    settle(d, dl->id, dl->attempts + 1, ok, why);
    d->slots[dl->slot] = NULL;
    curl_multi_remove_handle(d->multi, easy);
    curl_easy_cleanup(easy);
    delivery_free(dl);
    d->in_flight--;
}

static void claim(struct dispatcher *d)
{
    int room = DISPATCH_IN_FLIGHT - d->in_flight;
    if (room <= 0)
        return;
    int64_t sys = clock_system();
    if (d->api->store->ops->outbox_claim(d->api->store, d->instance, clock_now(), sys,
                                         sys + DISPATCH_LEASE_S, room, start_cb, d))
        log_msg("warn", "dispatcher: cannot claim notifications; retrying");
}

static void *loop(void *arg)
{
    struct dispatcher *d = arg;
    int64_t last_claim = 0;
    while (!atomic_load(&d->stopping)) {
        int64_t now_us = clock_mono_us();
        /* claim when asked, when a slot freed up, or once a second for retries falling due */
        if (atomic_exchange(&d->kicked, false) || now_us - last_claim >= 1000000) {
            claim(d);
            last_claim = now_us;
        }
        int running = 0, left = 0;
        curl_multi_perform(d->multi, &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(d->multi, &left)))
            if (msg->msg == CURLMSG_DONE) {
                finish(d, msg->easy_handle, msg->data.result);
                atomic_store(&d->kicked, true);
            }
        if (!atomic_load(&d->kicked))
            curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

struct dispatcher *dispatcher_start(struct api *api, const char *instance)
{
    struct dispatcher *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->api = api;
    snprintf(d->instance, sizeof d->instance, "%s", instance);
    d->multi = curl_multi_init();
    atomic_store(&d->kicked, true);
    if (!d->multi || pthread_create(&d->thread, NULL, loop, d) != 0) {
        if (d->multi)
            curl_multi_cleanup(d->multi);
        free(d);
        return NULL;
    }
    pthread_setname_np(d->thread, "dispatcher");
    return d;
}

void dispatcher_kick(struct dispatcher *d)
{
    if (!d)
        return;
    atomic_store(&d->kicked, true);
    curl_multi_wakeup(d->multi);
}

void dispatcher_stop(struct dispatcher *d)
{
    if (!d)
        return;
    atomic_store(&d->stopping, true);
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
    for (int i = 0; i < DISPATCH_IN_FLIGHT; i++) {
        if (!d->slots[i])
            continue;
        struct delivery *dl = NULL;
        curl_easy_getinfo(d->slots[i], CURLINFO_PRIVATE, (char **)&dl);
        curl_multi_remove_handle(d->multi, d->slots[i]);
        curl_easy_cleanup(d->slots[i]);
        if (dl)
            delivery_free(dl);
    }
    curl_multi_cleanup(d->multi);
    free(d);
}
