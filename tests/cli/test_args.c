/*
 * tests/cli/test_args.c — mn_args_parse (src/cli/args.c) regression tests for values the
 * fuzzer (fuzz/fuzz_args.c) showed being accepted wrongly: a negative number with leading
 * blanks stored into an unsigned option (strtoull negates " -1" to 2^64 - 1), and an int option
 * without a range silently wrapping a value beyond int (4294967297 stored as 1).
 *
 * The CLI sources (src/cli) are not part of libmimonet, so this file compiles args.c into itself.
 */
#include "mn_test.h"

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include "../../src/cli/args.c"

/* Parse "mimonet <opt> <val>" against one option; stderr (the one-line error) is silenced. */
static bool parse_one(const char *opt, const char *val, mn_opt_type type, void *dest, double lo, double hi)
{
    char *argv[3] = {(char *)"mimonet", (char *)opt, (char *)val};
    mn_opt opts[2] = {{opt, type, dest, lo, hi, "test", false}, {NULL, MN_OPT_FLAG, NULL, 0, 0, NULL, false}};
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 2);
    bool help = false;
    bool ok = mn_args_parse("test", 3, argv, 1, opts, &help);
    fflush(stderr);
    if (saved >= 0) dup2(saved, 2);
    if (saved >= 0) close(saved);
    if (null >= 0) close(null);
    return ok;
}

MN_TEST(args_u64_refuses_blank_negative)
{
    uint64_t u = 42;
    MN_CHECK(t, !parse_one("--seed", " -1", MN_OPT_U64, &u, 0, -1));
    MN_CHECK(t, !parse_one("--seed", "\t-5", MN_OPT_U64, &u, 0, -1));
    MN_CHECK(t, !parse_one("--seed", "-0", MN_OPT_U64, &u, 0, -1));
    MN_CHECK(t, u == 42);
    MN_CHECK(t, parse_one("--seed", "18446744073709551615", MN_OPT_U64, &u, 0, -1));
    MN_CHECK(t, u == UINT64_MAX);
    MN_CHECK(t, parse_one("--seed", "0x10", MN_OPT_U64, &u, 0, -1));
    MN_CHECK(t, u == 16);
}

MN_TEST(args_int_never_wraps)
{
    int v = 3;
    MN_CHECK(t, !parse_one("--n", "4294967297", MN_OPT_INT, &v, 1, 0)); /* 2^32 + 1 would store 1 */
    MN_CHECK(t, !parse_one("--n", "2147483648", MN_OPT_INT, &v, 1, 0));
    MN_CHECK(t, !parse_one("--n", "-2147483649", MN_OPT_INT, &v, 1, 0));
    MN_CHECK(t, v == 3);
    MN_CHECK(t, parse_one("--n", "2147483647", MN_OPT_INT, &v, 1, 0));
    MN_CHECK(t, v == INT_MAX);
    MN_CHECK(t, parse_one("--n", "-2147483648", MN_OPT_INT, &v, 1, 0));
    MN_CHECK(t, v == INT_MIN);
    int64_t w = 0; /* int64 keeps values beyond int */
    MN_CHECK(t, parse_one("--m", "4294967297", MN_OPT_I64, &w, 1, 0));
    MN_CHECK(t, w == 4294967297LL);
}
