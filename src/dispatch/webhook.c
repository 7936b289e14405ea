/* Webhook bodies and signatures. */
#include "dispatch/webhook.h"

#include "base/buf.h"
#include "base/crypto.h"

#include <stdio.h>
#include <string.h>

static void string_or_null(struct buf *b, const char *s)
{
    if (s[0])
        buf_json_string(b, s);
    else
        buf_puts(b, "null");
}

char *webhook_body(const struct notice *n, const char *waybill_token, const char *public_url)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    buf_puts(&b, "{\"event_id\":");
    buf_json_string(&b, n->id);
    buf_printf(&b, ",\"sequence\":%lld,\"type\":", (long long)n->sequence);
    buf_json_string(&b, n->type);
    buf_puts(&b, ",\"appid\":");
    buf_json_string(&b, n->appid);
    buf_puts(&b, ",\"openid\":");
    buf_json_string(&b, n->openid);
    buf_puts(&b, ",\"waybill_token\":");
    buf_json_string(&b, waybill_token);
    buf_puts(&b, ",\"waybill_id\":");
    buf_json_string(&b, n->waybill_id);
    buf_printf(&b, ",\"status\":%d,\"delivery_id\":", n->status);
    string_or_null(&b, n->delivery_id);
    buf_puts(&b, ",\"delivery_name\":");
    string_or_null(&b, n->delivery_name);
    buf_printf(&b, ",\"goods\":%s,\"goods_count\":%d,\"order_detail_path\":",
               n->goods[0] ? n->goods : "{}", n->goods_count);
    string_or_null(&b, n->order_detail_path);
    buf_puts(&b, ",\"landing_url\":");
    char landing[URL_SIZE + 80];
    snprintf(landing, sizeof landing, "%s/l/%s", public_url, waybill_token);
    buf_json_string(&b, landing);
    buf_printf(&b, ",\"action_time\":%lld,\"created_at\":%lld}", (long long)n->action_time,
               (long long)n->created_at);
    if (b.oom || b.overflow) {
        buf_release(&b);
        return NULL;
    }
    return buf_steal(&b);
}

void webhook_signature(char out[WEBHOOK_SIGNATURE_SIZE], const char *secret, int64_t unix_time,
                       const char *body)
{
    struct buf signed_text;
    buf_init(&signed_text, (size_t)-1 / 2);
    buf_printf(&signed_text, "%lld.", (long long)unix_time);
    buf_puts(&signed_text, body);
    char hex[CRYPTO_HEX_LEN + 1];
    crypto_hmac_hex(hex, secret, signed_text.ptr ? signed_text.ptr : "", signed_text.len);
    buf_release(&signed_text);
    snprintf(out, WEBHOOK_SIGNATURE_SIZE, "t=%lld,v1=%s", (long long)unix_time, hex);
}
