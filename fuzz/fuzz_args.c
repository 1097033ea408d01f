/*
 * fuzz/fuzz_args.c — libFuzzer target for the CLI option parser (mn_args_parse, src/cli/args.c).
 * The input is split on NUL bytes into argv[1..] (argv[0] is "mimonet", parsing starts at 1)
 * and parsed against a table with one option of every type, ranged and unranged.  The parser
 * prints its one-line errors to stderr, which the harness sends to /dev/null by adding libFuzzer's
 * -close_fd_mask=2 to the command line in LLVMFuzzerInitialize (libFuzzer then keeps its own
 * output and the sanitizers' reports on a duplicate of the old stderr, so crashes still show).
 * Checks: parsing never crashes; a successful parse leaves every ranged value in range, stores
 * every integer exactly as written (no silent wrap-around of an int), and never stores a
 * negative number into an unsigned option.
 */
#include "fuzz_common.h"

#include <math.h>

#include "../src/cli/args.h"

enum { FZ_MAX_ARGS = 64 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char *args[256];
    static char mask[] = "-close_fd_mask=2";
    int n = *argc;
    for (int i = 1; i < n; i++)
        if (!strncmp((*argv)[i], "-close_fd_mask=", 15)) return 0; /* the user chose */
    if (n + 2 > (int)(sizeof args / sizeof args[0])) return 0;
    args[0] = (*argv)[0];
    args[1] = mask; /* flags must precede the corpus folders */
    for (int i = 1; i < n; i++) args[i + 1] = (*argv)[i];
    args[n + 1] = NULL;
    *argc = n + 1;
    *argv = args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[FZ_MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = (char *)"mimonet";
    for (size_t i = 0; i <= size && argc < FZ_MAX_ARGS;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;

    bool flag = false, help = false;
    const char *str = NULL;
    int n_int = 0, r_int = 5;
    int64_t n_i64 = 0, r_i64 = 0;
    uint64_t n_u64 = 0, r_u64 = 1;
    double n_dbl = 0.0, r_dbl = 0.5;
    mn_opt opts[] = {
        {"--flag", MN_OPT_FLAG, &flag, 1, 0, "a flag", false},
        {"--str", MN_OPT_STR, &str, 1, 0, "a string", false},
        {"--int", MN_OPT_INT, &n_int, 1, 0, "an int, any", false},
        {"--steps", MN_OPT_INT, &r_int, 1, 1e6, "an int in [1, 1e6]", false},
        {"--i64", MN_OPT_I64, &n_i64, 1, 0, "an int64, any", false},
        {"--offset", MN_OPT_I64, &r_i64, -1e12, 1e12, "an int64 in [-1e12, 1e12]", false},
        {"--u64", MN_OPT_U64, &n_u64, 1, 0, "a uint64, any", false},
        {"--seed", MN_OPT_U64, &r_u64, 0, 1e15, "a uint64 in [0, 1e15]", false},
        {"--dbl", MN_OPT_DOUBLE, &n_dbl, 1, 0, "a double, any", false},
        {"--lr", MN_OPT_DOUBLE, &r_dbl, 0, 1, "a double in [0, 1]", false},
        {NULL, MN_OPT_FLAG, NULL, 0, 0, NULL, false},
    };
    if (mn_args_parse("fuzz", argc, argv, 1, opts, &help)) {
        if (r_int < 1 || r_int > 1000000 || r_i64 < -1000000000000LL || r_i64 > 1000000000000LL ||
            r_u64 > 1000000000000000ULL || !(r_dbl >= 0.0 && r_dbl <= 1.0) || !isfinite(n_dbl) ||
            (str && !*str) || help)
            abort();
        /* Walk argv as the parser did (it succeeded, so every value option has its value). */
        for (int i = 1; i < argc; i++) {
            const char *a = argv[i];
            bool is_int = !strcmp(a, "--int") || !strcmp(a, "--steps");
            bool is_u64 = !strcmp(a, "--u64") || !strcmp(a, "--seed");
            if (!strcmp(a, "--flag")) continue;
            const char *v = argv[++i];
            if (is_u64 && strchr(v, '-')) {
                fprintf(stderr, "fuzz: %s accepted the negative value '%s'\n", a, v);
                abort();
            }
            if (is_int) {
                long long want = strtoll(v, NULL, 10);
                bool last = true;
                for (int k = i + 1; k < argc; k++)
                    if (!strcmp(argv[k], a)) last = false;
                int got = a[2] == 'i' ? n_int : r_int;
                if (last && want != (long long)got) {
                    fprintf(stderr, "fuzz: %s '%s' stored as %d\n", a, v, got);
                    abort();
                }
            }
        }
    }
    free(buf);
    return 0;
}
