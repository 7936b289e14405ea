/* waybilld: the server and its admin commands. main() only picks the subcommand. */
#include "cli/commands.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"serve", cmd_serve, "serve the API (see waybilld serve --help)"},
    {"app", cmd_app, "create, list, show and change apps"},
    {"user", cmd_user, "add users (openids) to an app"},
    {"carrier", cmd_carrier, "register and list carriers"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: waybilld COMMAND [options]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out,
            "\nEach command takes --help. Every option of serve also reads WAYBILLD_<NAME>.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "waybilld: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
