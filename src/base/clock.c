/* Clocks: system, monotonic, and the service clock that the sandbox can move forward. */
#include "base/clock.h"

#include <stdatomic.h>
#include <time.h>

static _Atomic int64_t offset;

int64_t clock_system(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

int64_t clock_now(void)
{
    return clock_system() + atomic_load_explicit(&offset, memory_order_relaxed);
}

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void clock_set_offset(int64_t seconds)
{
    atomic_store(&offset, seconds);
}

int64_t clock_offset(void)
{
    return atomic_load(&offset);
}

int64_t clock_day(int64_t t, int offset_s)
{
    int64_t local = t + offset_s;
    return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}
