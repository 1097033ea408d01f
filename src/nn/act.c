/*
 * nn/act.c — elementwise activations: ReLU, LeakyReLU, sigmoid, tanh (and identity), forward and
 * backward, plus their names for model files and the command line.
 *
 *     relu(x)    = max(x, 0)                       d/dx = [y > 0]
 *     leaky(x)   = x if x > 0 else alpha*x         d/dx = 1 if y > 0 else alpha   (alpha >= 0)
 *     sigmoid(x) = 1 / (1 + exp(-x))               d/dx = y (1 - y)
 *     tanh(x)                                      d/dx = 1 - y^2
 * Every derivative is written in terms of the OUTPUT y, so backward needs only the forward
 * output (the input buffer may be overwritten in place: out == inp is allowed).  At x = 0 the
 * ReLU derivative is 0 and the LeakyReLU one is alpha, as in PyTorch.
 *
 * sigmoid uses a vectorizable exp (Cody–Waite reduction + Cephes' degree-6 polynomial for
 * expf, S. Moshier, Cephes Math Library; about 1 ulp on the clamped range) because libm's
 * expf does not vectorize without -ffast-math and sigmoid layers are wide in the PIM models.
 * tanh is vectorizable too: Cephes' odd polynomial tanhf(x) = x + x^3 P(x^2) for |x| <= 0.625,
 * which keeps the relative accuracy near 0, and 1 - 2/(exp(2|x|) + 1) with the sign of x beyond
 * (libm's tanhf, through expm1f, was a fifth of the junction model's training time).
 * Threads: elementwise, split over n, so results do not depend on the thread count.
 * backward accumulates into dinp.  alpha < 0 is not supported (the sign of y would no longer
 * tell the branch).
 */
#include "mimonet/nn.h"

#include "grad_into.h"
#include "lanes.h" /* MN_MULTIVERSION */

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "pragma.h"

#define PAR_MIN_N 65536

/* exp(x) for x already clamped to [-87, 88] (so 2^n stays a normal float); branch-free, and
 * NaN in gives NaN out.  GCC's default -ftrapping-math keeps a loop with a select followed by
 * float arithmetic from being if-converted (vectorized), so the clamp is a separate loop in
 * sigmoid_block and this function contains no select. */
static inline float exp_clamped(float x)
{
    /* n = round(x / ln2) by adding 1.5*2^23 (round-to-nearest mode; no -ffast-math): the sum's
     * low mantissa bits then hold n, read back without a float->int conversion. */
    union { float f; uint32_t u; } t, s;
    t.f = x * 1.44269504088896341f + 12582912.0f;
    const float fn = t.f - 12582912.0f;
    const uint32_t n = t.u - 0x4B400000u; /* bits(1.5*2^23) */
    /* r = x - n ln2, with ln2 split in two (Cody–Waite) so n*ln2_hi is exact */
    float r = x - fn * 0.693359375f;
    r = r + fn * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    s.u = (n + 127u) << 23; /* 2^n (unsigned wrap-around is intended for n < 0) */
    return p * s.f;
}

#define SIG_BLOCK 256

/* y[i] = tanh(x[i]) for n <= SIG_BLOCK values. */
MN_MULTIVERSION
static void tanh_block(float *y, const float *x, int n) /* y == x allowed */
{
    float z[SIG_BLOCK];
    OMP(simd)
    for (int i = 0; i < n; i++) {
        const float v = 2.0f * fabsf(x[i]);
        z[i] = v > 88.0f ? 88.0f : v; /* NaN passes through */
    }
    OMP(simd)
    for (int i = 0; i < n; i++) {
        const float v = x[i], w = v * v;
        const float p = ((((-5.70498872745e-3f * w + 2.06390887954e-2f) * w - 5.37397155531e-2f) * w +
                          1.33314422036e-1f) * w - 3.33332819422e-1f) * w * v + v;
        const float big = copysignf(1.0f - 2.0f / (exp_clamped(z[i]) + 1.0f), v);
        y[i] = fabsf(v) > 0.625f ? big : p;
    }
}

