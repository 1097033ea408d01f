/* cli/main.c — the `mimonet` command: dispatch to subcommands (see DESIGN.md's command-line
 * contract).  The CLI owns user messages and exit codes; the library never prints. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "mimonet/core.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"demo", mn_cli_demo, "train the light model end to end on an embedded default and report"},
    {"pim", mn_cli_pim, "PIM cancellation: simulate, train, eval, cancel"},
    {"csi", mn_cli_csi, "learned CSI-RS, feedback and precoding: simulate, train, eval, sweep"},
    {"info", mn_cli_info, "describe what a data file or model holds"},
};

static void usage(FILE *f)
{
    fprintf(f, "mimonet %s — learned MIMO physical-layer processing\n\nusage: mimonet COMMAND [options]\n\ncommands:\n",
            MN_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "  %-10s %s\n", "version", "print the version and build features");
    fprintf(f, "\n'mimonet COMMAND --help' describes a command's options.\n");
}

int main(int argc, char **argv)
{
    mn_threads_prefer_passive_wait(argv);
    if (argc < 2) {
        fprintf(stderr, "mimonet: give a COMMAND (demo, pim, csi, info, version); run 'mimonet --help' for details\n");
        return MN_EXIT_USAGE;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return MN_EXIT_OK;
    }
    if (!strcmp(c, "version") || !strcmp(c, "--version")) {
        printf("mimonet %s (openmp %s, blas %s)\n", MN_VERSION_STRING, mn_have_openmp() ? "yes" : "no",
               mn_have_blas() ? "openblas" : "portable");
        return MN_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(c, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "mimonet: unknown command '%s' (run 'mimonet --help' for the list)\n", c);
    return MN_EXIT_USAGE;
}
