/* Unit tests of src/domain/rules.c: the formats of SPEC §4.1, §6.3 and §8 at their edges. */
#include "domain/rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

/* s repeated n times into out (size > n * strlen(s)). */
static char *repeat(char *out, size_t size, const char *s, size_t n)
{
    size_t len = strlen(s), used = 0;
    assert_true(n * len < size);
    for (size_t i = 0; i < n; i++, used += len)
        memcpy(out + used, s, len);
    out[used] = '\0';
    return out;
}

/* ---- rules_id_ok ---- */

static void test_id_lengths(void **state)
{
    (void)state;
    char s[128];
    assert_true(rules_id_ok(repeat(s, sizeof s, "a", 1), 64));
    assert_true(rules_id_ok(repeat(s, sizeof s, "a", 64), 64));
    assert_false(rules_id_ok(repeat(s, sizeof s, "a", 65), 64));
    assert_false(rules_id_ok("", 64));
    assert_true(rules_id_ok(repeat(s, sizeof s, "Z", 32), 32));
    assert_false(rules_id_ok(repeat(s, sizeof s, "Z", 33), 32));
}

static void test_id_chars(void **state)
{
    (void)state;
    assert_true(rules_id_ok("AZaz09_-", 64));
    assert_true(rules_id_ok("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", 64));
    assert_true(rules_id_ok("-", 64));
    assert_true(rules_id_ok("_", 64));
    static const char *const bad[] = {
        "a b",  " ab",   "ab ",      "a.b",          "a/b",    "a+b", "a=b",
        "a@b",  "a:b",   "a\"b",     "a'b",          "a;b",    "a%b", "a\tb",
        "a\nb", "a\x7f", "\xc3\xa9", "\xe4\xb8\xad", "ab\xff", "a,b", "a*b",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rules_id_ok(bad[i], 64))
            fail_msg("rules_id_ok accepted bad id #%zu", i);
}

/* ---- rules_phone_normalize ---- */

static void phone_ok(const char *in, const char *digits, const char *want_tail)
{
    char out[32] = "", tail[5] = "";
    if (!rules_phone_normalize(in, out, tail))
        fail_msg("rules_phone_normalize rejected \"%s\"", in);
    assert_string_equal(out, digits);
    assert_string_equal(tail, want_tail);
}

static void phone_bad(const char *in)
{
    char out[32], tail[5];
    if (rules_phone_normalize(in, out, tail))
        fail_msg("rules_phone_normalize accepted \"%s\"", in);
}

static void test_phone_digit_counts(void **state)
{
    (void)state;
    phone_ok("12345", "12345", "2345");
    phone_bad("1234");
    phone_ok("12345678901234567890", "12345678901234567890", "7890");
    phone_bad("123456789012345678901");
    phone_ok("+12345", "12345", "2345");
    phone_bad("+1234");
    phone_ok("+12345678901234567890", "12345678901234567890", "7890");
    phone_bad("+123456789012345678901");
    phone_bad("");
    phone_bad("+");
    phone_bad("    ");
    phone_bad("- - -");
}

static void test_phone_plus_only_first(void **state)
{
    (void)state;
    phone_ok("+8613800138000", "8613800138000", "8000");
    phone_bad("++8613800138000");
    phone_bad("86+13800138000");
    phone_bad("8613800138000+");
    phone_bad("+86+13800138000");
    /* spaces and '-' are removed first, so a '+' after them is still the first character */
    phone_ok(" +8613800138000", "8613800138000", "8000");
    phone_ok("- +86 138", "86138", "6138");
    phone_ok("+ 86 138 0013 8000", "8613800138000", "8000");
}

static void test_phone_separators(void **state)
{
    (void)state;
    phone_ok("138 0013 8000", "13800138000", "8000");
    phone_ok("138-0013-8000", "13800138000", "8000");
    phone_ok("+86 138-0013-8000", "8613800138000", "8000");
    phone_ok("1-2-3-4-5", "12345", "2345");
    phone_ok("  12345  ", "12345", "2345");
    /* separators do not count toward the 20 digits */
    phone_ok("1234 5678 9012 3456 7890", "12345678901234567890", "7890");
    phone_ok("1234-5678-9012-3456-7890", "12345678901234567890", "7890");
    phone_bad("1234 5678 9012 3456 7890 1");
    /* only spaces and '-' are separators */
    phone_bad("138.0013.8000");
    phone_bad("(010)12345678");
    phone_bad("138\t00138000");
    phone_bad("1380013800a");
    phone_bad(
        "\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95"); /* full-width 12345 */
}

/* ---- rules_img_url_ok ---- */

static void url_ok(const char *url)
{
    const char *why = NULL;
    if (!rules_img_url_ok(url, &why))
        fail_msg("rules_img_url_ok rejected \"%s\": %s", url, why ? why : "(no reason)");
}

