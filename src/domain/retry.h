/* The webhook retry schedule (SPEC §7): 15 attempts over about a day. */
#ifndef WB_DOMAIN_RETRY_H
#define WB_DOMAIN_RETRY_H

#include <stdint.h>

#define RETRY_MAX_ATTEMPTS 15
#define RETRY_BASE_S 30
#define RETRY_CAP_S (4 * 3600)

/* Seconds to wait after the attempts-th failed attempt (1-based): 30 s × 2^(attempts-1), capped
 * at 4 h, scaled by (0.8 + 0.4 × unit) where unit in [0, 1) is the jitter's random draw. */
int64_t retry_delay(int attempts, double unit);

#endif
