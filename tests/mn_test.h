/*
 * tests/mn_test.h — the test harness.
 *
 * A test is a function declared with MN_TEST(name) in any tests/<module>/test_*.c file; the
 * build collects them into a registry (tools/gen_test_registry.sh), so adding a test needs no
 * other edit.  Checks record a failure and continue; a test fails when any check failed.
 *
 *     MN_TEST(conv1d_same_length) {
 *         MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 10);
 *         MN_CHECK_NEAR(t, got, want, 1e-6);
 *     }
 *
 * The runner: mimonet_tests [--filter SUBSTR] [--seed N] [--list] [--verbose]; it prints one line
 * per test and ends with "N passed, N failed", exiting 1 on any failure.
 */
#ifndef MN_TEST_H
#define MN_TEST_H

#include <math.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    const char *name;
    int failures;
    int checks;
    uint64_t seed;  /* from --seed; tests derive their RNG from it */
    int verbose;
} mn_test_ctx;

void mn_test_fail(mn_test_ctx *t, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

#define MN_TEST(name)                                                          \
    void mn_test_##name(mn_test_ctx *t);                                       \
    void mn_test_##name(mn_test_ctx *t)

#define MN_CHECK(t, cond)                                                      \
    do {                                                                       \
        (t)->checks++;                                                         \
        if (!(cond)) mn_test_fail((t), __FILE__, __LINE__, "check failed: %s", #cond); \
    } while (0)

#define MN_CHECK_MSG(t, cond, ...)                                             \
    do {                                                                       \
        (t)->checks++;                                                         \
        if (!(cond)) mn_test_fail((t), __FILE__, __LINE__, __VA_ARGS__);       \
    } while (0)

/* |a - b| <= tol (and neither is NaN). */
#define MN_CHECK_NEAR(t, a, b, tol)                                            \
    do {                                                                       \
        double a_ = (double)(a), b_ = (double)(b), tol_ = (double)(tol);       \
        (t)->checks++;                                                         \
        if (!(fabs(a_ - b_) <= tol_))                                          \
            mn_test_fail((t), __FILE__, __LINE__, "%s = %.9g, %s = %.9g, |diff| %.3g > %.3g", \
                         #a, a_, #b, b_, fabs(a_ - b_), tol_);                 \
    } while (0)

/* MN_OK expected; prints the library's error message otherwise. */
#define MN_CHECK_OK(t, expr)                                                   \
    do {                                                                       \
        int st_ = (int)(expr);                                                 \
        (t)->checks++;                                                         \
        if (st_ != 0)                                                          \
            mn_test_fail((t), __FILE__, __LINE__, "%s returned %d: %s", #expr, st_, mn_error_msg()); \
    } while (0)

/* Path of a file under tests/data (the runner finds the folder from argv[0] or MN_TEST_DATA). */
const char *mn_test_data_path(const char *rel);
/* A fresh, empty temporary folder for this test (removed by the runner afterwards). */
const char *mn_test_tmpdir(mn_test_ctx *t);
/* "<tmpdir>/<name>" in one static buffer (copy it if two paths are needed at once). */
const char *mn_test_path(mn_test_ctx *t, const char *name);
/* Write n bytes to path (for hand-built and damaged files); 0 on success. */
int mn_test_write_bytes(const char *path, const void *data, size_t n);
/* A whole file in a malloc'ed, NUL-terminated buffer (plain libc, so it does not count as
 * mimonet memory in leak checks); *n its length.  NULL (and *n = 0) if unreadable. */
unsigned char *mn_test_read_bytes(const char *path, size_t *n);
/* Number of entries of folder dir whose name contains `part` (-1 if dir cannot be read), e.g.
 * ".tmp." to find temporaries an atomic writer left behind. */
int mn_test_count_files(const char *dir, const char *part);

#endif
