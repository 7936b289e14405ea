/* Field checks of the merchant API, in the order SPEC §4.1 and §2.1 give them. */
#include "domain/merchant.h"

#include "base/buf.h"
#include "base/text.h"
#include "base/utf8.h"
#include "domain/rules.h"

#include <string.h>

/* The string at key, NULL when absent or null; sets e (47001) and *bad when present but not a
 * string or not valid text. */
static const char *field_string(const json_t *obj, const char *key, const char *where,
                                struct wb_err *e, bool *bad)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v)) {
        wb_err_set(e, WB_DATA_FORMAT, "%s%s must be a string", where, key);
        *bad = true;
        return NULL;
    }
    return json_string_value(v);
}

static enum wb_code require_chars(const char *s, const char *where, const char *key, long min,
                                  long max, struct wb_err *e)
{
    long n = utf8_count(s, strlen(s));
    if (n < 0)
        return wb_err_set(e, WB_DATA_FORMAT, "%s%s is not valid UTF-8", where, key);
    if (n < min)
        return wb_err_set(e, WB_DATA_FORMAT, "%s%s is empty", where, key);
    if (n > max)
        return wb_err_set(e, WB_DATA_FORMAT, "%s%s is longer than %ld characters", where, key, max);
    return WB_OK;
}

enum wb_code goods_check_fields(const json_t *goods_info, struct wb_err *e)
{
    if (!goods_info || json_is_null(goods_info))
        return wb_err_set(e, WB_DATA_FORMAT, "goods_info is required");
    if (!json_is_object(goods_info))
        return wb_err_set(e, WB_DATA_FORMAT, "goods_info must be an object");
    const json_t *list = json_object_get(goods_info, "detail_list");
    if (!list || json_is_null(list))
        return wb_err_set(e, WB_DATA_FORMAT, "goods_info.detail_list is required");
    if (!json_is_array(list))
        return wb_err_set(e, WB_DATA_FORMAT, "goods_info.detail_list must be an array");
    size_t n = json_array_size(list);
    if (n < 1 || n > GOODS_MAX)
        return wb_err_set(e, WB_DATA_FORMAT,
                          "goods_info.detail_list must have 1 to %d items, it has %zu", GOODS_MAX,
                          n);
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        char where[64];
        snprintf(where, sizeof where, "goods_info.detail_list[%zu].", i);
        if (!json_is_object(item))
            return wb_err_set(e, WB_DATA_FORMAT, "goods_info.detail_list[%zu] must be an object",
                              i);
        bool bad = false;
        const char *name = field_string(item, "goods_name", where, e, &bad);
        if (bad)
            return e->code;
        if (!name)
            return wb_err_set(e, WB_DATA_FORMAT, "%sgoods_name is required", where);
        if (require_chars(name, where, "goods_name", 1, GOODS_TEXT_MAX, e))
            return e->code;
        const char *img = field_string(item, "goods_img_url", where, e, &bad);
        if (bad)
            return e->code;
        if (!img)
            return wb_err_set(e, WB_DATA_FORMAT, "%sgoods_img_url is required", where);
        const char *desc = field_string(item, "goods_desc", where, e, &bad);
        if (bad)
            return e->code;
        if (desc && require_chars(desc, where, "goods_desc", 0, GOODS_TEXT_MAX, e))
            return e->code;
    }
    return WB_OK;
}

enum wb_code goods_check_images(const json_t *detail_list, struct wb_err *e)
{
    size_t i;
    const json_t *item;
    json_array_foreach(detail_list, i, item)
    {
        const char *why = NULL;
        const char *url = json_string_value(json_object_get(item, "goods_img_url"));
        if (!rules_img_url_ok(url, &why))
            return wb_err_set(e, WB_INVALID_IMG_URL,
                              "图片url错误: goods_info.detail_list[%zu].goods_img_url: %s", i, why);
    }
    return WB_OK;
}

char *goods_canonical(const json_t *detail_list, int *count)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    buf_puts(&b, "[");
    size_t i;
    const json_t *item;
    json_array_foreach(detail_list, i, item)
    {
        const char *name = json_string_value(json_object_get(item, "goods_name"));
        const char *img = json_string_value(json_object_get(item, "goods_img_url"));
        const char *desc = json_string_value(json_object_get(item, "goods_desc"));
        if (!desc || !*desc)
            desc = name;
        buf_puts(&b, i ? ",{\"goods_name\":" : "{\"goods_name\":");
        buf_json_string(&b, name);
        buf_puts(&b, ",\"goods_img_url\":");
        buf_json_string(&b, img);
        buf_puts(&b, ",\"goods_desc\":");
        buf_json_string(&b, desc);
        buf_puts(&b, "}");
    }
    buf_puts(&b, "]");
    if (b.oom || b.overflow) {
        buf_release(&b);
        return NULL;
    }
    *count = (int)json_array_size(detail_list);
    return buf_steal(&b);
}

enum wb_code json_check_controls(const json_t *value, struct wb_err *e)
{
    if (json_is_string(value)) {
        if (utf8_has_control(json_string_value(value), json_string_length(value)))
            return wb_err_set(e, WB_DATA_FORMAT,
                              "a string contains a control character (U+0000 to U+001F)");
    } else if (json_is_object(value)) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)value, key, v)
        {
            if (json_check_controls(v, e))
                return e->code;
        }
    } else if (json_is_array(value)) {
        size_t i;
        const json_t *v;
        json_array_foreach(value, i, v)
        {
            if (json_check_controls(v, e))
                return e->code;
        }
    }
    return WB_OK;
}

