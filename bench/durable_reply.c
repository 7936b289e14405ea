/* The floor of a durable write on this machine: libmicrohttpd configured as waybilld's server is,
 * where every request's body is appended to a file and answered only after an fdatasync that
 * covers it, the requests of a moment sharing one append and one fsync (group commit), their
 * connections suspended meanwhile as waybilld's are. It parses, checks and stores nothing else:
 * what waybilld does for a bind beyond this is the cost of the bind itself.
 *
 * Usage: bench_durable_reply PORT THREADS FILE */
#include <fcntl.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BODY_MAX 4096
#define FILE_MAX (64L << 20) /* the file is written over from its start past this */

static const char reply[] = "{\"errcode\":0,\"errmsg\":\"ok\"}";

/* A request: its body, then, once suspended, its place in the queue. */
struct request {
    struct MHD_Connection *conn;
    char body[BODY_MAX];
    size_t len;
    bool durable;
    struct request *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ready;
    struct request *queue;
    bool stopping;
    int fd;
    off_t at;
} committer = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, false, -1, 0};

/* Writes n bytes at the file's end (from its start again past FILE_MAX). */
static void append(const char *data, size_t n)
{
    if (committer.at + (off_t)n > FILE_MAX)
        committer.at = 0;
    if (pwrite(committer.fd, data, n, committer.at) != (ssize_t)n) {
        perror("durable_reply: write");
        abort();
    }
    committer.at += (off_t)n;
}

/* Appends the bodies of batch in as few writes as its size allows, syncs them, and resumes their
 * connections. */
static void commit(struct request *batch)
{
    static char out[1 << 20];
    size_t n = 0;
    for (struct request *r = batch; r; r = r->next) {
        if (n + r->len > sizeof out) {
            append(out, n);
            n = 0;
        }
        memcpy(out + n, r->body, r->len);
        n += r->len;
    }
    append(out, n);
    if (fdatasync(committer.fd) != 0) {
        perror("durable_reply: fdatasync");
        abort();
    }
    for (struct request *r = batch, *next; r; r = next) {
        next = r->next; /* r may be freed once its connection is resumed */
        r->durable = true;
        MHD_resume_connection(r->conn);
    }
}

static void *commit_loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&committer.lock);
    for (;;) {
        while (!committer.queue && !committer.stopping)
            pthread_cond_wait(&committer.ready, &committer.lock);
        if (!committer.queue)
            break;
        struct request *batch = committer.queue;
        committer.queue = NULL;
        pthread_mutex_unlock(&committer.lock);
        commit(batch);
        pthread_mutex_lock(&committer.lock);
    }
    pthread_mutex_unlock(&committer.lock);
    return NULL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version;
    struct request *r = *state;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)))
            return MHD_NO;
        *state = r;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t take = *upload_size < BODY_MAX - r->len ? *upload_size : BODY_MAX - r->len;
        memcpy(r->body + r->len, upload, take);
        r->len += take;
        *upload_size = 0;
        return MHD_YES;
    }
    if (!r->durable) {
        r->conn = conn;
        MHD_suspend_connection(conn);
        pthread_mutex_lock(&committer.lock);
        r->next = committer.queue;
        committer.queue = r;
        pthread_cond_signal(&committer.ready);
        pthread_mutex_unlock(&committer.lock);
        return MHD_YES;
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof reply - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json; encoding=utf-8");
    enum MHD_Result ok = MHD_queue_response(conn, 200, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *conn, void **state,
                      enum MHD_RequestTerminationCode why)
{
    (void)cls, (void)conn, (void)why;
    free(*state);
    *state = NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT THREADS FILE\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned threads = (unsigned)strtoul(argv[2], NULL, 10);
    committer.fd = open(argv[3], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (committer.fd < 0) {
        perror(argv[3]);
        return 1;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, NULL); /* before any thread starts: only sigwait takes them */
    pthread_t thread;
    if (pthread_create(&thread, NULL, commit_loop, NULL) != 0)
        return 1;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME,
        (uint16_t)port, NULL, NULL, answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 8192u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "durable_reply: cannot listen on port %u\n", port);
        return 1;
    }
    printf("durable_reply: listening on http://127.0.0.1:%u\n", port);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    pthread_mutex_lock(&committer.lock);
    committer.stopping = true;
    pthread_cond_signal(&committer.ready);
    pthread_mutex_unlock(&committer.lock);
    pthread_join(thread, NULL);
    close(committer.fd);
    return 0;
}
