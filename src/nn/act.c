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
#include "act_epi.h"
#include "act_internal.h"
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

/* ReLU and LeakyReLU of one element, for mn_act_forward and mn_act_inplace alike, so that an
 * activation applied as an epilogue (nn/act_epi.h) has the bits of the node run apart.  The
 * leaky form is max(x,0) + alpha min(x,0): selects without arithmetic in their arms vectorize. */
static inline float relu1(float x) { return x > 0.0f ? x : 0.0f; }

static inline float leaky1(float x, float alpha)
{
    const float pos = x > 0.0f ? x : 0.0f, neg = x > 0.0f ? 0.0f : x;
    return pos + alpha * neg;
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
        for (long i = 0; i < nn; i++) out[i] = relu1(inp[i]);
        break;
    case MN_ACT_LEAKY:
        OMP(parallel for simd schedule(static) if(parallel: nn > PAR_MIN_N))
        for (long i = 0; i < nn; i++) out[i] = leaky1(inp[i], alpha);
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

MN_MULTIVERSION void mn_act_inplace(float *y, size_t n, mn_act_epi a)
{
    const long nn = (long)n;
    switch (a.kind) {
    case MN_ACT_NONE: break;
    case MN_ACT_RELU:
        OMP(simd)
        for (long i = 0; i < nn; i++) y[i] = relu1(y[i]);
        break;
    case MN_ACT_LEAKY:
        OMP(simd)
        for (long i = 0; i < nn; i++) y[i] = leaky1(y[i], a.alpha);
        break;
    case MN_ACT_SIGMOID:
        for (long i0 = 0; i0 < nn; i0 += SIG_BLOCK) sigmoid_block(y + i0, y + i0, nn - i0 < SIG_BLOCK ? (int)(nn - i0) : SIG_BLOCK);
        break;
    case MN_ACT_TANH: mn_act_tanh_serial(y, y, n); break;
    }
}

void mn_act_tanh_serial(float *y, const float *x, size_t n)
{
    for (size_t i0 = 0; i0 < n; i0 += SIG_BLOCK) tanh_block(y + i0, x + i0, n - i0 < SIG_BLOCK ? (int)(n - i0) : SIG_BLOCK);
}

/* ---------------------------------------------------------------- mn_act_tanh_fast
 * tanh(x) = x P(x^2) / Q(x^2) for |x| <= 9 (tanh rounds to +-1 in float beyond), coefficients
 * from tools/fit_tanh.py (within 2.1e-8 of tanh in exact arithmetic); the result is clamped
 * to [-1, 1], and |x| >= 9 gives exactly +-1.  The reciprocal of Q is the hardware estimate refined by one Newton step instead
 * of a division, whose throughput bounded the other forms: 0.14 ns a value against 0.43 for
 * tanh_block, on AVX-512.  Odd exactly; NaN in gives NaN out (the max/min take x as their
 * second operand, which they return when either is NaN). */
#define TF_LIM 9.0f
#define TF_P4 1.335843719e-08f
#define TF_P3 2.061183016e-05f
#define TF_P2 3.495756030e-03f
#define TF_P1 1.338116729e-01f
#define TF_P0 9.999999795e-01f
#define TF_Q4 7.778110560e-07f
#define TF_Q3 3.285908774e-04f
#define TF_Q2 2.587762185e-02f
#define TF_Q1 4.671448293e-01f

static inline float tanh_rational(float v)
{
    if (fabsf(v) >= TF_LIM) return copysignf(1.0f, v); /* NaN passes */
    const float w = v * v;
    const float p = (((TF_P4 * w + TF_P3) * w + TF_P2) * w + TF_P1) * w + TF_P0;
    const float q = (((TF_Q4 * w + TF_Q3) * w + TF_Q2) * w + TF_Q1) * w + 1.0f;
    const float r = v * p / q;
    return r > 1.0f ? 1.0f : r < -1.0f ? -1.0f : r;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TF_X86 1

__attribute__((target("avx2,fma,avx512f"))) static void tanh_fast_avx512(float *y, const float *x, size_t n)
{
    const __m512 lim = _mm512_set1_ps(TF_LIM), nlim = _mm512_set1_ps(-TF_LIM), one = _mm512_set1_ps(1.0f),
                 none = _mm512_set1_ps(-1.0f), two = _mm512_set1_ps(2.0f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 x0 = _mm512_loadu_ps(x + i), v = _mm512_min_ps(lim, _mm512_max_ps(nlim, x0));
        const __m512 w = _mm512_mul_ps(v, v);
        __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(TF_P4), w, _mm512_set1_ps(TF_P3));
        p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(TF_P2));
        p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(TF_P1));
        p = _mm512_fmadd_ps(p, w, _mm512_set1_ps(TF_P0));
        __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(TF_Q4), w, _mm512_set1_ps(TF_Q3));
        q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(TF_Q2));
        q = _mm512_fmadd_ps(q, w, _mm512_set1_ps(TF_Q1));
        q = _mm512_fmadd_ps(q, w, one);
        __m512 r = _mm512_rcp14_ps(q);          /* 2^-14 relative; q >= 1 */
        r = _mm512_mul_ps(r, _mm512_fnmadd_ps(q, r, two)); /* one Newton step: about 2^-28 */
        const __m512 t = _mm512_min_ps(one, _mm512_max_ps(none, _mm512_mul_ps(_mm512_mul_ps(v, p), r)));
        /* |x| >= 9: exactly +-1 (the rational form is 2e-7 short there) */
        const __m512 s1 = _mm512_castsi512_ps(_mm512_or_epi32(_mm512_castps_si512(one),
                                                              _mm512_and_epi32(_mm512_castps_si512(x0), sign)));
        const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(x0), lim, _CMP_GE_OQ);
        _mm512_storeu_ps(y + i, _mm512_mask_blend_ps(big, t, s1));
    }
    for (; i < n; i++) y[i] = tanh_rational(x[i]);
}

