/*
 * nn/residual.c — elementwise sum for residual (skip) connections.
 *
 *     out = a + b,     da += dout,  db += dout.
 * Shapes: any; n elements each.  da and db may be NULL, and may be the same buffer (a node
 * added to itself receives 2 dout).  Threads: elementwise split, thread-count independent.
 */
#include "mimonet/nn.h"

#include "grad_into.h"
#include "pragma.h"

#define PAR_MIN_N 65536

void mn_add_forward(float *out, const float *a, const float *b, size_t n)
{
    const long nn = (long)n;
    OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
    for (long i = 0; i < nn; i++) out[i] = a[i] + b[i];
}

void mn_add_backward_into(float *da, float *db, const float *dout, size_t n, bool set_a, bool set_b)
{
    const long nn = (long)n;
    if (da) MN_GRAD_LOOP(da, set_a, nn, PAR_MIN_N, dout[i]);
    if (db) MN_GRAD_LOOP(db, set_b, nn, PAR_MIN_N, dout[i]);
}

void mn_add_backward(float *da, float *db, const float *dout, size_t n)
{
    mn_add_backward_into(da, db, dout, n, false, false);
}
