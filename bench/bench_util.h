/*
 * bench/bench_util.h — the helpers the benchmark programs share: option parsing and the median
 * of the timed repetitions.  Header-only, since each benchmark is a program of one .c file.
 */
#ifndef MIMONET_BENCH_UTIL_H
#define MIMONET_BENCH_UTIL_H

#include <stdlib.h>

/* A decimal integer in [lo, 1e9] into *out: 0, or -1 (and *out unchanged) when s is not one. */
static inline int bench_parse_int(const char *s, int lo, int *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || v < lo || v > 1000000000L) return -1;
    *out = (int)v;
    return 0;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of v[0..n) (n >= 1); sorts v in place. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
