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
static EVP_CIPHER *aes128;
static pthread_once_t fetched = PTHREAD_ONCE_INIT;
static pthread_key_t contexts_key;

/* An HMAC context and (a copy of) the key it holds, so that the next HMAC under the same key does
 * not key it again. */
struct keyed_mac {
    EVP_MAC_CTX *ctx;
    char *key;
};

struct contexts {
    EVP_MD_CTX *digest;
    struct keyed_mac hmac256, hmac512;
    /* AES under the block key of block_key_of (a copy of the key it was derived from) */
    EVP_CIPHER_CTX *seal, *open;
    char *block_key_of;
};

static void contexts_free(void *arg)
{
    struct contexts *c = arg;
    EVP_MD_CTX_free(c->digest);
    EVP_MAC_CTX_free(c->hmac256.ctx);
    EVP_MAC_CTX_free(c->hmac512.ctx);
    free(c->hmac256.key);
    free(c->hmac512.key);
    EVP_CIPHER_CTX_free(c->seal);
    EVP_CIPHER_CTX_free(c->open);
    free(c->block_key_of);
    free(c);
}

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    aes128 = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
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
    if (c && sha256 && hmac && aes128) {
        c->digest = EVP_MD_CTX_new();
        c->hmac256.ctx = hmac_new("SHA256");
        c->hmac512.ctx = hmac_new("SHA512");
        c->seal = EVP_CIPHER_CTX_new();
        c->open = EVP_CIPHER_CTX_new();
    }
    if (!c || !c->digest || !c->hmac256.ctx || !c->hmac512.ctx || !c->seal || !c->open ||
        pthread_setspecific(contexts_key, c) != 0) {
        fputs("waybilld: libcrypto cannot make its SHA-256/HMAC/AES contexts\n", stderr);
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

/* HMAC of msg under key into md; the length. The context is keyed only when key changes; like the
 * contexts, an HMAC that OpenSSL cannot compute stops the process. */
static size_t hmac_of(struct keyed_mac *mac, const char *key, const void *msg, size_t len,
                      unsigned char md[EVP_MAX_MD_SIZE])
{
    size_t n = 0;
    bool same = mac->key && strcmp(mac->key, key) == 0;
    if (!same) {
        free(mac->key);
        mac->key = NULL; /* until the context holds key */
    }
    if (!EVP_MAC_init(mac->ctx, same ? NULL : (const unsigned char *)key, same ? 0 : strlen(key),
                      NULL) ||
        !EVP_MAC_update(mac->ctx, msg, len) || !EVP_MAC_final(mac->ctx, md, &n, EVP_MAX_MD_SIZE)) {
        fputs("waybilld: libcrypto cannot compute an HMAC\n", stderr);
        abort();
    }
    if (!same)
        mac->key = strdup(key); /* NULL (out of memory): keyed again next time */
    return n;
}

void crypto_hmac(unsigned char out[CRYPTO_HMAC_SIZE], const char *key, const void *msg, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    hmac_of(&contexts()->hmac256, key, msg, len, md);
    memcpy(out, md, CRYPTO_HMAC_SIZE);
}

void crypto_hmac_hex(char out[CRYPTO_HEX_LEN + 1], const char *key, const void *msg, size_t len)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    hex_encode(out, md, hmac_of(&contexts()->hmac256, key, msg, len, md));
}

void crypto_derive(unsigned char *out, size_t n, const char *key, const char *msg)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t len = hmac_of(&contexts()->hmac512, key, msg, strlen(msg), md);
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

/* The calling thread's AES contexts, keyed for key (derived again only when key changes). */
static struct contexts *block_contexts(const char *key)
{
    struct contexts *c = contexts();
    if (c->block_key_of && strcmp(c->block_key_of, key) == 0)
        return c;
    unsigned char aes_key[16];
    crypto_derive(aes_key, sizeof aes_key, key, "block-key");
    free(c->block_key_of);
    c->block_key_of = strdup(key);
    if (!c->block_key_of || !EVP_EncryptInit_ex2(c->seal, aes128, aes_key, NULL, NULL) ||
        !EVP_DecryptInit_ex2(c->open, aes128, aes_key, NULL, NULL) ||
        !EVP_CIPHER_CTX_set_padding(c->seal, 0) || !EVP_CIPHER_CTX_set_padding(c->open, 0)) {
        fputs("waybilld: libcrypto cannot key its AES contexts\n", stderr);
        abort();
    }
    OPENSSL_cleanse(aes_key, sizeof aes_key);
    return c;
}

void crypto_block_seal(unsigned char block[CRYPTO_BLOCK_SIZE], const char *key)
{
    int n = 0;
    EVP_EncryptUpdate(block_contexts(key)->seal, block, &n, block, CRYPTO_BLOCK_SIZE);
}

void crypto_block_open(unsigned char block[CRYPTO_BLOCK_SIZE], const char *key)
{
    int n = 0;
    EVP_DecryptUpdate(block_contexts(key)->open, block, &n, block, CRYPTO_BLOCK_SIZE);
}

bool crypto_equal_bytes(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

bool crypto_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return false;
    return CRYPTO_memcmp(a, b, la) == 0;
}
