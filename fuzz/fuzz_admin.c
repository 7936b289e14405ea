/* libFuzzer target: arbitrary bodies to the admin service layer (SPEC §9.2) on a real SQLite store.
 *
 * The first byte picks the operation (create or patch an app, create a user, create or patch a
 * carrier) and its target (the app and carrier made at start, an unknown id, a malformed one);
 * the rest is the body, handed over as the HTTP admin API would: NULL when empty, else what
 * jansson parses (duplicate keys refused; any JSON value, so the operations' own checks of the
 * body's type are reached too). Every result must be a JSON object that says what the body asked
 * for, or an admin_err with a 4xx status: bad input is never a 500. */
#include "admin/admin.h"
#include "base/error.h"
#include "domain/model.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *store;
static struct admin_ctx ctx;
static char home_app[APPID_SIZE];
static char dir[PATH_MAX];

#define HOME_CARRIER "SF"

/* An invariant the admin layer promises; a broken one is a crash libFuzzer records. */
static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "invariant broken: %s\n", what);
    abort();
}

/* Removes a store directory: its SQLite files, then the directory. */
static void remove_dir(const char *path)
{
    static const char *const files[] = {"fuzz.db", "fuzz.db-wal", "fuzz.db-shm"};
    char file[PATH_MAX];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(file, sizeof file, "%s/%s", path, files[i]);
        unlink(file);
    }
    rmdir(path);
}

static void remove_store(void)
{
    if (store)
        store->ops->close(store);
    store = NULL;
    remove_dir(dir);
}

/* A crash, a timeout or an out-of-memory ends the process without atexit, and leaves its store
 * behind: the next run removes those whose process is gone (the pid is in the name). */
static void remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        static const char prefix[] = "waybilld-fuzz-admin-";
        if (strncmp(ent->d_name, prefix, sizeof prefix - 1) != 0)
            continue;
        char *end = NULL;
        long pid = strtol(ent->d_name + sizeof prefix - 1, &end, 10);
        if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", base, ent->d_name);
        remove_dir(path);
    }
    closedir(d);
}

/* The store lives on tmpfs when there is one, so that its fsyncs do not set the pace. */
static void make_dir(void)
{
    static const char *const bases[] = {"/dev/shm", "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (access(bases[i], W_OK) != 0)
            continue;
        remove_stale(bases[i]);
        snprintf(dir, sizeof dir, "%s/waybilld-fuzz-admin-%ld-XXXXXX", bases[i], (long)getpid());
        if (mkdtemp(dir))
            return;
    }
    abort();
}

static void setup(void)
{
    char path[PATH_MAX];
    make_dir();
    atexit(remove_store);
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    store = store_open(path);
    if (!store)
        abort();
    ctx = (struct admin_ctx){store, "hash", 10, 28800};
    struct admin_err e;
    json_t *body = json_pack("{s:s,s:b,s:i}", "name", "fuzz", "released", 1, "pay_tx_90d", 1);
    json_t *app = body ? admin_app_create(&ctx, body, &e) : NULL;
    if (!app)
        abort();
    snprintf(home_app, sizeof home_app, "%s", json_string_value(json_object_get(app, "appid")));
    json_decref(body);
    json_decref(app);
    body = json_pack("{s:s,s:s,s:s}", "delivery_id", HOME_CARRIER, "delivery_name", "顺丰速运",
                     "waybill_pattern", "^SF[0-9]{12}$");
    json_t *carrier = body ? admin_carrier_create(&ctx, body, &e) : NULL;
    if (!carrier)
        abort();
    json_decref(body);
    json_decref(carrier);
}

/* ---- what a success must say ----------------------------------------------------------------- */

static bool id_shape(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

static bool hex_shape(const char *s, size_t n)
{
    return s && strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* The value a settable field shows after null was given for it. */
static json_t *default_of(const char *key)
{
    if (strcmp(key, "released") == 0)
        return json_false();
    if (strcmp(key, "enabled") == 0)
        return json_true();
    if (strcmp(key, "pay_tx_90d") == 0)
        return json_integer(0);
    return json_null(); /* push_url, waybill_pattern and the limit overrides */
}

/* Each field of the body shows in out as given, or as its default when given as null. */
static void check_fields_applied(const json_t *body, const json_t *out)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v)
    {
        const json_t *got = json_object_get(out, key);
        check(got != NULL, "a field of the body is missing from the reply");
        if (json_is_null(v)) {
            json_t *def = default_of(key);
            check(json_equal(got, def), "a field set to null does not show its default");
            json_decref(def);
        } else {
            check(json_equal(got, v), "a field does not show the value given");
        }
    }
}

static void check_no_secret_material(const json_t *out)
{
    check(!json_object_get(out, "secret_hash") && !json_object_get(out, "key_hash") &&
              !json_object_get(out, "phone_hash"),
          "a reply holds a hash of a secret");
}

