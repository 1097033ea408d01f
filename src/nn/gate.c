/*
 * nn/gate.c — elementwise product, the gating of gated MLPs (gMLP: Liu, Dai, So, Le, "Pay
 * Attention to MLPs", NeurIPS 2021; MAXIM's gated blocks).
 *
 *     out = a * b,     da += dout * b,     db += dout * a.
 * Shapes: any; n elements each.  da and db may be NULL, and may be the same buffer (a node
 * multiplied by itself receives 2 x dout, from the two accumulations in turn).
 * Threads: elementwise split, thread-count independent.
 */
#include "mimonet/nn.h"

#include "grad_into.h"
#include "pragma.h"

#define PAR_MIN_N 65536

void mn_mul_forward(float *out, const float *a, const float *b, size_t n)
{
    const long nn = (long)n;
    OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
    for (long i = 0; i < nn; i++) out[i] = a[i] * b[i];
}

void mn_mul_backward_into(float *da, float *db, const float *dout, const float *a, const float *b, size_t n,
                          bool set_a, bool set_b)
{
    const long nn = (long)n;
    if (da) MN_GRAD_LOOP(da, set_a, nn, PAR_MIN_N, dout[i] * b[i]);
    if (db) MN_GRAD_LOOP(db, set_b, nn, PAR_MIN_N, dout[i] * a[i]);
}

void mn_mul_backward(float *da, float *db, const float *dout, const float *a, const float *b, size_t n)
{
    mn_mul_backward_into(da, db, dout, a, b, n, false, false);
}
