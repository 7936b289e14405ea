/* Process metrics in Prometheus' text format: requests by endpoint and errcode, latency
 * histograms, carrier events. Counters are lock-free; safe from any thread. */
#ifndef WB_HTTP_METRICS_H
#define WB_HTTP_METRICS_H

#include "base/buf.h"

#include <stdint.h>

/* Counts one request. endpoint is a static label (NULL: "other"). */
void metrics_observe(const char *endpoint, unsigned status, int errcode, int64_t duration_us);
/* Counts carrier events by outcome. */
void metrics_events(long accepted, long duplicates, long rejected);

/* Gauges read from the store at scrape time. */
struct metrics_gauges {
    int64_t notices[3]; /* pending, delivered, dead */
};

/* Appends every metric to out. */
void metrics_render(struct buf *out, const struct metrics_gauges *g);

#endif
