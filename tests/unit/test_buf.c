/* Unit tests of src/base/buf.c: the hard cap, the overflow flag and JSON string escaping. */
#include "base/buf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 10);
    assert_null(b.ptr);
    assert_true(buf_append(&b, "0123456789", 10));
    assert_int_equal(b.len, 10);
    assert_string_equal(b.ptr, "0123456789");
    assert_false(b.overflow);
    /* one byte past the cap is refused and leaves the buffer as it was */
    assert_false(buf_append(&b, "x", 1));
    assert_true(b.overflow);
    assert_false(b.oom);
    assert_int_equal(b.len, 10);
    assert_string_equal(b.ptr, "0123456789");
    /* appending nothing still fits */
    assert_true(buf_append(&b, "", 0));
    buf_release(&b);
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 10);
    assert_false(b.overflow);
}

static void test_cap_in_steps(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 5);
    assert_true(buf_puts(&b, "abc"));
    assert_false(buf_puts(&b, "def"));
    assert_true(b.overflow);
    assert_string_equal(b.ptr, "abc");
    assert_true(buf_puts(&b, "de"));
    assert_string_equal(b.ptr, "abcde");
    assert_false(buf_printf(&b, "%d", 1));
    buf_release(&b);
}

static void test_zero_cap(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 0);
    assert_true(buf_puts(&b, ""));
    assert_false(buf_puts(&b, "a"));
    assert_true(b.overflow);
    buf_release(&b);
}

static void test_growth(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1 << 20);
    char chunk[1000];
    memset(chunk, 'z', sizeof chunk);
    for (int i = 0; i < 100; i++)
        assert_true(buf_append(&b, chunk, sizeof chunk));
    assert_int_equal(b.len, 100000);
    assert_true(b.cap > b.len);
    assert_int_equal(b.ptr[b.len], '\0');
    assert_int_equal(b.ptr[99999], 'z');
    buf_release(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 4096);
    assert_true(buf_printf(&b, "%d-%s-%zu", -7, "x", (size_t)42));
    assert_string_equal(b.ptr, "-7-x-42");
    /* longer than the small stack buffer */
    char big[600];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_true(buf_printf(&b, "[%s]", big));
    assert_int_equal(b.len, 7 + 601);
    assert_int_equal(strlen(b.ptr), b.len);
    assert_int_equal(b.ptr[b.len - 1], ']');
    buf_release(&b);
    /* a long printf past the cap */
    buf_init(&b, 300);
    assert_false(buf_printf(&b, "%s", big));
    assert_true(b.overflow);
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_steal(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    char *p = buf_steal(&b); /* an empty buffer gives an empty string, not NULL */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    buf_puts(&b, "hello");
    p = buf_steal(&b);
    assert_string_equal(p, "hello");
    assert_null(b.ptr);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.max, 100);
    free(p);
    /* still usable after */
    assert_true(buf_puts(&b, "again"));
    assert_string_equal(b.ptr, "again");
    buf_release(&b);
}

static void expect_json(const char *in, const char *want)
{
    struct buf b;
    buf_init(&b, 4096);
    assert_true(buf_json_string(&b, in));
    assert_string_equal(b.ptr, want);
    buf_release(&b);
}

static void test_json_string(void **state)
{
    (void)state;
    expect_json("", "\"\"");
    expect_json("plain", "\"plain\"");
    expect_json("a\"b", "\"a\\\"b\"");
    expect_json("a\\b", "\"a\\\\b\"");
    expect_json("\"\\\"", "\"\\\"\\\\\\\"\"");
    expect_json("l1\nl2\tt\rr", "\"l1\\nl2\\tt\\rr\"");
    expect_json("\x01\x1f", "\"\\u0001\\u001f\"");
    expect_json("\x08\x0c", "\"\\u0008\\u000c\"");
    expect_json("\x7f", "\"\x7f\"");
    expect_json("/</script>", "\"/</script>\"");
    expect_json("\xe9\xa1\xba\xe4\xb8\xb0", "\"\xe9\xa1\xba\xe4\xb8\xb0\"");
    expect_json("end\\", "\"end\\\\\"");
}

static void test_json_string_appends(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 100);
    buf_puts(&b, "{\"k\":");
    assert_true(buf_json_string(&b, "v\n"));
    buf_puts(&b, "}");
    assert_string_equal(b.ptr, "{\"k\":\"v\\n\"}");
    buf_release(&b);
}

static void test_json_string_overflow(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 8);
    assert_false(buf_json_string(&b, "0123456789"));
    assert_true(b.overflow);
    assert_true(b.len <= 8);
    buf_release(&b);
    /* the escape is what does not fit */
    buf_init(&b, 4);
    assert_false(buf_json_string(&b, "a\x01"));
    assert_true(b.overflow);
    buf_release(&b);
    /* exactly fits: 2 quotes + 2 bytes of escape + 2 bytes */
    buf_init(&b, 6);
    assert_true(buf_json_string(&b, "a\nb"));
    assert_string_equal(b.ptr, "\"a\\nb\"");
    assert_false(b.overflow);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_cap_in_steps),
        cmocka_unit_test(test_zero_cap),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_steal),
        cmocka_unit_test(test_json_string),
        cmocka_unit_test(test_json_string_appends),
        cmocka_unit_test(test_json_string_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
