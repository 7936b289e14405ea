/* Unit tests of src/domain/quota.c: limits with overrides, and distinct counter names. */
#include "domain/quota.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static void test_defaults_match_spec(void **state)
{
    (void)state;
    /* SPEC §3 and §6.2 */
    assert_int_equal(QUOTA_APP_DAILY, 100000);
    assert_int_equal(QUOTA_USER_DAILY, 50);
    assert_int_equal(QUOTA_USER_DAILY_QUERY, 100);
    assert_int_equal(QUOTA_MAX_BINDINGS, 100);
    assert_int_equal(QUOTA_MAX_UPDATES, 10);
    assert_int_equal(QUOTA_TOKEN_DAILY, 2000);
    assert_int_equal(QUOTA_STABLE_DAILY, 10000);
    assert_int_equal(QUOTA_FORCE_DAILY, 20);
    assert_int_equal(QUOTA_FORCE_INTERVAL, 30);
}

static void test_limit(void **state)
{
    (void)state;
    assert_int_equal(quota_limit(LIMIT_DEFAULT, 50), 50);
    assert_int_equal(quota_limit(3, 50), 3);
    assert_int_equal(quota_limit(0, 50), 0); /* a penalty can lower a quota to nothing */
    assert_int_equal(quota_limit(1000000, 50), 1000000);
}

static void test_keys_distinct(void **state)
{
    (void)state;
    char k[8][QUOTA_KEY_SIZE];
    quota_key_app(k[0], "wx0123456789abcdef", FAMILY_MESSAGE);
    quota_key_app(k[1], "wx0123456789abcdef", FAMILY_QUERY);
    quota_key_app(k[2], "wxfedcba9876543210", FAMILY_MESSAGE);
    quota_key_user(k[3], "wx0123456789abcdef",
                   FAMILY_MESSAGE); /* an openid spelled like an appid */
    quota_key_user(k[4], "wx0123456789abcdef", FAMILY_QUERY);
    quota_key_token(k[5], "wx0123456789abcdef", false);
    quota_key_token(k[6], "wx0123456789abcdef", true);
    quota_key_user(k[7], "o2", FAMILY_MESSAGE);
    for (int i = 0; i < 8; i++)
        for (int j = i + 1; j < 8; j++)
            if (strcmp(k[i], k[j]) == 0)
                fail_msg("keys %d and %d are both \"%s\"", i, j, k[i]);
    /* the same inputs give the same key */
    char again[QUOTA_KEY_SIZE];
    quota_key_app(again, "wx0123456789abcdef", FAMILY_MESSAGE);
    assert_string_equal(again, k[0]);
}

static void test_keys_fit_longest_ids(void **state)
{
    (void)state;
    char openid[OPENID_SIZE], appid[APPID_SIZE], k[QUOTA_KEY_SIZE];
    memset(openid, 'o', OPENID_SIZE - 1);
    openid[OPENID_SIZE - 1] = '\0';
    memset(appid, 'a', APPID_SIZE - 1);
    appid[APPID_SIZE - 1] = '\0';
    quota_key_user(k, openid, FAMILY_QUERY);
    assert_non_null(strstr(k, openid));
    assert_int_equal(k[strlen(k) - 1], 'q');
    quota_key_app(k, appid, FAMILY_QUERY);
    assert_non_null(strstr(k, appid));
    assert_int_equal(k[strlen(k) - 1], 'q');
    quota_key_token(k, appid, true);
    assert_non_null(strstr(k, appid));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_match_spec),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_keys_distinct),
        cmocka_unit_test(test_keys_fit_longest_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
