/* The sandbox's admin endpoints (SPEC §8); outside --sandbox they answer HTTP 404. */
#ifndef WB_API_SANDBOX_H
#define WB_API_SANDBOX_H

#include "http/http.h"

#include <stdint.h>

/* GET/POST /admin/v1/sandbox/clock; ctx is a struct api. Checks the admin key itself (401), so
 * it may be routed to directly or through admin_handle. GET → {"now":UNIX}; POST
 * {"advance":SECONDS} or {"set":UNIX} moves the service clock forward, stores the new offset in
 * the store's meta "clock_offset" (decimal seconds) for every process, and replies {"now":UNIX}.
 * A move into the past, both fields or neither: HTTP 400 and nothing changes. */
void sandbox_clock_handle(void *ctx, const struct http_request *req, struct http_reply *reply);

#endif
