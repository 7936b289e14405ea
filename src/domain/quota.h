/* The platform's default limits (SPEC §3, §6.2) and the names of the daily counters behind them. */
#ifndef WB_DOMAIN_QUOTA_H
#define WB_DOMAIN_QUOTA_H

#include "domain/model.h"

#include <stdint.h>

#define QUOTA_APP_DAILY 100000     /* calls per app per day, each family */
#define QUOTA_USER_DAILY 50        /* bind calls per user per day, message family */
#define QUOTA_USER_DAILY_QUERY 100 /* bind calls per user per day, query family */
#define QUOTA_MAX_BINDINGS 100     /* valid bindings per user, message family */
#define QUOTA_MAX_UPDATES 10       /* goods updates per binding */
#define QUOTA_TOKEN_DAILY 2000     /* /cgi-bin/token calls per app per day */
#define QUOTA_STABLE_DAILY 10000   /* /cgi-bin/stable_token calls per app per day */
#define QUOTA_FORCE_DAILY 20       /* stable_token force refreshes per app per day */
#define QUOTA_FORCE_INTERVAL 30    /* seconds between force refreshes */

#define QUOTA_KEY_SIZE 128

/* The limit in effect: the app's override, or the default when it has none. */
int64_t quota_limit(int64_t override, int64_t fallback);

/* Counter names; each counter counts per day. */
void quota_key_app(char out[QUOTA_KEY_SIZE], const char *appid, enum family family);
void quota_key_user(char out[QUOTA_KEY_SIZE], const char *openid, enum family family);
void quota_key_token(char out[QUOTA_KEY_SIZE], const char *appid, bool stable);

#endif