static enum wb_code parse_phone(const json_t *body, const char *key, const char *alias,
                                bool required, char out[32], char tail[5], struct wb_err *e)
{
    bool bad = false;
    const char *used = key;
    const char *s = field_string(body, key, "", e, &bad);
    if (!s && !bad && alias) {
        used = alias;
        s = field_string(body, alias, "", e, &bad);
    }
    if (bad)
        return e->code;
    out[0] = tail[0] = '\0';
    if (!s) {
        if (required)
            return wb_err_set(e, WB_DATA_FORMAT, "%s is required", key);
        return WB_OK;
    }
    if (!rules_phone_normalize(s, out, tail))
        return wb_err_set(e, WB_DATA_FORMAT,
                          "%s must be an optional + and 5 to 20 digits (spaces and - allowed)",
                          used);
    return WB_OK;
}

enum wb_code merchant_follow_parse(const json_t *body, const struct merchant_lookup *lookup,
                                   struct follow_req *req, struct wb_err *e)
{
    memset(req, 0, sizeof *req);
    bool bad = false;
    const char *openid = field_string(body, "openid", "", e, &bad);
    if (bad)
        return e->code;
    if (!openid)
        return wb_err_set(e, WB_DATA_FORMAT, "openid is required");
    if (!rules_id_ok(openid, OPENID_SIZE - 1))
        return wb_err_set(e, WB_INVALID_OPENID, "openid must be 1 to 64 of A-Z a-z 0-9 _ -");
    text_copy(req->openid, sizeof req->openid, openid);

    if (parse_phone(body, "receiver_phone", NULL, true, req->receiver_phone, req->receiver_tail,
                    e) ||
        parse_phone(body, "sender_phone", "transmitter_phone", false, req->sender_phone,
                    req->sender_tail, e))
        return e->code;

    const char *waybill_id = field_string(body, "waybill_id", "", e, &bad);
    if (bad)
        return e->code;
    if (!waybill_id)
        return wb_err_set(e, WB_DATA_FORMAT, "waybill_id is required");
    if (!rules_id_ok(waybill_id, WAYBILL_ID_SIZE - 1))
        return wb_err_set(e, WB_DATA_FORMAT, "waybill_id must be 1 to 64 of A-Z a-z 0-9 _ -");
    text_copy(req->waybill_id, sizeof req->waybill_id, waybill_id);

    const char *delivery_id = field_string(body, "delivery_id", "", e, &bad);
    if (bad)
        return e->code;
    if (delivery_id) {
        if (!rules_id_ok(delivery_id, DELIVERY_ID_SIZE - 1) ||
            !lookup->carrier_exists(lookup->ctx, delivery_id))
            return wb_err_set(e, WB_DATA_FORMAT,
                              "delivery_id is not a registered carrier (see get_delivery_list)");
        char owner[DELIVERY_ID_SIZE];
        if (!lookup->waybill_owner(lookup->ctx, waybill_id, owner))
            return wb_err_set(e, WB_SYSTEM, "store unavailable");
        if (owner[0] && strcmp(owner, delivery_id) != 0)
            return wb_err_set(e, WB_DATA_FORMAT,
                              "delivery_id contradicts the waybill's carrier, which is %s", owner);
        text_copy(req->delivery_id, sizeof req->delivery_id, delivery_id);
    }

    const json_t *goods_info = json_object_get(body, "goods_info");
    if (goods_check_fields(goods_info, e))
        return e->code;
    req->goods = json_object_get(goods_info, "detail_list");

    const char *trans_id = field_string(body, "trans_id", "", e, &bad);
    if (bad || (trans_id && require_chars(trans_id, "", "trans_id", 0, 64, e)))
        return e->code;
    if (trans_id)
        text_copy(req->trans_id, sizeof req->trans_id, trans_id);

    const char *path = field_string(body, "order_detail_path", "", e, &bad);
    if (bad || (path && require_chars(path, "", "order_detail_path", 0, 256, e)))
        return e->code;
    if (path)
        text_copy(req->order_detail_path, sizeof req->order_detail_path, path);
    return WB_OK;
}

enum wb_code merchant_token_parse(const json_t *body, bool with_goods, struct token_req *req,
                                  struct wb_err *e)
{
    memset(req, 0, sizeof *req);
    bool bad = false;
    const char *token = field_string(body, "waybill_token", "", e, &bad);
    if (bad)
        return e->code;
    if (!token)
        return wb_err_set(e, WB_DATA_FORMAT, "waybill_token is required");
    const char *openid = field_string(body, "openid", "", e, &bad);
    if (bad)
        return e->code;
    if (openid && !rules_id_ok(openid, OPENID_SIZE - 1))
        return wb_err_set(e, WB_INVALID_OPENID, "openid must be 1 to 64 of A-Z a-z 0-9 _ -");
    if (openid)
        text_copy(req->openid, sizeof req->openid, openid);
    if (with_goods) {
        /* the goods rules come after the token checks (SPEC §2.1); here only presence */
        const json_t *goods_info = json_object_get(body, "goods_info");
        if (!goods_info || json_is_null(goods_info))
            return wb_err_set(e, WB_DATA_FORMAT, "goods_info is required");
        if (!json_is_object(goods_info))
            return wb_err_set(e, WB_DATA_FORMAT, "goods_info must be an object");
        req->goods_info = goods_info;
    }
    if (strlen(token) != WAYBILL_TOKEN_LEN || !rules_token_shape_ok(token, WAYBILL_TOKEN_LEN))
        return wb_err_set(e, WB_INVALID_WAYBILL_TOKEN,
                          "waybill_token is not one this service issued");
    text_copy(req->waybill_token, sizeof req->waybill_token, token);
    return WB_OK;
}
