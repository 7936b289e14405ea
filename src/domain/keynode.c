/* Key nodes as ranks: a binding is told of a rank the first time it reaches it. */
#include "domain/keynode.h"

#include "base/rand.h"
#include "domain/status.h"

#include <stdio.h>
#include <string.h>

int keynode_rank(int status)
{
    switch (status) {
    case STATUS_COLLECTED:
    case STATUS_TRANSPORT:
        return 1;
    case STATUS_DISPATCH:
        return 2;
    case STATUS_SIGNED:
    case STATUS_SIGNED_PROXY:
        return 3;
    case STATUS_ABNORMAL:
        return -1;
    default:
        return 0;
    }
}

enum keynode keynode_decide(struct keynode_progress *p, int status, bool notify_abnormal)
{
    if (status == STATUS_ABNORMAL) {
        if (!notify_abnormal || p->abnormal_told)
            return KEYNODE_NONE;
        p->abnormal_told = true;
        return KEYNODE_ABNORMAL;
    }
    int rank = keynode_rank(status);
    if (rank <= p->rank)
        return KEYNODE_NONE;
    p->rank = rank;
    switch (status) {
    case STATUS_COLLECTED:
        return KEYNODE_COLLECTED;
    case STATUS_DISPATCH:
        return KEYNODE_IN_DISPATCH;
    case STATUS_SIGNED:
    case STATUS_SIGNED_PROXY:
        return KEYNODE_SIGNED;
    default:
        return KEYNODE_NONE; /* in transport: passes "collected" without entering it */
    }
}

const char *keynode_type(enum keynode node)
{
    switch (node) {
    case KEYNODE_COLLECTED:
        return "waybill.collected";
    case KEYNODE_IN_DISPATCH:
        return "waybill.in_dispatch";
    case KEYNODE_SIGNED:
        return "waybill.signed";
    case KEYNODE_ABNORMAL:
        return "waybill.abnormal";
    default:
        return "";
    }
}

bool keynode_progress_moved(const struct keynode_progress *before,
                            const struct keynode_progress *after)
{
    return before->rank != after->rank || before->abnormal_told != after->abnormal_told;
}

bool keynode_notice(struct notice *n, enum keynode node, int64_t binding_id, int64_t sequence,
                    int status, const struct feed_event *e, int64_t now)
{
    memset(n, 0, sizeof *n);
    n->binding_id = binding_id;
    n->sequence = sequence;
    n->status = status;
    n->action_time = e->action_time;
    n->created_at = now;
    memcpy(n->id, "evt_", 4);
    snprintf(n->type, sizeof n->type, "%s", keynode_type(node));
    snprintf(n->delivery_id, sizeof n->delivery_id, "%s", e->carrier);
    snprintf(n->delivery_name, sizeof n->delivery_name, "%s", e->carrier_name);
    return rand_hex(n->id + 4, 12);
}
