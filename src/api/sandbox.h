/* The sandbox's admin endpoints (SPEC §8); outside --sandbox they answer HTTP 404. */
#ifndef WB_API_SANDBOX_H
#define WB_API_SANDBOX_H

#include "http/http.h"

#include <stdbool.h>
#include <stdint.h>

/* GET/POST /admin/v1/sandbox/clock; ctx is a struct api. Checks the admin key itself (401), so
 * it may be routed to directly or through admin_handle. GET → {"now":UNIX}; POST
 * {"advance":SECONDS} or {"set":UNIX} moves the service clock forward, stores the new offset in
 * the store's meta "clock_offset" (decimal seconds) for every process, and replies {"now":UNIX}.
 * A move into the past, both fields or neither: HTTP 400 and nothing changes. */
void sandbox_clock_handle(void *ctx, const struct http_request *req, struct http_reply *reply);

/* POST /admin/v1/sandbox/events: a carrier-feed body (SPEC §5.3) under the admin key, applied as
 * the sandbox carrier for test waybills, else as the waybill's owner or recognised carrier. */
void sandbox_events_handle(void *ctx, const struct http_request *req, struct http_reply *reply);

/* Applies the clock offset stored by any process; false on a store failure or a corrupt value. */
struct store;
bool sandbox_clock_load(struct store *s);

#endif