static void url_bad(const char *url)
{
    const char *why = NULL;
    if (rules_img_url_ok(url, &why))
        fail_msg("rules_img_url_ok accepted \"%s\"", url);
    if (!why || !*why)
        fail_msg("rules_img_url_ok rejected \"%s\" without a reason", url);
}

static void test_url_schemes(void **state)
{
    (void)state;
    url_ok("https://img.example.com/a.jpg");
    url_ok("http://img.example.com/a.jpg");
    url_ok("HTTPS://IMG.EXAMPLE.COM/A.JPG");
    url_ok("Http://img.example.com/a.jpg");
    url_ok("https://img.example.com");
    url_ok("https://img.example.com/");
    url_ok("https://img.example.com/p/q.png?w=100&h=100#frag");
    url_ok("https://img.example.com?x=1");
    url_ok("https://img.example.com/a@2x.png");
    url_bad("ftp://img.example.com/a.jpg");
    url_bad("file:///etc/passwd");
    url_bad("javascript:alert(1)");
    url_bad("data:image/png;base64,iVBORw0KGgo=");
    url_bad("httpss://img.example.com/a.jpg");
    url_bad("htt://img.example.com/a.jpg");
    url_bad("://img.example.com/a.jpg");
    url_bad("https:/img.example.com/a.jpg");
    url_bad("https://");
    url_bad("https:///a.jpg");
    url_bad("https://?x");
    url_bad("");
}

static void test_url_scheme_less(void **state)
{
    (void)state;
    /* WeChat's own examples give host/path without a scheme */
    url_ok("img.example.com/a.jpg");
    url_ok("img.example.com");
    url_ok("mmbiz.qpic.cn/mmbiz_png/abc/0?wx_fmt=png");
    url_ok("img.example.com:8080/a.jpg");
    url_bad("//img.example.com/a.jpg");
    url_bad("/a.jpg");
    url_bad("?a");
}

static void test_url_scheme_less_with_url_in_query(void **state)
{
    (void)state;
    /* a "://" in the path or query of a scheme-less URL is not its scheme */
    url_ok("img.example.com/resize?src=https://a.example.com/x.jpg");
    url_ok("img.example.com/p/https://x");
}

static void test_url_length(void **state)
{
    (void)state;
    char url[1100];
    static const char head[] = "https://img.example.com/";
    size_t hl = sizeof head - 1;
    memcpy(url, head, hl);
    memset(url + hl, 'a', 1024 - hl);
    url[1024] = '\0';
    assert_int_equal(strlen(url), 1024);
    url_ok(url);
    url[1024] = 'a';
    url[1025] = '\0';
    url_bad(url);
    /* bytes, not characters: 1024 bytes of which some are multi-byte */
    memcpy(url + hl, "\xe4\xb8\xad", 3); /* 中 */
    url[1024] = '\0';
    url_ok(url);
}

static void test_url_spaces_and_controls(void **state)
{
    (void)state;
    url_bad("https://img.example.com/a b.jpg");
    url_bad(" https://img.example.com/a.jpg");
    url_bad("https://img.example.com/a.jpg ");
    url_bad("https://img.exa mple.com/a.jpg");
    url_bad("https://img.example.com/a\t.jpg");
    url_bad("https://img.example.com/a\n.jpg");
    url_bad("https://img.example.com/a\r.jpg");
    url_bad("https://img.example.com/a\x01.jpg");
    url_bad("https://img.example.com/a\x1f.jpg");
    url_bad("https://img.example.com/a\x7f.jpg");
    url_ok("https://img.example.com/a%20b.jpg");
}

static void test_url_credentials(void **state)
{
    (void)state;
    url_bad("https://user:pass@img.example.com/a.jpg");
    url_bad("https://user@img.example.com/a.jpg");
    url_bad("https://:@img.example.com/a.jpg");
    url_bad("https://@img.example.com/a.jpg");
    url_bad("user:pass@img.example.com/a.jpg");
    url_bad("https://img.example.com@evil.example.com/a.jpg");
    url_bad("https://img.example.com\\@evil.example.com/a.jpg");
    /* an '@' after the authority is not a credential */
    url_ok("https://img.example.com/user@host.jpg");
    url_ok("https://img.example.com/a.jpg?u=a@b");
    url_ok("https://img.example.com/a.jpg#a@b");
}

