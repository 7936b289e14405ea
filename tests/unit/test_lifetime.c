/* Unit tests of src/domain/lifetime.c: binding expiry at each waybill status (SPEC §5.4). */
#include "domain/lifetime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define DAY 86400
#define T0 INT64_C(1764374400)

static const struct lifetime_config defaults = {7 * DAY, 30 * DAY, 30 * DAY};

static int64_t expiry(int status, int64_t last_event_at, int64_t final_at, int64_t created_at)
{
    struct waybill w = {.status = status, .last_event_at = last_event_at, .final_at = final_at};
    return lifetime_expires_at(&defaults, &w, created_at);
}

static void test_final_statuses(void **state)
{
    (void)state;
    assert_false(lifetime_status_final(0));
    assert_false(lifetime_status_final(1));
    assert_false(lifetime_status_final(2));
    assert_false(lifetime_status_final(3));
    assert_true(lifetime_status_final(4));
    assert_true(lifetime_status_final(5));
    assert_true(lifetime_status_final(6));
    assert_false(lifetime_status_final(7));
    assert_false(lifetime_status_final(-1));
}

static void test_unbound(void **state)
{
    (void)state;
    /* status 0: 7 days after the binding was made */
    assert_int_equal(expiry(0, 0, 0, T0), T0 + 7 * DAY);
    assert_int_equal(expiry(0, 0, 0, T0 + 5), T0 + 5 + 7 * DAY);
}

static void test_stalled(void **state)
{
    (void)state;
    /* 1–3: 30 days after the waybill's last event, whenever the binding was made */
    for (int status = 1; status <= 3; status++) {
        assert_int_equal(expiry(status, T0 + DAY, 0, T0), T0 + 31 * DAY);
        assert_int_equal(expiry(status, T0, 0, T0 + 10 * DAY), T0 + 30 * DAY);
    }
}

static void test_final(void **state)
{
    (void)state;
    /* 4, 5, 6: 30 days after the waybill reached it */
    for (int status = 4; status <= 6; status++)
        assert_int_equal(expiry(status, T0 + 2 * DAY, T0 + DAY, T0), T0 + 31 * DAY);
}

static void test_config_respected(void **state)
{
    (void)state;
    struct lifetime_config c = {60, 120, 180};
    struct waybill w = {.status = 0};
    assert_int_equal(lifetime_expires_at(&c, &w, T0), T0 + 60);
    w = (struct waybill){.status = 2, .last_event_at = T0 + 10};
    assert_int_equal(lifetime_expires_at(&c, &w, T0), T0 + 130);
    w = (struct waybill){.status = 6, .last_event_at = T0 + 10, .final_at = T0 + 20};
    assert_int_equal(lifetime_expires_at(&c, &w, T0), T0 + 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_final_statuses),   cmocka_unit_test(test_unbound),
        cmocka_unit_test(test_stalled),          cmocka_unit_test(test_final),
        cmocka_unit_test(test_config_respected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
