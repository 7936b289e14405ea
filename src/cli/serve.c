/* `waybilld serve`: options, the data dir, the sandbox's demo app, the HTTP server, and a
 * graceful stop on SIGTERM/SIGINT. */
#include "admin/admin.h"
#include "api/api.h"
#include "api/content.h"
#include "api/sandbox.h"
#include "base/clock.h"
#include "base/log.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/setup.h"
#include "domain/quota.h"
#include "base/rand.h"
#include "dispatch/dispatcher.h"
#include "jobs/housekeeping.h"
#include "store/allowance.h"

#include <curl/curl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serve_options {
    const char *listen;
    const char *data;
    const char *db;
    bool sandbox;
    const char *public_url;
    const char *admin_key;
    const char *hash_key;
    const char *forbidden_terms;
    const char *day_offset;
    long max_updates;
    bool notify_abnormal;
    long expire_unbound_days;
    long expire_stalled_days;
    long expire_final_days;
    long purge_days;
    const char *log_format;
    long threads;
};

#define OPT(name, type, field, fallback, arg, help)                                                \
    {                                                                                              \
        name, type, offsetof(struct serve_options, field), fallback, arg, help                     \
    }

static const struct option_def serve_defs[] = {
    OPT("listen", OPTION_STRING, listen, "127.0.0.1:8080", "ADDR:PORT",
        "address to serve on (port 0 picks a free one)"),
    OPT("data", OPTION_STRING, data, "./var", "DIR", "data dir: the SQLite file and the keys"),
    OPT("db", OPTION_STRING, db, NULL, "URL", "postgresql://… instead of DIR/waybilld.db"),
    OPT("sandbox", OPTION_FLAG, sandbox, "false", NULL,
        "the local stand-in for developers: demo app, test carrier, movable clock"),
    OPT("public-url", OPTION_STRING, public_url, NULL, "URL",
        "base of landing-page links (default: http://LISTEN)"),
    OPT("admin-key", OPTION_STRING, admin_key, NULL, "KEY",
        "the admin API's bearer key (default: kept in DIR/admin.key)"),
    OPT("hash-key", OPTION_STRING, hash_key, NULL, "KEY",
        "the key that hashes phone numbers and derives tokens (default: DIR/hash.key)"),
    OPT("forbidden-terms", OPTION_STRING, forbidden_terms, NULL, "FILE",
        "content rules, one term a line (default: DIR/forbidden_terms.txt when present)"),
    OPT("day-offset", OPTION_STRING, day_offset, "+08:00", "±HH:MM",
        "quota days start at 00:00 at this UTC offset"),
    OPT("max-updates", OPTION_INT, max_updates, "10", "N", "goods updates per binding"),
    OPT("notify-abnormal", OPTION_FLAG, notify_abnormal, "false", NULL,
        "also notify when a waybill turns abnormal (status 5)"),
    OPT("expire-unbound-days", OPTION_INT, expire_unbound_days, "7", "N",
        "a binding at status 0 expires N days after it was made"),
    OPT("expire-stalled-days", OPTION_INT, expire_stalled_days, "30", "N",
        "a binding at status 1-3 expires N days after the waybill's last event"),
    OPT("expire-final-days", OPTION_INT, expire_final_days, "30", "N",
        "a binding expires N days after its waybill reached 4, 5 or 6"),
    OPT("purge-days", OPTION_INT, purge_days, "90", "N",
        "expired bindings are purged N days after expiry"),
    OPT("log-format", OPTION_STRING, log_format, "text", "text|json",
        "access and service log format"),
    OPT("threads", OPTION_INT, threads, "0", "N",
        "HTTP worker threads; 0: twice the cores with SQLite (where no request holds one while "
        "its commit runs), 32 with PostgreSQL (where a write holds one)"),
};

static const struct option_table serve_table = {
    .usage =
        "usage: waybilld serve [options]\n\n"
        "Serves the WeChat-compatible logistics message API, the carrier feed and the admin API.",
    .defs = serve_defs,
    .count = sizeof serve_defs / sizeof serve_defs[0],
    .env = true,
};