static void test_url_ipv4(void **state)
{
    (void)state;
    static const char *const forbidden[] = {
        "127.0.0.1",       "127.255.255.254", "127.0.0.2",   "10.0.0.1",        "10.255.255.255",
        "172.16.0.1",      "172.31.255.255",  "192.168.0.1", "192.168.255.255", "169.254.0.1",
        "169.254.169.254", "169.254.255.255", "0.0.0.0",
    };
    static const char *const allowed[] = {
        "8.8.8.8",         "1.1.1.1",        "11.0.0.1",   "9.255.255.255",   "126.255.255.255",
        "128.0.0.1",       "172.15.255.255", "172.32.0.1", "192.167.255.255", "192.169.0.1",
        "169.253.255.255", "169.255.0.1",    "1.0.0.0",
    };
    char url[128];
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        snprintf(url, sizeof url, "https://%s/a.jpg", forbidden[i]);
        url_bad(url);
        snprintf(url, sizeof url, "http://%s:8080/a.jpg", forbidden[i]);
        url_bad(url);
        snprintf(url, sizeof url, "%s/a.jpg", forbidden[i]);
        url_bad(url);
        snprintf(url, sizeof url, "%s", forbidden[i]);
        url_bad(url);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        snprintf(url, sizeof url, "https://%s/a.jpg", allowed[i]);
        url_ok(url);
        snprintf(url, sizeof url, "%s:443/a.jpg", allowed[i]);
        url_ok(url);
    }
    /* numeric hosts that are not dotted quads do not slip through as names */
    url_bad("https://127.1/a.jpg");
    url_bad("https://2130706433/a.jpg");
    url_bad("https://0177.0.0.1/a.jpg");
    url_bad("https://127.0.0.1./a.jpg");
    url_bad("https://256.0.0.1/a.jpg");
    url_bad("https://1.2.3.4.5/a.jpg");
}

static void test_url_ipv4_hex_forms(void **state)
{
    (void)state;
    /* browsers (WHATWG URL) read these hosts as 127.0.0.1: IPv4 literals in loopback */
    url_bad("https://0x7f.0.0.1/a.jpg");
    url_bad("https://0x7f000001/a.jpg");
    url_bad("https://0xa.0.0.1/a.jpg");
}

static void test_url_ipv6(void **state)
{
    (void)state;
    static const char *const forbidden[] = {
        "[::1]",
        "[::]",
        "[0:0:0:0:0:0:0:1]",
        "[fe80::1]",
        "[fe80::abcd:1]",
        "[febf::1]",
        "[FE80::1]",
        "[fc00::1]",
        "[fd00::1]",
        "[fdff:ffff::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.1.2.3]",
        "[::ffff:192.168.1.1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:7f00:1]",
        "[::ffff:0.0.0.0]",
    };
    static const char *const allowed[] = {
        "[2001:4860:4860::8888]",
        "[2400:3200::1]",
        "[::ffff:8.8.8.8]",
        "[fbff::1]",
    };
    char url[128];
    for (size_t i = 0; i < sizeof forbidden / sizeof forbidden[0]; i++) {
        snprintf(url, sizeof url, "https://%s/a.jpg", forbidden[i]);
        url_bad(url);
        snprintf(url, sizeof url, "https://%s:443/a.jpg", forbidden[i]);
        url_bad(url);
        snprintf(url, sizeof url, "%s/a.jpg", forbidden[i]);
        url_bad(url);
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        snprintf(url, sizeof url, "https://%s/a.jpg", allowed[i]);
        url_ok(url);
        snprintf(url, sizeof url, "https://%s:8443/a.jpg", allowed[i]);
        url_ok(url);
    }
    /* malformed literals */
    url_bad("https://[::1/a.jpg");
    url_bad("https://[zz::1]/a.jpg");
    url_bad("https://[]/a.jpg");
    url_bad("https://[2001:db8::1]x/a.jpg");
    url_bad("https://::1/a.jpg");
    url_bad("https://[fe80::1%25eth0]/a.jpg");
}

static void test_url_ports(void **state)
{
    (void)state;
    url_ok("https://img.example.com:1/a.jpg");
    url_ok("https://img.example.com:80/a.jpg");
    url_ok("https://img.example.com:443/a.jpg");
    url_ok("https://img.example.com:65535/a.jpg");
    url_ok("https://img.example.com:8080");
    url_ok("https://img.example.com:8080?x=1");
    url_bad("https://img.example.com:/a.jpg");
    url_bad("https://img.example.com:abc/a.jpg");
    url_bad("https://img.example.com:-1/a.jpg");
    url_bad("https://img.example.com:80:80/a.jpg");
    url_bad("https://img.example.com:+80/a.jpg");
    url_bad("https://img.example.com:1234567/a.jpg");
}

static void test_url_port_range(void **state)
{
    (void)state;
    /* a port past 65535 makes the URL unparsable for browsers (WHATWG URL: port out of range) */
    url_bad("https://img.example.com:65536/a.jpg");
    url_bad("https://img.example.com:99999/a.jpg");
}

