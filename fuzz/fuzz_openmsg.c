/* Fuzz target: request bodies through the whole merchant handler, against a real SQLite store.
 * The first byte picks the endpoint and the mode; the rest is the body. Every reply must be a JSON
 * object whose errcode is in the table, and the stored data must stay readable. */
#include "admin/admin.h"
#include "api/api.h"
#include "base/crypto.h"
#include "base/error.h"
#include "domain/tokens.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const endpoints[] = {
    "follow_waybill", "query_follow_trace",   "update_follow_waybill_goods", "trace_waybill",
    "query_trace",    "update_waybill_goods", "get_delivery_list",
};

static struct api api;
static char access_token[ACCESS_TOKEN_LEN + 1];
static char dir[] = "/tmp/waybilld-fuzz-XXXXXX";

static void remove_store(void)
{
    static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm"};
    char path[64];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static const char *lookup_cb(void *conn, enum http_kv kind, const char *name)
{
    (void)conn;
    return kind == HTTP_QUERY && strcmp(name, "access_token") == 0 ? access_token : NULL;
}

static void setup(void)
{
    char path[64];
    if (!mkdtemp(dir))
        abort();
    atexit(remove_store);
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    api.store = store_open(path);
    if (!api.store)
        abort();
    api.cfg = (struct api_config){.sandbox = true,
                                  .public_url = "http://127.0.0.1:8080",
                                  .admin_key = "admin",
                                  .hash_key = "hash",
                                  .day_offset_s = 28800,
                                  .max_updates = 10,
                                  .expire_unbound_s = 7 * 86400,
                                  .expire_stalled_s = 30 * 86400,
                                  .expire_final_s = 30 * 86400,
                                  .purge_s = 90 * 86400};
    struct admin_ctx ctx = {api.store, "hash", 10, 28800};
    struct admin_err e;
    json_t *body = json_pack("{s:s,s:b,s:i,s:i}", "name", "fuzz", "released", 1, "pay_tx_90d", 1,
                             "daily_quota", 100000000);
    json_t *app = admin_app_create(&ctx, body, &e);
    if (!app)
        abort();
    struct token_rec t = {.kind = TOKEN_PLAIN,
                          .issued_at = 0,
                          .expires_at = INT64_MAX / 2,
                          .valid_until = INT64_MAX / 2};
    if (!tokens_new_access(access_token))
        abort();
    crypto_sha256_hex(t.hash, access_token);
    snprintf(t.appid, sizeof t.appid, "%s", json_string_value(json_object_get(app, "appid")));
    if (api.store->ops->token_issue(api.store, &t, t.expires_at))
        abort();
    json_decref(body);
    json_decref(app);
}

static bool errcode_known(long long code)
{
#define XX(name, number, msg)                                                                      \
    if (code == (number))                                                                          \
        return true;
    WB_ERRORS(XX)
#undef XX
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!api.store)
        setup();
    if (size < 1)
        return 0;
    char path[128];
    snprintf(path, sizeof path, "/cgi-bin/express/delivery/open_msg/%s",
             endpoints[data[0] % (sizeof endpoints / sizeof endpoints[0])]);
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct http_request req = {.method = data[0] & 0x80 ? "GET" : "POST",
                               .path = path,
                               .body = body,
                               .body_len = size - 1,
                               .body_limit = 65536,
                               .rid = "00000000-00000000-00000000",
                               .lookup = lookup_cb};
    struct http_reply reply = {.status = 200};
    buf_init(&reply.body, 1u << 20);
    openmsg_handle(&api, &req, &reply);
    json_error_t err;
    json_t *parsed = json_loadb(reply.body.ptr, reply.body.len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(parsed) ||
        !errcode_known(json_integer_value(json_object_get(parsed, "errcode"))) ||
        reply.status != 200)
        abort();
    json_decref(parsed);
    buf_release(&reply.body);
    free(body);
    return 0;
}