/* "+08:00", "-05:30", "+8" → seconds east of UTC. */
static bool parse_offset(const char *s, int *out)
{
    int sign = 1, h = 0, m = 0;
    if (*s == '+' || *s == '-')
        sign = *s++ == '-' ? -1 : 1;
    char tail;
    int n = sscanf(s, "%2d:%2d%c", &h, &m, &tail);
    if (n != 1 && n != 2)
        return false;
    if (h > 14 || m > 59 || h < 0 || m < 0)
        return false;
    *out = sign * (h * 3600 + m * 60);
    return true;
}

/* Prints the demo app's credentials, creating the app and DIR/demo-app.json on first start. */
static int demo_app(const struct setup *st, const struct api *api)
{
    char path[1100], text[1024];
    snprintf(path, sizeof path, "%s/demo-app.json", st->data_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        struct admin_ctx ctx = {st->store, st->hash_key, api->cfg.max_updates,
                                api->cfg.day_offset_s};
        struct admin_err e;
        json_t *body =
            json_pack("{s:s,s:b,s:i}", "name", "Sandbox demo app", "released", 1, "pay_tx_90d", 1);
        json_t *made = body ? admin_app_create(&ctx, body, &e) : NULL;
        json_decref(body);
        if (!made) {
            log_msg("error", "cannot create the demo app");
            return -1;
        }
        json_t *keep = json_pack("{s:O,s:O}", "appid", json_object_get(made, "appid"), "secret",
                                 json_object_get(made, "secret"));
        json_decref(made);
        int wfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        char *dump = keep ? json_dumps(keep, JSON_SORT_KEYS) : NULL;
        json_decref(keep);
        bool ok = wfd >= 0 && dump && write(wfd, dump, strlen(dump)) == (ssize_t)strlen(dump) &&
                  fsync(wfd) == 0;
        free(dump);
        if (wfd >= 0)
            close(wfd);
        if (!ok) {
            log_msg("error", "cannot write %s", path);
            return -1;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
    }
    if (fd < 0) {
        log_msg("error", "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    json_t *demo = json_loadb(text, n > 0 ? (size_t)n : 0, 0, NULL);
    const char *appid = json_string_value(json_object_get(demo, "appid"));
    const char *secret = json_string_value(json_object_get(demo, "secret"));
    if (appid && secret)
        printf("sandbox demo app: appid %s secret %s (kept in %s)\n", appid, secret, path);
    json_decref(demo);
    return appid && secret ? 0 : -1;
}

/* url with any password replaced by "***", for printing. */
static const char *shown_url(const char *url, char *out, size_t size)
{
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
    if (!colon)
        return url;
    snprintf(out, size, "%.*s:***%s", (int)(colon - url), url, at);
    return out;
}

/* Requests may write notifications before the dispatcher runs: they kick whichever runs. */
static _Atomic(struct dispatcher *) running_dispatcher;

static void kick_cb(void *ctx)
{
    (void)ctx;
    dispatcher_kick(atomic_load(&running_dispatcher));
}

/* --threads, or its default for the store: where binds and carrier events wait for their commit
 * without a thread (bind_then), a few threads per core keep the cores busy; otherwise each write
 * in flight holds one. */
static unsigned worker_threads(long asked, const struct store *store)
{
    if (asked > 0)
        return (unsigned)asked;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return store->ops->bind_then ? (unsigned)(cores > 1 ? 2 * cores : 2) : 32u;
}

int cmd_serve(int argc, char **argv)
{
    struct serve_options o = {0};
    enum option_result pr = options_parse(&serve_table, &o, argc, argv, NULL, 0, NULL);
    if (pr != OPTIONS_OK)
        return pr == OPTIONS_HELP ? 0 : 2;
    struct api api = {0};
    if (!parse_offset(o.day_offset, &api.cfg.day_offset_s)) {
        fprintf(stderr, "waybilld: --day-offset wants ±HH:MM, not '%s'\n", o.day_offset);
        return 2;
    }
    if (strcmp(o.log_format, "text") != 0 && strcmp(o.log_format, "json") != 0) {
        fprintf(stderr, "waybilld: --log-format is text or json\n");
        return 2;
    }
    log_set_json(strcmp(o.log_format, "json") == 0);
    /* block the stop signals before any thread starts (the store's writer is one), so that only
     * the sigwait below receives them */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct setup st;
    int rc = setup_open(&st, o.data, o.db, o.admin_key, o.hash_key);
    if (rc)
        return rc == SETUP_USAGE ? 2 : 1;
    if (!st.admin_key[0]) {
        fprintf(stderr, "waybilld: with PostgreSQL give --admin-key (the same on every process)\n");
        setup_close(&st);
        return 2;
    }
    api.store = st.store;
    api.cfg.sandbox = o.sandbox;
    api.cfg.admin_key = st.admin_key;
    api.cfg.hash_key = st.hash_key;
    api.cfg.max_updates = o.max_updates;
    api.cfg.notify_abnormal = o.notify_abnormal;
    api.cfg.expire_unbound_s = o.expire_unbound_days * 86400;
    api.cfg.expire_stalled_s = o.expire_stalled_days * 86400;
    api.cfg.expire_final_s = o.expire_final_days * 86400;
    api.cfg.purge_s = o.purge_days * 86400;
    api.outbox_due = kick_cb;

    int status = 1;
    char terms_path[1100];
    bool terms_optional = !(o.forbidden_terms && *o.forbidden_terms);
    if (terms_optional)
        snprintf(terms_path, sizeof terms_path, "%s/forbidden_terms.txt", st.data_dir);
    else
        snprintf(terms_path, sizeof terms_path, "%s", o.forbidden_terms);
    struct http_server *srv = NULL;
    struct housekeeping *jobs = NULL;
    struct dispatcher *dispatcher = NULL;
    if (!content_load(terms_path, terms_optional))
        goto out;
    if (o.sandbox) {
        if (!sandbox_clock_load(st.store))
            goto out;
        if (demo_app(&st, &api))
            goto out;
    }
    log_gather_start();
    srv = http_server_start(&(struct http_config){.listen = o.listen,
                                                  .threads = worker_threads(o.threads, st.store),
                                                  .route = api_route,
                                                  .ctx = &api});
    if (!srv)
        goto out;
    char public_url[300];
    if (o.public_url && *o.public_url) {
        snprintf(public_url, sizeof public_url, "%s", o.public_url);
    } else {
        char host[64];
        snprintf(host, sizeof host, "%.*s", (int)strcspn(o.listen, ":"), o.listen);
        snprintf(public_url, sizeof public_url, "http://%s:%u", host, http_server_port(srv));
    }
    char url[sizeof st.db_url];
    size_t plen = strlen(public_url);
    while (plen > 0 && public_url[plen - 1] == '/')
        public_url[--plen] = '\0';
    api.cfg.public_url = public_url;
    char instance[17];
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !rand_hex(instance, 8))
        goto out;
    if (st.store->ops->exclusive && st.store->ops->outbox_release(st.store))
        goto out;
    dispatcher = dispatcher_start(&api, instance);
    if (!dispatcher)
        goto out;
    atomic_store(&running_dispatcher, dispatcher);
    /* the sandbox's scripts and shared clock want a fine grain; production only purges */
    jobs = housekeeping_start(&api, o.sandbox ? 1000u : 60000u);
    if (!jobs)
        goto out;
    printf("waybilld %s: listening on http://%.*s:%u\n", o.sandbox ? "sandbox" : "serve",
           (int)strcspn(o.listen, ":"), o.listen, http_server_port(srv));
    printf("store: %s (%s)\n", st.store->ops->name, shown_url(st.db_url, url, sizeof url));
    printf("admin key: %s\n", st.admin_key_source);
    fflush(stdout);

    int sig = 0;
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP)
        content_load(terms_path, terms_optional);
    log_msg("info", "signal %d: finishing requests in flight", sig);
    status = 0;
out:
    http_server_stop(srv);
    log_gather_stop();
    allowance_release_all(st.store);
    housekeeping_stop(jobs);
    atomic_store(&running_dispatcher, NULL);
    dispatcher_stop(dispatcher);
    setup_close(&st);
    return status;
}