__attribute__((target("avx2,fma"))) static void tanh_fast_avx2(float *y, const float *x, size_t n)
{
    const __m256 lim = _mm256_set1_ps(TF_LIM), nlim = _mm256_set1_ps(-TF_LIM), one = _mm256_set1_ps(1.0f),
                 none = _mm256_set1_ps(-1.0f), two = _mm256_set1_ps(2.0f), sign = _mm256_set1_ps(-0.0f);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 x0 = _mm256_loadu_ps(x + i), v = _mm256_min_ps(lim, _mm256_max_ps(nlim, x0));
        const __m256 w = _mm256_mul_ps(v, v);
        __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(TF_P4), w, _mm256_set1_ps(TF_P3));
        p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(TF_P2));
        p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(TF_P1));
        p = _mm256_fmadd_ps(p, w, _mm256_set1_ps(TF_P0));
        __m256 q = _mm256_fmadd_ps(_mm256_set1_ps(TF_Q4), w, _mm256_set1_ps(TF_Q3));
        q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(TF_Q2));
        q = _mm256_fmadd_ps(q, w, _mm256_set1_ps(TF_Q1));
        q = _mm256_fmadd_ps(q, w, one);
        __m256 r = _mm256_rcp_ps(q); /* 1.5 2^-12 relative */
        r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, two));
        r = _mm256_mul_ps(r, _mm256_fnmadd_ps(q, r, two)); /* two steps: below float rounding */
        const __m256 t = _mm256_min_ps(one, _mm256_max_ps(none, _mm256_mul_ps(_mm256_mul_ps(v, p), r)));
        const __m256 s1 = _mm256_or_ps(one, _mm256_and_ps(x0, sign));
        const __m256 big = _mm256_cmp_ps(_mm256_andnot_ps(sign, x0), lim, _CMP_GE_OQ);
        _mm256_storeu_ps(y + i, _mm256_blendv_ps(t, s1, big));
    }
    for (; i < n; i++) y[i] = tanh_rational(x[i]);
}
#endif

