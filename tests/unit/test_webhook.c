/* Unit tests of src/dispatch/webhook.c: the SPEC §7 body as valid JSON, and a signature that an
 * independent HMAC-SHA256 verifies. */
#include "dispatch/webhook.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define TOKEN "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcdefghijklmnopqrstuvwxyz"
#define PUBLIC_URL "https://wb.example.com"

static void fill(struct notice *n)
{
    memset(n, 0, sizeof *n);
    n->seq = 17;
    snprintf(n->id, sizeof n->id, "evt_0123456789abcdef01234567");
    n->binding_id = 4;
    snprintf(n->appid, sizeof n->appid, "wx0123456789abcdef");
    snprintf(n->openid, sizeof n->openid, "oUser_1-abc");
    snprintf(n->waybill_id, sizeof n->waybill_id, "WXTESTEXPRESS12345");
    snprintf(n->type, sizeof n->type, "waybill.in_dispatch");
    n->sequence = 2;
    n->status = 3;
    snprintf(n->delivery_id, sizeof n->delivery_id, "WXTEST");
    snprintf(n->delivery_name, sizeof n->delivery_name, "Sandbox Express");
    snprintf(n->goods, sizeof n->goods,
             "{\"goods_name\":\"测试商品\",\"goods_img_url\":\"https://www.qq.com/a.png\","
             "\"goods_desc\":\"desc\"}");
    n->goods_count = 3;
    snprintf(n->order_detail_path, sizeof n->order_detail_path, "pages/order/detail?id=9");
    n->action_time = 1764379200;
    n->created_at = 1764382800;
    n->state = NOTICE_PENDING;
    n->attempts = 2;
    snprintf(n->push_url, sizeof n->push_url, "http://127.0.0.1:9/hook");
    snprintf(n->push_secret, sizeof n->push_secret, "push-secret");
}

/* The body parsed strictly: valid UTF-8, no duplicate keys, an object. */
static json_t *parse(const char *body)
{
    json_error_t err;
    json_t *v = json_loads(body, JSON_REJECT_DUPLICATES, &err);
    if (!v)
        fail_msg("webhook body is not valid JSON (%s at %d:%d): %s", err.text, err.line,
                 err.column, body);
    assert_true(json_is_object(v));
    return v;
}

static const char *const fields[] = {
    "event_id",    "sequence",      "type",        "appid",
    "openid",      "waybill_token", "waybill_id",  "status",
    "delivery_id", "delivery_name", "goods",       "goods_count",
    "order_detail_path", "landing_url", "action_time", "created_at",
};
#define FIELD_COUNT (sizeof fields / sizeof fields[0])

/* Exactly SPEC §7's fields, no more. */
static void assert_field_set(const json_t *v)
{
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (!json_object_get(v, fields[i]))
            fail_msg("webhook body lacks %s", fields[i]);
    assert_int_equal(json_object_size(v), FIELD_COUNT);
}

static const char *str(const json_t *v, const char *key)
{
    const json_t *f = json_object_get(v, key);
    if (!json_is_string(f))
        fail_msg("%s is not a string", key);
    return json_string_value(f);
}

static json_int_t num(const json_t *v, const char *key)
{
    const json_t *f = json_object_get(v, key);
    if (!json_is_integer(f))
        fail_msg("%s is not an integer", key);
    return json_integer_value(f);
}

static void test_body_fields_and_types(void **state)
{
    (void)state;
    struct notice n;
    fill(&n);
    char *body = webhook_body(&n, TOKEN, PUBLIC_URL);
    assert_non_null(body);
    json_t *v = parse(body);
    assert_field_set(v);
    assert_string_equal(str(v, "event_id"), "evt_0123456789abcdef01234567");
    assert_int_equal(num(v, "sequence"), 2);
    assert_string_equal(str(v, "type"), "waybill.in_dispatch");
    assert_string_equal(str(v, "appid"), "wx0123456789abcdef");
    assert_string_equal(str(v, "openid"), "oUser_1-abc");
    assert_string_equal(str(v, "waybill_token"), TOKEN);
    assert_string_equal(str(v, "waybill_id"), "WXTESTEXPRESS12345");
    assert_int_equal(num(v, "status"), 3);
    assert_string_equal(str(v, "delivery_id"), "WXTEST");
    assert_string_equal(str(v, "delivery_name"), "Sandbox Express");
    assert_int_equal(num(v, "goods_count"), 3);
    assert_string_equal(str(v, "order_detail_path"), "pages/order/detail?id=9");
    assert_string_equal(str(v, "landing_url"), PUBLIC_URL "/l/" TOKEN);
    assert_int_equal(num(v, "action_time"), 1764379200);
    assert_int_equal(num(v, "created_at"), 1764382800);
    /* goods: the first item as an object, exactly as stored */
    const json_t *g = json_object_get(v, "goods");
    assert_true(json_is_object(g));
    json_t *want = json_loads(n.goods, 0, NULL);
    assert_non_null(want);
    assert_true(json_equal(g, want));
    json_decref(want);
    /* the delivery state is not part of the body */
    assert_null(json_object_get(v, "attempts"));
    assert_null(json_object_get(v, "state"));
    json_decref(v);
    free(body);
}

