/* The status machine: two marks, folded with a total order, so arrival order cannot matter. */
#include "domain/status.h"

bool status_is_signed(int status)
{
    return status == STATUS_SIGNED || status == STATUS_SIGNED_PROXY;
}

static bool newer(int64_t at, int64_t seq, const struct status_mark *m)
{
    return m->status == 0 || at > m->at || (at == m->at && seq > m->seq);
}

void status_fold(struct status_state *s, int64_t at, int64_t seq, int status)
{
    if (status < STATUS_COLLECTED || status > STATUS_SIGNED_PROXY)
        return;
    if (newer(at, seq, &s->latest))
        s->latest = (struct status_mark){at, seq, status};
    if (status_is_signed(status) && newer(at, seq, &s->latest_signed))
        s->latest_signed = (struct status_mark){at, seq, status};
}

int status_of(const struct status_state *s)
{
    return s->latest_signed.status ? s->latest_signed.status : s->latest.status;
}

int status_from_action_type(long action_type)
{
    switch (action_type) {
    case 100001:
    case 100002:
    case 100003:
        return STATUS_COLLECTED;
    case 200001:
        return STATUS_TRANSPORT;
    case 300002:
        return STATUS_DISPATCH;
    case 300003:
        return STATUS_SIGNED;
    case 300004:
    case 400001:
    case 400002:
        return STATUS_ABNORMAL;
    default:
        return 0;
    }
}
