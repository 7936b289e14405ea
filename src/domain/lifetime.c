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

void lifetime_fold_event(struct waybill *w, int64_t action_time, int64_t seq, int status,
                         int64_t now)
{
    bool was_final = lifetime_status_final(w->status);
    status_fold(&w->marks, action_time, seq, status);
    w->status = status_of(&w->marks);
    w->last_event_at = now;
    if (!lifetime_status_final(w->status))
        w->final_at = 0;
    else if (!was_final)
        w->final_at = now;
}
