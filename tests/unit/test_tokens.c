/* Unit tests of src/domain/tokens.c: token shapes, derivations, access-token lifetimes. */
#include "domain/tokens.h"

#include "domain/rules.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define T0 INT64_C(1764374400)

static void test_new_access(void **state)
{
    (void)state;
    char a[ACCESS_TOKEN_LEN + 1], b[ACCESS_TOKEN_LEN + 1];
    assert_true(tokens_new_access(a));
    assert_true(tokens_new_access(b));
    assert_int_equal(strlen(a), ACCESS_TOKEN_LEN);
    assert_true(ACCESS_TOKEN_LEN <= ACCESS_TOKEN_MAX);
    assert_true(ACCESS_TOKEN_LEN * 6 >= 128); /* at least 128 bits of randomness (SPEC §3) */
    assert_true(rules_token_shape_ok(a, ACCESS_TOKEN_MAX));
    assert_string_not_equal(a, b);
}

static void test_new_nonce(void **state)
{
    (void)state;
    char a[NONCE_HEX + 1], b[NONCE_HEX + 1];
    assert_true(tokens_new_nonce(a));
    assert_true(tokens_new_nonce(b));
    assert_int_equal(strlen(a), NONCE_HEX);
    assert_int_equal(strspn(a, "0123456789abcdef"), NONCE_HEX);
    assert_string_not_equal(a, b);
}

static void test_stable_derivation(void **state)
{
    (void)state;
    char a[ACCESS_TOKEN_LEN + 1], b[ACCESS_TOKEN_LEN + 1];
    tokens_stable(a, "key", "wx0123456789abcdef", "00112233445566778899aabbccddeeff");
    tokens_stable(b, "key", "wx0123456789abcdef", "00112233445566778899aabbccddeeff");
    assert_int_equal(strlen(a), ACCESS_TOKEN_LEN);
    assert_true(rules_token_shape_ok(a, ACCESS_TOKEN_MAX));
    assert_string_equal(a, b); /* deterministic */
    tokens_stable(b, "key2", "wx0123456789abcdef", "00112233445566778899aabbccddeeff");
    assert_string_not_equal(a, b); /* the hash key matters */
    tokens_stable(b, "key", "wx0123456789abcdee", "00112233445566778899aabbccddeeff");
    assert_string_not_equal(a, b); /* the appid matters */
    tokens_stable(b, "key", "wx0123456789abcdef", "00112233445566778899aabbccddeefe");
    assert_string_not_equal(a, b); /* the nonce matters */
}

#define NONCE "00112233445566778899aabbccddeeff"

static void test_waybill_derivation(void **state)
{
    (void)state;
    char a[65], b[65];
    tokens_waybill(a, "key", 42, NONCE, false);
    tokens_waybill(b, "key", 42, NONCE, false);
    assert_int_equal(strlen(a), 64); /* SPEC §4.1: 64 base64url characters */
    assert_true(rules_token_shape_ok(a, 64));
    assert_string_equal(a, b);
    tokens_waybill(b, "other", 42, NONCE, false);
    assert_string_not_equal(a, b); /* the hash key matters */
    tokens_waybill(b, "key", 42, "00112233445566778899aabbccddeefe", false);
    assert_string_not_equal(a, b); /* the nonce matters */
    tokens_waybill(b, "key", 43, NONCE, false);
    assert_string_not_equal(a, b);                    /* the binding matters */
    assert_int_not_equal(strncmp(a, b, 21), 0);       /* its id is sealed: */
    assert_int_equal(strncmp(a + 22, b + 22, 42), 0); /* the proof is the nonce's */
    /* a stable token and a waybill token of the same nonce are unrelated */
    char s[ACCESS_TOKEN_LEN + 1];
    tokens_stable(s, "key", "", NONCE);
    assert_int_not_equal(strncmp(s, a, 64), 0);
}

