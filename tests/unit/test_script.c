/* Unit tests of src/domain/script.c: the sandbox carrier's scripts by last digit (SPEC §8). */
#include "domain/script.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define HOUR 3600
#define START INT64_C(1764374400)

/* One expected event: its action_time from the start, action_type and status. */
struct want {
    int64_t at;
    long type;
    int status;
};

static const struct want normal[4] = {
    {1 * HOUR, 100001, 1}, {6 * HOUR, 200001, 2}, {24 * HOUR, 300002, 3}, {26 * HOUR, 300003, 4}};

static void waybill_for(char digit, char out[WAYBILL_ID_SIZE])
{
    snprintf(out, WAYBILL_ID_SIZE, "WXTESTEXPRESS12345678901%c", digit);
}

/* The script of a digit as SPEC §8 lists it (digit 8 has its own check). */
static int expected_steps(char digit, struct want out[4])
{
    if (digit == '7')
        return 0;
    memcpy(out, normal, sizeof normal);
    if (digit == '5')
        out[3] = (struct want){26 * HOUR, 400002, 5};
    if (digit == '6')
        out[3] = (struct want){26 * HOUR, 300003, 6};
    return 4;
}

static void check_event(const struct feed_event *e, const char *waybill_id, const struct want *w,
                        const char *tail)
{
    assert_string_equal(e->waybill_id, waybill_id);
    assert_int_equal(e->action_time, START + w->at);
    assert_int_equal(e->action_type, w->type);
    assert_int_equal(e->status, w->status);
    assert_string_equal(e->phone_tail, tail);
    assert_string_equal(e->carrier, "");
    assert_true(e->event_id[0] != '\0');
    assert_true(e->action_msg[0] != '\0');
}

/* Digits 0–6 and 9: one event at each of +1 h, +6 h, +24 h, +26 h, delivered at its own time. */
static void test_single_scripts(void **state)
{
    (void)state;
    static const char digits[] = "01234569";
    static const int64_t steps[] = {1 * HOUR, 6 * HOUR, 24 * HOUR, 26 * HOUR};
    for (const char *d = digits; *d; d++) {
        char id[WAYBILL_ID_SIZE];
        waybill_for(*d, id);
        struct want want[4];
        assert_int_equal(expected_steps(*d, want), 4);
        const char *tail = *d == '9' ? "0000" : "";
        struct feed_event out[SCRIPT_MAX_EVENTS];
        int64_t next = -1;
        /* before the first step: nothing, next is +1 h */
        assert_int_equal(script_due(id, START, START, out, &next), 0);
        assert_int_equal(next, START + HOUR);
        assert_int_equal(script_first_at(id, START), START + HOUR);
        for (int k = 0; k < 4; k++) {
            /* just before step k: k events; just at it: k + 1 */
            int n = script_due(id, START, START + steps[k] - 1, out, &next);
            assert_int_equal(n, k);
            assert_int_equal(next, START + steps[k]);
            n = script_due(id, START, START + steps[k], out, &next);
            assert_int_equal(n, k + 1);
            assert_int_equal(next, k < 3 ? START + steps[k + 1] : 0);
            for (int i = 0; i < n; i++)
                check_event(&out[i], id, &want[i], tail);
        }
        /* long after: still the same four, done */
        assert_int_equal(script_due(id, START, START + 400 * HOUR, out, &next), 4);
        assert_int_equal(next, 0);
        /* event ids: distinct per step, stable between runs */
        struct feed_event again[SCRIPT_MAX_EVENTS];
        assert_int_equal(script_due(id, START, START + 26 * HOUR, again, &next), 4);
        for (int i = 0; i < 4; i++) {
            assert_string_equal(out[i].event_id, again[i].event_id);
            for (int j = 0; j < i; j++)
                assert_string_not_equal(out[i].event_id, out[j].event_id);
        }
    }
}

static void test_nothing_happens(void **state)
{
    (void)state;
    char id[WAYBILL_ID_SIZE];
    waybill_for('7', id);
    struct feed_event out[SCRIPT_MAX_EVENTS];
    int64_t next = -1;
    for (int64_t t = 0; t <= 30 * 24 * HOUR; t += 7 * HOUR) {
        assert_int_equal(script_due(id, START, START + t, out, &next), 0);
        assert_int_equal(next, 0);
    }
    assert_int_equal(script_first_at(id, START), 0);
}

/* Digit 8: each event twice (same event_id), in pairs newest first: (+6 h, +1 h) at +6 h and
 * (+26 h, +24 h) at +26 h. */
