/*
 * src/cli/cli_info.h — `mimonet info FILE...`: print what data files and models hold.
 */
#ifndef MIMONET_CLI_INFO_H
#define MIMONET_CLI_INFO_H

/* argv[0] = "info", then FILE...  Prints each file's description (mn_describe_file) on stdout
 * and each failure as one line on stderr.  Returns 0 when every file was described, 2 when a
 * file is missing, unreadable, malformed or not of a known kind (or the usage is wrong), and 1
 * for a runtime failure such as running out of memory (1 wins when both happen). */
int mn_cli_info(int argc, char **argv);

#endif
