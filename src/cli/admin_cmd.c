/* `waybilld app|user|carrier …`: the admin operations on the store directly (SPEC §9.3). */
#include "admin/admin.h"
#include "api/sandbox.h"
#include "cli/commands.h"
#include "cli/setup.h"
#include "domain/quota.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

/* How a field flag's text becomes the JSON value the admin operation validates. Text that does
 * not convert is passed on as a string, so that the refusal reads the same as the HTTP API's. */
enum kind {
    K_TEXT,     /* a string */
    K_NULLABLE, /* a string; "none" or "" clears it (null) */
    K_COUNT,    /* a non-negative integer; "default" restores the default (null) */
    K_BOOL,     /* true/false, "default" (null); the value may be left out: true */
};

struct field_flag {
    const char *flag;
    const char *field;
    enum kind kind;
};

static const struct field_flag app_flags[] = {
    {"--name", "name", K_TEXT},
    {"--released", "released", K_BOOL},
    {"--pay-tx-90d", "pay_tx_90d", K_COUNT},
    {"--enabled", "enabled", K_BOOL},
    {"--push-url", "push_url", K_NULLABLE},
    {"--daily-quota", "daily_quota", K_COUNT},
    {"--user-daily-quota", "user_daily_quota", K_COUNT},
    {"--user-daily-quota-query", "user_daily_quota_query", K_COUNT},
    {"--max-bindings", "max_bindings", K_COUNT},
    {"--max-updates", "max_updates", K_COUNT},
    {NULL, NULL, K_TEXT},
};

static const struct field_flag user_flags[] = {
    {"--openid", "openid", K_TEXT},
    {"--phone", "phone", K_TEXT},
    {NULL, NULL, K_TEXT},
};

static const struct field_flag carrier_flags[] = {
    {"--delivery-id", "delivery_id", K_TEXT},
    {"--name", "delivery_name", K_TEXT},
    {"--pattern", "waybill_pattern", K_NULLABLE},
    {"--enabled", "enabled", K_BOOL},
    {NULL, NULL, K_TEXT},
};

enum op {
    OP_APP_CREATE,
    OP_APP_LIST,
    OP_APP_SHOW,
    OP_APP_SET,
    OP_APP_RESET_SECRET,
    OP_APP_RESET_PUSH_SECRET,
    OP_USER_ADD,
    OP_USER_SHOW,
    OP_CARRIER_ADD,
    OP_CARRIER_LIST,
    OP_CARRIER_SHOW,
    OP_CARRIER_SET,
    OP_CARRIER_RESET_KEY,
};

struct sub {
    const char *name;
    enum op op;
    int npos;       /* positional arguments it takes */
    bool body;      /* takes the command's field flags */
    bool list;      /* takes --limit and --after */
    bool shows_key; /* its reply holds a secret that is shown only once */
};

static const struct sub app_subs[] = {
    {"create", OP_APP_CREATE, 0, true, false, true},
    {"list", OP_APP_LIST, 0, false, true, false},
    {"show", OP_APP_SHOW, 1, false, false, false},
    {"set", OP_APP_SET, 1, true, false, false},
    {"reset-secret", OP_APP_RESET_SECRET, 1, false, false, true},
    {"reset-push-secret", OP_APP_RESET_PUSH_SECRET, 1, false, false, true},
    {NULL, 0, 0, false, false, false},
};

static const struct sub user_subs[] = {
    {"add", OP_USER_ADD, 1, true, false, false},
    {"show", OP_USER_SHOW, 2, false, false, false},
    {NULL, 0, 0, false, false, false},
};

static const struct sub carrier_subs[] = {
    {"add", OP_CARRIER_ADD, 0, true, false, true},
    {"list", OP_CARRIER_LIST, 0, false, true, false},
    {"show", OP_CARRIER_SHOW, 1, false, false, false},
    {"set", OP_CARRIER_SET, 1, true, false, false},
    {"reset-key", OP_CARRIER_RESET_KEY, 1, false, false, true},
    {NULL, 0, 0, false, false, false},
};