static void test_pairs_newest_first(void **state)
{
    (void)state;
    char id[WAYBILL_ID_SIZE];
    waybill_for('8', id);
    struct feed_event out[SCRIPT_MAX_EVENTS];
    int64_t next = -1;
    assert_int_equal(script_first_at(id, START), START + 6 * HOUR);
    assert_int_equal(script_due(id, START, START + HOUR, out, &next), 0);
    assert_int_equal(next, START + 6 * HOUR);
    assert_int_equal(script_due(id, START, START + 6 * HOUR - 1, out, &next), 0);

    int n = script_due(id, START, START + 6 * HOUR, out, &next);
    assert_int_equal(n, 4);
    assert_int_equal(next, START + 26 * HOUR);
    /* newest first; each twice with the same event_id */
    int64_t newest_first[4] = {6 * HOUR, 6 * HOUR, 1 * HOUR, 1 * HOUR};
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i].action_time, START + newest_first[i]);
    assert_string_equal(out[0].event_id, out[1].event_id);
    assert_string_equal(out[2].event_id, out[3].event_id);
    assert_string_not_equal(out[0].event_id, out[2].event_id);
    check_event(&out[0], id, &normal[1], "");
    check_event(&out[2], id, &normal[0], "");

    assert_int_equal(script_due(id, START, START + 24 * HOUR, out, &next), 4);
    assert_int_equal(next, START + 26 * HOUR);
    assert_int_equal(script_due(id, START, START + 26 * HOUR - 1, out, &next), 4);

    n = script_due(id, START, START + 26 * HOUR, out, &next);
    assert_int_equal(n, 8);
    assert_int_equal(next, 0);
    int64_t late[4] = {26 * HOUR, 26 * HOUR, 24 * HOUR, 24 * HOUR};
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[4 + i].action_time, START + late[i]);
    assert_string_equal(out[4].event_id, out[5].event_id);
    assert_string_equal(out[6].event_id, out[7].event_id);
    check_event(&out[4], id, &normal[3], "");
    check_event(&out[6], id, &normal[2], "");
    /* four distinct event ids in all */
    const char *ids[4] = {out[0].event_id, out[2].event_id, out[4].event_id, out[6].event_id};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
}

/* The digit is the waybill's last character, whatever its length; the event ids of two waybills
 * differ. */
static void test_last_digit_and_ids(void **state)
{
    (void)state;
    struct feed_event a[SCRIPT_MAX_EVENTS], b[SCRIPT_MAX_EVENTS];
    int64_t next;
    assert_int_equal(script_due("WXTESTEXPRESS7", START, START + 30 * HOUR, a, &next), 0);
    assert_int_equal(script_due("WXTESTEXPRESS75", START, START + 30 * HOUR, a, &next), 4);
    assert_int_equal(a[3].status, 5);
    assert_int_equal(script_due("WXTESTEXPRESS57", START, START + 30 * HOUR, a, &next), 0);
    char long_id[WAYBILL_ID_SIZE];
    snprintf(long_id, sizeof long_id, "WXTESTEXPRESS%051d", 6);
    assert_int_equal(script_due(long_id, START, START + 30 * HOUR, a, &next), 4);
    assert_int_equal(a[3].status, 6);
    assert_string_equal(a[0].waybill_id, long_id);
    assert_int_equal(script_due("WXTESTEXPRESS10", START, START + 30 * HOUR, a, &next), 4);
    assert_int_equal(script_due("WXTESTEXPRESS20", START, START + 30 * HOUR, b, &next), 4);
    for (int i = 0; i < 4; i++)
        assert_string_not_equal(a[i].event_id, b[i].event_id);
}

/* The start moves the whole script. */
static void test_start_shifts(void **state)
{
    (void)state;
    struct feed_event out[SCRIPT_MAX_EVENTS];
    int64_t next;
    int64_t later = START + 12345;
    assert_int_equal(script_due("WXTESTEXPRESS1", later, START + 26 * HOUR, out, &next), 2);
    assert_int_equal(out[0].action_time, later + HOUR);
    assert_int_equal(out[1].action_time, later + 6 * HOUR);
    assert_int_equal(next, later + 24 * HOUR);
    assert_int_equal(script_first_at("WXTESTEXPRESS1", later), later + HOUR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_scripts),     cmocka_unit_test(test_nothing_happens),
        cmocka_unit_test(test_pairs_newest_first), cmocka_unit_test(test_last_digit_and_ids),
        cmocka_unit_test(test_start_shifts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
