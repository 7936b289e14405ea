/* Binding lifetimes (SPEC §5.4): when a binding expires, given its waybill's state. */
#ifndef WB_DOMAIN_LIFETIME_H
#define WB_DOMAIN_LIFETIME_H

#include "domain/model.h"

#include <stdint.h>

struct lifetime_config {
    int64_t unbound_s; /* at status 0, after the binding was made (default 7 days) */
    int64_t stalled_s; /* at 1–3, after the waybill's last event (30 days) */
    int64_t final_s;   /* at 4–6, after the waybill reached it (30 days) */
};

/* A binding whose phone does not match its waybill's events expires this long after. */
#define LIFETIME_MISMATCH_S (7 * 86400)

/* The time a binding made at created_at expires, while its waybill is w. */
int64_t lifetime_expires_at(const struct lifetime_config *cfg, const struct waybill *w,
                            int64_t created_at);

/* A key-node waybill status is final: signed (4, 6) or abnormal (5). */
bool lifetime_status_final(int status);

/* Folds an accepted event (action_time, arrival seq, status) that arrived at now into w: its
 * status marks, status, last_event_at and final_at (set when it turns final, cleared when it
 * leaves 4–6). */
void lifetime_fold_event(struct waybill *w, int64_t action_time, int64_t seq, int status,
                         int64_t now);

#endif
