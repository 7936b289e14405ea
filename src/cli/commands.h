/* waybilld's subcommands. Each takes argv with argv[0] the subcommand's name; returns the exit
 * status. */
#ifndef WB_CLI_COMMANDS_H
#define WB_CLI_COMMANDS_H

int cmd_serve(int argc, char **argv);
int cmd_app(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_carrier(int argc, char **argv);

#endif
