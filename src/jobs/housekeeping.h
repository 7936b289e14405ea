/* What falls due by the service clock: the sandbox's script events, and purges. */
#ifndef WB_JOBS_HOUSEKEEPING_H
#define WB_JOBS_HOUSEKEEPING_H

#include "api/api.h"

/* Applies everything due by the service clock's now: in sandbox mode the shared clock offset is
 * reloaded first and the test carrier's due events are delivered; then expired bindings past
 * their retention are purged. Runs are serialised within the process. STORE_OK or STORE_ERROR. */
int housekeeping_run(struct api *api);

struct housekeeping;
/* Starts a thread that runs housekeeping every interval_ms. NULL when it cannot. */
struct housekeeping *housekeeping_start(struct api *api, unsigned interval_ms);
/* Stops and joins the thread. */
void housekeeping_stop(struct housekeeping *h);

#endif