/* delivery_id and delivery_name null while unknown; order_detail_path null when not given. */
static void test_body_nulls(void **state)
{
    (void)state;
    struct notice n;
    fill(&n);
    n.delivery_id[0] = '\0';
    n.delivery_name[0] = '\0';
    n.order_detail_path[0] = '\0';
    char *body = webhook_body(&n, TOKEN, PUBLIC_URL);
    assert_non_null(body);
    json_t *v = parse(body);
    assert_field_set(v);
    assert_true(json_is_null(json_object_get(v, "delivery_id")));
    assert_true(json_is_null(json_object_get(v, "delivery_name")));
    assert_true(json_is_null(json_object_get(v, "order_detail_path")));
    json_decref(v);
    free(body);
}

/* User text with quotes, backslashes, control characters and any Unicode stays valid JSON and
 * round-trips exactly. */
static void test_body_escaping(void **state)
{
    (void)state;
    struct notice n;
    fill(&n);
    static const char path[] = "pages/a?q=\"x\"&b=\\y\t\n</script>\xe4\xb8\xad\xf0\x9f\x93\xa6\x01";
    snprintf(n.order_detail_path, sizeof n.order_detail_path, "%s", path);
    snprintf(n.delivery_name, sizeof n.delivery_name, "顺丰\"速运\"\\");
    json_t *goods = json_pack("{s:s,s:s,s:s}", "goods_name", "\"引号\" \\ \u2028",
                              "goods_img_url", "https://img.example.com/a\"b\\c.png",
                              "goods_desc", "<b>&amp;</b>");
    char *goods_text = json_dumps(goods, JSON_COMPACT);
    snprintf(n.goods, sizeof n.goods, "%s", goods_text);
    char *body = webhook_body(&n, TOKEN, PUBLIC_URL);
    assert_non_null(body);
    json_t *v = parse(body);
    assert_field_set(v);
    assert_string_equal(str(v, "order_detail_path"), path);
    assert_string_equal(str(v, "delivery_name"), "顺丰\"速运\"\\");
    assert_true(json_equal(json_object_get(v, "goods"), goods));
    json_decref(v);
    json_decref(goods);
    free(goods_text);
    free(body);
}

/* The largest values each field can hold still give valid JSON. */
static void test_body_at_the_limits(void **state)
{
    (void)state;
    struct notice n;
    fill(&n);
    memset(n.order_detail_path, '"', sizeof n.order_detail_path - 1);
    n.order_detail_path[sizeof n.order_detail_path - 1] = '\0';
    memset(n.delivery_name, '\\', sizeof n.delivery_name - 1);
    n.delivery_name[sizeof n.delivery_name - 1] = '\0';
    memset(n.openid, 'o', sizeof n.openid - 1);
    n.openid[sizeof n.openid - 1] = '\0';
    memset(n.waybill_id, '9', sizeof n.waybill_id - 1);
    n.waybill_id[sizeof n.waybill_id - 1] = '\0';
    n.action_time = INT64_C(253402300799);
    n.created_at = INT64_C(253402300799);
    n.sequence = INT64_C(9007199254740991);
    char url[URL_SIZE];
    memset(url, 'u', sizeof url - 1);
    memcpy(url, "https://", 8);
    url[256] = '\0'; /* serve.c keeps public URLs shorter than 300 bytes */
    char *body = webhook_body(&n, TOKEN, url);
    assert_non_null(body);
    json_t *v = parse(body);
    assert_field_set(v);
    assert_string_equal(str(v, "order_detail_path"), n.order_detail_path);
    assert_string_equal(str(v, "delivery_name"), n.delivery_name);
    assert_int_equal(num(v, "action_time"), INT64_C(253402300799));
    assert_int_equal(num(v, "sequence"), INT64_C(9007199254740991));
    const char *landing = str(v, "landing_url");
    assert_int_equal(strlen(landing), 256 + 3 + strlen(TOKEN));
    assert_string_equal(landing + 256, "/l/" TOKEN);
    json_decref(v);
    free(body);
}

/* The same notice gives the same body, byte for byte: a redelivery repeats it exactly. */
static void test_body_deterministic(void **state)
{
    (void)state;
    struct notice n, m;
    fill(&n);
    fill(&m);
    /* the delivery state differs between attempts; the body must not */
    m.attempts = 14;
    m.state = NOTICE_DEAD;
    m.next_attempt_at = 99;
    snprintf(m.last_error, sizeof m.last_error, "HTTP 500");
    char *a = webhook_body(&n, TOKEN, PUBLIC_URL);
    char *b = webhook_body(&m, TOKEN, PUBLIC_URL);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

/* HMAC-SHA256 of "UNIX.BODY" under secret, as lowercase hex, by OpenSSL directly. */
static void reference_hmac(char hex[65], const char *secret, int64_t t, const char *body)
{
    char prefix[32];
    int plen = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
    size_t blen = strlen(body);
    unsigned char *msg = malloc((size_t)plen + blen);
    assert_non_null(msg);
    memcpy(msg, prefix, (size_t)plen);
    memcpy(msg + plen, body, blen);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, (size_t)plen + blen, mac,
                         &mac_len));
    assert_int_equal(mac_len, 32);
    static const char digits[] = "0123456789abcdef";
    for (unsigned int i = 0; i < mac_len; i++) {
        hex[2 * i] = digits[mac[i] >> 4];
        hex[2 * i + 1] = digits[mac[i] & 15];
    }
    hex[64] = '\0';
    free(msg);
}

