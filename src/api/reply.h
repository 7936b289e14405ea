/* Writing replies: the WeChat error shape, admin errors, and JSON bodies. */
#ifndef WB_API_REPLY_H
#define WB_API_REPLY_H

#include "base/error.h"
#include "http/http.h"

/* HTTP 200 with {"errcode":N,"errmsg":"MSG[ detail: [DETAIL]] rid: RID"} (SPEC §2). For WB_OK,
 * use reply_ok instead. */
void reply_wechat_error(struct http_reply *reply, const struct http_request *req,
                        const struct wb_err *e);
/* Starts a success body {"errcode":0,"errmsg":"ok" — the caller appends ",..." fields and then
 * calls reply_ok_end. */
void reply_ok_begin(struct http_reply *reply);
void reply_ok_end(struct http_reply *reply);
/* An admin or carrier error: the HTTP status and {"errcode":N,"errmsg":"TEXT"}. */
void reply_status_error(struct http_reply *reply, unsigned status, int errcode, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* The body is set to text, copied; status and content type as given. */
void reply_text(struct http_reply *reply, unsigned status, const char *content_type,
                const char *text);

#endif
