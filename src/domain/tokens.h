/* Token formats: access tokens, stable tokens and waybill tokens, and the access-token rules of
 * SPEC §3 as pure decisions. */
#ifndef WB_DOMAIN_TOKENS_H
#define WB_DOMAIN_TOKENS_H

#include "base/crypto.h"
#include "base/error.h"
#include "domain/model.h"

#include <stdbool.h>
#include <stdint.h>

#define ACCESS_TOKEN_LEN 86  /* 64 random bytes in base64url */
#define ACCESS_TOKEN_MAX 512 /* what the API accepts as a token's length */
#define TOKEN_LIFETIME 7200  /* seconds */
#define TOKEN_OVERLAP 300    /* the previous token's grace, and the stable token's renewal window */
#define NONCE_HEX 32         /* a stored nonce: 16 random bytes in hex */

/* A new random access token (ACCESS_TOKEN_LEN characters + NUL); false if randomness failed. */
bool tokens_new_access(char out[ACCESS_TOKEN_LEN + 1]);
/* A new random nonce (NONCE_HEX + NUL). */
bool tokens_new_nonce(char out[NONCE_HEX + 1]);
/* The stable token of an app for a nonce: derived with the hash key, so the database alone never
 * yields it. */
void tokens_stable(char out[ACCESS_TOKEN_LEN + 1], const char *hash_key, const char *appid,
                   const char *nonce);
/* Waybill tokens: 64 base64url characters (48 bytes). A token names its binding's id, sealed with
 * the hash key (crypto_block_seal: 16 bytes), followed by a 32-byte proof, HMAC-SHA256 of the
 * binding's nonce under the hash key, so that neither the id nor the token can be read or made
 * without the key, and the database holds nothing that yields a token. Tokens made before tokens
 * named their binding (48 bytes derived from the nonce) are found by their SHA-256 instead; their
 * bindings keep it (token_hash) and keep being told with them. */
struct waybill_token_ref {
    int64_t binding_id;                   /* the binding a token names, to be proved; or 0, and */
    char legacy_hash[CRYPTO_HEX_LEN + 1]; /* the SHA-256 of a token from before */
    unsigned char proof[CRYPTO_HMAC_SIZE];
};
/* The waybill token of a binding: legacy, that of a binding made before tokens named bindings. */
void tokens_waybill(char out[WAYBILL_TOKEN_LEN + 1], const char *hash_key, int64_t binding_id,
                    const char *nonce, bool legacy);
/* What token (of the right shape) names. */
void tokens_waybill_open(struct waybill_token_ref *ref, const char *hash_key, const char *token);
/* Whether the token opened into ref is the one of the binding it names, whose nonce is nonce. */
bool tokens_waybill_proved(const struct waybill_token_ref *ref, const char *hash_key,
                           const char *nonce);

/* Whether a stored access token is usable now: WB_OK, WB_TOKEN_EXPIRED or WB_INVALID_CREDENTIAL. */
enum wb_code tokens_check(int64_t now, int64_t expires_at, int64_t valid_until);

#endif
