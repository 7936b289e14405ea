/* Token formats and lifetimes. */
#include "domain/tokens.h"

#include "base/crypto.h"
#include "base/rand.h"

#include <stdio.h>
#include <string.h>

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

/* A token from before: 48 bytes of HMAC-SHA512 of the binding's nonce. */
static void legacy_token(char out[WAYBILL_TOKEN_LEN + 1], const char *hash_key, const char *nonce)
{
    char msg[80];
    unsigned char raw[48];
    snprintf(msg, sizeof msg, "waybill-token:%s", nonce);
    crypto_derive(raw, sizeof raw, hash_key, msg);
    base64url_encode(out, raw, sizeof raw);
}

/* A token's proof: HMAC-SHA256 of the binding's nonce. */
static void proof(unsigned char out[CRYPTO_HMAC_SIZE], const char *hash_key, const char *nonce)
{
    char msg[80];
    int n = snprintf(msg, sizeof msg, "waybill-proof:%s", nonce);
    crypto_hmac(out, hash_key, msg, (size_t)n);
}

void tokens_waybill(char out[WAYBILL_TOKEN_LEN + 1], const char *hash_key, int64_t binding_id,
                    const char *nonce, bool legacy)
{
    if (legacy) {
        legacy_token(out, hash_key, nonce);
        return;
    }
    unsigned char raw[CRYPTO_BLOCK_SIZE + CRYPTO_HMAC_SIZE] = {0};
    /* the id big-endian, then zeros: what opening a token must find again */
    for (int i = 0; i < 8; i++)
        raw[i] = (unsigned char)((uint64_t)binding_id >> (56 - 8 * i));
    crypto_block_seal(raw, hash_key);
    proof(raw + CRYPTO_BLOCK_SIZE, hash_key, nonce);
    base64url_encode(out, raw, sizeof raw);
}

void tokens_waybill_open(struct waybill_token_ref *ref, const char *hash_key, const char *token)
{
    unsigned char raw[CRYPTO_BLOCK_SIZE + CRYPTO_HMAC_SIZE];
    memset(ref, 0, sizeof *ref);
    if (!base64url_decode(raw, sizeof raw, token))
        return; /* names nothing: found by no id and no hash */
    crypto_block_open(raw, hash_key);
    static const unsigned char zeros[8];
    uint64_t id = 0;
    for (int i = 0; i < 8; i++)
        id = id << 8 | raw[i];
    if (memcmp(raw + 8, zeros, sizeof zeros) == 0 && id > 0 && id <= INT64_MAX) {
        ref->binding_id = (int64_t)id;
        memcpy(ref->proof, raw + CRYPTO_BLOCK_SIZE, sizeof ref->proof);
    } else {
        crypto_sha256_hex(ref->legacy_hash, token);
    }
}

bool tokens_waybill_proved(const struct waybill_token_ref *ref, const char *hash_key,
                           const char *nonce)
{
    unsigned char want[CRYPTO_HMAC_SIZE];
    proof(want, hash_key, nonce);
    return ref->binding_id && crypto_equal_bytes(ref->proof, want, sizeof want);
}

enum wb_code tokens_check(int64_t now, int64_t expires_at, int64_t valid_until)
{
    if (valid_until < expires_at && now >= valid_until)
        return WB_INVALID_CREDENTIAL; /* superseded */
    if (now >= expires_at)
        return WB_TOKEN_EXPIRED;
    return WB_OK;
}
