/* Token formats and lifetimes. */
#include "domain/tokens.h"

#include "base/crypto.h"
#include "base/rand.h"

#include <stdio.h>

bool tokens_new_access(char out[ACCESS_TOKEN_LEN + 1])
{
    return rand_base64url(out, 64);
}

bool tokens_new_nonce(char out[NONCE_HEX + 1])
{
    return rand_hex(out, NONCE_HEX / 2);
}

void tokens_stable(char out[ACCESS_TOKEN_LEN + 1], const char *hash_key, const char *appid,
                   const char *nonce)
{
    char msg[160];
    unsigned char raw[64];
    snprintf(msg, sizeof msg, "stable-token:%s:%s", appid, nonce);
    crypto_derive(raw, sizeof raw, hash_key, msg);
    base64url_encode(out, raw, sizeof raw);
}

void tokens_waybill(char out[65], const char *hash_key, const char *nonce)
{
    char msg[80];
    unsigned char raw[48];
    snprintf(msg, sizeof msg, "waybill-token:%s", nonce);
    crypto_derive(raw, sizeof raw, hash_key, msg);
    base64url_encode(out, raw, sizeof raw);
}

enum wb_code tokens_check(int64_t now, int64_t expires_at, int64_t valid_until)
{
    if (valid_until < expires_at && now >= valid_until)
        return WB_INVALID_CREDENTIAL; /* superseded */
    if (now >= expires_at)
        return WB_TOKEN_EXPIRED;
    return WB_OK;
}
