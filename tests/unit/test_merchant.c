/* Unit tests of src/domain/merchant.c: the field checks, in the order of SPEC §4.1. */
#include "domain/merchant.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- a lookup stub: carriers "SF" and "YTO" exist; the owner of each waybill is set per test ----
 */

struct stub {
    const char *owner; /* what waybill_owner answers */
    bool store_down;   /* waybill_owner fails */
    int owner_calls;
};

static bool stub_carrier_exists(void *ctx, const char *delivery_id)
{
    (void)ctx;
    return strcmp(delivery_id, "SF") == 0 || strcmp(delivery_id, "YTO") == 0;
}

static bool stub_waybill_owner(void *ctx, const char *waybill_id, char owner[DELIVERY_ID_SIZE])
{
    struct stub *s = ctx;
    (void)waybill_id;
    s->owner_calls++;
    if (s->store_down)
        return false;
    snprintf(owner, DELIVERY_ID_SIZE, "%s", s->owner ? s->owner : "");
    return true;
}

/* ---- helpers ---- */

#define IMG "https://img.example.com/a.jpg"
#define TOKEN64 "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz"

/* s repeated n times, in a static buffer (one live result at a time per call site is enough) */
static const char *rep(const char *s, size_t n)
{
    static char out[4][1200];
    static int next;
    char *o = out[next++ % 4];
    size_t len = strlen(s);
    assert_true(n * len < sizeof out[0]);
    for (size_t i = 0; i < n; i++)
        memcpy(o + i * len, s, len);
    o[n * len] = '\0';
    return o;
}

#define CJK "\xe5\x95\x86" /* 商 */

static json_t *item(const char *name, const char *img)
{
    return json_pack("{s:s, s:s}", "goods_name", name, "goods_img_url", img);
}

static json_t *goods_info_of(json_t *list)
{
    return json_pack("{s:o}", "detail_list", list);
}

/* A body that passes every field check. */
static json_t *valid_body(void)
{
    json_t *b = json_pack("{s:s, s:s, s:s, s:o}", "openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                          "receiver_phone", "+86 138-0013-8000", "waybill_id", "SF1234567890",
                          "goods_info", goods_info_of(json_pack("[o]", item("book", IMG))));
    assert_non_null(b);
    return b;
}

static void set_str(json_t *body, const char *key, const char *value)
{
    assert_int_equal(json_object_set_new(body, key, json_string(value)), 0);
}

static enum wb_code follow(json_t *body, struct stub *s, struct follow_req *req, struct wb_err *e)
{
    struct stub local = {0};
    if (!s)
        s = &local;
    struct merchant_lookup lookup = {s, stub_carrier_exists, stub_waybill_owner};
    wb_err_clear(e);
    enum wb_code code = merchant_follow_parse(body, &lookup, req, e);
    assert_int_equal(code, e->code);
    if (code != WB_OK && !e->detail[0])
        fail_msg("an error without a detail");
    return code;
}

/* Runs the follow checks on body (consumed) and expects code with detail containing needle. */
static void expect_follow(json_t *body, enum wb_code want, const char *needle)
{
    struct follow_req req;
    struct wb_err e;
    enum wb_code got = follow(body, NULL, &req, &e);
    if (got != want || (needle && !strstr(e.detail, needle)))
        fail_msg("wanted %d with \"%s\" in the detail, got %d \"%s\"", wb_code_number(want),
                 needle ? needle : "", wb_code_number(got), e.detail);
    json_decref(body);
}

static json_t *parse_flags(const char *text, size_t flags)
{
    json_error_t jerr;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | flags, &jerr);
    if (!v)
        fail_msg("test JSON does not parse: %s: %s", jerr.text, text);
    return v;
}

static json_t *parse(const char *text)
{
    return parse_flags(text, 0);
}

/* ---- merchant_follow_parse: a valid body ---- */

static void test_follow_valid(void **state)
{
    (void)state;
    json_t *b = valid_body();
    struct follow_req req;
    struct wb_err e;
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.openid, "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o");
    assert_string_equal(req.receiver_phone, "8613800138000");
    assert_string_equal(req.receiver_tail, "8000");
    assert_string_equal(req.sender_phone, "");
    assert_string_equal(req.sender_tail, "");
    assert_string_equal(req.waybill_id, "SF1234567890");
    assert_string_equal(req.delivery_id, "");
    assert_string_equal(req.trans_id, "");
    assert_string_equal(req.order_detail_path, "");
    assert_true(json_is_array(req.goods));
    assert_int_equal(json_array_size(req.goods), 1);
    assert_ptr_equal(req.goods, json_object_get(json_object_get(b, "goods_info"), "detail_list"));
    json_decref(b);
}

