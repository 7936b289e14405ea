/* Unit tests of src/base/text.c: bounded copies. */
#include "base/text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_fits(void **state)
{
    (void)state;
    char out[6];
    assert_true(text_copy(out, sizeof out, "hello"));
    assert_string_equal(out, "hello");
    assert_true(text_copy(out, sizeof out, ""));
    assert_string_equal(out, "");
}

static void test_cut_short(void **state)
{
    (void)state;
    char out[6];
    memset(out, 'x', sizeof out);
    assert_false(text_copy(out, sizeof out, "hello!"));
    assert_string_equal(out, "hello");
    char one[1];
    assert_false(text_copy(one, sizeof one, "a"));
    assert_string_equal(one, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_cut_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
