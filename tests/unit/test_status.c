/* Unit tests of src/domain/status.c: the status machine of SPEC §5.2 and the mapping of §5.3. */
#include "domain/status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define T0 INT64_C(1764374400)
#define MAX_EVENTS 12

struct ev {
    int64_t at;
    int status;
};

/* A small deterministic generator (xorshift64*), so that a failure replays exactly. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * UINT64_C(2685821657736338717)) >> 32);
}

static int rng_below(int n)
{
    return (int)(rng_next() % (uint32_t)n);
}

/* The reference: SPEC §5.2 applied to events one by one in the order they happened (by
 * action_time, ties by arrival): each newer event sets the status, except that a signed waybill
 * only takes another signed status. evs must already be in that order. */
static int in_order_status(const struct ev *evs, int n)
{
    int status = 0;
    for (int i = 0; i < n; i++) {
        if (evs[i].status < 1 || evs[i].status > 6)
            continue;
        if (status_is_signed(status) && !status_is_signed(evs[i].status))
            continue;
        status = evs[i].status;
    }
    return status;
}

/* Folds evs in the order given, with arrival sequence = position. */
static int fold_all(const struct ev *evs, int n)
{
    struct status_state s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < n; i++)
        status_fold(&s, evs[i].at, i + 1, evs[i].status);
    return status_of(&s);
}

static void shuffle(struct ev *evs, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = rng_below(i + 1);
        struct ev t = evs[i];
        evs[i] = evs[j];
        evs[j] = t;
    }
}

static void test_initial_state(void **state)
{
    (void)state;
    struct status_state s;
    memset(&s, 0, sizeof s);
    assert_int_equal(status_of(&s), 0);
}

static void test_signed_statuses(void **state)
{
    (void)state;
    assert_false(status_is_signed(0));
    assert_false(status_is_signed(1));
    assert_false(status_is_signed(2));
    assert_false(status_is_signed(3));
    assert_true(status_is_signed(4));
    assert_false(status_is_signed(5));
    assert_true(status_is_signed(6));
    assert_false(status_is_signed(7));
    assert_false(status_is_signed(-4));
}

static void test_action_type_mapping(void **state)
{
    (void)state;
    /* SPEC §5.3, every code */
    assert_int_equal(status_from_action_type(100001), 1);
    assert_int_equal(status_from_action_type(100002), 1);
    assert_int_equal(status_from_action_type(100003), 1);
    assert_int_equal(status_from_action_type(200001), 2);
    assert_int_equal(status_from_action_type(300002), 3);
    assert_int_equal(status_from_action_type(300003), 4);
    assert_int_equal(status_from_action_type(300004), 5);
    assert_int_equal(status_from_action_type(400001), 5);
    assert_int_equal(status_from_action_type(400002), 5);
    /* anything else has no status */
    static const long unknown[] = {0,      -1,     1,      100000, 100004, 200000, 200002,
                                   300001, 300005, 400000, 400003, 500001, 999999, 1000001};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_int_equal(status_from_action_type(unknown[i]), 0);
}

static void test_newest_wins(void **state)
{
    (void)state;
    struct ev in_order[] = {{T0, 1}, {T0 + 10, 2}, {T0 + 20, 3}};
    assert_int_equal(fold_all(in_order, 3), 3);
    struct ev reversed[] = {{T0 + 20, 3}, {T0 + 10, 2}, {T0, 1}};
    assert_int_equal(fold_all(reversed, 3), 3);
    struct ev late_old[] = {{T0 + 20, 2}, {T0 + 5, 1}};
    assert_int_equal(fold_all(late_old, 2), 2);
    /* abnormal is not sticky: a newer event takes it back */
    struct ev after_abnormal[] = {{T0, 5}, {T0 + 1, 2}};
    assert_int_equal(fold_all(after_abnormal, 2), 2);
    struct ev abnormal_newest[] = {{T0 + 1, 5}, {T0, 3}};
    assert_int_equal(fold_all(abnormal_newest, 2), 5);
}

static void test_ties_by_arrival(void **state)
{
    (void)state;
    struct ev a[] = {{T0, 2}, {T0, 3}};
    assert_int_equal(fold_all(a, 2), 3);
    struct ev b[] = {{T0, 3}, {T0, 2}};
    assert_int_equal(fold_all(b, 2), 2);
    struct ev c[] = {{T0, 4}, {T0, 6}};
    assert_int_equal(fold_all(c, 2), 6);
    struct ev d[] = {{T0, 6}, {T0, 4}};
    assert_int_equal(fold_all(d, 2), 4);
    /* a tie with a signed event: signed stays */
    struct ev e[] = {{T0, 4}, {T0, 3}};
    assert_int_equal(fold_all(e, 2), 4);
    struct ev f[] = {{T0, 3}, {T0, 4}};
    assert_int_equal(fold_all(f, 2), 4);
}