#define COMMON_OPTIONS                                                                             \
    "Common options:\n"                                                                            \
    "  --data DIR        data directory (default ./var; env WAYBILLD_DATA)\n"                      \
    "  --db URL          database instead of DIR/waybilld.db (env WAYBILLD_DB)\n"                  \
    "  --hash-key KEY    key of the phone hashes (default DIR/hash.key; env WAYBILLD_HASH_KEY)\n"  \
    "  --json            print JSON (the admin API's reply) instead of a table\n"                  \
    "  --help            this text\n"                                                              \
    "The limits shown assume the server's default --max-updates (env WAYBILLD_MAX_UPDATES) and\n"  \
    "--day-offset (env WAYBILLD_DAY_OFFSET).\n"

static const char app_help[] =
    "Usage: waybilld app SUBCOMMAND [OPTIONS]\n"
    "\n"
    "  create --name NAME [SETTINGS]   register an app; prints its appid, secret and push_secret\n"
    "                                  (the secrets are shown only this once)\n"
    "  list [--limit N] [--after APPID]  list apps (all of them without --limit)\n"
    "  show APPID                      settings, limits in effect and today's usage\n"
    "  set APPID SETTINGS              change settings\n"
    "  reset-secret APPID              a new secret; the old one stops working\n"
    "  reset-push-secret APPID         a new push_secret for webhook signatures\n"
    "\n"
    "Settings:\n"
    "  --name NAME\n"
    "  --released [true|false]         published (eligibility, SPEC 6.1)\n"
    "  --pay-tx-90d N                  WeChat Pay transactions in the last 90 days\n"
    "  --enabled [true|false]          the logistics capability (false: a penalty)\n"
    "  --push-url URL|none             where notifications are POSTed\n"
    "  --daily-quota N|default         calls per day and family\n"
    "  --user-daily-quota N|default    bind calls per user and day, message family\n"
    "  --user-daily-quota-query N|default  the same, query family\n"
    "  --max-bindings N|default        valid bindings per user\n"
    "  --max-updates N|default         goods updates per binding\n"
    "\n" COMMON_OPTIONS;

static const char user_help[] =
    "Usage: waybilld user SUBCOMMAND [OPTIONS]\n"
    "\n"
    "  add APPID [--openid OPENID] [--phone PHONE]  register a user of the app (an openid of\n"
    "                                  28 characters is minted when none is given)\n"
    "  show APPID OPENID               the user\n"
    "\n" COMMON_OPTIONS;

static const char carrier_help[] =
    "Usage: waybilld carrier SUBCOMMAND [OPTIONS]\n"
    "\n"
    "  add --delivery-id ID --name NAME [--pattern REGEX] [--enabled true|false]\n"
    "                                  register a carrier; prints its carrier_key (shown once)\n"
    "  list [--limit N] [--after ID]   list carriers (all of them without --limit)\n"
    "  show ID                         the carrier\n"
    "  set ID [--name NAME] [--pattern REGEX|none] [--enabled true|false]\n"
    "  reset-key ID                    a new carrier_key; the old one stops working\n"
    "\n"
    "REGEX is a POSIX extended regular expression matched against waybill ids, e.g. "
    "'^SF[0-9]{12}$'.\n"
    "\n" COMMON_OPTIONS;

struct command {
    const char *name;
    const char *help;
    const struct sub *subs;
    const struct field_flag *flags;
};

struct args {
    const char *data, *db, *hash_key;
    bool json;
    const char *limit, *after;
    const char *pos[2];
    int npos;
    json_t *body;
};

/* argv[i] is `flag` or `flag=VALUE`. *value gets VALUE, or NULL when there is no '='. */
static bool flag_is(const char *arg, const char *flag, const char **value)
{
    size_t n = strlen(flag);
    if (strncmp(arg, flag, n) != 0 || (arg[n] && arg[n] != '='))
        return false;
    *value = arg[n] == '=' ? arg + n + 1 : NULL;
    return true;
}

static bool is_bool_word(const char *s)
{
    return strcmp(s, "true") == 0 || strcmp(s, "false") == 0 || strcmp(s, "default") == 0;
}

static json_t *flag_value(enum kind kind, const char *v)
{
    if ((kind == K_COUNT || kind == K_BOOL) && strcmp(v, "default") == 0)
        return json_null();
    if (kind == K_NULLABLE && (strcmp(v, "none") == 0 || !v[0]))
        return json_null();
    if (kind == K_BOOL && (strcmp(v, "true") == 0 || strcmp(v, "false") == 0))
        return json_boolean(strcmp(v, "true") == 0);
    if (kind == K_COUNT && v[0] >= '0' && v[0] <= '9') {
        char *end = NULL;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (!errno && !*end)
            return json_integer(n);
    }
    return json_stringn_nocheck(v, strlen(v));
}

