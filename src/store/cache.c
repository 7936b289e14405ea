/* Small fixed-size caches in front of the store; misses and stale entries read through. */
#include "store/cache.h"

#include "base/clock.h"
#include "domain/rules.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define APP_SLOTS 1024
#define TOKEN_SLOTS 4096

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* read-mostly: lookups share the locks, so a lookup preempted holding one holds no other up */
static pthread_rwlock_t apps_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct {
    int64_t at; /* monotonic µs when read; 0 for an empty slot */
    struct app app;
} apps[APP_SLOTS];

static bool fresh(int64_t at)
{
    return at && clock_mono_us() - at < CACHE_TTL_US;
}

int cache_app_get(struct store *s, const char *appid, struct app *out)
{
    size_t i = hash_text(appid) % APP_SLOTS;
    pthread_rwlock_rdlock(&apps_lock);
    bool hit = fresh(apps[i].at) && strcmp(apps[i].app.appid, appid) == 0;
    if (hit)
        *out = apps[i].app;
    pthread_rwlock_unlock(&apps_lock);
    if (hit)
        return STORE_OK;
    int64_t at = clock_mono_us();
    int rc = s->ops->app_get(s, appid, out);
    if (rc == STORE_OK) {
        pthread_rwlock_wrlock(&apps_lock);
        apps[i].at = at;
        apps[i].app = *out;
        pthread_rwlock_unlock(&apps_lock);
    }
    return rc;
}

void cache_forget_app(const char *appid)
{
    size_t i = hash_text(appid) % APP_SLOTS;
    pthread_rwlock_wrlock(&apps_lock);
    if (strcmp(apps[i].app.appid, appid) == 0)
        apps[i].at = 0;
    pthread_rwlock_unlock(&apps_lock);
}

static pthread_rwlock_t tokens_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct {
    int64_t at;
    struct token_rec token;
} tokens[TOKEN_SLOTS];

int cache_token_get(struct store *s, const char *hash, struct token_rec *out)
{
    /* a store shared by several processes: a token superseded through another one must answer
     * 40001 at once (SPEC §3), so every check reads the store */
    if (!s->ops->exclusive)
        return s->ops->token_get(s, hash, out);
    size_t i = hash_text(hash) % TOKEN_SLOTS;
    pthread_rwlock_rdlock(&tokens_lock);
    bool hit = fresh(tokens[i].at) && strcmp(tokens[i].token.hash, hash) == 0;
    if (hit)
        *out = tokens[i].token;
    pthread_rwlock_unlock(&tokens_lock);
    if (hit)
        return STORE_OK;
    int64_t at = clock_mono_us();
    int rc = s->ops->token_get(s, hash, out);
    if (rc == STORE_OK) {
        pthread_rwlock_wrlock(&tokens_lock);
        tokens[i].at = at;
        tokens[i].token = *out;
        pthread_rwlock_unlock(&tokens_lock);
    }
    return rc;
}

void cache_forget_tokens(const char *appid)
{
    pthread_rwlock_wrlock(&tokens_lock);
    for (size_t i = 0; i < TOKEN_SLOTS; i++)
        if (tokens[i].at && strcmp(tokens[i].token.appid, appid) == 0)
            tokens[i].at = 0;
    pthread_rwlock_unlock(&tokens_lock);
}

static pthread_rwlock_t carriers_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct carrier_entry *carriers;
static size_t carrier_count;
static int64_t carriers_at;

static void free_carriers(struct carrier_entry *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].has_pattern)
            regfree(&list[i].pattern);
    free(list);
}

struct gather {
    struct carrier_entry *list;
    size_t n, cap;
    bool failed;
};

static int gather_cb(void *ctx, const struct carrier *c)
{
    struct gather *g = ctx;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 16;
        struct carrier_entry *grown = realloc(g->list, cap * sizeof *grown);
        if (!grown) {
            g->failed = true;
            return 1;
        }
        g->list = grown;
        g->cap = cap;
    }
    struct carrier_entry *e = &g->list[g->n++];
    e->carrier = *c;
    const char *why = NULL;
    e->has_pattern = c->waybill_pattern[0] && rules_pattern_ok(c->waybill_pattern, &why) &&
                     regcomp(&e->pattern, c->waybill_pattern, REG_EXTENDED | REG_NOSUB) == 0;
    return 0;
}

/* Reloads the carriers when stale; called with the write lock held. */
static int refresh_carriers(struct store *s)
{
    if (fresh(carriers_at))
        return STORE_OK;
    struct gather g = {0};
    int64_t at = clock_mono_us();
    int rc = s->ops->carrier_list(s, gather_cb, &g);
    if (rc || g.failed) {
        free_carriers(g.list, g.n);
        return STORE_ERROR;
    }
    free_carriers(carriers, carrier_count);
    carriers = g.list;
    carrier_count = g.n;
    carriers_at = at;
    return STORE_OK;
}

int cache_carriers_each(struct store *s, int (*each)(void *ctx, const struct carrier_entry *e),
                        void *ctx)
{
    pthread_rwlock_rdlock(&carriers_lock);
    if (!fresh(carriers_at)) {
        pthread_rwlock_unlock(&carriers_lock);
        pthread_rwlock_wrlock(&carriers_lock);
        if (refresh_carriers(s)) {
            pthread_rwlock_unlock(&carriers_lock);
            return STORE_ERROR;
        }
    }
    for (size_t i = 0; i < carrier_count; i++)
        if (each(ctx, &carriers[i]))
            break;
    pthread_rwlock_unlock(&carriers_lock);
    return STORE_OK;
}

void cache_forget_carriers(void)
{
    pthread_rwlock_wrlock(&carriers_lock);
    carriers_at = 0;
    pthread_rwlock_unlock(&carriers_lock);
}
