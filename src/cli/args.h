/* cli/args.h — option parsing shared by every mimonet command: "--key value" and "--flag",
 * with values checked in full (a number must be all number) and one-line errors that name the
 * command, the option and what was expected.  Exit codes: 0 ok, 1 runtime failure, 2 bad usage
 * or bad input. */
#ifndef MN_CLI_ARGS_H
#define MN_CLI_ARGS_H

#include <stdbool.h>
#include <stdint.h>

enum { MN_EXIT_OK = 0, MN_EXIT_RUNTIME = 1, MN_EXIT_USAGE = 2, MN_EXIT_INTERRUPTED = 130 };

typedef enum { MN_OPT_FLAG, MN_OPT_STR, MN_OPT_INT, MN_OPT_I64, MN_OPT_U64, MN_OPT_DOUBLE } mn_opt_type;

typedef struct {
    const char *name; /* "--steps" */
    mn_opt_type type;
    void *dest;       /* bool*, const char**, int*, int64_t*, uint64_t*, double* */
    double min, max;  /* numeric range, inclusive (ignored when min > max) */
    const char *help; /* one line for --help */
    bool seen;        /* set by the parser */
} mn_opt;

/* Parse argv[first..argc) against opts (terminated by name == NULL).  Prints a one-line error
 * to stderr naming `cmd` and returns false on an unknown option, a missing or malformed value,
 * or a value out of range.  "--help" prints the option list and returns false with *help set. */
bool mn_args_parse(const char *cmd, int argc, char **argv, int first, mn_opt *opts, bool *help);
void mn_args_usage(const char *cmd, const char *synopsis, const mn_opt *opts);
/* Print "mimonet <cmd>: <msg>" to stderr (printf-style) and return `code`. */
int mn_cli_fail(int code, const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Exit code for a library status: 2 for bad input (invalid, format, shape, numeric input),
 * 1 for runtime failures (nomem, io, interrupted). */
int mn_cli_exit_code(int status);
/* Exit code for a failure to read an input the user named: as mn_cli_exit_code, except that a
 * file that cannot be opened or read (MN_ERR_IO) is bad input (2), not a runtime failure. */
int mn_cli_input_exit_code(int status);
/* Before any work: the folder that will hold output file `out` exists, is a folder and is
 * writable, and `out` itself is not a folder; false with a one-line message otherwise. */
bool mn_cli_out_dir_ok(const char *cmd, const char *out);
/* True when `path` exists. */
bool mn_cli_exists(const char *path);
/* Create folder `dir` (and parents) if missing; false with a message on failure. */
bool mn_cli_mkdirs(const char *cmd, const char *dir);

#endif
