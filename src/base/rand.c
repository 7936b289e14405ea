/* Randomness from OpenSSL's CSPRNG, and the hex and base64url encoders. */
#include "base/rand.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>

/* Small requests (nonces, ids) are served from a buffer of each thread's that the generator fills
 * POOL_SIZE bytes at a time: a call of OpenSSL's costs about as much as a few hundred bytes of its
 * output. Bytes are wiped as they are served, and a child of fork() starts with its buffer empty,
 * so no byte is ever handed out twice. */
#define POOL_SIZE 512
#define POOL_LARGEST 64 /* larger requests go to the generator directly */

static _Thread_local struct {
    unsigned char bytes[POOL_SIZE];
    size_t left; /* the last left bytes are unserved */
} pool;

static void empty_pool(void)
{
    OPENSSL_cleanse(pool.bytes, sizeof pool.bytes);
    pool.left = 0;
}

static void empty_pool_after_fork(void)
{
    pthread_atfork(NULL, NULL, empty_pool);
}

bool rand_bytes(void *out, size_t n)
{
    if (n > POOL_LARGEST)
        return RAND_bytes(out, (int)n) == 1;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, empty_pool_after_fork);
    if (pool.left < n) {
        if (RAND_bytes(pool.bytes, sizeof pool.bytes) != 1)
            return false;
        pool.left = sizeof pool.bytes;
    }
    unsigned char *served = pool.bytes + sizeof pool.bytes - pool.left;
    memcpy(out, served, n);
    OPENSSL_cleanse(served, n);
    pool.left -= n;
    return true;
}

uint32_t rand_u32(void)
{
    uint32_t v = 0;
    if (!rand_bytes(&v, sizeof v))
        v = (uint32_t)(uintptr_t)&v;
    return v;
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

size_t base64url_len(size_t n)
{
    return (n * 4 + 2) / 3;
}

void base64url_encode(char *out, const unsigned char *in, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = alphabet[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* Each base64url character's value plus one; 0 for a character outside the alphabet. */
#define SIX(first, from)                                                                           \
    [first] = from + 1, [first + 1] = from + 2, [first + 2] = from + 3, [first + 3] = from + 4,    \
    [first + 4] = from + 5, [first + 5] = from + 6
#define TEN(first, from)                                                                           \
    SIX(first, from), [first + 6] = from + 7, [first + 7] = from + 8, [first + 8] = from + 9,      \
                               [first + 9] = from + 10
static const unsigned char base64url_value[256] = {
    TEN('A', 0),  TEN('K', 10), SIX('U', 20), TEN('a', 26), TEN('k', 36),
    SIX('u', 46), TEN('0', 52), ['-'] = 63,   ['_'] = 64,
};
#undef TEN
#undef SIX

bool base64url_decode(unsigned char *out, size_t n, const char *in)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *in; in++) {
        unsigned v = base64url_value[(unsigned char)*in];
        if (!v)
            return false;
        acc = (acc << 6) | (v - 1);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == n)
                return false;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* what is left over must be the zero bits that round the text up to whole characters */
    return o == n && bits < 6 && (acc & ((1u << bits) - 1)) == 0;
}

bool rand_hex(char *out, size_t n)
{
    unsigned char raw[128];
    if (n > sizeof raw || !rand_bytes(raw, n))
        return false;
    hex_encode(out, raw, n);
    return true;
}

bool rand_base64url(char *out, size_t n)
{
    unsigned char raw[128];
    if (n > sizeof raw || !rand_bytes(raw, n))
        return false;
    base64url_encode(out, raw, n);
    return true;
}
