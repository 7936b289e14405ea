/* The option parser behind every waybilld command. */
#include "cli/options.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool set_value(const struct option_def *d, void *target, const char *value,
                      const char *source)
{
    char *field = (char *)target + d->offset;
    switch (d->type) {
    case OPTION_STRING:
        *(const char **)(void *)field = value;
        return true;
    case OPTION_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end || v < 0) {
            fprintf(stderr, "waybilld: %s: --%s wants a non-negative integer, not '%s'\n", source,
                    d->name, value);
            return false;
        }
        *(long *)(void *)field = v;
        return true;
    }
    case OPTION_FLAG:
        if (!strcasecmp(value, "1") || !strcasecmp(value, "true") || !strcasecmp(value, "yes")) {
            *(bool *)(void *)field = true;
            return true;
        }
        if (!strcasecmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no") ||
            !*value) {
            *(bool *)(void *)field = false;
            return true;
        }
        fprintf(stderr, "waybilld: %s: --%s wants true or false, not '%s'\n", source, d->name,
                value);
        return false;
    }
    return false;
}

static void env_name(const char *name, char out[96])
{
    size_t o = (size_t)snprintf(out, 96, "WAYBILLD_");
    for (const char *p = name; *p && o < 95; p++)
        out[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[o] = '\0';
}

static const struct option_def *find(const struct option_table *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->count; i++)
        if (strlen(t->defs[i].name) == len && strncmp(t->defs[i].name, name, len) == 0)
            return &t->defs[i];
    return NULL;
}

enum option_result options_parse(const struct option_table *t, void *target, int argc, char **argv,
                                 const char **positional, int max_positional, int *npositional)
{
    int npos = 0;
    for (size_t i = 0; i < t->count; i++) {
        const struct option_def *d = &t->defs[i];
        if (d->fallback && !set_value(d, target, d->fallback, "default"))
            return OPTIONS_ERROR;
        char name[96];
        env_name(d->name, name);
        const char *v = t->env ? getenv(name) : NULL;
        if (v && !set_value(d, target, v, name))
            return OPTIONS_ERROR;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            options_help(t, stdout);
            return OPTIONS_HELP;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (npos >= max_positional) {
                fprintf(stderr, "waybilld: unexpected argument '%s' (see --help)\n", arg);
                return OPTIONS_ERROR;
            }
            positional[npos++] = arg;
            continue;
        }
        const char *name = arg + 2, *eq = strchr(name, '=');
        const struct option_def *d = find(t, name, eq ? (size_t)(eq - name) : strlen(name));
        if (!d) {
            fprintf(stderr, "waybilld: unknown option '%s' (see --help)\n", arg);
            return OPTIONS_ERROR;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value && d->type == OPTION_FLAG)
            value = "true";
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "waybilld: --%s needs a value\n", d->name);
                return OPTIONS_ERROR;
            }
            value = argv[++i];
        }
        if (!set_value(d, target, value, "command line"))
            return OPTIONS_ERROR;
    }
    if (npositional)
        *npositional = npos;
    return OPTIONS_OK;
}

void options_help(const struct option_table *t, FILE *out)
{
    fprintf(out, "%s\n\nOptions:\n", t->usage);
    for (size_t i = 0; i < t->count; i++) {
        const struct option_def *d = &t->defs[i];
        char left[64], env[96];
        snprintf(left, sizeof left, "--%s%s%s", d->name, d->arg ? " " : "", d->arg ? d->arg : "");
        fprintf(out, "  %-30s %s", left, d->help);
        if (d->fallback && d->type != OPTION_FLAG)
            fprintf(out, " (default: %s)", d->fallback);
        if (t->env) {
            env_name(d->name, env);
            fprintf(out, " [%s]", env);
        }
        fputc('\n', out);
    }
    fprintf(out, "  %-30s %s\n", "--help", "show this help");
}
