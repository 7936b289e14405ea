/* Binding expiry as a pure function of the waybill's state. */
#include "domain/lifetime.h"

bool lifetime_status_final(int status)
{
    return status >= 4 && status <= 6;
}

int64_t lifetime_expires_at(const struct lifetime_config *cfg, const struct waybill *w,
                            int64_t created_at)
{
    if (lifetime_status_final(w->status))
        return w->final_at + cfg->final_s;
    if (w->status >= 1 && w->last_event_at > 0)
        return w->last_event_at + cfg->stalled_s;
    return created_at + cfg->unbound_s;
}
