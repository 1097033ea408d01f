/* cli/commands.h — the mimonet subcommands.  Each takes argv starting at its own name and
 * returns the process exit code (0 ok, 1 runtime failure, 2 bad usage or bad input). */
#ifndef MN_CLI_COMMANDS_H
#define MN_CLI_COMMANDS_H

int mn_cli_demo(int argc, char **argv);
int mn_cli_pim(int argc, char **argv);          /* pim simulate | train | eval | cancel */
int mn_cli_pim_simulate(int argc, char **argv); /* cmd_simulate.c */
int mn_cli_info(int argc, char **argv);         /* cmd_info.c */
int mn_cli_csi(int argc, char **argv);          /* csi simulate | train | eval | sweep */

#endif
