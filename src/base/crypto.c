/* SHA-256, HMAC and PBKDF2 from OpenSSL's libcrypto. */
#include "base/crypto.h"

#include "base/rand.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Secrets are 128-bit random values, so the work factor only has to defeat a fast offline search
 * of a leaked database by someone who also knows part of the secret; 20 000 rounds cost ~5 ms. */
#define SECRET_ROUNDS 20000

/* The algorithms, fetched once; each thread keeps contexts of its own and reuses them, since
 * OpenSSL's one-shot calls look the algorithm up and allocate a context every time. */
static EVP_MD *sha256;
static EVP_MAC *hmac;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;
static pthread_key_t contexts_key;

struct contexts {
    EVP_MD_CTX *digest;
    EVP_MAC_CTX *hmac256, *hmac512;
};

static void contexts_free(void *arg)
{
    struct contexts *c = arg;
    EVP_MD_CTX_free(c->digest);
    EVP_MAC_CTX_free(c->hmac256);
    EVP_MAC_CTX_free(c->hmac512);
    free(c);
}

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    pthread_key_create(&contexts_key, contexts_free);
}

static EVP_MAC_CTX *hmac_new(const char *digest)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
        OSSL_PARAM_construct_end(),
    };
    if (ctx && !EVP_MAC_CTX_set_params(ctx, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* The calling thread's contexts; exits the process when OpenSSL cannot make them (out of memory
 * or a broken installation), since no hash could be computed at all. */
static struct contexts *contexts(void)
{
    pthread_once(&fetched, fetch);
    struct contexts *c = pthread_getspecific(contexts_key);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (c && sha256 && hmac) {
        c->digest = EVP_MD_CTX_new();
        c->hmac256 = hmac_new("SHA256");
        c->hmac512 = hmac_new("SHA512");
    }
    if (!c || !c->digest || !c->hmac256 || !c->hmac512 ||
        pthread_setspecific(contexts_key, c) != 0) {
        fputs("waybilld: libcrypto cannot make its SHA-256/HMAC contexts\n", stderr);
        abort();
    }
    return c;
}

void crypto_sha256_hex(char out[CRYPTO_HEX_LEN + 1], const char *s)
{
    EVP_MD_CTX *ctx = contexts()->digest;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestInit_ex2(ctx, sha256, NULL);
    EVP_DigestUpdate(ctx, s, strlen(s));
    EVP_DigestFinal_ex(ctx, md, &n);
    hex_encode(out, md, n);
}

/* HMAC of msg under key into md; the length. */
static size_t hmac_of(EVP_MAC_CTX *ctx, const char *key, const void *msg, size_t len,
                      unsigned char md[EVP_MAX_MD_SIZE])
{
    size_t n = 0;
    EVP_MAC_init(ctx, (const unsigned char *)key, strlen(key), NULL);
    EVP_MAC_update(ctx, msg, len);
    EVP_MAC_final(ctx, md, &n, EVP_MAX_MD_SIZE);
    return n;
}

void crypto_hmac_hex(char out[CRYPTO_HEX_LEN + 1], const char *key, const void *msg, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    hex_encode(out, md, hmac_of(contexts()->hmac256, key, msg, len, md));
}

void crypto_derive(unsigned char *out, size_t n, const char *key, const char *msg)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t len = hmac_of(contexts()->hmac512, key, msg, strlen(msg), md);
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