static void check_signature(const char *secret, int64_t t, const char *body)
{
    char sig[WEBHOOK_SIGNATURE_SIZE];
    memset(sig, 'X', sizeof sig);
    webhook_signature(sig, secret, t, body);
    char want_hex[65], want[WEBHOOK_SIGNATURE_SIZE + 32];
    reference_hmac(want_hex, secret, t, body);
    snprintf(want, sizeof want, "t=%lld,v1=%s", (long long)t, want_hex);
    assert_string_equal(sig, want);
}

static void test_signature_matches_reference(void **state)
{
    (void)state;
    struct notice n;
    fill(&n);
    char *body = webhook_body(&n, TOKEN, PUBLIC_URL);
    assert_non_null(body);
    check_signature("push-secret", 1764379200, body);
    check_signature("Zm9vYmFyYmF6cXV4LXNlY3JldC1hYmNkZWZnaGlqa2xtbm9wcXJzdHV2", 1764379200, body);
    /* a secret's UTF-8 bytes are the key */
    check_signature("秘密-ключ", 1700000000, body);
    check_signature("k", 0, "");
    check_signature("k", 4102444800, "{}");
    free(body);
}

/* RFC 4231 test case 2 under the "UNIX.BODY" framing: the message is "1.what do ya want ...". */
static void test_signature_known_vector(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIGNATURE_SIZE];
    /* "1." + "what do ya want for nothing?" signed with "Jefe", computed by OpenSSL above; the
     * plain RFC vector checks the reference itself */
    char hex[65];
    unsigned char mac[32];
    unsigned int len = 0;
    static const char rfc_msg[] = "what do ya want for nothing?";
    HMAC(EVP_sha256(), "Jefe", 4, (const unsigned char *)rfc_msg, sizeof rfc_msg - 1, mac, &len);
    for (unsigned int i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    webhook_signature(sig, "Jefe", 1, rfc_msg);
    reference_hmac(hex, "Jefe", 1, rfc_msg);
    char want[WEBHOOK_SIGNATURE_SIZE];
    snprintf(want, sizeof want, "t=1,v1=%s", hex);
    assert_string_equal(sig, want);
}

/* The signature covers the time, the body and the secret: changing any changes it. */
static void test_signature_binds_everything(void **state)
{
    (void)state;
    char a[WEBHOOK_SIGNATURE_SIZE], b[WEBHOOK_SIGNATURE_SIZE];
    webhook_signature(a, "secret", 1764379200, "{\"event_id\":\"evt_1\"}");
    assert_int_equal(strncmp(a, "t=1764379200,v1=", 16), 0);
    assert_int_equal(strlen(a), 16 + 64);
    for (const char *p = a + 16; *p; p++)
        assert_non_null(strchr("0123456789abcdef", *p));
    webhook_signature(b, "secret", 1764379201, "{\"event_id\":\"evt_1\"}");
    assert_string_not_equal(a + 16, b + 16);
    webhook_signature(b, "secret", 1764379200, "{\"event_id\":\"evt_2\"}");
    assert_string_not_equal(a + 16, b + 16);
    webhook_signature(b, "secreT", 1764379200, "{\"event_id\":\"evt_1\"}");
    assert_string_not_equal(a + 16, b + 16);
    webhook_signature(b, "secret", 1764379200, "{\"event_id\":\"evt_1\"}");
    assert_string_equal(a, b);
}

/* A large body (a whole webhook at its largest) is signed in full. */
static void test_signature_large_body(void **state)
{
    (void)state;
    size_t len = 60000;
    char *body = malloc(len + 1);
    assert_non_null(body);
    for (size_t i = 0; i < len; i++)
        body[i] = (char)('a' + (char)(i % 26));
    body[len] = '\0';
    check_signature("push-secret", 1764379200, body);
    char a[WEBHOOK_SIGNATURE_SIZE], b[WEBHOOK_SIGNATURE_SIZE];
    webhook_signature(a, "push-secret", 1764379200, body);
    body[len - 1] = 'Z'; /* the last byte counts */
    webhook_signature(b, "push-secret", 1764379200, body);
    assert_string_not_equal(a, b);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_fields_and_types),
        cmocka_unit_test(test_body_nulls),
        cmocka_unit_test(test_body_escaping),
        cmocka_unit_test(test_body_at_the_limits),
        cmocka_unit_test(test_body_deterministic),
        cmocka_unit_test(test_signature_matches_reference),
        cmocka_unit_test(test_signature_known_vector),
        cmocka_unit_test(test_signature_binds_everything),
        cmocka_unit_test(test_signature_large_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