static void test_follow_all_fields(void **state)
{
    (void)state;
    json_t *b = parse("{\"openid\":\"o-1_x\",\"receiver_phone\":\"13800138000\","
                      "\"sender_phone\":\"+44 20-7946-0958\",\"waybill_id\":\"SF1234567890\","
                      "\"delivery_id\":\"SF\",\"goods_info\":{\"detail_list\":[{\"goods_name\":"
                      "\"\xe4\xb9\xa6\",\"goods_img_url\":\"img.example.com/a.jpg\",\"goods_desc\":"
                      "\"d\"}]},\"trans_id\":\"t-1\",\"order_detail_path\":\"pages/order?id=1\","
                      "\"unknown_field\":{\"x\":[1,2,3]}}");
    struct stub s = {.owner = "SF"};
    struct follow_req req;
    struct wb_err e;
    assert_int_equal(follow(b, &s, &req, &e), WB_OK);
    assert_string_equal(req.openid, "o-1_x");
    assert_string_equal(req.receiver_phone, "13800138000");
    assert_string_equal(req.sender_phone, "442079460958");
    assert_string_equal(req.sender_tail, "0958");
    assert_string_equal(req.delivery_id, "SF");
    assert_string_equal(req.trans_id, "t-1");
    assert_string_equal(req.order_detail_path, "pages/order?id=1");
    json_decref(b);
}

/* ---- field order ---- */

static void test_follow_order(void **state)
{
    (void)state;
    json_t *b;
    /* a bad openid and a bad waybill_id: the openid is reported */
    b = valid_body();
    set_str(b, "openid", "bad openid");
    set_str(b, "waybill_id", "bad waybill");
    expect_follow(b, WB_INVALID_OPENID, "openid");
    /* a missing openid before everything else */
    b = valid_body();
    json_object_del(b, "openid");
    json_object_del(b, "receiver_phone");
    json_object_del(b, "goods_info");
    expect_follow(b, WB_DATA_FORMAT, "openid");
    /* receiver_phone before sender_phone before waybill_id */
    b = valid_body();
    set_str(b, "receiver_phone", "12");
    set_str(b, "sender_phone", "34");
    set_str(b, "waybill_id", "");
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
    b = valid_body();
    set_str(b, "sender_phone", "34");
    set_str(b, "waybill_id", "");
    expect_follow(b, WB_DATA_FORMAT, "sender_phone");
    /* waybill_id before delivery_id before goods_info */
    b = valid_body();
    set_str(b, "waybill_id", "a b");
    set_str(b, "delivery_id", "NOPE");
    json_object_del(b, "goods_info");
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
    b = valid_body();
    set_str(b, "delivery_id", "NOPE");
    json_object_del(b, "goods_info");
    expect_follow(b, WB_DATA_FORMAT, "delivery_id");
    /* goods_info before trans_id before order_detail_path */
    b = valid_body();
    json_object_del(b, "goods_info");
    set_str(b, "trans_id", rep("t", 65));
    expect_follow(b, WB_DATA_FORMAT, "goods_info");
    b = valid_body();
    set_str(b, "trans_id", rep("t", 65));
    set_str(b, "order_detail_path", rep("p", 257));
    expect_follow(b, WB_DATA_FORMAT, "trans_id");
    /* within goods: item 0 before item 1, name before image before description */
    b = valid_body();
    json_object_set_new(
        b, "goods_info",
        goods_info_of(json_pack("[{s:s},{s:s}]", "goods_desc", rep("d", 41), "goods_name", "")));
    expect_follow(b, WB_DATA_FORMAT, "goods_info.detail_list[0].goods_name is required");
}

/* ---- openid ---- */

static void test_follow_openid(void **state)
{
    (void)state;
    json_t *b;
    b = valid_body();
    json_object_del(b, "openid");
    expect_follow(b, WB_DATA_FORMAT, "openid is required");
    b = valid_body();
    json_object_set_new(b, "openid", json_null()); /* null counts as absent */
    expect_follow(b, WB_DATA_FORMAT, "openid is required");
    b = valid_body();
    set_str(b, "openid", "");
    expect_follow(b, WB_INVALID_OPENID, "openid");
    b = valid_body();
    set_str(b, "openid", rep("o", 65));
    expect_follow(b, WB_INVALID_OPENID, "openid");
    b = valid_body();
    set_str(b, "openid", rep("o", 64));
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "openid", "o.1");
    expect_follow(b, WB_INVALID_OPENID, "openid");
    b = valid_body();
    set_str(b, "openid", "' OR 1=1 --");
    expect_follow(b, WB_INVALID_OPENID, "openid");
    b = valid_body();
    json_object_set_new(b, "openid", json_integer(12345));
    expect_follow(b, WB_DATA_FORMAT, "openid");
    b = valid_body();
    json_object_set_new(b, "openid", json_pack("[s]", "o1"));
    expect_follow(b, WB_DATA_FORMAT, "openid");
}

