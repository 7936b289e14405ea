/* A small open-addressed table of (counter, day) → calls reserved and not yet used. */
#include "store/allowance.h"

#include "base/clock.h"
#include "base/log.h"
#include "domain/quota.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define SLOTS 4096 /* counters held at once; a full table falls back to the store */

static struct slot {
    char key[QUOTA_KEY_SIZE];
    int64_t day;
    int64_t limit;
    int64_t left;        /* reserved, not used */
    int64_t block;       /* calls to reserve next time */
    int64_t refilled_us; /* when the last reservation was asked for */
    bool refilling;      /* a reservation is being made, without the lock */
} slots[SLOTS];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t refilled = PTHREAD_COND_INITIALIZER;

static uint64_t hash(const char *key)
{
    uint64_t h = 1469598103934665603u;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* The slot of key: its own, a free one, or one whose day has passed (after its rest went back). */
static struct slot *find(const char *key, int64_t day, bool *stale)
{
    uint64_t h = hash(key);
    struct slot *reusable = NULL;
    for (size_t i = 0; i < 16; i++) {
        struct slot *sl = &slots[(h + i) % SLOTS];
        if (sl->key[0] && strcmp(sl->key, key) == 0) {
            *stale = sl->day != day;
            return sl;
        }
        if (!reusable && (!sl->key[0] || (sl->day < day && sl->left == 0 && !sl->refilling)))
            reusable = sl;
    }
    *stale = false;
    if (reusable) {
        snprintf(reusable->key, sizeof reusable->key, "%s", key);
        reusable->day = day;
        reusable->limit = -1;
        reusable->left = 0;
        reusable->block = ALLOWANCE_BLOCK;
        reusable->refilled_us = 0;
    }
    return reusable;
}

static void give_back(struct store *s, struct slot *sl)
{
    if (sl->left > 0 && s->ops->counter_release(s, sl->key, sl->day, sl->left))
        log_msg("warn", "allowance: cannot give back %lld calls of %s", (long long)sl->left,
                sl->key);
    sl->left = 0;
}

/* The size of the next reservation: a counter used fast reserves more at a time (so a busy app
 * touches the store a few times a second), one used slowly less (so a crash forfeits little). */
static int64_t next_block(struct slot *sl)
{
    int64_t now = clock_mono_us();
    if (sl->refilled_us && now - sl->refilled_us < 100000 && sl->block < ALLOWANCE_BLOCK_MAX)
        sl->block *= 2;
    else if (now - sl->refilled_us > 1000000 && sl->block > ALLOWANCE_BLOCK)
        sl->block /= 2;
    sl->refilled_us = now;
    return sl->block;
}

/* Reserves the next block of sl, without holding the lock while the store works (other takers
 * of the same counter wait for it). Called and returns with the lock held. */
static int refill(struct store *s, struct slot *sl)
{
    char key[QUOTA_KEY_SIZE];
    memcpy(key, sl->key, sizeof key);
    int64_t day = sl->day, limit = sl->limit, want = next_block(sl), granted = 0;
    sl->refilling = true;
    pthread_mutex_unlock(&lock);
    int rc = s->ops->counter_reserve(s, key, day, limit, want, &granted);
    pthread_mutex_lock(&lock);
    sl->refilling = false;
    pthread_cond_broadcast(&refilled);
    if (rc == STORE_OK)
        sl->left += granted;
    return rc;
}

int allowance_take(struct store *s, const char *key, int64_t day, int64_t limit)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        bool stale = false;
        struct slot *sl = find(key, day, &stale);
        if (!sl) { /* no room: count straight in the store */
            pthread_mutex_unlock(&lock);
            int64_t used = 0;
            return s->ops->counter_take(s, key, day, limit, &used);
        }
        bool current = !stale && sl->limit == limit;
        if (sl->refilling && (!current || sl->left == 0)) {
            /* wait for the reservation, then look again: the slot may have changed meanwhile */
            pthread_cond_wait(&refilled, &lock);
            continue;
        }
        if (!current) {
            give_back(s, sl);
            sl->day = day;
            sl->limit = limit;
        }
        int rc = sl->left > 0 ? STORE_OK : refill(s, sl);
        if (rc == STORE_OK && sl->left == 0)
            continue; /* taken by others while this one waited */
        if (rc == STORE_OK) {
            sl->left--;
            /* running low: this caller reserves the next block now, while the others go on
             * taking what is left (a refusal or a failure shows when the block runs out) */
            if (sl->left < sl->block / 4 && !sl->refilling)
                refill(s, sl);
        }
        pthread_mutex_unlock(&lock);
        return rc;
    }
}

int64_t allowance_unused(const char *key, int64_t day)
{
    pthread_mutex_lock(&lock);
    uint64_t h = hash(key);
    int64_t left = 0;
    for (size_t i = 0; i < 16; i++) {
        struct slot *sl = &slots[(h + i) % SLOTS];
        if (sl->key[0] && strcmp(sl->key, key) == 0) {
            left = sl->day == day ? sl->left : 0;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
    return left;
}

void allowance_release_all(struct store *s)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SLOTS; i++) {
        while (slots[i].refilling)
            pthread_cond_wait(&refilled, &lock);
        if (slots[i].key[0])
            give_back(s, &slots[i]);
    }
    pthread_mutex_unlock(&lock);
}
