/* tests/nn/util.h — helpers shared by the nn tests. */
#ifndef MN_TESTS_NN_UTIL_H
#define MN_TESTS_NN_UTIL_H

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "mimonet/core.h"
#include "mimonet/nn.h"
#include "mn_test.h"

/* n floats drawn from N(0, scale^2) (mn_free them); NULL when out of memory. */
static inline float *randn(mn_rng *r, size_t n, double scale)
{
    float *x = mn_malloc(n * sizeof *x);
    if (x)
        for (size_t i = 0; i < n; i++) x[i] = (float)(scale * mn_rng_normal(r));
    return x;
}

/* max|a - b| / max|b|; NaN when any difference is NaN. */
static inline double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d)) d = e; /* NaN propagates */
        if (fabs((double)b[i]) > s) s = fabs((double)b[i]);
    }
    return s > 0 ? d / s : d;
}

/* An eval forward's output, copied (mn_free it); NULL on error.  *ny: its float count. */
static inline float *eval_copy(mn_model *m, const float *x, int B, int T, size_t *ny)
{
    if (mn_model_forward(m, x, B, T, false) != MN_OK) return NULL;
    int C, To;
    const float *y = mn_model_output(m, &C, &To);
    *ny = (size_t)B * C * To;
    float *c = mn_malloc(*ny * sizeof *c);
    if (c) memcpy(c, y, *ny * sizeof *c);
    return c;
}

static inline bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Non-trivial batch-norm state: running means N(0, 0.5^2), variances in [0.3, 1.8], and for
 * affine norms gamma in [0.5, 1.5], beta N(0, 0.3^2). */
static inline void randomize_norms(mn_model *m, mn_rng *r)
{
    for (int i = 0; i < m->params.n; i++) {
        const mn_param_def *d = &m->params.defs[i];
        float *w = mn_params_w(&m->params, i);
        for (size_t j = 0; j < d->numel; j++) {
            if (ends_with(d->name, "running_mean")) w[j] = (float)(0.5 * mn_rng_normal(r));
            else if (ends_with(d->name, "running_var")) w[j] = (float)(0.3 + 1.5 * mn_rng_uniform(r));
            else if (ends_with(d->name, "bn.weight")) w[j] = (float)(0.5 + mn_rng_uniform(r));
            else if (ends_with(d->name, "bn.bias")) w[j] = (float)(0.3 * mn_rng_normal(r));
        }
    }
}

/* The eval forward of m on x gives the same bits with 1, 2 and 3 threads (the caller restores
 * its thread count). */
static inline void check_threads_bitwise(mn_test_ctx *t, mn_model *m, const float *x, int B, int T, const char *label)
{
    size_t n = 0;
    float *y[3];
    for (int k = 0; k < 3; k++) {
        mn_threads_set(k + 1);
        y[k] = eval_copy(m, x, B, T, &n);
    }
    MN_CHECK(t, y[0] && y[1] && y[2]);
    if (y[0] && y[1] && y[2]) {
        MN_CHECK_MSG(t, !memcmp(y[0], y[1], n * sizeof(float)), "%s: 1 and 2 threads differ", label);
        MN_CHECK_MSG(t, !memcmp(y[0], y[2], n * sizeof(float)), "%s: 1 and 3 threads differ", label);
    }
    for (int k = 0; k < 3; k++) mn_free(y[k]);
}

#endif
