/* The waybill status machine (SPEC §5.2) as a pure, order-independent fold over carrier events. */
#ifndef WB_DOMAIN_STATUS_H
#define WB_DOMAIN_STATUS_H

#include <stdbool.h>
#include <stdint.h>

enum {
    STATUS_NONE = 0, /* not found / not collected yet */
    STATUS_COLLECTED = 1,
    STATUS_TRANSPORT = 2,
    STATUS_DISPATCH = 3,
    STATUS_SIGNED = 4,
    STATUS_ABNORMAL = 5,
    STATUS_SIGNED_PROXY = 6, /* signed on behalf */
};

/* An event's place in the order that decides: its action_time, then its arrival sequence. */
struct status_mark {
    int64_t at;  /* action_time */
    int64_t seq; /* arrival order; larger is later */
    int status;  /* 0 when there is no such event */
};

/* What the status depends on: the newest event of all, and the newest signed event. Folding events
 * into it in any order gives the same result, which is what in-order arrival gives: once a waybill
 * is signed only signed events change it, so the newest signed event decides when there is one. */
struct status_state {
    struct status_mark latest;
    struct status_mark latest_signed;
};

bool status_is_signed(int status);
/* Folds one event into the state. */
void status_fold(struct status_state *s, int64_t at, int64_t seq, int status);
/* The waybill's status in a state. */
int status_of(const struct status_state *s);
/* The status an action_type maps to (SPEC §5.3), or 0 for an unknown action_type. */
int status_from_action_type(long action_type);

#endif
