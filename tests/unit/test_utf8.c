/* Unit tests of src/base/utf8.c: code point counts and what is not well-formed UTF-8 (RFC 3629). */
#include "base/utf8.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* utf8_count of a literal, its length taken without the terminating NUL */
#define COUNT(lit) utf8_count(lit, sizeof(lit) - 1)

static void test_ascii(void **state)
{
    (void)state;
    assert_int_equal(COUNT(""), 0);
    assert_int_equal(COUNT("a"), 1);
    assert_int_equal(COUNT("hello, world"), 12);
    assert_int_equal(COUNT("\x7f"), 1);
    /* the length is what counts, not a NUL */
    assert_int_equal(utf8_count("a\0b", 3), 3);
    assert_int_equal(utf8_count("abcdef", 3), 3);
    assert_int_equal(utf8_count("abc", 0), 0);
}

static void test_multibyte(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xc3\xa9"), 1);                 /* é, 2 bytes */
    assert_int_equal(COUNT("\xe4\xb8\xad\xe6\x96\x87"), 2); /* 中文, 3 bytes each */
    assert_int_equal(COUNT("\xe9\xa1\xba\xe4\xb8\xb0\xe9\x80\x9f\xe8\xbf\x90"), 4); /* 顺丰速运 */
    assert_int_equal(COUNT("\xf0\x9f\x98\x80"), 1); /* U+1F600, 4 bytes */
    assert_int_equal(COUNT("a\xe4\xb8\xad\xf0\x9f\x98\x80z"), 4);
    /* 40 CJK characters are 120 bytes and count 40 */
    char s[200];
    for (int i = 0; i < 40; i++)
        memcpy(s + 3 * i, "\xe5\x95\x86", 3); /* 商 */
    assert_int_equal(utf8_count(s, 120), 40);
    memcpy(s + 120, "\xe5\x95\x86", 3);
    assert_int_equal(utf8_count(s, 123), 41);
    /* cutting inside a character is a truncation */
    assert_int_equal(utf8_count(s, 119), -1);
}

static void test_boundaries(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xc2\x80"), 1);         /* U+0080, smallest 2-byte */
    assert_int_equal(COUNT("\xdf\xbf"), 1);         /* U+07FF */
    assert_int_equal(COUNT("\xe0\xa0\x80"), 1);     /* U+0800, smallest 3-byte */
    assert_int_equal(COUNT("\xed\x9f\xbf"), 1);     /* U+D7FF, just below the surrogates */
    assert_int_equal(COUNT("\xee\x80\x80"), 1);     /* U+E000, just above them */
    assert_int_equal(COUNT("\xef\xbf\xbf"), 1);     /* U+FFFF */
    assert_int_equal(COUNT("\xf0\x90\x80\x80"), 1); /* U+10000, smallest 4-byte */
    assert_int_equal(COUNT("\xf4\x8f\xbf\xbf"), 1); /* U+10FFFF, the last code point */
}

static void test_overlong(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xc0\x80"), -1);         /* U+0000 in 2 bytes */
    assert_int_equal(COUNT("\xc0\xaf"), -1);         /* '/' in 2 bytes */
    assert_int_equal(COUNT("\xc1\xbf"), -1);         /* U+007F in 2 bytes */
    assert_int_equal(COUNT("\xe0\x80\x80"), -1);     /* U+0000 in 3 bytes */
    assert_int_equal(COUNT("\xe0\x80\xaf"), -1);     /* '/' in 3 bytes */
    assert_int_equal(COUNT("\xe0\x9f\xbf"), -1);     /* U+07FF in 3 bytes */
    assert_int_equal(COUNT("\xf0\x80\x80\x80"), -1); /* U+0000 in 4 bytes */
    assert_int_equal(COUNT("\xf0\x8f\xbf\xbf"), -1); /* U+FFFF in 4 bytes */
    assert_int_equal(COUNT("ok\xc0\x80ok"), -1);
}

static void test_surrogates(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xed\xa0\x80"), -1); /* U+D800 */
    assert_int_equal(COUNT("\xed\xad\xbf"), -1); /* U+DB7F */
    assert_int_equal(COUNT("\xed\xb0\x80"), -1); /* U+DC00 */
    assert_int_equal(COUNT("\xed\xbf\xbf"), -1); /* U+DFFF */
    /* a CESU-8 pair for U+1F600 */
    assert_int_equal(COUNT("\xed\xa0\xbd\xed\xb8\x80"), -1);
}

static void test_past_max(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xf4\x90\x80\x80"), -1); /* U+110000 */
    assert_int_equal(COUNT("\xf5\x80\x80\x80"), -1);
    assert_int_equal(COUNT("\xf7\xbf\xbf\xbf"), -1);         /* U+1FFFFF */
    assert_int_equal(COUNT("\xf8\x88\x80\x80\x80"), -1);     /* old 5-byte form */
    assert_int_equal(COUNT("\xfc\x84\x80\x80\x80\x80"), -1); /* old 6-byte form */
    assert_int_equal(COUNT("\xfe"), -1);
    assert_int_equal(COUNT("\xff"), -1);
}

static void test_truncated_and_stray(void **state)
{
    (void)state;
    assert_int_equal(COUNT("\xc3"), -1);
    assert_int_equal(COUNT("\xe4\xb8"), -1);
    assert_int_equal(COUNT("\xf0\x9f\x98"), -1);
    assert_int_equal(COUNT("abc\xe4"), -1);
    assert_int_equal(COUNT("\xe4\xb8z"), -1); /* ASCII where a continuation should be */
    assert_int_equal(COUNT("\xe4\x41\xad"), -1);
    assert_int_equal(COUNT("\xf0\x9f\x98\xc3\xa9"), -1);
    assert_int_equal(COUNT("\x80"), -1); /* a lone continuation byte */
    assert_int_equal(COUNT("a\xbf"), -1);
    assert_int_equal(COUNT("\xc3\xa9\xa9"), -1); /* one continuation too many */
    /* a well-formed character with its last byte outside len */
    assert_int_equal(utf8_count("\xe4\xb8\xad", 2), -1);
}

static void test_has_control(void **state)
{
    (void)state;
    assert_false(utf8_has_control("", 0));
    assert_false(utf8_has_control("plain text", 10));
    assert_false(utf8_has_control(" ", 1));                    /* U+0020 is not a control */
    assert_false(utf8_has_control("\x7f", 1));                 /* only U+0000–U+001F count */
    assert_false(utf8_has_control("\xe4\xb8\xad\xc2\x80", 5)); /* U+0080 is not in the range */
    assert_true(utf8_has_control("a\x1f", 2));
    assert_true(utf8_has_control("\x01", 1));
    assert_true(utf8_has_control("a\nb", 3));
    assert_true(utf8_has_control("a\tb", 3));
    assert_true(utf8_has_control("a\rb", 3));
    assert_true(utf8_has_control("a\0b", 3));    /* an embedded NUL within len */
    assert_false(utf8_has_control("ab\x01", 2)); /* past len is not looked at */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii),
        cmocka_unit_test(test_multibyte),
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_overlong),
        cmocka_unit_test(test_surrogates),
        cmocka_unit_test(test_past_max),
        cmocka_unit_test(test_truncated_and_stray),
        cmocka_unit_test(test_has_control),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
