/* libFuzzer target: arbitrary bytes as a merchant API request body, through every body parser. */
#include "base/error.h"
#include "base/utf8.h"
#include "domain/merchant.h"
#include "domain/rules.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the parsers promise; a broken one is a crash libFuzzer records. */
static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* The store as the handlers would see it: carrier "SF" is registered; waybills starting "YT"
 * belong to another carrier, "SF…" to SF, others to none yet; waybill "DOWN" is a store failure. */
static bool stub_carrier_exists(void *ctx, const char *delivery_id)
{
    (void)ctx;
    return strcmp(delivery_id, "SF") == 0;
}

static bool stub_waybill_owner(void *ctx, const char *waybill_id, char owner[DELIVERY_ID_SIZE])
{
    (void)ctx;
    check(rules_id_ok(waybill_id, WAYBILL_ID_SIZE - 1), "owner looked up for a bad waybill_id");
    if (strcmp(waybill_id, "DOWN") == 0)
        return false;
    const char *o = strncmp(waybill_id, "YT", 2) == 0 ? "YTO" : "";
    if (strncmp(waybill_id, "SF", 2) == 0)
        o = "SF";
    snprintf(owner, DELIVERY_ID_SIZE, "%s", o);
    return true;
}

static const struct merchant_lookup lookup = {NULL, stub_carrier_exists, stub_waybill_owner};

/* Every failure names its errcode in its return and in e, with a detail for the developer. */
static void check_error(enum wb_code code, const struct wb_err *e)
{
    check(code == e->code, "returned code differs from e->code");
    if (code == WB_OK)
        return;
    check(memchr(e->detail, '\0', sizeof e->detail) != NULL, "detail not terminated");
    check(e->detail[0] != '\0', "an error without a detail");
}

static bool digits_only(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

static void check_phone(const char *phone, const char *tail, bool required)
{
    size_t n = strlen(phone);
    if (!required && n == 0) {
        check(tail[0] == '\0', "a tail without a phone");
        return;
    }
    check(n >= 5 && n <= 20 && digits_only(phone), "phone not 5 to 20 digits");
    check(strcmp(tail, phone + n - 4) == 0, "tail is not the phone's last 4 digits");
}

/* The canonical goods JSON parses back as the same number of complete items. */
static void check_canonical(const json_t *detail_list)
{
    int count = -1;
    char *text = goods_canonical(detail_list, &count);
    check(text != NULL, "goods_canonical failed on checked goods");
    check(count == (int)json_array_size(detail_list), "goods_canonical count");
    json_error_t jerr;
    json_t *back = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    check(back != NULL, "goods_canonical wrote invalid JSON");
    check(json_is_array(back) && json_array_size(back) == (size_t)count, "canonical items");
    size_t i;
    json_t *item;
    json_array_foreach(back, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "goods_name"));
        const char *img = json_string_value(json_object_get(item, "goods_img_url"));
        const char *desc = json_string_value(json_object_get(item, "goods_desc"));
        check(name && img && desc && json_object_size(item) == 3, "canonical item fields");
        long chars = utf8_count(name, strlen(name));
        check(chars >= 1 && chars <= GOODS_TEXT_MAX, "canonical goods_name length");
        chars = utf8_count(desc, strlen(desc));
        check(chars >= 1 && chars <= GOODS_TEXT_MAX, "canonical goods_desc length");
        const json_t *orig = json_array_get(detail_list, i);
        check(strcmp(name, json_string_value(json_object_get(orig, "goods_name"))) == 0,
              "canonical goods_name differs");
        check(strcmp(img, json_string_value(json_object_get(orig, "goods_img_url"))) == 0,
              "canonical goods_img_url differs");
    }
    json_decref(back);
    free(text);
}

static void goods_after_fields(const json_t *detail_list)
{
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code code = goods_check_images(detail_list, &e);
    check_error(code, &e);
    check(code == WB_OK || code == WB_INVALID_IMG_URL, "goods_check_images errcode");
    check_canonical(detail_list);
}

static void fuzz_follow(const json_t *body)
{
    struct follow_req req;
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code code = merchant_follow_parse(body, &lookup, &req, &e);
    check_error(code, &e);
    if (code != WB_OK) {
        check(code == WB_DATA_FORMAT || code == WB_INVALID_OPENID || code == WB_SYSTEM,
              "merchant_follow_parse errcode");
        return;
    }
    check(rules_id_ok(req.openid, OPENID_SIZE - 1), "accepted openid");
    check(rules_id_ok(req.waybill_id, WAYBILL_ID_SIZE - 1), "accepted waybill_id");
    check(req.delivery_id[0] == '\0' || strcmp(req.delivery_id, "SF") == 0, "accepted carrier");
    check(strncmp(req.waybill_id, "YT", 2) != 0 || req.delivery_id[0] == '\0',
          "delivery_id contradicting the owner");
    check_phone(req.receiver_phone, req.receiver_tail, true);
    check_phone(req.sender_phone, req.sender_tail, false);
    check(utf8_count(req.trans_id, strlen(req.trans_id)) <= 64, "trans_id length");
    check(utf8_count(req.order_detail_path, strlen(req.order_detail_path)) <= 256,
          "order_detail_path length");
    check(json_is_array(req.goods), "goods is not the detail_list");
    size_t n = json_array_size(req.goods);
    check(n >= 1 && n <= GOODS_MAX, "goods count");
    goods_after_fields(req.goods);
}

static void fuzz_token(const json_t *body, bool with_goods)
{
    struct token_req req;
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code code = merchant_token_parse(body, with_goods, &req, &e);
    check_error(code, &e);
    if (code != WB_OK) {
        check(code == WB_DATA_FORMAT || code == WB_INVALID_OPENID ||
                  code == WB_INVALID_WAYBILL_TOKEN,
              "merchant_token_parse errcode");
        return;
    }
    check(strlen(req.waybill_token) == WAYBILL_TOKEN_LEN, "accepted token length");
    check(rules_token_shape_ok(req.waybill_token, WAYBILL_TOKEN_LEN), "accepted token shape");
    check(req.openid[0] == '\0' || rules_id_ok(req.openid, OPENID_SIZE - 1), "accepted openid");
    if (!with_goods) {
        check(req.goods_info == NULL, "goods_info on a query");
        return;
    }
    check(json_is_object(req.goods_info), "goods_info is not an object");
    wb_err_clear(&e);
    code = goods_check_fields(req.goods_info, &e);
    check_error(code, &e);
    check(code == WB_OK || code == WB_DATA_FORMAT, "goods_check_fields errcode");
    if (code == WB_OK)
        goods_after_fields(json_object_get(req.goods_info, "detail_list"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!body)
        return 0;
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code code = json_check_controls(body, &e);
    check_error(code, &e);
    check(code == WB_OK || code == WB_DATA_FORMAT, "json_check_controls errcode");
    /* the handlers stop at a control character; the parsers must be safe either way */
    fuzz_follow(body);
    fuzz_token(body, false);
    fuzz_token(body, true);
    json_decref(body);
    return 0;
}
