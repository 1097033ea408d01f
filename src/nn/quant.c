/*
 * nn/quant.c — the B-bit uniform quantizer of learned CSI feedback, with a straight-through
 * gradient (Bengio, Léonard, Courville, "Estimating or Propagating Gradients Through Stochastic
 * Neurons for Conditional Computation", arXiv 1308.3432, 2013; used for B-bit feedback by
 * Sohrabi, Attiah, Yu, arXiv 2007.06512, and by the E2E CSI papers of Gao's group).
 *
 * Forward, per value (L = 2^bits levels on [-1, 1], both ends included):
 *     i = clamp(floor((clamp(x, -1, 1) + 1) (L - 1) / 2 + 1/2), 0, L - 1)
 *     q = -1 + 2 i / (L - 1)
 * bits = 1: q = sign(x) with sign(0) = +1.  The index i is the bits-bit word a UE sends.
 * Backward (the surrogate): the quantizer is treated as the identity, dinp += dout, so the
 * layer before it (normally tanh, which bounds x to (-1, 1)) receives the gradient as if its
 * output reached the loss unquantized.  This is a deliberate bias, not a derivative: the true
 * derivative is 0 almost everywhere.
 * Threads: elementwise split, thread-count independent.
 */
#include "mimonet/nn.h"

#include <math.h>

#include "pragma.h"

#define PAR_MIN_N 65536

int mn_quant_index(float x, int bits)
{
    const int L = 1 << bits;
    float v = x < -1.0f ? -1.0f : x > 1.0f ? 1.0f : x;
    if (v != v) v = 0.0f; /* NaN: the middle of the range, never an out-of-range index */
    int i = (int)floorf((v + 1.0f) * (float)(L - 1) * 0.5f + 0.5f);
    return i < 0 ? 0 : i > L - 1 ? L - 1 : i;
}

void mn_quant_forward(float *out, const float *inp, size_t n, int bits)
{
    const long nn = (long)n;
    const int Lm1 = (1 << bits) - 1;
    /* (2 i - (L - 1)) / (L - 1): the end levels are exactly -1 and +1 */
    OMP(parallel for schedule(static) if(parallel: nn > PAR_MIN_N))
    for (long i = 0; i < nn; i++) out[i] = (float)(2 * mn_quant_index(inp[i], bits) - Lm1) / (float)Lm1;
}

void mn_quant_backward(float *dinp, const float *dout, size_t n)
{
    const long nn = (long)n;
    OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
    for (long i = 0; i < nn; i++) dinp[i] += dout[i];
}
