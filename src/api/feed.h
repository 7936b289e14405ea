/* Applying a carrier-feed body (SPEC §5.3), shared by the carrier feed and sandbox injection. */
#ifndef WB_API_FEED_H
#define WB_API_FEED_H

#include "api/api.h"
#include "domain/feed.h"

/* Decides which carrier reports an event: sets e->carrier and returns true, or returns false with
 * why the event is rejected. */
typedef bool (*feed_carrier_fn)(void *ctx, struct feed_event *e, char why[128]);

/* Parses req's body, checks each event, applies the good ones in one unit of work and replies:
 * HTTP 400 {"errcode":47001,…} for a body that is not a feed; otherwise 200 with accepted,
 * duplicates and rejected. */
void feed_run(struct api *api, const struct http_request *req, struct http_reply *reply,
              feed_carrier_fn carrier_for, void *ctx);

/* Applies events already checked (the sandbox's scripts): one unit of work. */
int feed_apply(struct api *api, const struct feed_event *events, size_t count,
               struct event_result *results);

#endif
