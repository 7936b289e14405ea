/* Unit tests of src/domain/content.c: parsing the forbidden-terms file, matching, goods checks. */
#include "domain/content.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static struct terms *parse(const char *text)
{
    struct terms *t = terms_parse(text, strlen(text));
    assert_non_null(t);
    return t;
}

/* detail_list from a JSON literal; the caller frees it with json_decref. */
static json_t *list(const char *text)
{
    json_error_t jerr;
    json_t *v = json_loads(text, 0, &jerr);
    if (!v)
        fail_msg("bad JSON in the test: %s", jerr.text);
    return v;
}

static bool contains_folded(const char *hay, const char *needle)
{
    char a[WB_DETAIL_MAX + 1], b[WB_DETAIL_MAX + 1];
    size_t i;
    for (i = 0; hay[i] && i < WB_DETAIL_MAX; i++)
        a[i] = hay[i] >= 'A' && hay[i] <= 'Z' ? (char)(hay[i] - 'A' + 'a') : hay[i];
    a[i] = '\0';
    for (i = 0; needle[i] && i < WB_DETAIL_MAX; i++)
        b[i] = needle[i] >= 'A' && needle[i] <= 'Z' ? (char)(needle[i] - 'A' + 'a') : needle[i];
    b[i] = '\0';
    return strstr(a, b) != NULL;
}

static void test_parse_lines(void **state)
{
    (void)state;
    struct terms *t = parse("casino\n代开发票\n");
    assert_int_equal(terms_count(t), 2);
    assert_true(terms_match(t, "casino"));
    assert_true(terms_match(t, "代开发票"));
    terms_free(t);

    t = parse("casino"); /* no final newline */
    assert_int_equal(terms_count(t), 1);
    assert_true(terms_match(t, "a casino"));
    terms_free(t);

    t = parse("");
    assert_int_equal(terms_count(t), 0);
    assert_false(terms_match(t, ""));
    assert_false(terms_match(t, "anything at all"));
    terms_free(t);

    /* one-character terms with no newline at the end: as many terms as the text allows */
    t = parse("a\nb\nc\nd\ne");
    assert_int_equal(terms_count(t), 5);
    assert_true(terms_match(t, "xex"));
    assert_false(terms_match(t, "xyz"));
    terms_free(t);

    t = parse("a\r\nb\r\nc\r\n");
    assert_int_equal(terms_count(t), 3);
    terms_free(t);
}

static void test_parse_crlf(void **state)
{
    (void)state;
    struct terms *t = parse("Casino\r\n代开发票\r\nfree money\r\n");
    assert_int_equal(terms_count(t), 3);
    /* the \r is not part of the term */
    assert_true(terms_match(t, "best casino in town"));
    assert_true(terms_match(t, "casino"));
    assert_true(terms_match(t, "正品代开发票"));
    assert_true(terms_match(t, "FREE MONEY!"));
    assert_false(terms_match(t, "free  money"));
    terms_free(t);

    /* mixed endings, a \r only at the very end */
    t = parse("one\ntwo\r\nthree\r");
    assert_int_equal(terms_count(t), 3);
    assert_true(terms_match(t, "xonex"));
    assert_true(terms_match(t, "two"));
    assert_true(terms_match(t, "three"));
    assert_false(terms_match(t, "thre"));
    terms_free(t);
}

static void test_parse_comments_and_blank_lines(void **state)
{
    (void)state;
    struct terms *t = parse("# advertising\n\ncasino\n\n\r\n#politics\n#\n代开发票\n\n");
    assert_int_equal(terms_count(t), 2);
    assert_true(terms_match(t, "Casino"));
    assert_true(terms_match(t, "代开发票"));
    /* comment text is not a term, nor is the '#' */
    assert_false(terms_match(t, "advertising"));
    assert_false(terms_match(t, "politics"));
    assert_false(terms_match(t, "# hash"));
    /* blank lines are not an empty term that matches everything */
    assert_false(terms_match(t, "harmless"));
    assert_false(terms_match(t, ""));
    terms_free(t);

    t = parse("\n\n\r\n\r\n# only comments\r\n");
    assert_int_equal(terms_count(t), 0);
    assert_false(terms_match(t, "x"));
    terms_free(t);

    /* a '#' that does not start the line is part of the term */
    t = parse("no#1\n");
    assert_int_equal(terms_count(t), 1);
    assert_true(terms_match(t, "we are NO#1"));
    assert_false(terms_match(t, "no 1"));
    terms_free(t);
}

