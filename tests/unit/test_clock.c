/* Unit tests of src/base/clock.c: quota days at a UTC offset, and the service clock's offset. */
#include "base/clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define DAY 86400
#define HOUR 3600
/* 2025-11-29 00:00:00 UTC */
#define NOV29 INT64_C(1764374400)
#define NOV29_DAY (NOV29 / DAY)

static void test_day_utc(void **state)
{
    (void)state;
    assert_int_equal(clock_day(0, 0), 0);
    assert_int_equal(clock_day(DAY - 1, 0), 0);
    assert_int_equal(clock_day(DAY, 0), 1);
    assert_int_equal(clock_day(NOV29, 0), 20421);
    assert_int_equal(clock_day(NOV29 + DAY - 1, 0), 20421);
    assert_int_equal(clock_day(NOV29 + DAY, 0), 20422);
}

static void test_day_shanghai(void **state)
{
    (void)state;
    const int cst = 8 * HOUR; /* +08:00, the default --day-offset */
    /* 16:00 UTC is 00:00 the next day in Shanghai */
    assert_int_equal(clock_day(NOV29 + 16 * HOUR - 1, cst), NOV29_DAY);
    assert_int_equal(clock_day(NOV29 + 16 * HOUR, cst), NOV29_DAY + 1);
    /* 00:00 UTC is 08:00 the same day; 15:59:59 UTC still the same day */
    assert_int_equal(clock_day(NOV29, cst), NOV29_DAY);
    /* just before 00:00 UTC is 07:59:59 of the same Shanghai day */
    assert_int_equal(clock_day(NOV29 - 1, cst), NOV29_DAY);
    /* the Shanghai day began at 16:00 UTC the day before */
    assert_int_equal(clock_day(NOV29 - 8 * HOUR, cst), NOV29_DAY);
    assert_int_equal(clock_day(NOV29 - 8 * HOUR - 1, cst), NOV29_DAY - 1);
}

static void test_day_negative_offset(void **state)
{
    (void)state;
    const int ny = -5 * HOUR; /* -05:00 */
    assert_int_equal(clock_day(NOV29 + 5 * HOUR - 1, ny), NOV29_DAY - 1);
    assert_int_equal(clock_day(NOV29 + 5 * HOUR, ny), NOV29_DAY);
    const int half = 5 * HOUR + 30 * 60; /* +05:30 */
    assert_int_equal(clock_day(NOV29 + DAY - half - 1, half), NOV29_DAY);
    assert_int_equal(clock_day(NOV29 + DAY - half, half), NOV29_DAY + 1);
    assert_int_equal(clock_day(NOV29 + DAY - 14 * HOUR, 14 * HOUR), NOV29_DAY + 1);
    assert_int_equal(clock_day(NOV29 + 12 * HOUR - 1, -12 * HOUR), NOV29_DAY - 1);
}

static void test_day_before_epoch(void **state)
{
    (void)state;
    /* days are floored, not truncated toward zero */
    assert_int_equal(clock_day(-1, 0), -1);
    assert_int_equal(clock_day(-DAY, 0), -1);
    assert_int_equal(clock_day(-DAY - 1, 0), -2);
    assert_int_equal(clock_day(0, -HOUR), -1);
    assert_int_equal(clock_day(HOUR - 1, -HOUR), -1);
    assert_int_equal(clock_day(HOUR, -HOUR), 0);
}

static void test_service_clock_offset(void **state)
{
    (void)state;
    assert_int_equal(clock_offset(), 0);
    int64_t sys = clock_system();
    int64_t now = clock_now();
    assert_true(now >= sys && now <= sys + 1);
    clock_set_offset(30 * DAY);
    assert_int_equal(clock_offset(), 30 * DAY);
    sys = clock_system();
    now = clock_now();
    assert_true(now >= sys + 30 * DAY && now <= sys + 30 * DAY + 1);
    /* the system clock does not move with it */
    assert_true(clock_system() < now);
    clock_set_offset(0);
    assert_int_equal(clock_offset(), 0);
}

static void test_mono(void **state)
{
    (void)state;
    int64_t a = clock_mono_us();
    int64_t b = clock_mono_us();
    assert_true(a > 0);
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_day_utc),
        cmocka_unit_test(test_day_shanghai),
        cmocka_unit_test(test_day_negative_offset),
        cmocka_unit_test(test_day_before_epoch),
        cmocka_unit_test(test_service_clock_offset),
        cmocka_unit_test(test_mono),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
