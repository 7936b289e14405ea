/* In-memory caches of hot, rarely changing records: apps, access tokens, carriers. An entry lives
 * at most CACHE_TTL_US, so a change made by another process shows within that; a change made
 * through this process is forgotten at once by the forget functions. Thread-safe. */
#ifndef WB_STORE_CACHE_H
#define WB_STORE_CACHE_H

#include "store/store.h"

#include <regex.h>

#define CACHE_TTL_US 1000000 /* SPEC §6.1: penalties reach every process within 1 s */

int cache_app_get(struct store *s, const char *appid, struct app *out);
/* Cached only for a store one process owns (store_ops.exclusive). */
int cache_token_get(struct store *s, const char *hash, struct token_rec *out);
void cache_forget_app(const char *appid);
void cache_forget_tokens(const char *appid);

/* The registered carriers with their patterns compiled, as of at most CACHE_TTL_US ago. */
struct carrier_entry {
    struct carrier carrier;
    bool has_pattern;
    regex_t pattern;
};
/* Calls each for every carrier (stopping when it returns non-zero) under a read lock. */
int cache_carriers_each(struct store *s, int (*each)(void *ctx, const struct carrier_entry *e),
                        void *ctx);
void cache_forget_carriers(void);

#endif
