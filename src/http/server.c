/* The libmicrohttpd adapter: reads bounded bodies, stamps rids, calls the route, writes the reply
 * and the access-log line. */
#include "http/http.h"

#include "base/clock.h"
#include "base/log.h"
#include "base/rand.h"
#include "http/metrics.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct http_server {
    struct MHD_Daemon *daemon;
    http_route_fn route;
    void *ctx;
    unsigned port;
    atomic_int in_flight;
};

/* One request's state, from its first header to its completion. */
struct exchange {
    struct http_server *srv;
    http_handler_fn handler;
    struct http_route_limits limits;
    struct buf body;
    size_t received;
    bool refused;
    bool answering; /* counted in in_flight: its reply is being made or sent */
    /* a deferred reply: started once the connection is suspended, finished once resumed */
    http_start_fn start;
    http_finish_fn finish;
    void *defer_arg;
    bool started;
    atomic_bool told;  /* the deferred work is done (set on the thread that did it) */
    bool finished;     /* finish was called */
    bool replied;      /* a reply was queued */
    int64_t started_us;
    struct http_request req;
    struct http_reply reply;
};

void http_reply_header(struct http_reply *reply, const char *name, const char *value)
{
    if (reply->header_count < HTTP_EXTRA_HEADERS) {
        reply->headers[reply->header_count].name = name;
        reply->headers[reply->header_count].value = value;
        reply->header_count++;
    }
}

static const char *lookup_cb(void *conn, enum http_kv kind, const char *name)
{
    return MHD_lookup_connection_value(
        conn, kind == HTTP_QUERY ? MHD_GET_ARGUMENT_KIND : MHD_HEADER_KIND, name);
}

static struct exchange *exchange_of(const struct http_request *req)
{
    return (struct exchange *)(void *)((char *)(void *)req - offsetof(struct exchange, req));
}

bool http_defer(const struct http_request *req, http_start_fn start, http_finish_fn finish,
                void *arg)
{
    if (!req->deferrable)
        return false;
    struct exchange *x = exchange_of(req);
    x->start = start;
    x->finish = finish;
    x->defer_arg = arg;
    return true;
}

void http_deferred_done(struct http_deferred *d)
{
    struct exchange *x = (struct exchange *)d;
    atomic_store(&x->told, true);
    MHD_resume_connection(x->req.conn);
}

/* "TTTTTTTT-RRRRRRRR-RRRRRRRR": the unix time, then 8 bytes that tell requests apart. A rid only
 * has to be unique, not secret: each thread draws them from a splitmix64 sequence seeded once
 * from the CSPRNG. */
static void make_rid(char rid[RID_SIZE])
{
    static _Thread_local uint64_t state;
    if (!state && (!rand_bytes(&state, sizeof state) || !state))
        state = ((uint64_t)clock_mono_us() ^ (uint64_t)pthread_self()) | 1;
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    uint32_t now = (uint32_t)clock_system();
    unsigned char bytes[12] = {(unsigned char)(now >> 24), (unsigned char)(now >> 16),
                               (unsigned char)(now >> 8), (unsigned char)now};
    for (int i = 0; i < 8; i++)
        bytes[4 + i] = (unsigned char)(z >> (8 * i));
    hex_encode(rid, bytes, 4);
    rid[8] = '-';
    hex_encode(rid + 9, bytes + 4, 4);
    rid[17] = '-';
    hex_encode(rid + 18, bytes + 8, 4);
}

/* From here until its completion the exchange holds a stop back. */
static void begin_answer(struct exchange *x)
{
    if (!x->answering) {
        x->answering = true;
        atomic_fetch_add(&x->srv->in_flight, 1);
    }
}