static int usage_error(const struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints why on stderr with a pointer to --help; returns the usage exit status. */
static int usage_error(const struct command *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "waybilld %s: ", cmd->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'waybilld %s --help' for the usage.\n", cmd->name);
    va_end(ap);
    return EXIT_USAGE;
}

/* Reads argv[2..] (argv[1] is the subcommand) into a. Returns -1 when all is well, else the exit
 * status (0 after --help). */
static int parse_args(const struct command *cmd, const struct sub *sub, int argc, char **argv,
                      struct args *a)
{
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *value = NULL;
        const char **common = NULL;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            fputs(cmd->help, stdout);
            return 0;
        }
        if (strcmp(arg, "--json") == 0) {
            a->json = true;
            continue;
        }
        if (flag_is(arg, "--data", &value))
            common = &a->data;
        else if (flag_is(arg, "--db", &value))
            common = &a->db;
        else if (flag_is(arg, "--hash-key", &value))
            common = &a->hash_key;
        else if (sub->list && flag_is(arg, "--limit", &value))
            common = &a->limit;
        else if (sub->list && flag_is(arg, "--after", &value))
            common = &a->after;
        if (common) {
            if (!value && i + 1 >= argc)
                return usage_error(cmd, "%s needs a value", arg);
            *common = value ? value : argv[++i];
            continue;
        }
        const struct field_flag *f = NULL;
        for (const struct field_flag *p = cmd->flags; sub->body && p->flag && !f; p++)
            if (flag_is(arg, p->flag, &value))
                f = p;
        if (f) {
            if (!value && f->kind == K_BOOL)
                value = i + 1 < argc && is_bool_word(argv[i + 1]) ? argv[++i] : "true";
            else if (!value && i + 1 >= argc)
                return usage_error(cmd, "%s needs a value", f->flag);
            else if (!value)
                value = argv[++i];
            if (json_object_set_new(a->body, f->field, flag_value(f->kind, value)))
                return usage_error(cmd, "%s: out of memory", f->flag);
            continue;
        }
        if (arg[0] == '-' && arg[1])
            return usage_error(cmd, "unknown option %s", arg);
        if (a->npos >= sub->npos)
            return usage_error(cmd, "unexpected argument %s", arg);
        a->pos[a->npos++] = arg;
    }
    if (a->npos < sub->npos)
        return usage_error(cmd, "%s needs more arguments", sub->name);
    return -1;
}

/* Columns of terminal a UTF-8 string takes: wide for everything from U+0800 on (CJK). */
static int display_width(const char *s)
{
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x80 || (*p >= 0xC0 && *p < 0xE0))
            w += 1;
        else if (*p >= 0xE0)
            w += 2;
    }
    return w;
}

/* A scalar as table text; the caller frees it. */
static char *scalar_text(const json_t *v)
{
    char tmp[32];
    const char *s = tmp;
    if (!v || json_is_null(v))
        s = "-";
    else if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else if (json_is_integer(v))
        snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
    else
        return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    return strdup(s);
}

static void pad(int n)
{
    for (; n > 0; n--)
        putchar(' ');
}

/* Prints the pairs of an object as aligned "key  value" lines; nested objects as parent.key. */
static int key_width(const json_t *obj, int prefix)
{
    int w = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        int k = json_is_object(v) ? key_width(v, prefix + (int)strlen(key) + 1)
                                  : prefix + (int)strlen(key);
        if (k > w)
            w = k;
    }
    return w;
}

static void print_pairs(const json_t *obj, const char *prefix, int width)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, key);
        if (json_is_object(v)) {
            char sub[260];
            snprintf(sub, sizeof sub, "%s.", name);
            print_pairs(v, sub, width);
            continue;
        }
        char *text = scalar_text(v);
        printf("%s", name);
        pad(width + 2 - (int)strlen(name));
        printf("%s\n", text ? text : "?");
        free(text);
    }
}

