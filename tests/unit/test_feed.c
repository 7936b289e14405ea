/* Unit tests of src/domain/feed.c: the carrier feed's body and per-event checks (SPEC §5.3). */
#include "domain/feed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NOW INT64_C(1764374400)

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!v)
        fail_msg("bad test JSON %s: %s", text, je.text);
    return v;
}

/* Parses one event given as JSON text; returns the code and fills out. */
static enum wb_code check(const char *text, struct feed_event *out, struct wb_err *e)
{
    json_t *v = parse(text);
    wb_err_clear(e);
    enum wb_code rc = feed_event_parse(v, NOW, out, e);
    json_decref(v);
    return rc;
}

static void expect_reject(const char *text, const char *detail_part)
{
    struct feed_event ev;
    struct wb_err e;
    enum wb_code rc = check(text, &ev, &e);
    if (rc != WB_DATA_FORMAT)
        fail_msg("expected 47001 for %s, got code %d", text, (int)rc);
    if (detail_part && !strstr(e.detail, detail_part))
        fail_msg("detail of %s should mention '%s': '%s'", text, detail_part, e.detail);
}

static void expect_ok(const char *text, struct feed_event *ev)
{
    struct wb_err e;
    enum wb_code rc = check(text, ev, &e);
    if (rc != WB_OK)
        fail_msg("expected %s to pass, got code %d: %s", text, (int)rc, e.detail);
}

static enum wb_code events_array(const char *text, size_t *count)
{
    json_t *body = parse(text);
    const json_t *list = NULL;
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code rc = feed_events_array(body, &list, &e);
    *count = rc == WB_OK ? json_array_size(list) : 0;
    if (rc != WB_OK && !e.detail[0])
        fail_msg("a refused body needs a detail: %s", text);
    json_decref(body);
    return rc;
}

static void test_events_array(void **state)
{
    (void)state;
    size_t n = 0;
    assert_int_equal(events_array("{\"events\":[]}", &n), WB_OK);
    assert_int_equal(n, 0);
    assert_int_equal(events_array("{\"events\":[{},1,\"x\"],\"other\":1}", &n), WB_OK);
    assert_int_equal(n, 3);
    assert_int_equal(events_array("{}", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("{\"events\":null}", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("{\"events\":{}}", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("{\"events\":\"[]\"}", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("{\"Events\":[]}", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("[]", &n), WB_DATA_FORMAT);
    assert_int_equal(events_array("[{\"events\":[]}]", &n), WB_DATA_FORMAT);
}

static void test_events_limit(void **state)
{
    (void)state;
    for (size_t size = FEED_MAX_EVENTS - 1; size <= FEED_MAX_EVENTS + 1; size++) {
        json_t *list = json_array();
        for (size_t i = 0; i < size; i++)
            json_array_append_new(list, json_object());
        json_t *body = json_pack("{s:o}", "events", list);
        const json_t *got = NULL;
        struct wb_err e;
        wb_err_clear(&e);
        enum wb_code rc = feed_events_array(body, &got, &e);
        if (size <= 1000) {
            assert_int_equal(rc, WB_OK);
            assert_int_equal(json_array_size(got), size);
        } else {
            assert_int_equal(rc, WB_DATA_FORMAT);
            assert_non_null(strstr(e.detail, "1000"));
        }
        json_decref(body);
    }
}

static void test_full_event(void **state)
{
    (void)state;
    struct feed_event ev;
    expect_ok("{\"event_id\":\"e-1\",\"waybill_id\":\"SF1234567890\",\"action_time\":1764370800,"
              "\"action_type\":100001,\"status\":1,\"action_msg\":\"Collected at Shenzhen\","
              "\"receiver_phone_tail\":\"6566\",\"unknown\":{\"x\":[1]}}",
              &ev);
    assert_string_equal(ev.event_id, "e-1");
    assert_string_equal(ev.waybill_id, "SF1234567890");
    assert_int_equal(ev.action_time, 1764370800);
    assert_int_equal(ev.action_type, 100001);
    assert_int_equal(ev.status, 1);
    assert_string_equal(ev.action_msg, "Collected at Shenzhen");
    assert_string_equal(ev.phone_tail, "6566");
    assert_string_equal(ev.carrier, "");
}

static void test_minimal_event(void **state)
{
    (void)state;
    struct feed_event ev;
    expect_ok("{\"event_id\":\"x\",\"waybill_id\":\"W\",\"action_time\":0,\"status\":3}", &ev);
    assert_int_equal(ev.action_type, 0); /* the trace shows 0 without action_type */
    assert_int_equal(ev.status, 3);
    assert_string_equal(ev.action_msg, "");
    assert_string_equal(ev.phone_tail, "");
    /* nulls count as absent */
    expect_ok("{\"event_id\":\"x\",\"waybill_id\":\"W\",\"action_time\":5,\"status\":2,"
              "\"action_type\":null,\"action_msg\":null,\"receiver_phone_tail\":null}",
              &ev);
    assert_int_equal(ev.action_type, 0);
    assert_int_equal(ev.status, 2);
    expect_ok("{\"event_id\":\"x\",\"waybill_id\":\"W\",\"action_time\":5,\"status\":null,"
              "\"action_type\":200001}",
              &ev);
    assert_int_equal(ev.status, 2);
}

static void test_mapping(void **state)
{
    (void)state;
    static const struct {
        long type;
        int status;
    } map[] = {{100001, 1}, {100002, 1}, {100003, 1}, {200001, 2}, {300002, 3},
               {300003, 4}, {300004, 5}, {400001, 5}, {400002, 5}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        char text[200];
        snprintf(text, sizeof text,
                 "{\"event_id\":\"m%zu\",\"waybill_id\":\"W1\",\"action_time\":1,"
                 "\"action_type\":%ld}",
                 i, map[i].type);
        struct feed_event ev;
        expect_ok(text, &ev);
        assert_int_equal(ev.status, map[i].status);
        assert_int_equal(ev.action_type, map[i].type);
    }
}

static void test_explicit_status_wins(void **state)
{
    (void)state;
    struct feed_event ev;
    /* 300003 alone is 4; with status 6 it is signed on behalf */
    expect_ok("{\"event_id\":\"a\",\"waybill_id\":\"W\",\"action_time\":1,\"action_type\":300003,"
              "\"status\":6}",
              &ev);
    assert_int_equal(ev.status, 6);
    assert_int_equal(ev.action_type, 300003);
    expect_ok("{\"event_id\":\"a\",\"waybill_id\":\"W\",\"action_time\":1,\"action_type\":100001,"
              "\"status\":5}",
              &ev);
    assert_int_equal(ev.status, 5);
    /* an unknown action_type is fine with a status, and kept for the trace */
    expect_ok("{\"event_id\":\"a\",\"waybill_id\":\"W\",\"action_time\":1,\"action_type\":777777,"
              "\"status\":2}",
              &ev);
    assert_int_equal(ev.status, 2);
    assert_int_equal(ev.action_type, 777777);
}

static void test_status_range(void **state)
{
    (void)state;
    struct feed_event ev;
    for (int s = 1; s <= 6; s++) {
        char text[160];
        snprintf(text, sizeof text,
                 "{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":%d}", s);
        expect_ok(text, &ev);
        assert_int_equal(ev.status, s);
    }
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":0}",
                  "status");
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":7}",
                  "status");
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":-1}",
                  "status");
    /* an out-of-range status is not rescued by a good action_type */
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":0,"
                  "\"action_type\":100001}",
                  "status");
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":\"1\"}",
                  "status");
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1.5}",
                  "status");
    expect_reject("{\"event_id\":\"s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":true}",
                  "status");
}

