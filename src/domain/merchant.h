/* The merchant API's request bodies (SPEC §4): field checks in the documented order, and goods. */
#ifndef WB_DOMAIN_MERCHANT_H
#define WB_DOMAIN_MERCHANT_H

#include "base/error.h"
#include "domain/model.h"

#include <jansson.h>

#define GOODS_MAX 10
#define GOODS_TEXT_MAX 40 /* characters of goods_name and goods_desc */

/* Lookups the field checks need from the store, in the caller's hands. */
struct merchant_lookup {
    void *ctx;
    /* true if a carrier with this delivery_id is registered */
    bool (*carrier_exists)(void *ctx, const char *delivery_id);
    /* writes the waybill's owner ("" when none) and returns true, or false on a store failure */
    bool (*waybill_owner)(void *ctx, const char *waybill_id, char owner[DELIVERY_ID_SIZE]);
};

/* A follow_waybill / trace_waybill request after its field checks. goods borrows from the body. */
struct follow_req {
    char openid[OPENID_SIZE];
    char receiver_phone[32]; /* normalised digits */
    char receiver_tail[PHONE_TAIL_SIZE];
    char sender_phone[32]; /* "" when not given */
    char sender_tail[PHONE_TAIL_SIZE];
    char waybill_id[WAYBILL_ID_SIZE];
    char delivery_id[DELIVERY_ID_SIZE]; /* "" when not given */
    const json_t *goods;                /* the detail_list array, borrowed from the body */
    char trans_id[TRANS_ID_SIZE];
    char order_detail_path[PATH_SIZE];
};

/* Checks body's fields in the order of SPEC §4.1; 47001 (40003 for a malformed openid) otherwise.
 */
enum wb_code merchant_follow_parse(const json_t *body, const struct merchant_lookup *lookup,
                                   struct follow_req *req, struct wb_err *e);

/* The fields of a query or update: waybill_token, optional openid, and for updates goods_info. */
struct token_req {
    char waybill_token[WAYBILL_TOKEN_LEN + 1];
    char openid[OPENID_SIZE]; /* "" when not given */
    const json_t *goods_info; /* updates only; borrowed, checked later by goods_check_fields */
};
/* with_goods: an update, whose goods_info is required. Malformed tokens are 9300507, not 47001,
 * but only after the other fields pass. */
enum wb_code merchant_token_parse(const json_t *body, bool with_goods, struct token_req *req,
                                  struct wb_err *e);

/* 47001 checks of a goods_info object (1–10 items, names and descriptions 1–40 characters). */
enum wb_code goods_check_fields(const json_t *goods_info, struct wb_err *e);
/* 9300561 checks of every goods_img_url. */
enum wb_code goods_check_images(const json_t *detail_list, struct wb_err *e);
/* The canonical detail_list JSON that is stored and replied (goods_desc defaulted to goods_name).
 * The caller frees it; NULL when out of memory. */
char *goods_canonical(const json_t *detail_list, int *count);

/* Every string value in the tree is free of U+0000–U+001F; otherwise sets e (47001). */
enum wb_code json_check_controls(const json_t *value, struct wb_err *e);

#endif
