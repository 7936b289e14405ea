/* Unit tests of src/base/error.c: every row of SPEC §2.1 and the error value's detail. */
#include "base/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* SPEC §2.1, copied by hand: the table in error.h must say exactly this. */
static const struct {
    enum wb_code code;
    int number;
    const char *message;
} spec[] = {
    {WB_OK, 0, "ok"},
    {WB_SYSTEM, -1, "system error"},
    {WB_INVALID_CREDENTIAL, 40001, "invalid credential, access_token is invalid or not latest"},
    {WB_INVALID_GRANT_TYPE, 40002, "invalid grant_type"},
    {WB_INVALID_OPENID, 40003, "invalid openid"},
    {WB_INVALID_APPID, 40013, "invalid appid"},
    {WB_INVALID_APPSECRET, 40125, "invalid appsecret"},
    {WB_TOKEN_MISSING, 41001, "access_token missing"},
    {WB_APPID_MISSING, 41002, "appid missing"},
    {WB_APPSECRET_MISSING, 41004, "appsecret missing"},
    {WB_TOKEN_EXPIRED, 42001, "access_token expired"},
    {WB_REQUIRE_POST, 43002, "require POST method"},
    {WB_EMPTY_POST, 44002, "empty post data"},
    {WB_DAILY_LIMIT, 45009, "reach max api daily quota limit"},
    {WB_DATA_FORMAT, 47001, "data format error"},
    {WB_UNAUTHORIZED, 48001, "api unauthorized"},
    {WB_INVALID_URL, 40066, "invalid url"},
    {WB_RISKY_CONTENT, 87014, "risky content"},
    {WB_INVALID_WAYBILL_TOKEN, 9300507,
     "invalid token, can't decryption or decryption result is different from the plaintext"},
    {WB_OUT_OF_QUOTA, 9300513, "out of quota"},
    {WB_INVALID_SHOP_ARGS, 9300534, "invalid shop args"},
    {WB_WAYBILL_PURGED, 9300559, "waybill not exist"},
    {WB_MAX_MODIFY, 9300560, "reach max modify count"},
    {WB_INVALID_IMG_URL, 9300561, "invalid goods_img_url"},
    {WB_WAYBILL_UNKNOWN, 931023, "waybill not exist"},
};
#define NSPEC (sizeof spec / sizeof spec[0])

static void test_every_row(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPEC; i++) {
        if (wb_code_number(spec[i].code) != spec[i].number)
            fail_msg("errcode of row %zu: want %d, got %d", i, spec[i].number,
                     wb_code_number(spec[i].code));
        assert_string_equal(wb_code_message(spec[i].code), spec[i].message);
    }
}

static void test_table_has_no_extra_rows(void **state)
{
    (void)state;
    size_t rows = 0;
#define XX(name, code, msg) rows++;
    WB_ERRORS(XX)
#undef XX
    assert_int_equal(rows, NSPEC);
    /* every errcode number appears once */
    int numbers[] = {
#define XX(name, code, msg) code,
        WB_ERRORS(XX)
#undef XX
    };
    for (size_t i = 0; i < rows; i++)
        for (size_t j = i + 1; j < rows; j++)
            if (numbers[i] == numbers[j])
                fail_msg("errcode %d appears twice", numbers[i]);
}

static void test_err_set(void **state)
{
    (void)state;
    struct wb_err e;
    wb_err_clear(&e);
    assert_int_equal(e.code, WB_OK);
    assert_string_equal(e.detail, "");
    assert_int_equal(wb_err_set(&e, WB_DATA_FORMAT, "%s is longer than %d characters",
                                "goods_info.detail_list[2].goods_name", 40),
                     WB_DATA_FORMAT);
    assert_int_equal(e.code, WB_DATA_FORMAT);
    assert_string_equal(e.detail,
                        "goods_info.detail_list[2].goods_name is longer than 40 characters");
    /* NULL clears a previous detail */
    assert_int_equal(wb_err_set(&e, WB_SYSTEM, NULL), WB_SYSTEM);
    assert_string_equal(e.detail, "");
    wb_err_set(&e, WB_OUT_OF_QUOTA, "x");
    wb_err_clear(&e);
    assert_int_equal(e.code, WB_OK);
    assert_string_equal(e.detail, "");
}

static void test_err_set_truncates(void **state)
{
    (void)state;
    struct wb_err e;
    char long_text[WB_DETAIL_MAX * 2];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    wb_err_set(&e, WB_DATA_FORMAT, "%s", long_text);
    assert_int_equal(strlen(e.detail), WB_DETAIL_MAX - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_row),
        cmocka_unit_test(test_table_has_no_extra_rows),
        cmocka_unit_test(test_err_set),
        cmocka_unit_test(test_err_set_truncates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