static void check_app(const json_t *body, const json_t *out, bool created)
{
    const char *appid = json_string_value(json_object_get(out, "appid"));
    check(appid && strncmp(appid, "wx", 2) == 0 && hex_shape(appid + 2, 16),
          "appid is not wx and 16 hex digits");
    check(created == (json_object_get(out, "secret") != NULL), "secret shown on patch");
    check(created == (json_object_get(out, "push_secret") != NULL), "push_secret shown on patch");
    if (created) {
        check(json_string_length(json_object_get(out, "secret")) >= 16, "a short secret");
        check(json_string_length(json_object_get(out, "push_secret")) >= 16, "a short push_secret");
    } else {
        check(json_is_object(json_object_get(out, "limits")), "patch without limits");
        check(json_is_object(json_object_get(out, "usage")), "patch without usage");
    }
    const json_t *name = json_object_get(out, "name");
    check(json_is_string(name) && json_string_length(name) >= 1, "an app without a name");
    check(json_is_boolean(json_object_get(out, "eligible")), "eligible is not a boolean");
    check_fields_applied(body, out);
    check_no_secret_material(out);
}

static void check_user(const json_t *body, const json_t *out, const char *appid)
{
    const char *openid = json_string_value(json_object_get(out, "openid"));
    check(id_shape(openid, OPENID_SIZE - 1), "openid shape");
    check(strcmp(json_string_value(json_object_get(out, "appid")), appid) == 0, "user's appid");
    const json_t *asked = json_object_get(body, "openid");
    check(json_is_null(asked) || !asked || strcmp(json_string_value(asked), openid) == 0,
          "openid differs from the one asked for");
    const json_t *phone = json_object_get(body, "phone");
    const json_t *tail = json_object_get(out, "phone_tail");
    if (!phone || json_is_null(phone)) {
        check(json_is_null(tail), "a phone_tail without a phone");
    } else {
        /* the last 4 digits of the phone */
        const char *p = json_string_value(phone);
        char want[5] = {0};
        int have = 0;
        for (size_t i = strlen(p); i > 0 && have < 4; i--)
            if (p[i - 1] >= '0' && p[i - 1] <= '9')
                want[3 - have++] = p[i - 1];
        check(have == 4 && json_is_string(tail) && strcmp(json_string_value(tail), want) == 0,
              "phone_tail is not the phone's last 4 digits");
    }
    check_no_secret_material(out);
}

static void check_carrier(const json_t *body, const json_t *out, bool created)
{
    check(id_shape(json_string_value(json_object_get(out, "delivery_id")), DELIVERY_ID_SIZE - 1),
          "delivery_id shape");
    check(created == (json_object_get(out, "carrier_key") != NULL), "carrier_key on patch");
    if (created)
        check(json_string_length(json_object_get(out, "carrier_key")) >= 32, "a short key");
    const json_t *name = json_object_get(out, "delivery_name");
    check(json_is_string(name) && json_string_length(name) >= 1, "a carrier without a name");
    check_fields_applied(body, out);
    check_no_secret_material(out);
}

/* ---- patterns glibc cannot afford ------------------------------------------------------------ */

/* Roughly how much glibc's regcomp builds for pattern. It copies a repeated atom once for each
 * repetition it may take (X+ is X X*, so each + doubles what it repeats), and a range {m,n} costs
 * about n^2. Measured without sanitizers: "a{0,5000}" 200 MB, "a{1,32767}" more than 3 GB in 3 s,
 * "a" and 22 "+" 2.7 GB; nested bounds multiply: "((a{255}){255}){255}" takes 10 s and 3.4 GB,
 * "(((a{1,255}){1,255}){1,255})" more than 20 GB. One unit is about 700 bytes; capped at 1e12. */