static void test_action_type_without_status(void **state)
{
    (void)state;
    expect_reject("{\"event_id\":\"t\",\"waybill_id\":\"W\",\"action_time\":1,"
                  "\"action_type\":999999}",
                  "999999");
    expect_reject("{\"event_id\":\"t\",\"waybill_id\":\"W\",\"action_time\":1,"
                  "\"action_type\":300001}",
                  NULL);
    expect_reject("{\"event_id\":\"t\",\"waybill_id\":\"W\",\"action_time\":1,"
                  "\"action_type\":\"100001\"}",
                  "action_type");
    expect_reject("{\"event_id\":\"t\",\"waybill_id\":\"W\",\"action_time\":1}", "status");
    expect_reject("{\"event_id\":\"t\",\"waybill_id\":\"W\",\"action_time\":1,"
                  "\"action_type\":null,\"status\":null}",
                  "status");
}

static void test_missing_fields(void **state)
{
    (void)state;
    expect_reject("{\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}", "event_id");
    expect_reject("{\"event_id\":null,\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}",
                  "event_id");
    expect_reject("{\"event_id\":\"e\",\"action_time\":1,\"status\":1}", "waybill_id");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"status\":1}", "action_time");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":null,\"status\":1}",
                  "action_time");
    struct feed_event ev;
    struct wb_err e;
    json_t *not_object = parse("[1]");
    assert_int_equal(feed_event_parse(not_object, NOW, &ev, &e), WB_DATA_FORMAT);
    json_decref(not_object);
    json_t *scalar = json_integer(4);
    assert_int_equal(feed_event_parse(scalar, NOW, &ev, &e), WB_DATA_FORMAT);
    json_decref(scalar);
}

