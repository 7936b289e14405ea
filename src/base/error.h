/* The one table of WeChat-compatible errcodes (SPEC §2.1) and the error value that carries a
 * detail. */
#ifndef WB_BASE_ERROR_H
#define WB_BASE_ERROR_H

#include <stddef.h>

/* XX(NAME, errcode, errmsg). The enum, the messages and every JSON error reply come from here. */
#define WB_ERRORS(XX)                                                                              \
    XX(OK, 0, "ok")                                                                                \
    XX(SYSTEM, -1, "system error")                                                                 \
    XX(INVALID_CREDENTIAL, 40001, "invalid credential, access_token is invalid or not latest")     \
    XX(INVALID_GRANT_TYPE, 40002, "invalid grant_type")                                            \
    XX(INVALID_OPENID, 40003, "invalid openid")                                                    \
    XX(INVALID_APPID, 40013, "invalid appid")                                                      \
    XX(INVALID_APPSECRET, 40125, "invalid appsecret")                                              \
    XX(TOKEN_MISSING, 41001, "access_token missing")                                               \
    XX(APPID_MISSING, 41002, "appid missing")                                                      \
    XX(APPSECRET_MISSING, 41004, "appsecret missing")                                              \
    XX(TOKEN_EXPIRED, 42001, "access_token expired")                                               \
    XX(REQUIRE_POST, 43002, "require POST method")                                                 \
    XX(EMPTY_POST, 44002, "empty post data")                                                       \
    XX(DAILY_LIMIT, 45009, "reach max api daily quota limit")                                      \
    XX(DATA_FORMAT, 47001, "data format error")                                                    \
    XX(UNAUTHORIZED, 48001, "api unauthorized")                                                    \
    XX(INVALID_URL, 40066, "invalid url")                                                          \
    XX(RISKY_CONTENT, 87014, "risky content")                                                      \
    XX(INVALID_WAYBILL_TOKEN, 9300507,                                                             \
       "invalid token, can't decryption or decryption result is different from the plaintext")     \
    XX(OUT_OF_QUOTA, 9300513, "out of quota")                                                      \
    XX(INVALID_SHOP_ARGS, 9300534, "invalid shop args")                                            \
    XX(WAYBILL_PURGED, 9300559, "waybill not exist")                                               \
    XX(MAX_MODIFY, 9300560, "reach max modify count")                                              \
    XX(INVALID_IMG_URL, 9300561, "invalid goods_img_url")                                          \
    XX(WAYBILL_UNKNOWN, 931023, "waybill not exist")

enum wb_code {
#define XX(name, code, msg) WB_##name,
    WB_ERRORS(XX)
#undef XX
};

#define WB_DETAIL_MAX 240

/* An error on its way to becoming a reply: which row of the table, and why, for the developer. */
struct wb_err {
    enum wb_code code;
    char detail[WB_DETAIL_MAX];
};

/* The numeric errcode and the errmsg of a row. */
int wb_code_number(enum wb_code code);
const char *wb_code_message(enum wb_code code);

/* Sets e to code with a printf-style detail (fmt may be NULL for none); returns code. */
enum wb_code wb_err_set(struct wb_err *e, enum wb_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears e to WB_OK. */
void wb_err_clear(struct wb_err *e);

#endif
