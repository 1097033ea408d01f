/* cli/cli_simulate.h — `mimonet pim simulate` (cmd_simulate.c); argv[0] is "simulate".
 * Returns the exit code: 0 ok, 1 runtime failure, 2 bad usage or bad input. */
#ifndef MN_CLI_SIMULATE_H
#define MN_CLI_SIMULATE_H

int mn_cli_pim_simulate(int argc, char **argv);

#endif