static void test_signed_never_goes_back(void **state)
{
    (void)state;
    for (int signed_status = 4; signed_status <= 6; signed_status += 2) {
        for (int other = 1; other <= 5; other++) {
            if (other == 4)
                continue;
            /* a newer non-signed event after signing */
            struct ev later[] = {{T0, signed_status}, {T0 + 100, other}};
            assert_int_equal(fold_all(later, 2), signed_status);
            /* an older one arriving late */
            struct ev late[] = {{T0 + 100, signed_status}, {T0, other}};
            assert_int_equal(fold_all(late, 2), signed_status);
        }
    }
    /* signed events do change a signed waybill: the newest of them */
    struct ev a[] = {{T0, 4}, {T0 + 1, 6}};
    assert_int_equal(fold_all(a, 2), 6);
    struct ev b[] = {{T0 + 1, 6}, {T0, 4}};
    assert_int_equal(fold_all(b, 2), 6);
    struct ev c[] = {{T0, 6}, {T0 + 5, 3}, {T0 + 9, 4}, {T0 + 12, 5}};
    assert_int_equal(fold_all(c, 4), 4);
}

static void test_out_of_range_ignored(void **state)
{
    (void)state;
    struct status_state s;
    memset(&s, 0, sizeof s);
    status_fold(&s, T0, 1, 0);
    status_fold(&s, T0, 2, 7);
    status_fold(&s, T0, 3, -1);
    assert_int_equal(status_of(&s), 0);
    status_fold(&s, T0, 4, 2);
    status_fold(&s, T0 + 10, 5, 0);
    status_fold(&s, T0 + 11, 6, 9);
    assert_int_equal(status_of(&s), 2);
}

static void test_refold_is_idempotent(void **state)
{
    (void)state;
    struct status_state s, again;
    memset(&s, 0, sizeof s);
    status_fold(&s, T0, 1, 1);
    status_fold(&s, T0 + 10, 2, 4);
    status_fold(&s, T0 + 20, 3, 5);
    again = s;
    status_fold(&again, T0, 1, 1);
    status_fold(&again, T0 + 20, 3, 5);
    status_fold(&again, T0 + 10, 2, 4);
    assert_memory_equal(&s, &again, sizeof s);
    assert_int_equal(status_of(&again), 4);
}

/* Thousands of random event lists with distinct action_times, in random arrival orders, some
 * events repeated (a repeat folds the same event again): the fold equals in-order arrival. */
static void test_property_permutations(void **state)
{
    (void)state;
    rng_state = UINT64_C(0x2545f4914f6cdd1d);
    for (int round = 0; round < 5000; round++) {
        int n = 1 + rng_below(MAX_EVENTS);
        struct ev evs[MAX_EVENTS];
        int64_t at = T0;
        for (int i = 0; i < n; i++) {
            at += 1 + rng_below(7200);
            evs[i] = (struct ev){at, 1 + rng_below(6)};
        }
        int expected = in_order_status(evs, n);
        for (int perm = 0; perm < 4; perm++) {
            struct ev order[MAX_EVENTS];
            memcpy(order, evs, sizeof evs[0] * (size_t)n);
            shuffle(order, n);
            struct status_state s;
            memset(&s, 0, sizeof s);
            int64_t seq = 0;
            for (int i = 0; i < n; i++) {
                status_fold(&s, order[i].at, ++seq, order[i].status);
                /* a duplicate folds an event that arrived before: same at, same seq */
                if (rng_below(4) == 0) {
                    int j = rng_below(i + 1);
                    status_fold(&s, order[j].at, (int64_t)j + 1, order[j].status);
                }
            }
            if (status_of(&s) != expected)
                fail_msg("round %d perm %d: fold %d, in order %d", round, perm, status_of(&s),
                         expected);
            /* the state itself is the same whatever the order */
            struct status_state sorted;
            memset(&sorted, 0, sizeof sorted);
            for (int i = 0; i < n; i++)
                status_fold(&sorted, evs[i].at, i + 1, evs[i].status);
            assert_int_equal(s.latest.at, sorted.latest.at);
            assert_int_equal(s.latest.status, sorted.latest.status);
            assert_int_equal(s.latest_signed.at, sorted.latest_signed.at);
            assert_int_equal(s.latest_signed.status, sorted.latest_signed.status);
        }
    }
}

/* With equal action_times allowed, the order that decides is (action_time, arrival): the fold
 * of any arrival order equals the sequential rule over that order. */
static void test_property_ties(void **state)
{
    (void)state;
    rng_state = UINT64_C(0x5851f42d4c957f2d);
    for (int round = 0; round < 5000; round++) {
        int n = 1 + rng_below(MAX_EVENTS);
        struct ev arrival[MAX_EVENTS];
        for (int i = 0; i < n; i++)
            arrival[i] = (struct ev){T0 + rng_below(4), 1 + rng_below(6)};
        /* stable sort by at: arrival order breaks ties */
        struct ev sorted[MAX_EVENTS];
        memcpy(sorted, arrival, sizeof arrival[0] * (size_t)n);
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && sorted[j - 1].at > sorted[j].at; j--) {
                struct ev t = sorted[j];
                sorted[j] = sorted[j - 1];
                sorted[j - 1] = t;
            }
        int expected = in_order_status(sorted, n);
        if (fold_all(arrival, n) != expected)
            fail_msg("round %d: fold %d, sequential %d", round, fold_all(arrival, n), expected);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_state),         cmocka_unit_test(test_signed_statuses),
        cmocka_unit_test(test_action_type_mapping),   cmocka_unit_test(test_newest_wins),
        cmocka_unit_test(test_ties_by_arrival),       cmocka_unit_test(test_signed_never_goes_back),
        cmocka_unit_test(test_out_of_range_ignored),  cmocka_unit_test(test_refold_is_idempotent),
        cmocka_unit_test(test_property_permutations), cmocka_unit_test(test_property_ties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