/* ---- phones ---- */

static void test_follow_receiver_phone(void **state)
{
    (void)state;
    json_t *b;
    b = valid_body();
    json_object_del(b, "receiver_phone");
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone is required");
    b = valid_body();
    json_object_set_new(b, "receiver_phone", json_null());
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone is required");
    b = valid_body();
    json_object_set_new(b, "receiver_phone", json_integer(13800138000));
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
    b = valid_body();
    set_str(b, "receiver_phone", "1234");
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
    b = valid_body();
    set_str(b, "receiver_phone", "12345");
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "receiver_phone", rep("9", 20));
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "receiver_phone", rep("9", 21));
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
    b = valid_body();
    set_str(b, "receiver_phone", "138+00138000");
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
    b = valid_body();
    set_str(b, "receiver_phone", "");
    expect_follow(b, WB_DATA_FORMAT, "receiver_phone");
}

static void test_follow_sender_phone(void **state)
{
    (void)state;
    json_t *b;
    struct follow_req req;
    struct wb_err e;
    b = valid_body();
    json_object_set_new(b, "sender_phone", json_null());
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "sender_phone", "1234");
    expect_follow(b, WB_DATA_FORMAT, "sender_phone");
    b = valid_body();
    json_object_set_new(b, "sender_phone", json_true());
    expect_follow(b, WB_DATA_FORMAT, "sender_phone");
    /* the seed's transmitter_phone is an alias */
    b = valid_body();
    set_str(b, "transmitter_phone", "+86 139-0000-1111");
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.sender_phone, "8613900001111");
    assert_string_equal(req.sender_tail, "1111");
    json_decref(b);
    b = valid_body();
    set_str(b, "transmitter_phone", "12");
    expect_follow(b, WB_DATA_FORMAT, "transmitter_phone");
    /* sender_phone wins over the alias */
    b = valid_body();
    set_str(b, "sender_phone", "22222");
    set_str(b, "transmitter_phone", "33333");
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.sender_phone, "22222");
    json_decref(b);
    /* a null sender_phone is absent, so the alias is read */
    b = valid_body();
    json_object_set_new(b, "sender_phone", json_null());
    set_str(b, "transmitter_phone", "44444");
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.sender_phone, "44444");
    json_decref(b);
}

/* ---- waybill_id ---- */

static void test_follow_waybill_id(void **state)
{
    (void)state;
    json_t *b;
    b = valid_body();
    json_object_del(b, "waybill_id");
    expect_follow(b, WB_DATA_FORMAT, "waybill_id is required");
    b = valid_body();
    json_object_set_new(b, "waybill_id", json_null());
    expect_follow(b, WB_DATA_FORMAT, "waybill_id is required");
    b = valid_body();
    json_object_set_new(b, "waybill_id", json_integer(1234567890));
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
    b = valid_body();
    set_str(b, "waybill_id", "");
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
    b = valid_body();
    set_str(b, "waybill_id", rep("W", 64));
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "waybill_id", rep("W", 65));
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
    b = valid_body();
    set_str(b, "waybill_id", "SF123'; DROP TABLE bindings; --");
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
    b = valid_body();
    set_str(b, "waybill_id", "SF\xe4\xb8\xad");
    expect_follow(b, WB_DATA_FORMAT, "waybill_id");
}

/* ---- delivery_id ---- */