/* y[i] = 1 / (1 + exp(-x[i])) for n <= SIG_BLOCK values. */
MN_MULTIVERSION
static void sigmoid_block(float *y, const float *x, int n) /* y == x allowed */
{
    float z[SIG_BLOCK];
    OMP(simd)
    for (int i = 0; i < n; i++) {
        const float v = -x[i];
        z[i] = v > 88.0f ? 88.0f : (v < -87.0f ? -87.0f : v); /* NaN passes through */
    }
    OMP(simd)
    for (int i = 0; i < n; i++) y[i] = 1.0f / (1.0f + exp_clamped(z[i]));
}

void mn_act_forward(float *out, const float *inp, size_t n, mn_act kind, float alpha)
{
    const long nn = (long)n;
    switch (kind) {
    case MN_ACT_NONE:
        if (out != inp) memmove(out, inp, n * sizeof *out);
        break;
    case MN_ACT_RELU:
        OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
        for (long i = 0; i < nn; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
        break;
    case MN_ACT_LEAKY:
        OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
        for (long i = 0; i < nn; i++) {
            /* max(x,0) + alpha min(x,0): selects without arithmetic in their arms vectorize */
            const float x = inp[i], pos = x > 0.0f ? x : 0.0f, neg = x > 0.0f ? 0.0f : x;
            out[i] = pos + alpha * neg;
        }
        break;
    case MN_ACT_SIGMOID:
    {
        const long nb = (nn + SIG_BLOCK - 1) / SIG_BLOCK;
        OMP(parallel for schedule(static) if(nn > PAR_MIN_N))
        for (long k = 0; k < nb; k++) {
            const long i0 = k * SIG_BLOCK;
            sigmoid_block(out + i0, inp + i0, nn - i0 < SIG_BLOCK ? (int)(nn - i0) : SIG_BLOCK);
        }
        break;
    }
    case MN_ACT_TANH:
    {
        const long nb = (nn + SIG_BLOCK - 1) / SIG_BLOCK;
        OMP(parallel for schedule(static) if(nn > PAR_MIN_N))
        for (long k = 0; k < nb; k++) {
            const long i0 = k * SIG_BLOCK;
            tanh_block(out + i0, inp + i0, nn - i0 < SIG_BLOCK ? (int)(nn - i0) : SIG_BLOCK);
        }
        break;
    }
    }
}

void mn_act_tanh_serial(float *y, const float *x, size_t n)
{
    for (size_t i0 = 0; i0 < n; i0 += SIG_BLOCK) tanh_block(y + i0, x + i0, n - i0 < SIG_BLOCK ? (int)(n - i0) : SIG_BLOCK);
}

#define ACT_BWD(EXPR) MN_GRAD_LOOP(dinp, overwrite, nn, PAR_MIN_N, EXPR)

void mn_act_backward_into(float *dinp, const float *dout, const float *out, size_t n, mn_act kind, float alpha,
                          bool overwrite)
{
    const long nn = (long)n;
    /* Unconditional loads keep the loops if-convertible. */
    switch (kind) {
    case MN_ACT_NONE: ACT_BWD(dout[i]); break;
    case MN_ACT_RELU: ACT_BWD(out[i] > 0.0f ? dout[i] : 0.0f); break;
    case MN_ACT_LEAKY: ACT_BWD((out[i] > 0.0f ? dout[i] : 0.0f) + alpha * (out[i] > 0.0f ? 0.0f : dout[i])); break;
    case MN_ACT_SIGMOID: ACT_BWD(dout[i] * (out[i] * (1.0f - out[i]))); break;
    case MN_ACT_TANH: ACT_BWD(dout[i] * (1.0f - out[i] * out[i])); break;
    }
}
#undef ACT_BWD

void mn_act_backward(float *dinp, const float *dout, const float *out, size_t n, mn_act kind, float alpha)
{
    mn_act_backward_into(dinp, dout, out, n, kind, alpha, false);
}

static const char *const act_names[] = {"none", "relu", "leaky", "sigmoid", "tanh"};
#define N_ACT ((int)(sizeof act_names / sizeof act_names[0]))

const char *mn_act_name(mn_act kind)
{
    return (int)kind >= 0 && (int)kind < N_ACT ? act_names[kind] : "unknown";
}

int mn_act_from_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < N_ACT; i++)
        if (!strcmp(name, act_names[i])) return i;
    return -1;
}
