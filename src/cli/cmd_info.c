/*
 * src/cli/cmd_info.c — `mimonet info FILE...`: describe data files (.npy, .csv, SigMF, .mat)
 * and models (.safetensors) through mn_describe_file.  This file owns the messages and exit
 * codes: 0 ok, 2 bad usage or bad input, 1 runtime failure.
 */
#include "cli_info.h"

#include <stdio.h>
#include <string.h>

#include "mimonet/io.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: mimonet info FILE...\n"
               "  Print what each file holds: .npy (dtype, shape), .csv (rows, channels),\n"
               "  .sigmf-meta/.sigmf-data (datatype, channels, samples, rate), .mat (variables),\n"
               "  .safetensors (tensors, parameter count, metadata).\n");
}

/* What the user can do about a failure of this kind. */
static const char *hint(mn_status st)
{
    switch (st) {
    case MN_ERR_IO: return "check that the file exists and is readable";
    case MN_ERR_FORMAT: return "the file is malformed or not what its name says; re-export it";
    case MN_ERR_SHAPE: return "re-export the data with the expected shape";
    case MN_ERR_NUMERIC: return "remove or replace the non-finite values";
    case MN_ERR_UNSUPPORTED: return "convert the file to a supported format (.npy is always supported)";
    case MN_ERR_INVALID: return "give a .npy, .csv, .sigmf-meta, .mat or .safetensors file";
    case MN_ERR_NOMEM: return "free memory or use a smaller file";
    default: return "see the message above";
    }
}

int mn_cli_info(int argc, char **argv)
{
    int first = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--")) {
            first = i + 1;
            break;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "mimonet info: unknown option '%s'; usage: mimonet info FILE... (try --help)\n", argv[i]);
            return 2;
        }
    }
    if (first >= argc) {
        fprintf(stderr, "mimonet info: no FILE given; usage: mimonet info FILE...\n");
        return 2;
    }
    enum { DESC_MAX = 16384 };
    static char desc[DESC_MAX]; /* the CLI is single-threaded */
    int rc = 0;
    bool many = argc - first > 1;
    for (int i = first; i < argc; i++) {
        const char *path = argv[i];
        mn_status st = mn_describe_file(path, desc, sizeof desc);
        if (st == MN_OK) {
            if (many) printf("%s%s:\n", i > first ? "\n" : "", path);
            printf("%s\n", desc);
            continue;
        }
        const char *msg = mn_error_msg();
        /* The library's messages name the file; add it when one does not. */
        if (strstr(msg, path)) fprintf(stderr, "mimonet info: %s; %s\n", msg, hint(st));
        else fprintf(stderr, "mimonet info: %s: %s; %s\n", path, msg, hint(st));
        int code = (st == MN_ERR_NOMEM || st == MN_ERR_INTERRUPTED) ? 1 : 2;
        if (code == 1 || rc == 0) rc = code;
    }
    fflush(stdout);
    return rc;
}