static void test_follow_delivery_id(void **state)
{
    (void)state;
    json_t *b;
    struct follow_req req;
    struct wb_err e;
    struct stub s = {0};

    b = valid_body();
    json_object_set_new(b, "delivery_id", json_null());
    assert_int_equal(follow(b, &s, &req, &e), WB_OK);
    assert_string_equal(req.delivery_id, "");
    json_decref(b);

    b = valid_body();
    set_str(b, "delivery_id", "ZTO");
    expect_follow(b, WB_DATA_FORMAT, "delivery_id");
    b = valid_body();
    set_str(b, "delivery_id", "");
    expect_follow(b, WB_DATA_FORMAT, "delivery_id");
    b = valid_body();
    set_str(b, "delivery_id", rep("S", 33));
    expect_follow(b, WB_DATA_FORMAT, "delivery_id");
    b = valid_body();
    json_object_set_new(b, "delivery_id", json_integer(1));
    expect_follow(b, WB_DATA_FORMAT, "delivery_id");

    /* no owner yet, or the same owner: accepted */
    s = (struct stub){.owner = ""};
    b = valid_body();
    set_str(b, "delivery_id", "SF");
    assert_int_equal(follow(b, &s, &req, &e), WB_OK);
    assert_string_equal(req.delivery_id, "SF");
    assert_int_equal(s.owner_calls, 1);
    json_decref(b);
    s = (struct stub){.owner = "SF"};
    b = valid_body();
    set_str(b, "delivery_id", "SF");
    assert_int_equal(follow(b, &s, &req, &e), WB_OK);
    json_decref(b);

    /* contradicting the waybill's known owner */
    s = (struct stub){.owner = "YTO"};
    b = valid_body();
    set_str(b, "delivery_id", "SF");
    assert_int_equal(follow(b, &s, &req, &e), WB_DATA_FORMAT);
    assert_non_null(strstr(e.detail, "delivery_id"));
    assert_non_null(strstr(e.detail, "YTO"));
    json_decref(b);

    /* a store failure is a system error, not the caller's fault */
    s = (struct stub){.store_down = true};
    b = valid_body();
    set_str(b, "delivery_id", "SF");
    assert_int_equal(follow(b, &s, &req, &e), WB_SYSTEM);
    json_decref(b);

    /* without a delivery_id the owner is not looked up */
    s = (struct stub){.store_down = true};
    b = valid_body();
    assert_int_equal(follow(b, &s, &req, &e), WB_OK);
    assert_int_equal(s.owner_calls, 0);
    json_decref(b);
}

/* ---- goods_info ---- */

static json_t *body_with_goods(json_t *goods_info)
{
    json_t *b = valid_body();
    json_object_set_new(b, "goods_info", goods_info);
    return b;
}

static json_t *items(size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, item("book", IMG));
    return list;
}

static void test_follow_goods_shape(void **state)
{
    (void)state;
    json_t *b = valid_body();
    json_object_del(b, "goods_info");
    expect_follow(b, WB_DATA_FORMAT, "goods_info is required");
    expect_follow(body_with_goods(json_null()), WB_DATA_FORMAT, "goods_info is required");
    expect_follow(body_with_goods(json_string("x")), WB_DATA_FORMAT, "goods_info");
    expect_follow(body_with_goods(items(1)), WB_DATA_FORMAT, "goods_info");
    expect_follow(body_with_goods(json_object()), WB_DATA_FORMAT,
                  "goods_info.detail_list is required");
    expect_follow(body_with_goods(json_pack("{s:n}", "detail_list")), WB_DATA_FORMAT,
                  "goods_info.detail_list is required");
    expect_follow(body_with_goods(json_pack("{s:{}}", "detail_list")), WB_DATA_FORMAT,
                  "goods_info.detail_list");
    expect_follow(body_with_goods(goods_info_of(items(0))), WB_DATA_FORMAT,
                  "goods_info.detail_list");
    expect_follow(body_with_goods(goods_info_of(items(1))), WB_OK, NULL);
    expect_follow(body_with_goods(goods_info_of(items(10))), WB_OK, NULL);
    expect_follow(body_with_goods(goods_info_of(items(11))), WB_DATA_FORMAT,
                  "goods_info.detail_list");
    expect_follow(body_with_goods(goods_info_of(json_pack("[o,s]", item("a", IMG), "x"))),
                  WB_DATA_FORMAT, "goods_info.detail_list[1]");
    expect_follow(body_with_goods(goods_info_of(json_pack("[o,n]", item("a", IMG)))),
                  WB_DATA_FORMAT, "goods_info.detail_list[1]");
}