static void tanh_fast_c(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = tanh_rational(x[i]);
}

typedef void (*tanh_fn)(float *, const float *, size_t);

static tanh_fn tanh_fast_pick(void)
{
#ifdef TF_X86
    if (__builtin_cpu_supports("avx512f")) return tanh_fast_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return tanh_fast_avx2;
#endif
    return tanh_fast_c;
}

void mn_act_tanh_fast(float *y, const float *x, size_t n)
{
    static tanh_fn fn; /* a benign race: every thread picks the same function */
    tanh_fn f = __atomic_load_n(&fn, __ATOMIC_RELAXED);
    if (!f) {
        f = tanh_fast_pick();
        __atomic_store_n(&fn, f, __ATOMIC_RELAXED);
    }
    f(y, x, n);
}

bool mn_act_tanh_fast_isa(float *y, const float *x, size_t n, const char *isa)
{
    tanh_fn f = NULL;
    if (!strcmp(isa, "c")) f = tanh_fast_c;
#ifdef TF_X86
    if (!strcmp(isa, "avx512") && __builtin_cpu_supports("avx512f")) f = tanh_fast_avx512;
    if (!strcmp(isa, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f = tanh_fast_avx2;
#endif
    if (f) f(y, x, n);
    return f != NULL;
}

/* The gradient through one element, d the output's gradient and y the output, for
 * mn_act_backward_into and mn_act_backward_inplace alike (the epilogue's bits are those of the
 * node run apart).  Unconditional loads keep the loops if-convertible. */
static inline float relu_bwd1(float d, float y) { return y > 0.0f ? d : 0.0f; }
static inline float leaky_bwd1(float d, float y, float alpha)
{
    return (y > 0.0f ? d : 0.0f) + alpha * (y > 0.0f ? 0.0f : d);
}
static inline float sigmoid_bwd1(float d, float y) { return d * (y * (1.0f - y)); }
static inline float tanh_bwd1(float d, float y) { return d * (1.0f - y * y); }

#define ACT_BWD(EXPR) MN_GRAD_LOOP(dinp, overwrite, nn, PAR_MIN_N, EXPR)

void mn_act_backward_into(float *dinp, const float *dout, const float *out, size_t n, mn_act kind, float alpha,
                          bool overwrite)
{
    const long nn = (long)n;
    switch (kind) {
    case MN_ACT_NONE: ACT_BWD(dout[i]); break;
    case MN_ACT_RELU: ACT_BWD(relu_bwd1(dout[i], out[i])); break;
    case MN_ACT_LEAKY: ACT_BWD(leaky_bwd1(dout[i], out[i], alpha)); break;
    case MN_ACT_SIGMOID: ACT_BWD(sigmoid_bwd1(dout[i], out[i])); break;
    case MN_ACT_TANH: ACT_BWD(tanh_bwd1(dout[i], out[i])); break;
    }
}
#undef ACT_BWD

#define ACT_BWD_IN(EXPR)                                                                                   \
    do {                                                                                                   \
        OMP(simd)                                                                                          \
        for (long i = 0; i < nn; i++) d[i] = 0.0f + (EXPR);                                                \
    } while (0)

MN_MULTIVERSION void mn_act_backward_inplace(float *d, const float *y, size_t n, mn_act_epi a)
{
    const long nn = (long)n;
    switch (a.kind) {
    case MN_ACT_NONE: break;
    case MN_ACT_RELU: ACT_BWD_IN(relu_bwd1(d[i], y[i])); break;
    case MN_ACT_LEAKY: ACT_BWD_IN(leaky_bwd1(d[i], y[i], a.alpha)); break;
    case MN_ACT_SIGMOID: ACT_BWD_IN(sigmoid_bwd1(d[i], y[i])); break;
    case MN_ACT_TANH: ACT_BWD_IN(tanh_bwd1(d[i], y[i])); break;
    }
}
#undef ACT_BWD_IN

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
