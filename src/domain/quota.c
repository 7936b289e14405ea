/* Quota limits and counter names. */
#include "domain/quota.h"

#include <stdio.h>

int64_t quota_limit(int64_t override, int64_t fallback)
{
    return override == LIMIT_DEFAULT ? fallback : override;
}

static char family_letter(enum family family)
{
    return family == FAMILY_QUERY ? 'q' : 'm';
}

void quota_key_app(char out[QUOTA_KEY_SIZE], const char *appid, enum family family)
{
    snprintf(out, QUOTA_KEY_SIZE, "app:%s:%c", appid, family_letter(family));
}

void quota_key_user(char out[QUOTA_KEY_SIZE], const char *openid, enum family family)
{
    snprintf(out, QUOTA_KEY_SIZE, "user:%s:%c", openid, family_letter(family));
}

void quota_key_token(char out[QUOTA_KEY_SIZE], const char *appid, bool stable)
{
    snprintf(out, QUOTA_KEY_SIZE, "%s:%s", stable ? "stable" : "token", appid);
}
