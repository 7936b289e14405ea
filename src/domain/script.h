/* The sandbox test carrier's scripts (SPEC §8): which events a test waybill gets, and when. */
#ifndef WB_DOMAIN_SCRIPT_H
#define WB_DOMAIN_SCRIPT_H

#include "domain/feed.h"

#include <stdint.h>

#define SCRIPT_MAX_EVENTS 8

/* The events of waybill_id's script (picked by its last digit) that are delivered by now, for a
 * script that started at start, in delivery order; *next_at gets the next delivery time after
 * now, or 0 when the script is done. Event ids are stable, so delivering again is harmless.
 * Returns the number of events written to out (carrier left ""). */
int script_due(const char *waybill_id, int64_t start, int64_t now,
               struct feed_event out[SCRIPT_MAX_EVENTS], int64_t *next_at);

/* When the first delivery of a script that starts at start is due, or 0 for a script with none. */
int64_t script_first_at(const char *waybill_id, int64_t start);

#endif