/* Prints the items as a table with the given columns (NULL-terminated). */
static void print_table(const json_t *items, const char *const *columns)
{
    int widths[16] = {0};
    int ncol = 0;
    for (; columns[ncol] && ncol < 16; ncol++)
        widths[ncol] = (int)strlen(columns[ncol]);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item)
    {
        for (int c = 0; c < ncol; c++) {
            char *text = scalar_text(json_object_get(item, columns[c]));
            int w = text ? display_width(text) : 1;
            if (w > widths[c])
                widths[c] = w;
            free(text);
        }
    }
    for (int c = 0; c < ncol; c++) {
        for (const char *p = columns[c]; *p; p++)
            putchar(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        if (c + 1 < ncol)
            pad(widths[c] + 2 - (int)strlen(columns[c]));
    }
    putchar('\n');
    json_array_foreach(items, i, item)
    {
        for (int c = 0; c < ncol; c++) {
            char *text = scalar_text(json_object_get(item, columns[c]));
            fputs(text ? text : "?", stdout);
            if (c + 1 < ncol)
                pad(widths[c] + 2 - (text ? display_width(text) : 1));
            free(text);
        }
        putchar('\n');
    }
}

typedef json_t *(*list_fn)(const struct admin_ctx *c, const char *after, int limit,
                           struct admin_err *e);

/* Every page of a list gathered into one reply of the same shape, with "next":null. */
static json_t *list_all(const struct admin_ctx *c, list_fn list, const char *items_key,
                        struct admin_err *e)
{
    json_t *all = json_array();
    char after[128] = "";
    if (!all)
        return admin_fail(e, 500, "out of memory");
    for (;;) {
        json_t *page = list(c, after, ADMIN_LIST_MAX, e);
        if (!page)
            goto fail;
        const json_t *next = json_object_get(page, "next");
        bool more = json_is_string(next);
        if (more)
            snprintf(after, sizeof after, "%s", json_string_value(next));
        int rc = json_array_extend(all, json_object_get(page, items_key));
        json_decref(page);
        if (rc) {
            admin_fail(e, 500, "out of memory");
            goto fail;
        }
        if (!more)
            break;
    }
    json_t *out = json_pack("{s:o,s:n}", items_key, all, "next");
    return out ? out : admin_fail(e, 500, "out of memory");
fail:
    json_decref(all);
    return NULL;
}

static json_t *list_page(const struct admin_ctx *c, list_fn list, const struct args *a,
                         const char *items_key, struct admin_err *e)
{
    if (!a->limit && !a->after)
        return list_all(c, list, items_key, e);
    int limit = 0;
    if (!admin_parse_limit(a->limit, &limit, e))
        return NULL;
    return list(c, a->after, limit, e);
}

static json_t *run(const struct admin_ctx *c, const struct sub *sub, const struct args *a,
                   struct admin_err *e)
{
    switch (sub->op) {
    case OP_APP_CREATE:
        return admin_app_create(c, a->body, e);
    case OP_APP_LIST:
        return list_page(c, admin_app_list, a, "apps", e);
    case OP_APP_SHOW:
        return admin_app_get(c, a->pos[0], e);
    case OP_APP_SET:
        return admin_app_patch(c, a->pos[0], a->body, e);
    case OP_APP_RESET_SECRET:
        return admin_app_reset_secret(c, a->pos[0], e);
    case OP_APP_RESET_PUSH_SECRET:
        return admin_app_reset_push_secret(c, a->pos[0], e);
    case OP_USER_ADD:
        return admin_user_create(c, a->pos[0], a->body, e);
    case OP_USER_SHOW:
        return admin_user_get(c, a->pos[0], a->pos[1], e);
    case OP_CARRIER_ADD:
        return admin_carrier_create(c, a->body, e);
    case OP_CARRIER_LIST:
        return list_page(c, admin_carrier_list, a, "carriers", e);
    case OP_CARRIER_SHOW:
        return admin_carrier_get(c, a->pos[0], e);
    case OP_CARRIER_SET:
        return admin_carrier_patch(c, a->pos[0], a->body, e);
    case OP_CARRIER_RESET_KEY:
        return admin_carrier_reset_key(c, a->pos[0], e);
    }
    return admin_fail(e, 500, "unknown operation");
}

