/* cli/commands.h — the mimonet subcommands.  Each takes argv starting at its own name and
 * returns the process exit code (0 ok, 1 runtime failure, 2 bad usage or bad input). */
#ifndef MN_CLI_COMMANDS_H
#define MN_CLI_COMMANDS_H

int mn_cli_demo(int argc, char **argv);

#endif
