/* SHA-256, HMAC and PBKDF2 from OpenSSL's libcrypto. */
#include "base/crypto.h"

#include "base/rand.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Secrets are 128-bit random values, so the work factor only has to defeat a fast offline search
 * of a leaked database by someone who also knows part of the secret; 20 000 rounds cost ~5 ms. */
#define SECRET_ROUNDS 20000

void crypto_sha256_hex(char out[CRYPTO_HEX_LEN + 1], const char *s)
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    hex_encode(out, md, sizeof md);
}

void crypto_hmac_hex(char out[CRYPTO_HEX_LEN + 1], const char *key, const void *msg, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)strlen(key), msg, len, md, &n);
    hex_encode(out, md, n);
}

void crypto_derive(unsigned char *out, size_t n, const char *key, const char *msg)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha512(), key, (int)strlen(key), (const unsigned char *)msg, strlen(msg), md, &len);
    memcpy(out, md, n < len ? n : len);
}

static bool pbkdf2_hex(char out[CRYPTO_HEX_LEN + 1], const char *secret, const char *salt,
                       int rounds)
{
    unsigned char md[32];
    if (PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), (const unsigned char *)salt,
                          (int)strlen(salt), rounds, EVP_sha256(), sizeof md, md) != 1)
        return false;
    hex_encode(out, md, sizeof md);
    return true;
}

bool crypto_secret_hash(char out[CRYPTO_SECRET_LEN], const char *secret)
{
    char salt[33], hash[CRYPTO_HEX_LEN + 1];
    if (!rand_hex(salt, 16) || !pbkdf2_hex(hash, secret, salt, SECRET_ROUNDS))
        return false;
    snprintf(out, CRYPTO_SECRET_LEN, "pbkdf2$%d$%s$%s", SECRET_ROUNDS, salt, hash);
    return true;
}

bool crypto_secret_verify(const char *stored, const char *secret)
{
    int rounds = 0;
    char salt[65], want[CRYPTO_HEX_LEN + 1], got[CRYPTO_HEX_LEN + 1];
    if (sscanf(stored, "pbkdf2$%d$%64[0-9a-f]$%64[0-9a-f]", &rounds, salt, want) != 3)
        return false;
    if (rounds < 1 || rounds > 10000000 || !pbkdf2_hex(got, secret, salt, rounds))
        return false;
    return crypto_equal(got, want);
}

bool crypto_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}
