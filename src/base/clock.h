/* The service clock (SPEC §8): the system clock, or in sandbox mode the system clock plus a stored
 * offset. */
#ifndef WB_BASE_CLOCK_H
#define WB_BASE_CLOCK_H

#include <stdint.h>

/* Unix seconds on the service clock: what token lifetimes, quota days, scripts and expiry use. */
int64_t clock_now(void);
/* Unix seconds on the system clock: what rids, logs and signatures use. */
int64_t clock_system(void);
/* Monotonic microseconds, for durations. */
int64_t clock_mono_us(void);
/* Sets the offset of the service clock from the system clock (sandbox only). Thread-safe. */
void clock_set_offset(int64_t seconds);
int64_t clock_offset(void);

/* The day number (days since the epoch) of unix time t, days starting at 00:00 at UTC+offset_s. */
int64_t clock_day(int64_t t, int offset_s);

#endif
