/* The outbox worker: claims due notifications and delivers them to apps' push_urls, many at once
 * with libcurl's multi interface, on its own thread so that a slow receiver never holds up the API.
 */
#ifndef WB_DISPATCH_DISPATCHER_H
#define WB_DISPATCH_DISPATCHER_H

#include "api/api.h"

#define DISPATCH_IN_FLIGHT 64 /* deliveries at once */
#define DISPATCH_TIMEOUT_S 10 /* a receiver that takes longer failed the attempt */
#define DISPATCH_LEASE_S 60   /* a claim lapses after this long (system clock) */

struct dispatcher;

/* Starts the worker. instance names this process in the leases it takes. NULL on failure. */
struct dispatcher *dispatcher_start(struct api *api, const char *instance);
/* Asks the worker to look for due notifications now (thread-safe; cheap). */
void dispatcher_kick(struct dispatcher *d);
/* Stops the worker; deliveries in flight are abandoned and their leases lapse, so they are made
 * again later with the same event_id (at-least-once). */
void dispatcher_stop(struct dispatcher *d);

#endif
