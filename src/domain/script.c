/* The sandbox scripts as data: four steps, varied by the waybill's last digit. */
#include "domain/script.h"

#include "domain/status.h"

#include <stdio.h>
#include <string.h>

#define HOUR 3600

struct step {
    int64_t at;      /* action_time, from the script's start */
    int64_t deliver; /* when it arrives, from the script's start */
    long action_type;
    int status;
    const char *msg;
};

/* The steps of a script, newest first within one delivery where the script says so. */
static int script_steps(char digit, struct step steps[SCRIPT_MAX_EVENTS], int *copies,
                        const char **tail)
{
    static const struct step normal[] = {
        {1 * HOUR, 1 * HOUR, 100001, STATUS_COLLECTED, "Collected by Sandbox Express"},
        {6 * HOUR, 6 * HOUR, 200001, STATUS_TRANSPORT, "In transport to the destination city"},
        {24 * HOUR, 24 * HOUR, 300002, STATUS_DISPATCH, "Out for delivery"},
        {26 * HOUR, 26 * HOUR, 300003, STATUS_SIGNED, "Signed for by the receiver"},
    };
    *copies = 1;
    *tail = "";
    if (digit == '7')
        return 0;
    memcpy(steps, normal, sizeof normal);
    switch (digit) {
    case '5':
        steps[3] = (struct step){26 * HOUR, 26 * HOUR, 400002, STATUS_ABNORMAL,
                                 "Delivery failed: the receiver could not be reached"};
        break;
    case '6':
        steps[3] = (struct step){26 * HOUR, 26 * HOUR, 300003, STATUS_SIGNED_PROXY,
                                 "Signed for on behalf of the receiver at a parcel locker"};
        break;
    case '8': {
        /* in pairs, newest first: (+6 h, +1 h) at +6 h and (+26 h, +24 h) at +26 h */
        struct step late[4] = {normal[1], normal[0], normal[3], normal[2]};
        late[0].deliver = late[1].deliver = 6 * HOUR;
        late[2].deliver = late[3].deliver = 26 * HOUR;
        memcpy(steps, late, sizeof late);
        *copies = 2;
        break;
    }
    case '9':
        *tail = "0000";
        break;
    default:
        break;
    }
    return 4;
}

static char last_digit(const char *waybill_id)
{
    size_t n = strlen(waybill_id);
    return n ? waybill_id[n - 1] : '0';
}

int script_due(const char *waybill_id, int64_t start, int64_t now,
               struct feed_event out[SCRIPT_MAX_EVENTS], int64_t *next_at)
{
    struct step steps[SCRIPT_MAX_EVENTS];
    int copies;
    const char *tail;
    int count = script_steps(last_digit(waybill_id), steps, &copies, &tail);
    int n = 0;
    *next_at = 0;
    for (int i = 0; i < count; i++) {
        int64_t deliver = start + steps[i].deliver;
        if (deliver > now) {
            if (!*next_at || deliver < *next_at)
                *next_at = deliver;
            continue;
        }
        for (int c = 0; c < copies && n < SCRIPT_MAX_EVENTS; c++) {
            struct feed_event *e = &out[n++];
            memset(e, 0, sizeof *e);
            snprintf(e->event_id, sizeof e->event_id, "%s-%lld", waybill_id,
                     (long long)(steps[i].at / HOUR));
            snprintf(e->waybill_id, sizeof e->waybill_id, "%s", waybill_id);
            e->action_time = start + steps[i].at;
            e->arrived_at = deliver;
            e->action_type = steps[i].action_type;
            e->status = steps[i].status;
            snprintf(e->action_msg, sizeof e->action_msg, "%s", steps[i].msg);
            snprintf(e->phone_tail, sizeof e->phone_tail, "%s", tail);
        }
    }
    return n;
}

int64_t script_first_at(const char *waybill_id, int64_t start)
{
    struct feed_event none[SCRIPT_MAX_EVENTS];
    int64_t next = 0;
    script_due(waybill_id, start, start - 1, none, &next);
    return next;
}