static enum MHD_Result send_reply(struct exchange *x, struct MHD_Connection *conn)
{
    struct http_reply *r = &x->reply;
    x->replied = true;
    size_t len = r->body.len;
    char *body = buf_steal(&r->body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json; encoding=utf-8");
    for (int i = 0; i < r->header_count; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    if (r->close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void refuse_too_large(struct exchange *x)
{
    struct http_reply *r = &x->reply;
    r->status = 413;
    r->close = true;
    buf_release(&r->body);
    buf_printf(&r->body, "{\"errcode\":47001,\"errmsg\":\"request body larger than %zu bytes\"}",
               x->limits.refuse);
    r->errcode = 47001;
}

static void not_found(struct http_reply *r)
{
    r->status = 404;
    r->errcode = 0;
    buf_puts(&r->body, "{\"errcode\":404,\"errmsg\":\"not found\"}");
}

static struct exchange *exchange_new(struct http_server *srv, struct MHD_Connection *conn,
                                     const char *url, const char *method)
{
    struct exchange *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->srv = srv;
    x->started_us = clock_mono_us();
    x->req.method = method;
    x->req.path = url;
    x->req.conn = conn;
    x->req.lookup = lookup_cb;
    x->req.deferrable = true;
    make_rid(x->req.rid);
    x->reply.status = 200;
    buf_init(&x->reply.body, 64u << 20);
    x->handler = srv->route(srv->ctx, method, url, &x->limits);
    if (!x->limits.keep)
        x->limits.keep = 64 * 1024;
    if (x->limits.refuse < x->limits.keep)
        x->limits.refuse = x->limits.keep;
    buf_init(&x->body, x->limits.keep);
    x->req.body_limit = x->limits.keep;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
        char *end;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end == '\0' && n > x->limits.refuse)
            x->refused = true;
    }
    return x;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **state)
{
    (void)version;
    struct http_server *srv = cls;
    struct exchange *x = *state;
    if (!x) {
        x = exchange_new(srv, conn, url, method);
        if (!x)
            return MHD_NO;
        *state = x;
        if (!x->refused)
            return MHD_YES;
        /* a declared length past the limit: answer before reading (and before 100 Continue) */
        begin_answer(x);
        refuse_too_large(x);
        return send_reply(x, conn);
    }
    if (x->started) { /* resumed: the deferred work is done */
        x->finished = true;
        x->finish(x->defer_arg, &x->req, &x->reply);
        return send_reply(x, conn);
    }
    if (*upload_size) {
        x->received += *upload_size;
        if (x->received > x->limits.refuse)
            x->refused = true;
        if (!x->refused && !x->body.overflow)
            buf_append(&x->body, upload_data, *upload_size);
        *upload_size = 0;
        if (!x->refused)
            return MHD_YES;
    }
    begin_answer(x);
    if (x->refused) {
        refuse_too_large(x);
    } else if (!x->handler) {
        not_found(&x->reply);
    } else {
        x->req.body = x->body.ptr ? x->body.ptr : "";
        x->req.body_len = x->body.len;
        x->req.body_too_large = x->body.overflow;
        x->handler(srv->ctx, &x->req, &x->reply);
        if (x->start) { /* answered later: wait without holding this thread */
            x->started = true;
            MHD_suspend_connection(conn);
            x->start(x->defer_arg, (struct http_deferred *)x);
            return MHD_YES;
        }
    }
    return send_reply(x, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **state,
                         enum MHD_RequestTerminationCode why)
{
    (void)conn;
    (void)why;
    struct http_server *srv = cls;
    struct exchange *x = *state;
    if (!x)
        return;
    /* a client gone while its deferred work ran: the work is done (durable or failed) but the
     * reply was never made; finish still releases what the work held. Work not yet done (only
     * at a forced stop) keeps its state: its thread may still write to it. */
    if (x->started && !x->finished && atomic_load(&x->told)) {
        x->finished = true;
        x->finish(x->defer_arg, &x->req, &x->reply);
    }
    unsigned status = x->replied ? x->reply.status : 0; /* 0: abandoned before any reply */
    int errcode = x->replied ? x->reply.errcode : 0;
    log_access(&(struct log_access){
        .rid = x->req.rid,
        .method = x->req.method,
        /* /l/ paths carry a waybill token, which logs never show (SPEC §9.1) */
        .path = strncmp(x->req.path, "/l/", 3) == 0 ? "/l/*" : x->req.path,
        .status = status,
        .errcode = errcode,
        .duration_us = clock_mono_us() - x->started_us,
    });
    metrics_observe(x->reply.endpoint, status, errcode, clock_mono_us() - x->started_us);
    buf_release(&x->body);
    buf_release(&x->reply.body);
    if (x->answering)
        atomic_fetch_sub(&srv->in_flight, 1);
    free(x);
    *state = NULL;
}

static bool parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    if (!colon || (size_t)(colon - listen) >= sizeof host)
        return false;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port > 65535)
        return false;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) == 1;
}

struct http_server *http_server_start(const struct http_config *cfg)
{
    struct sockaddr_in sa;
    if (!parse_listen(cfg->listen, &sa)) {
        log_msg("error", "--listen %s: expected IPV4ADDR:PORT", cfg->listen);
        return NULL;
    }
    struct http_server *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->route = cfg->route;
    srv->ctx = cfg->ctx;
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, cfg->threads ? cfg->threads : 4u, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, srv, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_LIMIT, 8192u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!srv->daemon) {
        log_msg("error", "cannot listen on %s", cfg->listen);
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_LISTEN_FD);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (info && getsockname(info->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
        srv->port = ntohs(bound.sin_port);
    return srv;
}

unsigned http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_stop(struct http_server *srv)
{
    if (!srv)
        return;
    MHD_quiesce_daemon(srv->daemon);
    /* replies being made or sent finish; idle connections and half-sent requests do not count */
    for (int i = 0; i < 1000 && atomic_load(&srv->in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
