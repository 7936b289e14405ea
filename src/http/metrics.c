/* Fixed-size tables of atomic counters behind /metrics. */
#include "http/metrics.h"

#include "base/error.h"

#include <stdatomic.h>
#include <string.h>

#define ENDPOINTS 40
#define CODES 32 /* the errcode table's rows, plus one for anything else */

static const double bounds_ms[] = {0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500};
#define BUCKETS (sizeof bounds_ms / sizeof bounds_ms[0])

static const int codes[] = {
#define XX(name, number, msg) number,
    WB_ERRORS(XX)
#undef XX
};
#define CODE_COUNT (sizeof codes / sizeof codes[0])

static struct {
    _Atomic(const char *) name;
    atomic_long by_code[CODES];
    atomic_long by_class[6]; /* HTTP status / 100 */
    atomic_long buckets[BUCKETS + 1];
    atomic_llong sum_us;
} endpoints[ENDPOINTS];

static atomic_long events_accepted, events_duplicates, events_rejected;

/* The endpoint's row: found by its label, or claimed. The last row takes what does not fit. */
static int endpoint_row(const char *name)
{
    if (!name)
        name = "other";
    for (int i = 0; i < ENDPOINTS - 1; i++) {
        const char *have = atomic_load(&endpoints[i].name);
        if (!have) {
            const char *expected = NULL;
            if (atomic_compare_exchange_strong(&endpoints[i].name, &expected, name))
                return i;
            have = expected;
        }
        if (have == name || strcmp(have, name) == 0)
            return i;
    }
    const char *expected = NULL;
    atomic_compare_exchange_strong(&endpoints[ENDPOINTS - 1].name, &expected, "overflow");
    return ENDPOINTS - 1;
}

static int code_index(int errcode)
{
    for (size_t i = 0; i < CODE_COUNT && i < CODES - 1; i++)
        if (codes[i] == errcode)
            return (int)i;
    return CODES - 1;
}

void metrics_observe(const char *endpoint, unsigned status, int errcode, int64_t duration_us)
{
    int row = endpoint_row(endpoint);
    atomic_fetch_add_explicit(&endpoints[row].by_code[code_index(errcode)], 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&endpoints[row].by_class[status / 100 < 6 ? status / 100 : 0], 1,
                              memory_order_relaxed);
    double ms = (double)duration_us / 1000.0;
    size_t b = 0;
    while (b < BUCKETS && ms > bounds_ms[b])
        b++;
    atomic_fetch_add_explicit(&endpoints[row].buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&endpoints[row].sum_us, duration_us, memory_order_relaxed);
}

void metrics_events(long accepted, long duplicates, long rejected)
{
    atomic_fetch_add(&events_accepted, accepted);
    atomic_fetch_add(&events_duplicates, duplicates);
    atomic_fetch_add(&events_rejected, rejected);
}

void metrics_render(struct buf *out, const struct metrics_gauges *g)
{
    buf_puts(out, "# HELP waybilld_requests_total Requests by endpoint and the errcode replied.\n"
                  "# TYPE waybilld_requests_total counter\n");
    for (int i = 0; i < ENDPOINTS; i++) {
        const char *name = atomic_load(&endpoints[i].name);
        for (int c = 0; name && c < CODES; c++) {
            long n = atomic_load(&endpoints[i].by_code[c]);
            if (!n)
                continue;
            if (c < (int)CODE_COUNT && c < CODES - 1)
                buf_printf(out, "waybilld_requests_total{endpoint=\"%s\",errcode=\"%d\"} %ld\n",
                           name, codes[c], n);
            else
                buf_printf(out, "waybilld_requests_total{endpoint=\"%s\",errcode=\"other\"} %ld\n",
                           name, n);
        }
    }
    buf_puts(out, "# HELP waybilld_responses_total Responses by endpoint and HTTP status class.\n"
                  "# TYPE waybilld_responses_total counter\n");
    for (int i = 0; i < ENDPOINTS; i++) {
        const char *name = atomic_load(&endpoints[i].name);
        for (int k = 1; name && k < 6; k++) {
            long n = atomic_load(&endpoints[i].by_class[k]);
            if (n)
                buf_printf(out, "waybilld_responses_total{endpoint=\"%s\",code=\"%dxx\"} %ld\n",
                           name, k, n);
        }
    }
    buf_puts(out, "# HELP waybilld_request_duration_seconds Time from first byte to reply.\n"
                  "# TYPE waybilld_request_duration_seconds histogram\n");
    for (int i = 0; i < ENDPOINTS; i++) {
        const char *name = atomic_load(&endpoints[i].name);
        if (!name)
            continue;
        long cumulative = 0;
        for (size_t b = 0; b <= BUCKETS; b++) {
            cumulative += atomic_load(&endpoints[i].buckets[b]);
            if (b < BUCKETS)
                buf_printf(out,
                           "waybilld_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} "
                           "%ld\n",
                           name, bounds_ms[b] / 1000.0, cumulative);
            else
                buf_printf(out,
                           "waybilld_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} "
                           "%ld\n",
                           name, cumulative);
        }
        buf_printf(out, "waybilld_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n", name,
                   (double)atomic_load(&endpoints[i].sum_us) / 1e6);
        buf_printf(out, "waybilld_request_duration_seconds_count{endpoint=\"%s\"} %ld\n", name,
                   cumulative);
    }
    buf_printf(out,
               "# HELP waybilld_carrier_events_total Carrier events by outcome.\n"
               "# TYPE waybilld_carrier_events_total counter\n"
               "waybilld_carrier_events_total{outcome=\"accepted\"} %ld\n"
               "waybilld_carrier_events_total{outcome=\"duplicate\"} %ld\n"
               "waybilld_carrier_events_total{outcome=\"rejected\"} %ld\n",
               atomic_load(&events_accepted), atomic_load(&events_duplicates),
               atomic_load(&events_rejected));
    buf_printf(out,
               "# HELP waybilld_notifications Notifications in the store by delivery state.\n"
               "# TYPE waybilld_notifications gauge\n"
               "waybilld_notifications{state=\"pending\"} %lld\n"
               "waybilld_notifications{state=\"delivered\"} %lld\n"
               "waybilld_notifications{state=\"dead\"} %lld\n"
               "# HELP waybilld_outbox_depth Notifications waiting for delivery.\n"
               "# TYPE waybilld_outbox_depth gauge\n"
               "waybilld_outbox_depth %lld\n",
               (long long)g->notices[0], (long long)g->notices[1], (long long)g->notices[2],
               (long long)g->notices[0]);
}