static double regex_cost(const char *p)
{
    double stack[260];
    double last[260];
    int depth = 0;
    stack[0] = 0;
    last[0] = 0;
    for (; *p; p++) {
        double atom = 1;
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == '[') {
            const char *q = p + 1;
            if (*q == '^')
                q++;
            if (*q == ']')
                q++;
            while (*q && *q != ']')
                q++;
            if (!*q)
                break;
            p = q;
        } else if (*p == '(' && depth < 258) {
            depth++;
            stack[depth] = 0;
            last[depth] = 0;
            continue;
        } else if (*p == ')' && depth > 0) {
            atom = stack[depth] > 1 ? stack[depth] : 1;
            depth--;
        } else if (*p == '+') { /* X+ is X{1,}: one more copy of X */
            stack[depth] += last[depth];
            last[depth] *= 2;
            if (stack[depth] > 1e12)
                return 1e12;
            continue;
        } else if (*p == '{') {
            double low = 0, high = 0;
            bool comma = false;
            const char *q = p + 1;
            for (; (*q >= '0' && *q <= '9') || (*q == ',' && !comma); q++) {
                if (*q == ',')
                    comma = true;
                else if (comma)
                    high = high * 10 + (*q - '0');
                else
                    low = low * 10 + (*q - '0');
            }
            if (*q == '}') {
                /* a range's copies are cheaper than the nodes counted elsewhere */
                double times = !comma                      ? low
                               : high == 0 && q[-1] == ',' ? low + 1
                               : high > low && high > 64   ? high * high / 64
                                                           : high;
                double grown = last[depth] * (times > 1 ? times : 1);
                stack[depth] += grown - last[depth];
                last[depth] = grown;
                if (stack[depth] > 1e12)
                    return 1e12;
                p = q;
                continue;
            }
        }
        stack[depth] += atom;
        last[depth] = atom;
        if (stack[depth] > 1e12)
            return 1e12;
    }
    double total = 0;
    for (int i = 0; i <= depth; i++)
        total += stack[i];
    return total;
}

/* True when body names a waybill_pattern that regcomp would spend seconds and gigabytes on: the
 * admin layer must refuse every such pattern (rules_pattern_ok), which the target checks. */
static bool costly_pattern(const json_t *body)
{
    const json_t *v = json_object_get(body, "waybill_pattern");
    return json_is_string(v) && regex_cost(json_string_value(v)) > 1e5;
}

/* ---- the target ------------------------------------------------------------------------------ */

enum op { APP_CREATE, APP_PATCH, USER_CREATE, CARRIER_CREATE, CARRIER_PATCH, OPS };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    if (size < 1)
        return 0;
    enum op op = (enum op)(data[0] % OPS);
    /* the target of a patch or of a new user: ours, unknown, malformed, none */
    static const char *const apps[] = {NULL, "wx0000000000000000", "wx/../../etc", NULL};
    static const char *const carriers[] = {HOME_CARRIER, "NOPE", "S F\n", NULL};
    int which = (data[0] / OPS) % 4;
    const char *appid = which == 0 ? home_app : apps[which];
    const char *carrier = carriers[which];

    json_t *body = NULL;
    if (size > 1) {
        json_error_t jerr;
        body = json_loadb((const char *)data + 1, size - 1,
                          JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
        if (!body)
            return 0; /* the HTTP layer answers 400 before the admin layer sees it */
    }
    struct admin_err e;
    memset(&e, 0, sizeof e);
    json_t *out = NULL;
    switch (op) {
    case APP_CREATE:
        out = admin_app_create(&ctx, body, &e);
        break;
    case APP_PATCH:
        out = admin_app_patch(&ctx, appid, body, &e);
        break;
    case USER_CREATE:
        out = admin_user_create(&ctx, appid, body, &e);
        break;
    case CARRIER_CREATE:
        out = admin_carrier_create(&ctx, body, &e);
        break;
    case CARRIER_PATCH:
        out = admin_carrier_patch(&ctx, carrier, body, &e);
        break;
    case OPS:
        break;
    }

    if (op == CARRIER_CREATE || op == CARRIER_PATCH)
        check(!out || !costly_pattern(body),
              "a waybill_pattern too costly to compile was accepted");
    if (!out) {
        check(e.status >= 400 && e.status < 500, "bad input answered with a status outside 4xx");
        check(e.errcode == (e.status == 400 ? 47001 : (int)e.status), "errcode of the status");
        check(memchr(e.msg, '\0', sizeof e.msg) != NULL && e.msg[0], "an error without a message");
        json_decref(body);
        return 0;
    }
    check(json_is_object(out), "a reply that is not an object");
    check(json_is_object(body) || !body, "a body that is not an object was accepted");
    char *text = json_dumps(out, JSON_COMPACT);
    check(text != NULL, "a reply that cannot be written");
    free(text);
    json_t *none = body ? NULL : json_object();
    const json_t *given = body ? body : none;
    switch (op) {
    case APP_CREATE:
    case APP_PATCH:
        check_app(given, out, op == APP_CREATE);
        if (op == APP_PATCH)
            check(strcmp(json_string_value(json_object_get(out, "appid")), appid) == 0,
                  "patched another app");
        break;
    case USER_CREATE:
        check_user(given, out, appid);
        break;
    case CARRIER_CREATE:
    case CARRIER_PATCH:
        check_carrier(given, out, op == CARRIER_CREATE);
        if (op == CARRIER_PATCH)
            check(strcmp(json_string_value(json_object_get(out, "delivery_id")), carrier) == 0,
                  "patched another carrier");
        break;
    case OPS:
        break;
    }
    json_decref(none);
    json_decref(out);
    json_decref(body);
    return 0;
}