static void test_field_shapes(void **state)
{
    (void)state;
    struct feed_event ev;
    char text[1200];
    /* event_id: 1–128 printable ASCII */
    char id[130];
    memset(id, 'e', 128);
    id[128] = '\0';
    snprintf(text, sizeof text,
             "{\"event_id\":\"%s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}", id);
    expect_ok(text, &ev);
    assert_string_equal(ev.event_id, id);
    id[128] = 'e';
    id[129] = '\0';
    snprintf(text, sizeof text,
             "{\"event_id\":\"%s\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}", id);
    expect_reject(text, "event_id");
    expect_reject("{\"event_id\":\"\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}",
                  "event_id");
    expect_reject("{\"event_id\":\"a b\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}",
                  "event_id");
    expect_reject("{\"event_id\":\"\\u00e9\",\"waybill_id\":\"W\",\"action_time\":1,"
                  "\"status\":1}",
                  "event_id");
    expect_reject("{\"event_id\":7,\"waybill_id\":\"W\",\"action_time\":1,\"status\":1}",
                  "event_id");
    /* waybill_id: 1–64 of [A-Za-z0-9_-] */
    char wb[70];
    memset(wb, 'W', 64);
    wb[64] = '\0';
    snprintf(text, sizeof text,
             "{\"event_id\":\"e\",\"waybill_id\":\"%s\",\"action_time\":1,\"status\":1}", wb);
    expect_ok(text, &ev);
    wb[64] = 'W';
    wb[65] = '\0';
    snprintf(text, sizeof text,
             "{\"event_id\":\"e\",\"waybill_id\":\"%s\",\"action_time\":1,\"status\":1}", wb);
    expect_reject(text, "waybill_id");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"\",\"action_time\":1,\"status\":1}",
                  "waybill_id");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"SF 1\",\"action_time\":1,\"status\":1}",
                  "waybill_id");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":123,\"action_time\":1,\"status\":1}",
                  "waybill_id");
    expect_ok("{\"event_id\":\"e\",\"waybill_id\":\"a_b-C9\",\"action_time\":1,\"status\":1}", &ev);
    /* action_time: integer unix seconds */
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":\"1\",\"status\":1}",
                  "action_time");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1.5,\"status\":1}",
                  "action_time");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":-1,\"status\":1}",
                  "action_time");
    /* action_msg: a string of at most 256 characters (code points) */
    char msg[1100];
    size_t at = 0;
    for (int i = 0; i < 256; i++) {
        memcpy(msg + at, "\xe5\x95\x86", 3); /* 商 */
        at += 3;
    }
    msg[at] = '\0';
    snprintf(text, sizeof text,
             "{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1,"
             "\"action_msg\":\"%s\"}",
             msg);
    expect_ok(text, &ev);
    assert_string_equal(ev.action_msg, msg);
    memcpy(msg + at, "x", 2);
    snprintf(text, sizeof text,
             "{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1,"
             "\"action_msg\":\"%s\"}",
             msg);
    expect_reject(text, "action_msg");
    expect_reject("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1,"
                  "\"action_msg\":5}",
                  "action_msg");
    /* receiver_phone_tail: 4 digits */
    expect_ok("{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1,"
              "\"receiver_phone_tail\":\"0000\"}",
              &ev);
    assert_string_equal(ev.phone_tail, "0000");
    static const char *bad_tails[] = {"\"000\"", "\"00000\"", "\"00a0\"",
                                      "\"\"",    "1234",      "\"12 4\""};
    for (size_t i = 0; i < sizeof bad_tails / sizeof bad_tails[0]; i++) {
        snprintf(text, sizeof text,
                 "{\"event_id\":\"e\",\"waybill_id\":\"W\",\"action_time\":1,\"status\":1,"
                 "\"receiver_phone_tail\":%s}",
                 bad_tails[i]);
        expect_reject(text, "receiver_phone_tail");
    }
}

static void test_future_slack(void **state)
{
    (void)state;
    struct feed_event ev;
    char text[200];
    snprintf(text, sizeof text,
             "{\"event_id\":\"f\",\"waybill_id\":\"W\",\"action_time\":%lld,\"status\":1}",
             (long long)(NOW + 3600));
    expect_ok(text, &ev);
    assert_int_equal(ev.action_time, NOW + 3600);
    snprintf(text, sizeof text,
             "{\"event_id\":\"f\",\"waybill_id\":\"W\",\"action_time\":%lld,\"status\":1}",
             (long long)(NOW + 3601));
    expect_reject(text, "ahead");
    /* the past is always fine */
    snprintf(text, sizeof text,
             "{\"event_id\":\"f\",\"waybill_id\":\"W\",\"action_time\":%lld,\"status\":1}",
             (long long)(NOW - 86400 * 365));
    expect_ok(text, &ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_array),   cmocka_unit_test(test_events_limit),
        cmocka_unit_test(test_full_event),     cmocka_unit_test(test_minimal_event),
        cmocka_unit_test(test_mapping),        cmocka_unit_test(test_explicit_status_wins),
        cmocka_unit_test(test_status_range),   cmocka_unit_test(test_action_type_without_status),
        cmocka_unit_test(test_missing_fields), cmocka_unit_test(test_field_shapes),
        cmocka_unit_test(test_future_slack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