static void print_result(const struct sub *sub, const json_t *out, bool json)
{
    static const char *const app_columns[] = {"appid",   "name",     "released", "pay_tx_90d",
                                              "enabled", "eligible", "push_url", NULL};
    static const char *const carrier_columns[] = {"delivery_id", "delivery_name", "waybill_pattern",
                                                  "enabled", NULL};
    if (json) {
        char *text = json_dumps(out, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
        return;
    }
    if (sub->op == OP_APP_LIST || sub->op == OP_CARRIER_LIST) {
        bool apps = sub->op == OP_APP_LIST;
        print_table(json_object_get(out, apps ? "apps" : "carriers"),
                    apps ? app_columns : carrier_columns);
        const json_t *next = json_object_get(out, "next");
        if (json_is_string(next))
            printf("(more: --after %s)\n", json_string_value(next));
        return;
    }
    print_pairs(out, "", key_width(out, 0));
    if (sub->shows_key)
        fputs("Keep the secret now: it is stored only as a hash and is not shown again.\n", stderr);
}

static int day_offset(const char *text)
{
    int sign = 1, hh = 0, mm = 0;
    if (!text || (text[0] != '+' && text[0] != '-') || strlen(text) != 6 || text[3] != ':')
        return 8 * 3600;
    if (text[0] == '-')
        sign = -1;
    for (int i = 1; i < 6; i++)
        if (i != 3 && (text[i] < '0' || text[i] > '9'))
            return 8 * 3600;
    hh = (text[1] - '0') * 10 + (text[2] - '0');
    mm = (text[4] - '0') * 10 + (text[5] - '0');
    return sign * (hh * 3600 + mm * 60);
}

static int64_t env_max_updates(void)
{
    const char *text = getenv("WAYBILLD_MAX_UPDATES");
    if (!text || !*text)
        return QUOTA_MAX_UPDATES;
    char *end = NULL;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    return errno || *end || n < 0 ? QUOTA_MAX_UPDATES : (int64_t)n;
}

static const char *env_or(const char *value, const char *name, const char *fallback)
{
    if (value)
        return value;
    const char *env = getenv(name);
    return env && *env ? env : fallback;
}

static int run_command(const struct command *cmd, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(cmd->help, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    const struct sub *sub = cmd->subs;
    while (sub->name && strcmp(sub->name, argv[1]) != 0)
        sub++;
    if (!sub->name)
        return usage_error(cmd, "unknown subcommand %s", argv[1]);

    struct args a = {.body = json_object()};
    struct setup su;
    bool opened = false;
    json_t *out = NULL;
    struct admin_err e = {0};
    int status = EXIT_FAILED;
    if (!a.body) {
        fprintf(stderr, "waybilld %s: out of memory\n", cmd->name);
        goto out;
    }
    status = parse_args(cmd, sub, argc, argv, &a);
    if (status >= 0)
        goto out;
    int opened_rc =
        setup_open(&su, env_or(a.data, "WAYBILLD_DATA", "var"), env_or(a.db, "WAYBILLD_DB", NULL),
                   NULL, env_or(a.hash_key, "WAYBILLD_HASH_KEY", NULL));
    status = opened_rc == SETUP_USAGE ? EXIT_USAGE : EXIT_FAILED;
    if (opened_rc)
        goto out;
    opened = true;
    /* usage counts the service clock's day: a sandbox's moved clock too */
    if (!sandbox_clock_load(su.store))
        goto out;
    const struct admin_ctx c = {
        .store = su.store,
        .hash_key = su.hash_key,
        .max_updates = env_max_updates(),
        .day_offset_s = day_offset(getenv("WAYBILLD_DAY_OFFSET")),
    };
    out = run(&c, sub, &a, &e);
    if (!out) {
        fprintf(stderr, "waybilld %s %s: %s\n", cmd->name, sub->name, e.msg);
        if (a.json) {
            json_t *err = json_pack("{s:i,s:s}", "errcode", e.errcode, "errmsg", e.msg);
            if (err)
                print_result(sub, err, true);
            json_decref(err);
        }
        goto out;
    }
    print_result(sub, out, a.json);
    status = 0;
out:
    json_decref(out);
    json_decref(a.body);
    if (opened)
        setup_close(&su);
    return status;
}

int cmd_app(int argc, char **argv)
{
    static const struct command cmd = {"app", app_help, app_subs, app_flags};
    return run_command(&cmd, argc, argv);
}

int cmd_user(int argc, char **argv)
{
    static const struct command cmd = {"user", user_help, user_subs, user_flags};
    return run_command(&cmd, argc, argv);
}

int cmd_carrier(int argc, char **argv)
{
    static const struct command cmd = {"carrier", carrier_help, carrier_subs, carrier_flags};
    return run_command(&cmd, argc, argv);
}
