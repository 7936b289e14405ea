/* The HTTP layer's contract with the API surfaces: a parsed request in, a reply out. */
#ifndef WB_HTTP_HTTP_H
#define WB_HTTP_HTTP_H

#include "base/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RID_SIZE 27 /* "xxxxxxxx-xxxxxxxx-xxxxxxxx" + NUL */

enum http_kv { HTTP_QUERY, HTTP_HEADER };

struct http_request {
    const char *method; /* "GET", "POST", … */
    const char *path;   /* decoded path, without the query string */
    const char *body;   /* NUL-terminated; may hold NULs before body_len */
    size_t body_len;
    bool body_too_large; /* more than the route's limit arrived; body holds the first part */
    size_t body_limit;   /* the limit that applied */
    char rid[RID_SIZE];
    bool deferrable; /* the server can answer it later (http_defer) */
    /* Where the accessors below look: the server's connection, or a test's or fuzzer's own. */
    void *conn;
    const char *(*lookup)(void *conn, enum http_kv kind, const char *name);
};

/* The value of a query-string parameter or a request header; NULL when absent. Borrowed until the
 * handler returns. */
static inline const char *http_query(const struct http_request *req, const char *name)
{
    return req->lookup ? req->lookup(req->conn, HTTP_QUERY, name) : NULL;
}
static inline const char *http_header(const struct http_request *req, const char *name)
{
    return req->lookup ? req->lookup(req->conn, HTTP_HEADER, name) : NULL;
}

#define HTTP_EXTRA_HEADERS 4

struct http_reply {
    unsigned status;          /* HTTP status, 200 by default */
    const char *content_type; /* static string; "application/json; encoding=utf-8" by default */
    struct buf body;          /* the reply body, owned by the reply */
    int errcode;              /* the errcode the reply carries, for the access log and metrics */
    const char *endpoint;     /* a static string naming the route, for metrics (kept for good) */
    struct {
        const char *name;  /* static */
        const char *value; /* static */
    } headers[HTTP_EXTRA_HEADERS];
    int header_count;
    bool close; /* close the connection after this reply */
};

/* Adds a header with static name and value. */
void http_reply_header(struct http_reply *reply, const char *name, const char *value);

/* Replies answered later. A handler calls http_defer and returns; the server lets the connection
 * wait without holding a worker thread and calls start(arg, d); whoever finishes the work calls
 * http_deferred_done(d) (any thread, once); then finish(arg, req, reply) fills the reply on a
 * worker thread and the server sends it. */
struct http_deferred;
typedef void (*http_start_fn)(void *arg, struct http_deferred *d);
typedef void (*http_finish_fn)(void *arg, const struct http_request *req, struct http_reply *reply);
/* From inside a handler of a deferrable request; false when it is not (answer at once). */
bool http_defer(const struct http_request *req, http_start_fn start, http_finish_fn finish,
                void *arg);
void http_deferred_done(struct http_deferred *d);

/* A route's handler: reads req, fills reply. ctx is the route table's context. */
typedef void (*http_handler_fn)(void *ctx, const struct http_request *req,
                                struct http_reply *reply);

/* How much of a body a route reads before body_too_large, and when it gives up with HTTP 413. */
struct http_route_limits {
    size_t keep;   /* bytes kept for the handler */
    size_t refuse; /* past this many bytes the server answers 413 and closes */
};

/* Picks the handler and limits for a method and path; the server's one dispatch point. Returns the
 * handler, or NULL for HTTP 404. */
typedef http_handler_fn (*http_route_fn)(void *ctx, const char *method, const char *path,
                                         struct http_route_limits *limits);

struct http_server;

struct http_config {
    const char *listen; /* "ADDR:PORT" */
    unsigned threads;   /* worker threads of the pool */
    http_route_fn route;
    void *ctx;
};

/* Starts serving; NULL (after logging why) when the address cannot be bound. */
struct http_server *http_server_start(const struct http_config *cfg);
/* The port actually bound (useful with port 0). */
unsigned http_server_port(const struct http_server *srv);
/* Stops accepting, finishes requests in flight, frees the server. */
void http_server_stop(struct http_server *srv);

#endif
