/* Hashes for what must not be stored in the clear: tokens, secrets, keys and phone numbers. */
#ifndef WB_BASE_CRYPTO_H
#define WB_BASE_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_HEX_LEN 64 /* a SHA-256 digest as lowercase hex, without its NUL */

/* out (65 bytes) = hex SHA-256 of s: the lookup key of a high-entropy token. */
void crypto_sha256_hex(char out[CRYPTO_HEX_LEN + 1], const char *s);
/* out = HMAC-SHA256 of msg under key. */
#define CRYPTO_HMAC_SIZE 32
void crypto_hmac(unsigned char out[CRYPTO_HMAC_SIZE], const char *key, const void *msg, size_t len);
/* out (65 bytes) = hex HMAC-SHA256 of msg under key. */
void crypto_hmac_hex(char out[CRYPTO_HEX_LEN + 1], const char *key, const void *msg, size_t len);
/* Fills out with n bytes (n <= 64) of HMAC-SHA512 of msg under key: a value derived from a secret.
 */
void crypto_derive(unsigned char *out, size_t n, const char *key, const char *msg);

/* One 16-byte block through AES-128 under a key derived from key: sealed, or opened again. A short
 * value sealed so is unreadable without the key, and opening anything not sealed with it gives
 * noise. */
#define CRYPTO_BLOCK_SIZE 16
void crypto_block_seal(unsigned char block[CRYPTO_BLOCK_SIZE], const char *key);
void crypto_block_open(unsigned char block[CRYPTO_BLOCK_SIZE], const char *key);
/* Constant-time comparison of n bytes. */
bool crypto_equal_bytes(const void *a, const void *b, size_t n);

/* A salted slow hash of a secret, as "pbkdf2$ITER$SALT$HASH"; out must hold CRYPTO_SECRET_LEN. */
#define CRYPTO_SECRET_LEN 128
bool crypto_secret_hash(char out[CRYPTO_SECRET_LEN], const char *secret);
/* True when secret matches a value made by crypto_secret_hash (constant time in the hash). */
bool crypto_secret_verify(const char *stored, const char *secret);

/* Constant-time comparison of two NUL-terminated strings. */
bool crypto_equal(const char *a, const char *b);

#endif
