/* Daily allowances held in memory: a process reserves calls of a counter in blocks, durably, and
 * hands them out without touching the store. The store's count never passes the limit, across any
 * number of processes; a crash forfeits what was reserved and unused (at most one block a counter),
 * it never grants extra. */
#ifndef WB_API_ALLOWANCE_H
#define WB_API_ALLOWANCE_H

#include "store/store.h"

#include <stdint.h>

/* Calls reserved at a time: from ALLOWANCE_BLOCK, doubling while reservations come faster than
 * ten a second, up to ALLOWANCE_BLOCK_MAX; the store grants fewer near the limit. */
#define ALLOWANCE_BLOCK 64
#define ALLOWANCE_BLOCK_MAX 4096

/* Takes one call of counter (key, day) under limit: STORE_OK, STORE_LIMIT or STORE_ERROR. A
 * limit that differs from the one the reservation was made under gives the rest back first, so
 * a lowered limit applies at once. Thread-safe. */
int allowance_take(struct store *s, const char *key, int64_t day, int64_t limit);
/* Calls reserved by this process for (key, day) and not used yet: the store's count minus this
 * is what was used, as far as this process knows. */
int64_t allowance_unused(const char *key, int64_t day);
/* Gives every unused reservation back to the store (at a clean stop). */
void allowance_release_all(struct store *s);

#endif
