/* Carrier feed events (SPEC §5.3): the checks of one event, apart from what needs the store. */
#ifndef WB_DOMAIN_FEED_H
#define WB_DOMAIN_FEED_H

#include "base/error.h"
#include "domain/model.h"

#include <jansson.h>
#include <stdint.h>

#define FEED_MAX_EVENTS 1000
#define EVENT_ID_SIZE 129    /* 1–128 bytes of printable ASCII */
#define ACTION_MSG_SIZE 1025 /* 256 characters of up to 4 bytes */
#define FEED_FUTURE_SLACK                                                                          \
    3600 /* action_time may be at most this far ahead of the service clock                         \
          */

/* One event after its checks. carrier is filled by whoever knows who reports it. */
struct feed_event {
    char carrier[DELIVERY_ID_SIZE];
    char carrier_name[NAME_SIZE]; /* for the notifications it causes */
    char event_id[EVENT_ID_SIZE];
    char waybill_id[WAYBILL_ID_SIZE];
    int64_t action_time;
    long action_type; /* 0 when not given */
    int status;       /* 1–6: the explicit status, else the action_type's */
    char action_msg[ACTION_MSG_SIZE];
    char phone_tail[PHONE_TAIL_SIZE]; /* "" when not given */
    int64_t arrived_at; /* when it arrives on the service clock; 0: now (the sandbox's scripts
                           arrive at their due time, however far the clock has jumped) */
};

/* The events array of a feed body: 47001 (HTTP 400) when body has no "events" array or more than
 * FEED_MAX_EVENTS. */
enum wb_code feed_events_array(const json_t *body, const json_t **events, struct wb_err *e);
/* Checks one event against now (the service clock); 47001 with a detail otherwise. */
enum wb_code feed_event_parse(const json_t *v, int64_t now, struct feed_event *out,
                              struct wb_err *e);

#endif