static void test_match_ascii_case_insensitive(void **state)
{
    (void)state;
    struct terms *t = parse("CaSiNo\n");
    const char *hits[] = {"casino", "CASINO", "Casino", "cAsInO", "xxCASINOyy", "the casino"};
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++)
        if (!terms_match(t, hits[i]))
            fail_msg("\"%s\" should match CaSiNo", hits[i]);
    const char *misses[] = {"casin", "asino", "c asino", "cas1no", "", "CASIN0"};
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++)
        if (terms_match(t, misses[i]))
            fail_msg("\"%s\" should not match CaSiNo", misses[i]);
    terms_free(t);

    /* only letters fold: '@' (0x40) and '[' (0x5b) sit next to 'A' and 'Z' */
    t = parse("a@z\n");
    assert_true(terms_match(t, "A@Z"));
    assert_false(terms_match(t, "a`z"));
    assert_false(terms_match(t, "a@{"));
    terms_free(t);
    t = parse("[x]\n");
    assert_true(terms_match(t, "[X]"));
    assert_false(terms_match(t, "{x}"));
    terms_free(t);
}

static void test_match_non_ascii_not_folded(void **state)
{
    (void)state;
    struct terms *t = parse("café\n");
    assert_true(terms_match(t, "café"));
    assert_true(terms_match(t, "CAFé")); /* the ASCII letters fold */
    assert_false(terms_match(t, "CAFÉ")); /* É is not é */
    assert_false(terms_match(t, "cafÉ"));
    assert_false(terms_match(t, "cafe"));
    terms_free(t);

    t = parse("É\n");
    assert_true(terms_match(t, "École"));
    assert_false(terms_match(t, "école"));
    assert_false(terms_match(t, "E"));
    terms_free(t);

    /* Greek and Cyrillic capitals are not folded either */
    t = parse("σ\nж\n");
    assert_false(terms_match(t, "Σ"));
    assert_false(terms_match(t, "Ж"));
    assert_true(terms_match(t, "жσ"));
    terms_free(t);
}

static void test_match_cjk_substrings(void **state)
{
    (void)state;
    struct terms *t = parse("代开发票\n赌场\n");
    assert_true(terms_match(t, "代开发票"));
    assert_true(terms_match(t, "正品代开发票包邮"));
    assert_true(terms_match(t, "澳门赌场"));
    assert_true(terms_match(t, "ABC赌场XYZ"));
    assert_false(terms_match(t, "代开 发票"));
    assert_false(terms_match(t, "代开"));
    assert_false(terms_match(t, "发票"));
    assert_false(terms_match(t, "赌"));
    assert_false(terms_match(t, "开发"));
    terms_free(t);

    /* a shorter CJK term inside a longer text, and a term longer than the text */
    t = parse("发票\n");
    assert_true(terms_match(t, "代开发票"));
    assert_false(terms_match(t, "发"));
    terms_free(t);
}

static void test_match_positions(void **state)
{
    (void)state;
    struct terms *t = parse("aab\nxyz\n");
    assert_true(terms_match(t, "aaab"));   /* a false start just before the match */
    assert_true(terms_match(t, "xyz"));    /* the whole text */
    assert_true(terms_match(t, "xyzabc")); /* at the start */
    assert_true(terms_match(t, "abcxyz")); /* at the end */
    assert_false(terms_match(t, "xy"));    /* the text ends inside the term */
    assert_false(terms_match(t, "aa"));
    assert_false(terms_match(t, ""));
    terms_free(t);

    /* many terms: the last one is found too */
    char text[8192];
    size_t n = 0;
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "term%03d\n", i);
    t = terms_parse(text, n);
    assert_non_null(t);
    assert_int_equal(terms_count(t), 500);
    assert_true(terms_match(t, "..TERM499.."));
    assert_true(terms_match(t, "term000"));
    assert_false(terms_match(t, "term500"));
    terms_free(t);
}

static void test_no_rules(void **state)
{
    (void)state;
    assert_int_equal(terms_count(NULL), 0);
    assert_false(terms_match(NULL, "casino"));
    terms_free(NULL);
    json_t *l = list("[{\"goods_name\":\"casino\",\"goods_desc\":\"casino\"}]");
    struct wb_err e;
    wb_err_clear(&e);
    assert_int_equal(terms_check_goods(NULL, l, &e), WB_OK);
    assert_int_equal(e.code, WB_OK);
    json_decref(l);
}

/* Each case: the list, the field the detail must name. */
static void check_refused(const struct terms *t, const char *json, const char *field,
                          const char *term)
{
    json_t *l = list(json);
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code code = terms_check_goods(t, l, &e);
    if (code != WB_RISKY_CONTENT)
        fail_msg("%s: expected 87014, got %d", json, wb_code_number(code));
    assert_int_equal(e.code, WB_RISKY_CONTENT);
    assert_int_equal(wb_code_number(e.code), 87014);
    if (!strstr(e.detail, field))
        fail_msg("%s: the detail \"%s\" should name %s", json, e.detail, field);
    if (contains_folded(e.detail, term))
        fail_msg("%s: the detail \"%s\" reveals the term %s", json, e.detail, term);
    json_decref(l);
}

