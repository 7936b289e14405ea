/* Unit tests of src/domain/keynode.c: one notification per key node entered, none once passed. */
#include "domain/keynode.h"
#include "domain/status.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_rank(void **state)
{
    (void)state;
    assert_int_equal(keynode_rank(STATUS_NONE), 0);
    assert_int_equal(keynode_rank(STATUS_COLLECTED), 1);
    assert_int_equal(keynode_rank(STATUS_TRANSPORT), 1);
    assert_int_equal(keynode_rank(STATUS_DISPATCH), 2);
    assert_int_equal(keynode_rank(STATUS_SIGNED), 3);
    assert_int_equal(keynode_rank(STATUS_SIGNED_PROXY), 3);
    assert_int_equal(keynode_rank(STATUS_ABNORMAL), -1);
    /* outside 0–6: no node */
    assert_int_equal(keynode_rank(7), 0);
    assert_int_equal(keynode_rank(-1), 0);
}

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(keynode_type(KEYNODE_COLLECTED), "waybill.collected");
    assert_string_equal(keynode_type(KEYNODE_IN_DISPATCH), "waybill.in_dispatch");
    assert_string_equal(keynode_type(KEYNODE_SIGNED), "waybill.signed");
    assert_string_equal(keynode_type(KEYNODE_ABNORMAL), "waybill.abnormal");
    assert_string_equal(keynode_type(KEYNODE_NONE), "");
}

/* The normal script 0 → 1 → 2 → 3 → 4: collected, nothing, in dispatch, signed. */
static void test_normal_path(void **state)
{
    (void)state;
    struct keynode_progress p = {0, false};
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, false), KEYNODE_COLLECTED);
    assert_int_equal(p.rank, 1);
    assert_int_equal(keynode_decide(&p, STATUS_TRANSPORT, false), KEYNODE_NONE);
    assert_int_equal(p.rank, 1);
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_IN_DISPATCH);
    assert_int_equal(p.rank, 2);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_SIGNED);
    assert_int_equal(p.rank, 3);
    assert_false(p.abnormal_told);
    /* a repeated or late status tells nothing more */
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED_PROXY, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, false), KEYNODE_NONE);
    assert_int_equal(p.rank, 3);
}

/* 0 → 4 directly yields only "signed" (SPEC §7); so does 0 → 6. */
static void test_jump_to_signed(void **state)
{
    (void)state;
    struct keynode_progress p = {0, false};
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_SIGNED);
    assert_int_equal(p.rank, 3);
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_NONE);

    struct keynode_progress q = {0, false};
    assert_int_equal(keynode_decide(&q, STATUS_SIGNED_PROXY, false), KEYNODE_SIGNED);
    assert_int_equal(keynode_decide(&q, STATUS_SIGNED, false), KEYNODE_NONE);
}

/* 0 → 3 tells "in dispatch" only; collected, passed, is never told afterwards. */
static void test_jump_to_dispatch(void **state)
{
    (void)state;
    struct keynode_progress p = {0, false};
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_IN_DISPATCH);
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_TRANSPORT, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED_PROXY, false), KEYNODE_SIGNED);
}

/* In transport is not a key node: 0 → 2 tells nothing, and collected counts as passed. */
static void test_transport_passes_collected(void **state)
{
    (void)state;
    struct keynode_progress p = {0, false};
    assert_int_equal(keynode_decide(&p, STATUS_TRANSPORT, false), KEYNODE_NONE);
    assert_int_equal(p.rank, 1);
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_IN_DISPATCH);
}

static void test_status_zero(void **state)
{
    (void)state;
    struct keynode_progress p = {0, false};
    assert_int_equal(keynode_decide(&p, STATUS_NONE, true), KEYNODE_NONE);
    assert_int_equal(p.rank, 0);
    assert_false(p.abnormal_told);
    assert_int_equal(keynode_decide(&p, STATUS_COLLECTED, true), KEYNODE_COLLECTED);
}

/* A binding made while its waybill is in dispatch starts at rank 2: it is told only "signed". */
static void test_binding_made_in_dispatch(void **state)
{
    (void)state;
    struct keynode_progress p = {keynode_rank(STATUS_DISPATCH), false};
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, false), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_SIGNED);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_NONE);
}

