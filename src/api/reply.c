/* Reply writers: an error becomes a reply here and nowhere else. */
#include "api/reply.h"

#include <stdarg.h>
#include <stdio.h>

void reply_wechat_error(struct http_reply *reply, const struct http_request *req,
                        const struct wb_err *e)
{
    char msg[512];
    if (e->detail[0])
        snprintf(msg, sizeof msg, "%s detail: [%s] rid: %s", wb_code_message(e->code), e->detail,
                 req->rid);
    else
        snprintf(msg, sizeof msg, "%s rid: %s", wb_code_message(e->code), req->rid);
    reply->status = 200;
    reply->errcode = wb_code_number(e->code);
    buf_release(&reply->body);
    buf_printf(&reply->body, "{\"errcode\":%d,\"errmsg\":", reply->errcode);
    buf_json_string(&reply->body, msg);
    buf_puts(&reply->body, "}");
}

void reply_ok_begin(struct http_reply *reply)
{
    reply->status = 200;
    reply->errcode = 0;
    buf_release(&reply->body);
    buf_puts(&reply->body, "{\"errcode\":0,\"errmsg\":\"ok\"");
}

void reply_ok_end(struct http_reply *reply)
{
    buf_puts(&reply->body, "}");
}

void reply_status_error(struct http_reply *reply, unsigned status, int errcode, const char *fmt,
                        ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    reply->status = status;
    reply->errcode = errcode;
    reply->content_type = "application/json; encoding=utf-8";
    buf_release(&reply->body);
    buf_printf(&reply->body, "{\"errcode\":%d,\"errmsg\":", errcode);
    buf_json_string(&reply->body, msg);
    buf_puts(&reply->body, "}");
}

void reply_text(struct http_reply *reply, unsigned status, const char *content_type,
                const char *text)
{
    reply->status = status;
    reply->content_type = content_type;
    buf_release(&reply->body);
    buf_puts(&reply->body, text);
}
