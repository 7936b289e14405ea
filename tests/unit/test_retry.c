/* Unit tests of src/domain/retry.c: 30 s × 2^(n-1), capped at 4 h, ±20 % jitter, 15 attempts. */
#include "domain/retry.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The undisturbed delay after the n-th failed attempt, computed independently. */
static int64_t base_of(int n)
{
    int64_t base = 30;
    for (int i = 1; i < n; i++) {
        base *= 2;
        if (base >= 4 * 3600)
            return 4 * 3600;
    }
    return base;
}

static void test_constants(void **state)
{
    (void)state;
    assert_int_equal(RETRY_MAX_ATTEMPTS, 15);
    assert_int_equal(RETRY_BASE_S, 30);
    assert_int_equal(RETRY_CAP_S, 4 * 3600);
}

/* unit 0.5 is the middle of the jitter: the delay is exactly the base. */
static void test_schedule_without_jitter(void **state)
{
    (void)state;
    static const int64_t want[] = {30,   60,    120,   240,   480,   960,   1920,  3840,
                                   7680, 14400, 14400, 14400, 14400, 14400, 14400};
    for (int n = 1; n <= 15; n++) {
        assert_int_equal(retry_delay(n, 0.5), want[n - 1]);
        assert_int_equal(want[n - 1], base_of(n));
    }
}

static void test_jitter_bounds(void **state)
{
    (void)state;
    for (int n = 1; n <= 20; n++) {
        int64_t base = base_of(n);
        /* the extremes: 0.8 and (nearly) 1.2 times the base */
        assert_int_equal(retry_delay(n, 0.0), (int64_t)((double)base * 0.8));
        int64_t top = retry_delay(n, 0.9999999);
        assert_true(top <= (int64_t)((double)base * 1.2));
        assert_true(top >= (int64_t)((double)base * 1.2) - 1);
        for (int k = 0; k < 1000; k++) {
            double unit = (double)k / 1000.0;
            int64_t d = retry_delay(n, unit);
            assert_in_range(d, (uint64_t)((double)base * 0.8), (uint64_t)((double)base * 1.2));
            /* the jitter grows with its draw */
            if (k > 0)
                assert_true(d >= retry_delay(n, (double)(k - 1) / 1000.0));
        }
    }
}

/* For any one draw, a later attempt never waits less than an earlier one. */
static void test_monotonic_in_attempts(void **state)
{
    (void)state;
    static const double units[] = {0.0, 0.1, 0.5, 0.73, 0.999};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        for (int n = 2; n <= 30; n++)
            assert_true(retry_delay(n, units[u]) >= retry_delay(n - 1, units[u]));
}

/* 15 attempts are 14 waits: about a day in all (SPEC §7), whatever the draws. */
static void test_total_about_a_day(void **state)
{
    (void)state;
    int64_t low = 0, mid = 0, high = 0;
    for (int n = 1; n < RETRY_MAX_ATTEMPTS; n++) {
        low += retry_delay(n, 0.0);
        mid += retry_delay(n, 0.5);
        high += retry_delay(n, 0.9999999);
    }
    assert_int_equal(mid, 30 * 511 + 5 * 14400); /* 87 330 s, 24.3 h */
    assert_true(low >= 19 * 3600);
    assert_true(high <= 30 * 3600);
    /* the longest single wait: 4 h plus 20 % */
    assert_true(retry_delay(RETRY_MAX_ATTEMPTS, 0.9999999) <= 4 * 3600 * 12 / 10);
}

/* Out-of-range inputs are clamped: never zero or negative, never an overflow. */
static void test_out_of_range(void **state)
{
    (void)state;
    assert_int_equal(retry_delay(1, -3.0), 24);
    assert_int_equal(retry_delay(1, 7.0), retry_delay(1, 0.9999999));
    assert_true(retry_delay(1, 1.0) <= 36);
    assert_true(retry_delay(0, 0.5) >= 1);
    assert_true(retry_delay(0, 0.5) <= 30);
    assert_true(retry_delay(-5, 0.0) >= 1);
    assert_int_equal(retry_delay(1000, 0.5), 14400);
    assert_int_equal(retry_delay(2147483647, 0.5), 14400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_schedule_without_jitter),
        cmocka_unit_test(test_jitter_bounds),
        cmocka_unit_test(test_monotonic_in_attempts),
        cmocka_unit_test(test_total_about_a_day),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