static void test_follow_goods_name(void **state)
{
    (void)state;
    json_t *list;
    /* 40 CJK characters (120 bytes) pass, 41 do not; indexes count from 0 */
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item(rep(CJK, 40), IMG)))), WB_OK,
                  NULL);
    list = json_pack("[o,o,o]", item("a", IMG), item("b", IMG), item(rep(CJK, 41), IMG));
    {
        json_t *b = body_with_goods(goods_info_of(list));
        struct follow_req req;
        struct wb_err e;
        assert_int_equal(follow(b, NULL, &req, &e), WB_DATA_FORMAT);
        assert_string_equal(e.detail,
                            "goods_info.detail_list[2].goods_name is longer than 40 characters");
        json_decref(b);
    }
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item(rep("a", 40), IMG)))), WB_OK,
                  NULL);
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item(rep("a", 41), IMG)))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_name");
    /* 40 four-byte characters */
    expect_follow(
        body_with_goods(goods_info_of(json_pack("[o]", item(rep("\xf0\x9f\x93\xa6", 40), IMG)))),
        WB_OK, NULL);
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item("", IMG)))), WB_DATA_FORMAT,
                  "goods_info.detail_list[0].goods_name");
    expect_follow(body_with_goods(goods_info_of(json_pack("[{s:s}]", "goods_img_url", IMG))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_name is required");
    expect_follow(body_with_goods(
                      goods_info_of(json_pack("[{s:n,s:s}]", "goods_name", "goods_img_url", IMG))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_name is required");
    expect_follow(body_with_goods(goods_info_of(
                      json_pack("[{s:i,s:s}]", "goods_name", 7, "goods_img_url", IMG))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_name");
}

static void test_follow_goods_img_url_fields(void **state)
{
    (void)state;
    expect_follow(body_with_goods(goods_info_of(json_pack("[{s:s}]", "goods_name", "a"))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_img_url is required");
    expect_follow(body_with_goods(
                      goods_info_of(json_pack("[{s:s,s:n}]", "goods_name", "a", "goods_img_url"))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_img_url is required");
    expect_follow(body_with_goods(goods_info_of(
                      json_pack("[{s:s,s:b}]", "goods_name", "a", "goods_img_url", 1))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_img_url");
    /* a bad URL is not a 47001: goods_check_images answers it later (9300561) */
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item("a", "ftp://x/y")))), WB_OK,
                  NULL);
}

static json_t *item_desc(const char *name, const char *desc)
{
    return json_pack("{s:s, s:s, s:s}", "goods_name", name, "goods_img_url", IMG, "goods_desc",
                     desc);
}

static void test_follow_goods_desc(void **state)
{
    (void)state;
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item_desc("a", rep(CJK, 40))))),
                  WB_OK, NULL);
    expect_follow(body_with_goods(goods_info_of(
                      json_pack("[o,o]", item("a", IMG), item_desc("a", rep(CJK, 41))))),
                  WB_DATA_FORMAT, "goods_info.detail_list[1].goods_desc is longer than 40");
    expect_follow(body_with_goods(goods_info_of(json_pack("[o]", item_desc("a", "")))), WB_OK,
                  NULL);
    expect_follow(body_with_goods(goods_info_of(json_pack("[{s:s,s:s,s:n}]", "goods_name", "a",
                                                          "goods_img_url", IMG, "goods_desc"))),
                  WB_OK, NULL);
    expect_follow(body_with_goods(goods_info_of(json_pack("[{s:s,s:s,s:i}]", "goods_name", "a",
                                                          "goods_img_url", IMG, "goods_desc", 3))),
                  WB_DATA_FORMAT, "goods_info.detail_list[0].goods_desc");
}

/* ---- trans_id and order_detail_path ---- */

static void test_follow_trans_id(void **state)
{
    (void)state;
    json_t *b;
    struct follow_req req;
    struct wb_err e;
    b = valid_body();
    set_str(b, "trans_id", rep("t", 64));
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "trans_id", rep("t", 65));
    expect_follow(b, WB_DATA_FORMAT, "trans_id");
    b = valid_body();
    set_str(b, "trans_id", rep(CJK, 64));
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.trans_id, rep(CJK, 64));
    json_decref(b);
    b = valid_body();
    set_str(b, "trans_id", rep(CJK, 65));
    expect_follow(b, WB_DATA_FORMAT, "trans_id");
    b = valid_body();
    json_object_set_new(b, "trans_id", json_integer(5));
    expect_follow(b, WB_DATA_FORMAT, "trans_id");
    b = valid_body();
    json_object_set_new(b, "trans_id", json_null());
    expect_follow(b, WB_OK, NULL);
}

static void test_follow_order_detail_path(void **state)
{
    (void)state;
    json_t *b;
    struct follow_req req;
    struct wb_err e;
    b = valid_body();
    set_str(b, "order_detail_path", rep("p", 256));
    expect_follow(b, WB_OK, NULL);
    b = valid_body();
    set_str(b, "order_detail_path", rep("p", 257));
    expect_follow(b, WB_DATA_FORMAT, "order_detail_path");
    b = valid_body();
    set_str(b, "order_detail_path", rep("\xf0\x9f\x93\xa6", 256));
    assert_int_equal(follow(b, NULL, &req, &e), WB_OK);
    assert_string_equal(req.order_detail_path, rep("\xf0\x9f\x93\xa6", 256));
    json_decref(b);
    b = valid_body();
    json_object_set_new(b, "order_detail_path", json_real(1.5));
    expect_follow(b, WB_DATA_FORMAT, "order_detail_path");
}

/* ---- merchant_token_parse ---- */

static enum wb_code token(const char *text, bool with_goods, struct token_req *req,
                          struct wb_err *e)
{
    json_t *b = parse(text);
    wb_err_clear(e);
    enum wb_code code = merchant_token_parse(b, with_goods, req, e);
    assert_int_equal(code, e->code);
    if (code != WB_OK && !e->detail[0])
        fail_msg("an error without a detail");
    json_decref(b);
    return code;
}

static void expect_token(const char *text, bool with_goods, enum wb_code want, const char *needle)
{
    struct token_req req;
    struct wb_err e;
    enum wb_code got = token(text, with_goods, &req, &e);
    if (got != want || (needle && !strstr(e.detail, needle)))
        fail_msg("%s: wanted %d with \"%s\", got %d \"%s\"", text, wb_code_number(want),
                 needle ? needle : "", wb_code_number(got), e.detail);
}

static void test_token_valid(void **state)
{
    (void)state;
    struct token_req req;
    struct wb_err e;
    assert_int_equal(token("{\"waybill_token\":\"" TOKEN64 "\"}", false, &req, &e), WB_OK);
    assert_string_equal(req.waybill_token, TOKEN64);
    assert_string_equal(req.openid, "");
    assert_null(req.goods_info);
    assert_int_equal(
        token("{\"waybill_token\":\"" TOKEN64 "\",\"openid\":\"o1\",\"x\":1}", false, &req, &e),
        WB_OK);
    assert_string_equal(req.openid, "o1");
    assert_int_equal(token("{\"waybill_token\":\"" TOKEN64 "\",\"openid\":null}", false, &req, &e),
                     WB_OK);
    assert_string_equal(req.openid, "");
    /* a query ignores goods_info, whatever it holds */
    assert_int_equal(token("{\"waybill_token\":\"" TOKEN64 "\",\"goods_info\":7}", false, &req, &e),
                     WB_OK);
    assert_null(req.goods_info);
}

static void test_token_fields(void **state)
{
    (void)state;
    expect_token("{}", false, WB_DATA_FORMAT, "waybill_token is required");
    expect_token("{\"waybill_token\":null}", false, WB_DATA_FORMAT, "waybill_token is required");
    expect_token("{\"waybill_token\":42}", false, WB_DATA_FORMAT, "waybill_token");
    expect_token("{\"waybill_token\":[\"" TOKEN64 "\"]}", false, WB_DATA_FORMAT, "waybill_token");
    expect_token("{\"waybill_token\":\"" TOKEN64 "\",\"openid\":\"a b\"}", false, WB_INVALID_OPENID,
                 "openid");
    expect_token("{\"waybill_token\":\"" TOKEN64 "\",\"openid\":\"\"}", false, WB_INVALID_OPENID,
                 "openid");
    expect_token("{\"waybill_token\":\"" TOKEN64 "\",\"openid\":7}", false, WB_DATA_FORMAT,
                 "openid");
    char text[256];
    snprintf(text, sizeof text, "{\"waybill_token\":\"" TOKEN64 "\",\"openid\":\"%s\"}",
             rep("o", 64));
    expect_token(text, false, WB_OK, NULL);
    snprintf(text, sizeof text, "{\"waybill_token\":\"" TOKEN64 "\",\"openid\":\"%s\"}",
             rep("o", 65));
    expect_token(text, false, WB_INVALID_OPENID, "openid");
}

static void test_token_malformed(void **state)
{
    (void)state;
    char text[256];
    expect_token("{\"waybill_token\":\"abc\"}", false, WB_INVALID_WAYBILL_TOKEN, "waybill_token");
    expect_token("{\"waybill_token\":\"\"}", false, WB_INVALID_WAYBILL_TOKEN, "waybill_token");
    snprintf(text, sizeof text, "{\"waybill_token\":\"%s\"}", rep("A", 63));
    expect_token(text, false, WB_INVALID_WAYBILL_TOKEN, NULL);
    snprintf(text, sizeof text, "{\"waybill_token\":\"%s\"}", rep("A", 65));
    expect_token(text, false, WB_INVALID_WAYBILL_TOKEN, NULL);
    snprintf(text, sizeof text, "{\"waybill_token\":\"%s+\"}", rep("A", 63));
    expect_token(text, false, WB_INVALID_WAYBILL_TOKEN, NULL);
    snprintf(text, sizeof text, "{\"waybill_token\":\"%s=\"}", rep("A", 63));
    expect_token(text, false, WB_INVALID_WAYBILL_TOKEN, NULL);
    /* a malformed token only after the other fields pass */
    expect_token("{\"waybill_token\":\"abc\",\"openid\":\"a b\"}", false, WB_INVALID_OPENID, NULL);
    expect_token("{\"waybill_token\":\"abc\"}", true, WB_DATA_FORMAT, "goods_info");
}

static void test_token_update_goods(void **state)
{
    (void)state;
    struct token_req req;
    struct wb_err e;
    expect_token("{\"waybill_token\":\"" TOKEN64 "\"}", true, WB_DATA_FORMAT,
                 "goods_info is required");
    expect_token("{\"waybill_token\":\"" TOKEN64 "\",\"goods_info\":null}", true, WB_DATA_FORMAT,
                 "goods_info is required");
    expect_token("{\"waybill_token\":\"" TOKEN64 "\",\"goods_info\":[]}", true, WB_DATA_FORMAT,
                 "goods_info");
    /* only presence here: the goods rules come after the token checks */
    assert_int_equal(token("{\"waybill_token\":\"" TOKEN64 "\",\"goods_info\":{}}", true, &req, &e),
                     WB_OK);
    assert_non_null(req.goods_info);
}

/* ---- goods_check_fields / goods_check_images / goods_canonical on their own ---- */

static void test_goods_check_fields(void **state)
{
    (void)state;
    struct wb_err e;
    wb_err_clear(&e);
    assert_int_equal(goods_check_fields(NULL, &e), WB_DATA_FORMAT);
    json_t *g = goods_info_of(items(10));
    assert_int_equal(goods_check_fields(g, &e), WB_OK);
    json_array_append_new(json_object_get(g, "detail_list"), item("x", IMG));
    assert_int_equal(goods_check_fields(g, &e), WB_DATA_FORMAT);
    assert_non_null(strstr(e.detail, "11"));
    json_decref(g);
}

static void test_goods_check_images(void **state)
{
    (void)state;
    struct wb_err e;
    wb_err_clear(&e);
    json_t *list = json_pack("[o,o]", item("a", IMG), item("b", "img.example.com/b.jpg"));
    assert_int_equal(goods_check_images(list, &e), WB_OK);
    json_array_append_new(list, item("c", "http://127.0.0.1/c.jpg"));
    assert_int_equal(goods_check_images(list, &e), WB_INVALID_IMG_URL);
    assert_int_equal(wb_code_number(e.code), 9300561);
    assert_non_null(strstr(e.detail, "\xe5\x9b\xbe\xe7\x89\x87url\xe9\x94\x99\xe8\xaf\xaf"));
    assert_non_null(strstr(e.detail, "goods_info.detail_list[2].goods_img_url"));
    json_decref(list);
    /* the first bad one is reported */
    list = json_pack("[o,o]", item("a", "ftp://x/a"), item("b", "https://[::1]/b"));
    assert_int_equal(goods_check_images(list, &e), WB_INVALID_IMG_URL);
    assert_non_null(strstr(e.detail, "detail_list[0]"));
    json_decref(list);
}

static void test_goods_canonical(void **state)
{
    (void)state;
    json_t *list =
        json_pack("[o,o,o,{s:s,s:s,s:n}]", item("A", IMG), item_desc("B", "bee"),
                  item_desc("C", ""), "goods_name", "D", "goods_img_url", IMG, "goods_desc");
    int count = -1;
    char *c = goods_canonical(list, &count);
    assert_non_null(c);
    assert_int_equal(count, 4);
    assert_string_equal(
        c, "[{\"goods_name\":\"A\",\"goods_img_url\":\"" IMG "\",\"goods_desc\":\"A\"},"
           "{\"goods_name\":\"B\",\"goods_img_url\":\"" IMG "\",\"goods_desc\":\"bee\"},"
           "{\"goods_name\":\"C\",\"goods_img_url\":\"" IMG "\",\"goods_desc\":\"C\"},"
           "{\"goods_name\":\"D\",\"goods_img_url\":\"" IMG "\",\"goods_desc\":\"D\"}]");
    free(c);
    json_decref(list);
}

static void test_goods_canonical_escaping(void **state)
{
    (void)state;
    /* quotes, backslashes, '/' and CJK survive a round trip; unknown item fields are dropped */
    json_t *list = json_pack("[{s:s,s:s,s:s,s:i}]", "goods_name", "a\"b\\c/d " CJK, "goods_img_url",
                             "img.example.com/x?a=\"1\"", "goods_desc", "<script>", "price", 5);
    int count = 0;
    char *c = goods_canonical(list, &count);
    assert_non_null(c);
    assert_int_equal(count, 1);
    json_error_t jerr;
    json_t *back = json_loads(c, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(back);
    json_t *it = json_array_get(back, 0);
    assert_int_equal(json_object_size(it), 3);
    assert_string_equal(json_string_value(json_object_get(it, "goods_name")), "a\"b\\c/d " CJK);
    assert_string_equal(json_string_value(json_object_get(it, "goods_img_url")),
                        "img.example.com/x?a=\"1\"");
    assert_string_equal(json_string_value(json_object_get(it, "goods_desc")), "<script>");
    json_decref(back);
    free(c);
    json_decref(list);
}

/* ---- json_check_controls ---- */

static void expect_controls(json_t *v, enum wb_code want)
{
    struct wb_err e;
    wb_err_clear(&e);
    enum wb_code got = json_check_controls(v, &e);
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (got != want)
        fail_msg("json_check_controls(%s): wanted %d, got %d", text, wb_code_number(want),
                 wb_code_number(got));
    if (got != WB_OK && !e.detail[0])
        fail_msg("no detail");
    free(text);
    json_decref(v);
}

static void test_json_check_controls(void **state)
{
    (void)state;
    expect_controls(parse("{\"a\":\"plain\",\"b\":[1,2.5,true,null,{\"c\":\"\xe4\xb8\xad\"}]}"),
                    WB_OK);
    expect_controls(parse("{\"a\":\"x\\u001fy\"}"), WB_DATA_FORMAT);
    expect_controls(parse("{\"a\":\"x\\u0020y\"}"), WB_OK);
    expect_controls(parse("{\"a\":\"x\\u007fy\"}"), WB_OK);
    expect_controls(parse("{\"a\":\"line\\nbreak\"}"), WB_DATA_FORMAT);
    expect_controls(parse("{\"a\":\"tab\\there\"}"), WB_DATA_FORMAT);
    expect_controls(parse("{\"a\":{\"b\":{\"c\":[[\"\\u0001\"]]}}}"), WB_DATA_FORMAT);
    expect_controls(parse("[\"ok\",\"\\r\"]"), WB_DATA_FORMAT);
    expect_controls(parse_flags("{\"goods_info\":{\"detail_list\":[{\"goods_name\":"
                                "\"a\\u0000b\"}]}}",
                                JSON_ALLOW_NUL),
                    WB_DATA_FORMAT);
    expect_controls(json_stringn("a\0b", 3), WB_DATA_FORMAT); /* an embedded NUL */
    expect_controls(json_string("ok"), WB_OK);
    expect_controls(json_integer(1), WB_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_follow_valid),
        cmocka_unit_test(test_follow_all_fields),
        cmocka_unit_test(test_follow_order),
        cmocka_unit_test(test_follow_openid),
        cmocka_unit_test(test_follow_receiver_phone),
        cmocka_unit_test(test_follow_sender_phone),
        cmocka_unit_test(test_follow_waybill_id),
        cmocka_unit_test(test_follow_delivery_id),
        cmocka_unit_test(test_follow_goods_shape),
        cmocka_unit_test(test_follow_goods_name),
        cmocka_unit_test(test_follow_goods_img_url_fields),
        cmocka_unit_test(test_follow_goods_desc),
        cmocka_unit_test(test_follow_trans_id),
        cmocka_unit_test(test_follow_order_detail_path),
        cmocka_unit_test(test_token_valid),
        cmocka_unit_test(test_token_fields),
        cmocka_unit_test(test_token_malformed),
        cmocka_unit_test(test_token_update_goods),
        cmocka_unit_test(test_goods_check_fields),
        cmocka_unit_test(test_goods_check_images),
        cmocka_unit_test(test_goods_canonical),
        cmocka_unit_test(test_goods_canonical_escaping),
        cmocka_unit_test(test_json_check_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
