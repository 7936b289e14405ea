/* Declarative command-line options: one table per command feeds the parser, the environment
 * variables (WAYBILLD_<NAME>) and --help. */
#ifndef WB_CLI_OPTIONS_H
#define WB_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum option_type {
    OPTION_STRING, /* const char * */
    OPTION_INT,    /* long, decimal, >= 0 */
    OPTION_FLAG,   /* bool; "--name" sets it, WAYBILLD_NAME=1|true|yes|0|false|no */
};

struct option_def {
    const char *name; /* without the leading "--" */
    enum option_type type;
    size_t offset;        /* of the field in the target struct */
    const char *fallback; /* the default, as text; NULL for none */
    const char *arg;      /* the value's placeholder in --help, e.g. "ADDR:PORT" */
    const char *help;
};

struct option_table {
    const char *usage; /* the first line of --help */
    const struct option_def *defs;
    size_t count;
    bool env; /* read WAYBILLD_<NAME> too */
};

enum option_result { OPTIONS_OK = 0, OPTIONS_HELP = 1, OPTIONS_ERROR = -1 };

/* Fills target from defaults, then the environment, then argv[1..argc) (flags win). Positional
 * arguments are collected into positional (at most max_positional; more is an error). Prints the
 * help on --help (OPTIONS_HELP) and a message on errors (OPTIONS_ERROR). */
enum option_result options_parse(const struct option_table *t, void *target, int argc, char **argv,
                                 const char **positional, int max_positional, int *npositional);
void options_help(const struct option_table *t, FILE *out);

#endif