static void test_waybill_open_and_prove(void **state)
{
    (void)state;
    char token[65];
    struct waybill_token_ref ref;
    int64_t ids[] = {1, 255, 256, INT64_C(1) << 40, INT64_MAX};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        tokens_waybill(token, "key", ids[i], NONCE, false);
        tokens_waybill_open(&ref, "key", token);
        assert_int_equal(ref.binding_id, ids[i]);
        assert_string_equal(ref.legacy_hash, "");
        assert_true(tokens_waybill_proved(&ref, "key", NONCE));
        assert_false(tokens_waybill_proved(&ref, "key", "00112233445566778899aabbccddeefe"));
        assert_false(tokens_waybill_proved(&ref, "other", NONCE));
    }
    /* under another key the id does not open: the token is taken for one from before */
    tokens_waybill(token, "key", 7, NONCE, false);
    tokens_waybill_open(&ref, "other", token);
    assert_int_equal(ref.binding_id, 0);
    assert_int_equal(strlen(ref.legacy_hash), 64);
    /* a changed character of the sealed id makes noise of it */
    token[3] = token[3] == 'A' ? 'B' : 'A';
    tokens_waybill_open(&ref, "key", token);
    assert_int_equal(ref.binding_id, 0);
    /* text that is not 48 bytes of base64url names nothing */
    tokens_waybill_open(&ref, "key", "not*base64url");
    assert_int_equal(ref.binding_id, 0);
    assert_string_equal(ref.legacy_hash, "");
    assert_false(tokens_waybill_proved(&ref, "key", NONCE)); /* names nothing, proves nothing */
}

static void test_waybill_legacy(void **state)
{
    (void)state;
    /* a token from before tokens named bindings: the nonce's 48 derived bytes, found by hash */
    char token[65], hash[65];
    tokens_waybill(token, "key", 42, NONCE, true);
    assert_int_equal(strlen(token), 64);
    char other[65];
    tokens_waybill(other, "key", 43, NONCE, true);
    assert_string_equal(token, other); /* the id plays no part */
    struct waybill_token_ref ref;
    tokens_waybill_open(&ref, "key", token);
    assert_int_equal(ref.binding_id, 0);
    crypto_sha256_hex(hash, token); /* what its binding keeps as token_hash */
    assert_string_equal(ref.legacy_hash, hash);
}

static void test_check_lifetime(void **state)
{
    (void)state;
    int64_t expires = T0 + TOKEN_LIFETIME;
    /* the current token: valid until its expiry, then 42001 */
    assert_int_equal(tokens_check(T0, expires, expires), WB_OK);
    assert_int_equal(tokens_check(expires - 1, expires, expires), WB_OK);
    assert_int_equal(tokens_check(expires, expires, expires), WB_TOKEN_EXPIRED);
    assert_int_equal(tokens_check(expires + 86400, expires, expires), WB_TOKEN_EXPIRED);
}

static void test_check_superseded(void **state)
{
    (void)state;
    int64_t expires = T0 + TOKEN_LIFETIME;
    /* superseded at T0 + 100: valid 5 more minutes, then 40001 */
    int64_t until = T0 + 100 + TOKEN_OVERLAP;
    assert_int_equal(tokens_check(T0 + 100, expires, until), WB_OK);
    assert_int_equal(tokens_check(until - 1, expires, until), WB_OK);
    assert_int_equal(tokens_check(until, expires, until), WB_INVALID_CREDENTIAL);
    assert_int_equal(tokens_check(expires + 1, expires, until), WB_INVALID_CREDENTIAL);
    /* superseded at once (an older token): 40001 immediately */
    assert_int_equal(tokens_check(T0 + 100, expires, T0 + 100), WB_INVALID_CREDENTIAL);
    /* superseded with less than 5 minutes left: the grace is its remaining life, then 42001 */
    assert_int_equal(tokens_check(expires - 1, expires, expires), WB_OK);
    assert_int_equal(tokens_check(expires, expires, expires), WB_TOKEN_EXPIRED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_access),
        cmocka_unit_test(test_new_nonce),
        cmocka_unit_test(test_stable_derivation),
        cmocka_unit_test(test_waybill_derivation),
        cmocka_unit_test(test_waybill_open_and_prove),
        cmocka_unit_test(test_waybill_legacy),
        cmocka_unit_test(test_check_lifetime),
        cmocka_unit_test(test_check_superseded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
