/* tests/nn/util.h — helpers shared by the nn tests. */
#ifndef MN_TESTS_NN_UTIL_H
#define MN_TESTS_NN_UTIL_H

#include "mimonet/core.h"

/* n floats drawn from N(0, scale^2) (mn_free them); NULL when out of memory. */
static inline float *randn(mn_rng *r, size_t n, double scale)
{
    float *x = mn_malloc(n * sizeof *x);
    if (x)
        for (size_t i = 0; i < n; i++) x[i] = (float)(scale * mn_rng_normal(r));
    return x;
}

#endif
