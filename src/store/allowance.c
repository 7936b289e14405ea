/* A small open-addressed table of (counter, day) → calls reserved and not yet used. */
#include "store/allowance.h"

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
    int64_t left; /* reserved, not used */
} slots[SLOTS];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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
        if (!reusable && (!sl->key[0] || (sl->day < day && sl->left == 0)))
            reusable = sl;
    }
    *stale = false;
    if (reusable) {
        snprintf(reusable->key, sizeof reusable->key, "%s", key);
        reusable->day = day;
        reusable->limit = -1;
        reusable->left = 0;
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

int allowance_take(struct store *s, const char *key, int64_t day, int64_t limit)
{
    pthread_mutex_lock(&lock);
    bool stale = false;
    struct slot *sl = find(key, day, &stale);
    int rc = STORE_OK;
    if (!sl) { /* no room: count straight in the store */
        pthread_mutex_unlock(&lock);
        int64_t used = 0;
        return s->ops->counter_take(s, key, day, limit, &used);
    }
    if (stale || sl->limit != limit) {
        give_back(s, sl);
        sl->day = day;
        sl->limit = limit;
    }
    if (sl->left == 0) {
        int64_t granted = 0;
        rc = s->ops->counter_reserve(s, key, day, limit, ALLOWANCE_BLOCK, &granted);
        if (rc == STORE_OK)
            sl->left = granted;
    }
    if (rc == STORE_OK)
        sl->left--;
    pthread_mutex_unlock(&lock);
    return rc;
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
    for (size_t i = 0; i < SLOTS; i++)
        if (slots[i].key[0])
            give_back(s, &slots[i]);
    pthread_mutex_unlock(&lock);
}
