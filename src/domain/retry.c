/* Exponential backoff with a cap and ±20 % jitter. */
#include "domain/retry.h"

int64_t retry_delay(int attempts, double unit)
{
    int64_t base = RETRY_BASE_S;
    for (int i = 1; i < attempts && base < RETRY_CAP_S; i++)
        base *= 2;
    if (base > RETRY_CAP_S)
        base = RETRY_CAP_S;
    if (unit < 0)
        unit = 0;
    if (unit >= 1)
        unit = 0.999999;
    double scaled = (double)base * (0.8 + 0.4 * unit);
    int64_t delay = (int64_t)scaled;
    return delay > 0 ? delay : 1;
}