static void test_abnormal_off(void **state)
{
    (void)state;
    struct keynode_progress p = {2, false};
    assert_int_equal(keynode_decide(&p, STATUS_ABNORMAL, false), KEYNODE_NONE);
    assert_false(p.abnormal_told);
    assert_int_equal(p.rank, 2); /* an anomaly passes no node */
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, false), KEYNODE_SIGNED);
}

static void test_abnormal_on(void **state)
{
    (void)state;
    struct keynode_progress p = {2, false};
    assert_int_equal(keynode_decide(&p, STATUS_ABNORMAL, true), KEYNODE_ABNORMAL);
    assert_true(p.abnormal_told);
    assert_int_equal(p.rank, 2);
    /* once only */
    assert_int_equal(keynode_decide(&p, STATUS_ABNORMAL, true), KEYNODE_NONE);
    /* an anomaly does not use up the nodes still ahead, nor bring back passed ones */
    assert_int_equal(keynode_decide(&p, STATUS_DISPATCH, true), KEYNODE_NONE);
    assert_int_equal(keynode_decide(&p, STATUS_SIGNED, true), KEYNODE_SIGNED);
    assert_int_equal(keynode_decide(&p, STATUS_ABNORMAL, true), KEYNODE_NONE);

    /* straight from 0 */
    struct keynode_progress q = {0, false};
    assert_int_equal(keynode_decide(&q, STATUS_ABNORMAL, true), KEYNODE_ABNORMAL);
    assert_int_equal(q.rank, 0);
    assert_int_equal(keynode_decide(&q, STATUS_COLLECTED, true), KEYNODE_COLLECTED);

    /* a binding made while the waybill is abnormal has been told already */
    struct keynode_progress r = {0, true};
    assert_int_equal(keynode_decide(&r, STATUS_ABNORMAL, true), KEYNODE_NONE);
}

/* An independent statement of the rule, checked against every status path of length 5:
 * a key node is told when the waybill reaches a status whose node lies beyond everything seen
 * so far; at most one notification per node; abnormal at most once and only when asked. */
static int oracle_node_of(int status)
{
    if (status == 1)
        return 1;
    if (status == 3)
        return 2;
    if (status == 4 || status == 6)
        return 3;
    return 0;
}

static int oracle_progress_of(int status)
{
    if (status == 1 || status == 2)
        return 1;
    if (status == 3)
        return 2;
    if (status == 4 || status == 6)
        return 3;
    return 0;
}

static void check_path(const int *path, int len, bool notify_abnormal)
{
    struct keynode_progress p = {0, false};
    int seen = 0;
    bool told_abnormal = false;
    int told[5] = {0};
    for (int i = 0; i < len; i++) {
        int s = path[i];
        enum keynode want = KEYNODE_NONE;
        if (s == 5) {
            if (notify_abnormal && !told_abnormal) {
                want = KEYNODE_ABNORMAL;
                told_abnormal = true;
            }
        } else {
            int node = oracle_node_of(s);
            if (node > seen)
                want = (enum keynode)node;
            if (oracle_progress_of(s) > seen)
                seen = oracle_progress_of(s);
        }
        enum keynode got = keynode_decide(&p, s, notify_abnormal);
        if (got != want)
            fail_msg("path [%d %d %d %d %d] step %d (status %d, abnormal %d): got %d, want %d",
                     path[0], path[1], path[2], path[3], path[4], i, s, notify_abnormal,
                     (int)got, (int)want);
        told[got]++;
        assert_int_equal(p.rank, seen);
        assert_int_equal(p.abnormal_told, told_abnormal);
    }
    for (int n = KEYNODE_COLLECTED; n <= KEYNODE_ABNORMAL; n++)
        assert_in_range(told[n], 0, 1);
}

static void test_every_path(void **state)
{
    (void)state;
    int path[5];
    int total = 7 * 7 * 7 * 7 * 7;
    for (int code = 0; code < total; code++) {
        int c = code;
        for (int i = 0; i < 5; i++) {
            path[i] = c % 7;
            c /= 7;
        }
        check_path(path, 5, false);
        check_path(path, 5, true);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rank),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_normal_path),
        cmocka_unit_test(test_jump_to_signed),
        cmocka_unit_test(test_jump_to_dispatch),
        cmocka_unit_test(test_transport_passes_collected),
        cmocka_unit_test(test_status_zero),
        cmocka_unit_test(test_binding_made_in_dispatch),
        cmocka_unit_test(test_abnormal_off),
        cmocka_unit_test(test_abnormal_on),
        cmocka_unit_test(test_every_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
