/* Token formats: access tokens, stable tokens and waybill tokens, and the access-token rules of
 * SPEC §3 as pure decisions. */
#ifndef WB_DOMAIN_TOKENS_H
#define WB_DOMAIN_TOKENS_H

#include "base/error.h"

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
/* The waybill token (64 base64url characters + NUL) of a binding's nonce. */
void tokens_waybill(char out[65], const char *hash_key, const char *nonce);

/* Whether a stored access token is usable now: WB_OK, WB_TOKEN_EXPIRED or WB_INVALID_CREDENTIAL. */
enum wb_code tokens_check(int64_t now, int64_t expires_at, int64_t valid_until);

#endif