static void test_url_host_chars(void **state)
{
    (void)state;
    url_ok("https://a-b.example.com/a.jpg");
    url_ok("https://123.example.com/a.jpg");
    url_bad("https://img.example.com\\evil/a.jpg");
    url_bad("https://img.exa<mple.com/a.jpg");
    url_bad("https://img.exa\"mple.com/a.jpg");
    url_bad("https://\xe4\xb8\xad.example.com/a.jpg");
    char url[400];
    static const char head[] = "https://";
    memcpy(url, head, sizeof head - 1);
    memset(url + sizeof head - 1, 'a', 300);
    memcpy(url + sizeof head - 1 + 300, ".com/a.jpg", sizeof ".com/a.jpg");
    url_bad(url);
}

/* ---- rules_test_waybill ---- */

static void test_test_waybill(void **state)
{
    (void)state;
    char s[128], digits[64];
    assert_true(rules_test_waybill("WXTESTEXPRESS1"));
    assert_true(rules_test_waybill("WXTESTEXPRESS0"));
    assert_false(rules_test_waybill("WXTESTEXPRESS"));
    snprintf(s, sizeof s, "WXTESTEXPRESS%s", repeat(digits, sizeof digits, "7", 51));
    assert_int_equal(strlen(s), 64);
    assert_true(rules_test_waybill(s));
    snprintf(s, sizeof s, "WXTESTEXPRESS%s", repeat(digits, sizeof digits, "7", 52));
    assert_false(rules_test_waybill(s));
    assert_false(rules_test_waybill("WXTESTEXPRESS12a"));
    assert_false(rules_test_waybill("WXTESTEXPRESS-1"));
    assert_false(rules_test_waybill("WXTESTEXPRESS 1"));
    assert_false(rules_test_waybill("wxtestexpress1"));
    assert_false(rules_test_waybill("XWXTESTEXPRESS1"));
    assert_false(rules_test_waybill("WXTESTEXPRES1"));
    assert_false(rules_test_waybill("SF1234567890"));
    assert_false(rules_test_waybill(""));
}

/* ---- rules_token_shape_ok ---- */

static void test_token_shape(void **state)
{
    (void)state;
    char s[128];
    assert_true(rules_token_shape_ok(repeat(s, sizeof s, "Ab0-_", 12), 64));
    assert_true(rules_token_shape_ok(repeat(s, sizeof s, "x", 64), 64));
    assert_false(rules_token_shape_ok(repeat(s, sizeof s, "x", 65), 64));
    assert_false(rules_token_shape_ok("", 64));
    assert_false(rules_token_shape_ok("abc+def", 64));
    assert_false(rules_token_shape_ok("abc/def", 64));
    assert_false(rules_token_shape_ok("abcdef==", 64));
}

static void test_pattern_cost(void **state)
{
    (void)state;
    static const char *const cheap[] = {"^SF[0-9]{12}$", "^(JD|JDV)[0-9]{10,15}$", "(ab)+c*",
                                        "[a+]+", "\\++", "^YT[0-9]{13}$", "a{64}", "x{1,64}"};
    static const char *const costly[] = {"a++", "a{65}", "a{1,32767}", "((a{2}){2}){2}",
                                         "(a+)+", "(a+)?", "(((a)+)+)+",
                                         "a?b?c?d?e?f?g?h?i?j?k?l?m?n?o?p?q?"};
    const char *why = NULL;
    for (size_t i = 0; i < sizeof cheap / sizeof cheap[0]; i++)
        assert_true(rules_pattern_ok(cheap[i], &why));
    for (size_t i = 0; i < sizeof costly / sizeof costly[0]; i++) {
        why = NULL;
        assert_false(rules_pattern_ok(costly[i], &why));
        assert_non_null(why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_lengths),
        cmocka_unit_test(test_id_chars),
        cmocka_unit_test(test_phone_digit_counts),
        cmocka_unit_test(test_phone_plus_only_first),
        cmocka_unit_test(test_phone_separators),
        cmocka_unit_test(test_url_schemes),
        cmocka_unit_test(test_url_scheme_less),
        cmocka_unit_test(test_url_scheme_less_with_url_in_query),
        cmocka_unit_test(test_url_length),
        cmocka_unit_test(test_url_spaces_and_controls),
        cmocka_unit_test(test_url_credentials),
        cmocka_unit_test(test_url_ipv4),
        cmocka_unit_test(test_url_ipv4_hex_forms),
        cmocka_unit_test(test_url_ipv6),
        cmocka_unit_test(test_url_ports),
        cmocka_unit_test(test_url_port_range),
        cmocka_unit_test(test_url_host_chars),
        cmocka_unit_test(test_test_waybill),
        cmocka_unit_test(test_token_shape),
        cmocka_unit_test(test_pattern_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
