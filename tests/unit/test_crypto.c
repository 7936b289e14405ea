/* Unit tests of src/base/crypto.c: known vectors; secret hashes verify only their secret. */
#include "base/crypto.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static void test_sha256_vectors(void **state)
{
    (void)state;
    char out[CRYPTO_HEX_LEN + 1];
    crypto_sha256_hex(out, "abc"); /* FIPS 180-2 */
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    crypto_sha256_hex(out, "");
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(strlen(out), CRYPTO_HEX_LEN);
}

static void test_hmac_rfc4231_case2(void **state)
{
    (void)state;
    static const char msg[] = "what do ya want for nothing?";
    char out[CRYPTO_HEX_LEN + 1];
    crypto_hmac_hex(out, "Jefe", msg, sizeof msg - 1);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* the length is what counts: bytes past it are not signed */
    crypto_hmac_hex(out, "Jefe", "what do ya want for nothing?!!!", sizeof msg - 1);
    assert_string_equal(out, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_derive(void **state)
{
    (void)state;
    /* HMAC-SHA512 of RFC 4231 case 2, first 64 bytes = all of it */
    static const unsigned char want[64] = {
        0x16, 0x4b, 0x7a, 0x7b, 0xfc, 0xf8, 0x19, 0xe2, 0xe3, 0x95, 0xfb, 0xe7, 0x3b,
        0x56, 0xe0, 0xa3, 0x87, 0xbd, 0x64, 0x22, 0x2e, 0x83, 0x1f, 0xd6, 0x10, 0x27,
        0x0c, 0xd7, 0xea, 0x25, 0x05, 0x54, 0x97, 0x58, 0xbf, 0x75, 0xc0, 0x5a, 0x99,
        0x4a, 0x6d, 0x03, 0x4f, 0x65, 0xf8, 0xf0, 0xe6, 0xfd, 0xca, 0xea, 0xb1, 0xa3,
        0x4d, 0x4a, 0x6b, 0x4b, 0x63, 0x6e, 0x07, 0x0a, 0x38, 0xbc, 0xe7, 0x37,
    };
    unsigned char out[64];
    crypto_derive(out, 64, "Jefe", "what do ya want for nothing?");
    assert_memory_equal(out, want, 64);
    unsigned char part[20];
    memset(part, 0xAA, sizeof part);
    crypto_derive(part, 16, "Jefe", "what do ya want for nothing?");
    assert_memory_equal(part, want, 16);
    assert_int_equal(part[16], 0xAA); /* nothing written past n */
}

static void test_secret_hash_verify(void **state)
{
    (void)state;
    char stored[CRYPTO_SECRET_LEN], again[CRYPTO_SECRET_LEN];
    assert_true(crypto_secret_hash(stored, "0123456789abcdef0123456789abcdef"));
    assert_true(strncmp(stored, "pbkdf2$", 7) == 0);
    assert_null(strstr(stored, "0123456789abcdef0123456789abcdef"));
    assert_true(crypto_secret_verify(stored, "0123456789abcdef0123456789abcdef"));
    assert_false(crypto_secret_verify(stored, "0123456789abcdef0123456789abcdee"));
    assert_false(crypto_secret_verify(stored, "0123456789abcdef0123456789abcde"));
    assert_false(crypto_secret_verify(stored, ""));
    /* salted: the same secret hashes differently each time, and both verify */
    assert_true(crypto_secret_hash(again, "0123456789abcdef0123456789abcdef"));
    assert_string_not_equal(stored, again);
    assert_true(crypto_secret_verify(again, "0123456789abcdef0123456789abcdef"));
}

static void test_secret_verify_rejects_garbage(void **state)
{
    (void)state;
    char stored[CRYPTO_SECRET_LEN];
    assert_true(crypto_secret_hash(stored, "s3cret"));
    assert_false(crypto_secret_verify("", "s3cret"));
    assert_false(crypto_secret_verify("s3cret", "s3cret"));
    assert_false(crypto_secret_verify("pbkdf2$", "s3cret"));
    assert_false(crypto_secret_verify("pbkdf2$0$00$00", "s3cret"));
    assert_false(crypto_secret_verify("pbkdf2$-5$00$00", "s3cret"));
    assert_false(crypto_secret_verify("pbkdf2$99999999999$00$00", "s3cret"));
    /* a tampered hash or salt */
    char bad[CRYPTO_SECRET_LEN];
    memcpy(bad, stored, sizeof bad);
    size_t n = strlen(bad);
    bad[n - 1] = bad[n - 1] == '0' ? '1' : '0';
    assert_false(crypto_secret_verify(bad, "s3cret"));
    memcpy(bad, stored, sizeof bad);
    char *salt = strchr(strchr(bad, '$') + 1, '$') + 1;
    salt[0] = salt[0] == '0' ? '1' : '0';
    assert_false(crypto_secret_verify(bad, "s3cret"));
    /* the hash cut short */
    memcpy(bad, stored, sizeof bad);
    bad[n - 1] = '\0';
    assert_false(crypto_secret_verify(bad, "s3cret"));
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(crypto_equal("", ""));
    assert_true(crypto_equal("abc", "abc"));
    assert_false(crypto_equal("abc", "abd"));
    assert_false(crypto_equal("abc", "ab"));
    assert_false(crypto_equal("ab", "abc"));
    assert_false(crypto_equal("", "a"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_hmac_rfc4231_case2),
        cmocka_unit_test(test_derive),
        cmocka_unit_test(test_secret_hash_verify),
        cmocka_unit_test(test_secret_verify_rejects_garbage),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