static void test_check_goods_names_the_field(void **state)
{
    (void)state;
    struct terms *t = parse("Casino\n代开发票\nlottery\n");
    check_refused(t, "[{\"goods_name\":\"CASINO night\"}]", "goods_info.detail_list[0].goods_name",
                  "casino");
    check_refused(t, "[{\"goods_name\":\"ok\",\"goods_desc\":\"best cAsInO\"}]",
                  "goods_info.detail_list[0].goods_desc", "casino");
    check_refused(t,
                  "[{\"goods_name\":\"a\"},{\"goods_name\":\"b\",\"goods_desc\":\"c\"},"
                  "{\"goods_name\":\"d\",\"goods_desc\":\"正品代开发票\"}]",
                  "goods_info.detail_list[2].goods_desc", "代开发票");
    check_refused(t,
                  "[{\"goods_name\":\"a\"},{\"goods_name\":\"x\"},{\"goods_name\":\"y\"},"
                  "{\"goods_name\":\"z\"},{\"goods_name\":\"w\"},{\"goods_name\":\"v\"},"
                  "{\"goods_name\":\"u\"},{\"goods_name\":\"t\"},{\"goods_name\":\"s\"},"
                  "{\"goods_name\":\"LOTTERY\"}]",
                  "goods_info.detail_list[9].goods_name", "lottery");
    /* the first offending field wins: items in order, goods_name before goods_desc */
    check_refused(t, "[{\"goods_name\":\"fine\"},{\"goods_name\":\"casino\",\"goods_desc\":"
                     "\"lottery\"},{\"goods_name\":\"代开发票\"}]",
                  "goods_info.detail_list[1].goods_name", "casino");
    check_refused(t, "[{\"goods_name\":\"fine\"},{\"goods_name\":\"casino\",\"goods_desc\":"
                     "\"lottery\"}]",
                  "goods_info.detail_list[1].goods_name", "lottery");
    terms_free(t);
}

static void test_check_goods_detail_exact(void **state)
{
    (void)state;
    struct terms *t = parse("casino\n");
    json_t *l = list("[{\"goods_name\":\"a\"},{\"goods_name\":\"b\",\"goods_desc\":\"Casino\"}]");
    struct wb_err e;
    wb_err_clear(&e);
    assert_int_equal(terms_check_goods(t, l, &e), WB_RISKY_CONTENT);
    /* the field is named exactly, as other details name fields (SPEC §2: indexes from 0) */
    assert_non_null(strstr(e.detail, "goods_info.detail_list[1].goods_desc"));
    assert_null(strstr(e.detail, "detail_list[0]"));
    assert_null(strstr(e.detail, "goods_name"));
    json_decref(l);
    terms_free(t);
}

static void test_check_goods_clean(void **state)
{
    (void)state;
    struct terms *t = parse("casino\n代开发票\n");
    const char *clean[] = {
        "[{\"goods_name\":\"好东西\"}]",
        "[{\"goods_name\":\"casin\",\"goods_desc\":\"asino\"}]",
        "[{\"goods_name\":\"代开 发票\",\"goods_desc\":\"代开\"},{\"goods_name\":\"发票\"}]",
        /* other fields are not content-checked */
        "[{\"goods_name\":\"ok\",\"goods_img_url\":\"https://casino.example/a.png\"}]",
        "[{\"goods_name\":\"ok\",\"goods_desc\":null}]",
        "[]",
    };
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
        json_t *l = list(clean[i]);
        struct wb_err e;
        wb_err_clear(&e);
        enum wb_code code = terms_check_goods(t, l, &e);
        if (code != WB_OK)
            fail_msg("%s: expected no content error, got %d (%s)", clean[i],
                     wb_code_number(code), e.detail);
        json_decref(l);
    }
    terms_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lines),
        cmocka_unit_test(test_parse_crlf),
        cmocka_unit_test(test_parse_comments_and_blank_lines),
        cmocka_unit_test(test_match_ascii_case_insensitive),
        cmocka_unit_test(test_match_non_ascii_not_folded),
        cmocka_unit_test(test_match_cjk_substrings),
        cmocka_unit_test(test_match_positions),
        cmocka_unit_test(test_no_rules),
        cmocka_unit_test(test_check_goods_names_the_field),
        cmocka_unit_test(test_check_goods_detail_exact),
        cmocka_unit_test(test_check_goods_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
