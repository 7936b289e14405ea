/* Key-node decisions (SPEC §7): which status change notifies a binding, and as what. */
#ifndef WB_DOMAIN_KEYNODE_H
#define WB_DOMAIN_KEYNODE_H

#include "domain/feed.h"
#include "domain/model.h"

#include <stdbool.h>

enum keynode {
    KEYNODE_NONE = 0,
    KEYNODE_COLLECTED = 1,
    KEYNODE_IN_DISPATCH = 2,
    KEYNODE_SIGNED = 3,
    KEYNODE_ABNORMAL = 4, /* only with --notify-abnormal */
};

/* How far along the key nodes a status is: 0 before collection, 1 collected or in transport, 2 in
 * dispatch, 3 signed; -1 for abnormal (5), which passes no node. */
int keynode_rank(int status);

/* A binding's progress: the furthest rank it has seen, and whether it was told of an anomaly. */
struct keynode_progress {
    int rank;
    bool abnormal_told;
};

/* The notification a binding gets when its waybill's status becomes status, given its progress,
 * which is advanced. A binding is told of a node only when it enters it, never of a node it has
 * passed (so 0 → 4 tells only "signed"); abnormal only when notify_abnormal, once. The caller
 * leaves out the query family, mismatched and expired bindings. */
enum keynode keynode_decide(struct keynode_progress *p, int status, bool notify_abnormal);

/* "waybill.collected", "waybill.in_dispatch", "waybill.signed", "waybill.abnormal". */
const char *keynode_type(enum keynode node);

/* True when keynode_decide moved a binding's progress from before to after: it must be saved. */
bool keynode_progress_moved(const struct keynode_progress *before,
                            const struct keynode_progress *after);

/* Fills n (zeroed first) with what a binding is told at node: a fresh event_id, its sequence, the
 * waybill's status, and the carrier and action_time of the event e that caused it at now. The
 * goods snapshot and order_detail_path are the caller's. false when randomness failed. */
bool keynode_notice(struct notice *n, enum keynode node, int64_t binding_id, int64_t sequence,
                    int status, const struct feed_event *e, int64_t now);

#endif
