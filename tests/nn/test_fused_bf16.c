/*
 * tests/nn/test_fused_bf16.c — bf16 inference in the fused executor (nn/fused.c,
 * mn_model_set_precision): the float -> bf16 rounding against hand-computed cases, the AVX-512
 * bf16 pointwise kernel against the portable reference (and the reference against a double
 * computation), whole light-model forwards against float ones, thread invariance, the refusal
 * paths, and the streaming canceller's switch.
 *
 * Tolerances.
 *   Kernel: the SIMD kernel and the reference compute the same sequence of correctly rounded
 *   float steps (fused.h), so their sums must be bit-identical (compared with ==, as the sign of
 *   a zero may differ after LeakyReLU: the C epilogue computes 0 + alpha x).  Only the sigmoid
 *   epilogue differs (the C set uses libm's expf, AVX-512 its own exp), by at most the 3e-7
 *   relative that test_fused.c's sigmoid test allows.  The reference against double, with the
 *   same bf16-rounded inputs: a float sum of 2 ceil(K/2) exact products, rounded once per step,
 *   is within K 2^-24 sum|terms| (the standard recursive-summation bound, first order), checked
 *   with a factor of 2 of slack.
 *   Model: bf16 keeps 8 significant bits, a relative rounding of at most 2^-8 = 3.9e-3 per
 *   value; each PW input (less its offset, fused.c bf16_offsets) and weight is rounded once and
 *   six PW layers are chained, so outputs move by up to a few 1e-3 of their scale (measured on
 *   the light model with random weights, seed 1: 5e-4 .. 8e-4 of max|y| with the offsets, 2e-3
 *   without; see --verbose).
 *   We require max|bf16 - fp32| / max|fp32| <= 2e-2 and also > 1e-5 (fp32's fused-vs-naive
 *   tolerance, test_fused.c): a run that silently stayed in float fails the second check.
 */
#include "mn_test.h"
#include "util.h" /* randn, rel_diff, eval_copy, randomize_norms, check_threads_bitwise */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/nn/fused.h"
#include "mimonet/nn.h"
#include "mimonet/pim.h"

#define BF16_TOL_REL 2e-2
#define FP32_TOL_REL 1e-5

static float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The light model (32 Tx -> 16 Rx) with non-trivial batch-norm statistics. */
static mn_status light(mn_model *m, int B, int T, mn_rng *rng)
{
    mn_model_init(m);
    if (mn_pim_model_light(m, 32, 16) < 0) return MN_ERR_INVALID;
    mn_status st = mn_model_build(m, B, T, rng);
    if (st != MN_OK) return st;
    randomize_norms(m, rng);
    return MN_OK;
}

MN_TEST(bf16_round_cases)
{
    /* Hand-computed: 1 + 2^-8 is halfway between 1 (0x3f80) and 1 + 2^-7 (0x3f81): ties to even,
     * down; 1 + 3 2^-8 is halfway between 0x3f81 and 0x3f82: up to even; a hair above half
     * rounds up; subnormals flush to signed zero; NaN stays NaN (quiet bit set); the largest
     * float overflows to infinity. */
    static const struct { uint32_t in; uint16_t out; } cases[] = {
        {0x3f800000u, 0x3f80}, /* 1 */
        {0x3f808000u, 0x3f80}, /* 1 + 2^-8: tie, to even (down) */
        {0x3f818000u, 0x3f82}, /* 1 + 3 2^-8: tie, to even (up) */
        {0x3f808001u, 0x3f81}, /* just above the tie */
        {0x3f807fffu, 0x3f80}, /* just below it */
        {0xbf818000u, 0xbf82}, /* sign is kept, magnitude rounds the same */
        {0x00000000u, 0x0000}, {0x80000000u, 0x8000},
        {0x00400000u, 0x0000}, /* subnormal -> +0 */
        {0x807fffffu, 0x8000}, /* subnormal -> -0 */
        {0x00800000u, 0x0080}, /* smallest normal stays */
        {0x7f7fffffu, 0x7f80}, /* FLT_MAX -> +inf */
        {0x7f800000u, 0x7f80}, {0xff800000u, 0xff80}, /* infinities */
        {0x7fc00000u, 0x7fc0}, /* quiet NaN */
        {0x7f800001u, 0x7fc0}, /* signalling NaN with payload in the low bits: quieted */
        {0x7fa00000u, 0x7fe0}, /* signalling NaN, payload kept, quiet bit set */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint16_t h = mn_bf16_round(bits_float(cases[i].in));
        MN_CHECK_MSG(t, h == cases[i].out, "bf16(0x%08x) = 0x%04x, want 0x%04x", cases[i].in, h, cases[i].out);
    }
    /* Random normal floats: the result is the nearer of the two bf16 neighbours (by double
     * arithmetic), so rounding is to nearest; the relative error is at most 2^-8 (half of the
     * spacing 2^-7 of 8-bit significands). */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xbf16);
    int bad = 0;
    for (int i = 0; i < 100000; i++) {
        const float f = (float)(mn_rng_normal(&rng) * ldexp(1.0, (int)(mn_rng_u64(&rng) % 60) - 30));
        uint32_t u;
        memcpy(&u, &f, sizeof u);
        const double lo = (double)bits_float(u & 0xffff0000u), hi = (double)bits_float((u & 0xffff0000u) + 0x10000u);
        const double r = (double)mn_bf16_to_float(mn_bf16_round(f)), e = fabs(r - (double)f);
        const double best = fmin(fabs(lo - (double)f), fabs(hi - (double)f));
        if (e != best || e > ldexp(fabs((double)f), -8)) bad++;
    }
    MN_CHECK_MSG(t, bad == 0, "%d of 100000 roundings not to nearest", bad);
}

/* A pw_bf16 call on random data: x [K][S] frame with per-row means around xoff (random, or
 * zero), weights packed as fused.h says; y [M][S]. */
typedef struct {
    int M, K, c0, n16;
    size_t S;
    float *x, *xoff, *b, *y;
    uint32_t *wp, *panel;
    float *w; /* [M][K] as float (the bf16 values), for the double check */
} pw_case;

static void case_make(pw_case *c, mn_rng *r, int M, int K, int c0, int n16)
{
    c->M = M;
    c->K = K;
    c->c0 = c0;
    c->n16 = n16;
    c->S = (size_t)c0 + 16 * (size_t)n16 + 16;
    c->x = randn(r, (size_t)K * c->S, 1.0);
    c->xoff = randn(r, (size_t)K, 2.0);
    for (int k = 0; k < K; k++) {
        if (k % 3 == 0) c->xoff[k] = 0.0f;
        for (size_t i = 0; i < c->S; i++) c->x[(size_t)k * c->S + i] += c->xoff[k] + 0.3f;
    }
    c->b = randn(r, (size_t)M, 0.3);
    c->y = mn_calloc((size_t)M * c->S, sizeof(float));
    const int K2 = (K + 1) / 2;
    c->wp = mn_calloc((size_t)M * K2, sizeof(uint32_t));
    c->w = mn_calloc((size_t)M * K, sizeof(float));
    c->panel = mn_calloc((size_t)K2 * MN_FUSED_BF16_PANEL, sizeof(uint32_t));
    for (int o = 0; o < M; o++)
        for (int k = 0; k < K; k++) {
            const uint16_t h = mn_bf16_round((float)(mn_rng_normal(r) / sqrt((double)K)));
            c->w[(size_t)o * K + k] = mn_bf16_to_float(h);
            c->wp[((size_t)(o / 8) * K2 + k / 2) * 8 + o % 8] |= (uint32_t)h << (k % 2 ? 16 : 0);
        }
}

static void case_free(pw_case *c)
{
    mn_free(c->x);
    mn_free(c->xoff);
    mn_free(c->b);
    mn_free(c->y);
    mn_free(c->wp);
    mn_free(c->w);
    mn_free(c->panel);
}

static void case_run(pw_case *c, mn_fused_pw_bf16_fn f, mn_fused_act act)
{
    memset(c->y, 0, (size_t)c->M * c->S * sizeof(float));
    f(c->y, c->S, c->x, c->S, c->xoff, c->wp, c->b, c->M, c->K, c->c0, c->n16, act, c->panel);
}

MN_TEST(bf16_reference_kernel_matches_double)
{
    /* The portable reference: with its own bf16-rounded inputs (x - xoff, rounded), within the
     * float summation bound of the exact (double) sum; and it does round: the same sum with
     * unrounded inputs differs. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xd0b1e);
    static const int shapes[][2] = {{8, 1}, {8, 2}, {16, 7}, {32, 64}, {96, 32}, {32, 91}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        pw_case c;
        case_make(&c, &rng, shapes[s][0], shapes[s][1], 3, 2);
        case_run(&c, mn_fused_kernels_c.pw_bf16, (mn_fused_act){MN_ACT_NONE, 0.0f});
        int bad = 0, rounded = 0;
        for (int o = 0; o < c.M; o++)
            for (int i = 0; i < 16 * c.n16; i++) {
                const size_t col = (size_t)c.c0 + (size_t)i;
                double exact = (double)c.b[o], mag = fabs((double)c.b[o]), unrounded = (double)c.b[o];
                for (int k = 0; k < c.K; k++) {
                    const float xv = c.x[(size_t)k * c.S + col] - c.xoff[k];
                    const double term = (double)c.w[(size_t)o * c.K + k] * (double)mn_bf16_to_float(mn_bf16_round(xv));
                    exact += term;
                    mag += fabs(term);
                    unrounded += (double)c.w[(size_t)o * c.K + k] * (double)xv;
                }
                const double got = (double)c.y[(size_t)o * c.S + col];
                if (!(fabs(got - exact) <= 2.0 * (c.K + 1) * ldexp(mag, -24))) bad++;
                if (fabs(got - unrounded) > 4.0 * (c.K + 1) * ldexp(mag, -24)) rounded++;
            }
        MN_CHECK_MSG(t, bad == 0, "M %d K %d: %d sums outside the float bound", c.M, c.K, bad);
        MN_CHECK_MSG(t, rounded > 0, "M %d K %d: the inputs were not rounded to bf16", c.M, c.K);
        case_free(&c);
    }
}

MN_TEST(bf16_simd_kernel_matches_reference)
{
    /* The AVX-512 kernel against the portable reference, bit for bit before the activation,
     * over shapes that exercise every path: K odd and even (the zero partner), 1 to 3 vectors
     * per column block and their remainders (n16 1..7), an unaligned start column, one and
     * several row blocks, and every epilogue. */
    if (!mn_fused_cpu_bf16()) {
        if (t->verbose) printf("    this CPU has no AVX512_BF16: the SIMD kernel is not tested here\n");
        return;
    }
#ifdef MN_FUSED_X86
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x5170);
    static const int shapes[][2] = {{8, 1}, {8, 2}, {8, 3}, {16, 7}, {32, 64}, {96, 32}, {32, 91}, {24, 128}};
    const mn_fused_act acts[] = {{MN_ACT_NONE, 0.0f}, {MN_ACT_RELU, 0.0f}, {MN_ACT_LEAKY, 0.2f}, {MN_ACT_SIGMOID, 0.0f}};
    long compared = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int n16 = 1; n16 <= 7; n16++)
            for (int a = 0; a < 4; a++) {
                pw_case c, r;
                const int c0 = 5 + n16; /* never vector aligned */
                mn_rng keep = rng;
                case_make(&c, &rng, shapes[s][0], shapes[s][1], c0, n16);
                case_make(&r, &keep, shapes[s][0], shapes[s][1], c0, n16); /* the same data */
                case_run(&c, mn_fused_kernels_avx512.pw_bf16, acts[a]);
                case_run(&r, mn_fused_kernels_c.pw_bf16, acts[a]);
                int bad = 0;
                double worst = 0;
                for (int o = 0; o < c.M; o++)
                    for (size_t col = 0; col < c.S; col++) {
                        const float u = c.y[(size_t)o * c.S + col], v = r.y[(size_t)o * c.S + col];
                        const bool inside = col >= (size_t)c0 && col < (size_t)c0 + 16 * (size_t)n16;
                        if (!inside) {
                            if (v != 0.0f) bad++; /* the reference writes nothing outside */
                            continue;
                        }
                        compared++;
                        if (acts[a].kind == MN_ACT_SIGMOID) {
                            const double e = fabs((double)u - (double)v) / fabs((double)v);
                            if (!(e <= worst)) worst = e;
                            if (!(e <= 3e-7)) bad++;
                        } else if (!(u == v)) {
                            bad++;
                        }
                    }
                MN_CHECK_MSG(t, bad == 0, "M %d K %d n16 %d act %d: %d outputs differ from the reference (worst %.3g)",
                             c.M, c.K, n16, acts[a].kind, bad, worst);
                case_free(&c);
                case_free(&r);
            }
    if (t->verbose) printf("    %ld outputs compared\n", compared);

    /* Edge values: NaN and infinity in the inputs propagate as in the reference; huge and tiny
     * values exercise flush-to-zero of the inputs and sums.  (A product beyond FLT_MAX, ~3e38, is
     * the one case where the reference may differ: fused.h.) */
    pw_case c, r;
    mn_rng keep = rng;
    case_make(&c, &rng, 8, 5, 0, 1);
    case_make(&r, &keep, 8, 5, 0, 1);
    /* -1e36: products stay finite (|w| < 8), sums of a few may not; see fused.h on overflow */
    const float special[] = {(float)NAN, (float)INFINITY, -1e36f, 1e-39f, 2e-38f, -2e-38f};
    for (int k = 0; k < 5; k++) c.xoff[k] = r.xoff[k] = 0.0f; /* the values reach the rounding as they are */
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 6; i++) c.x[(size_t)k * c.S + (size_t)(2 * i + k % 2)] = r.x[(size_t)k * c.S + (size_t)(2 * i + k % 2)] = special[i];
    case_run(&c, mn_fused_kernels_avx512.pw_bf16, (mn_fused_act){MN_ACT_NONE, 0.0f});
    case_run(&r, mn_fused_kernels_c.pw_bf16, (mn_fused_act){MN_ACT_NONE, 0.0f});
    int bad = 0;
    for (int o = 0; o < 8; o++)
        for (int i = 0; i < 16; i++) {
            const float u = c.y[(size_t)o * c.S + (size_t)i], v = r.y[(size_t)o * c.S + (size_t)i];
            if (!(u == v || (isnan(u) && isnan(v)))) bad++;
        }
    MN_CHECK_MSG(t, bad == 0, "special values: %d outputs differ", bad);
    /* flush to zero: a sum that lands in the subnormal range is zero in both */
    {
        pw_case z, zr;
        keep = rng;
        case_make(&z, &rng, 8, 2, 0, 1);
        case_make(&zr, &keep, 8, 2, 0, 1);
        for (int o = 0; o < 8; o++) z.b[o] = zr.b[o] = 0x1p-125f;
        for (size_t i = 0; i < 2 * z.S; i++) z.x[i] = zr.x[i] = 0.0f;
        z.xoff[0] = zr.xoff[0] = z.xoff[1] = zr.xoff[1] = 0.0f;
        z.x[0] = zr.x[0] = -0x1.f0p-126f; /* column 0: 2^-125 - 1.9375 2^-126 w = subnormal for w = 1 */
        for (size_t i = 0; i < 8; i++) z.wp[i] = zr.wp[i] = 0x3f80u; /* weight of input 0: 1.0 */
        case_run(&z, mn_fused_kernels_avx512.pw_bf16, (mn_fused_act){MN_ACT_NONE, 0.0f});
        case_run(&zr, mn_fused_kernels_c.pw_bf16, (mn_fused_act){MN_ACT_NONE, 0.0f});
        MN_CHECK_MSG(t, z.y[0] == 0.0f && zr.y[0] == 0.0f, "subnormal sums: simd %a, reference %a", (double)z.y[0],
                     (double)zr.y[0]);
        MN_CHECK(t, z.y[1] == 0x1p-125f && zr.y[1] == 0x1p-125f);
        case_free(&z);
        case_free(&zr);
    }
    case_free(&c);
    case_free(&r);
#endif
}

/* bf16 forward of m with kernels isa vs its fp32 fused forward; returns the relative
 * difference (negative when it could not run). */
static double bf16_vs_fp32(mn_test_ctx *t, mn_model *m, const char *isa, const float *x, int B, int T, float **keep)
{
    size_t n0 = 0, n1 = 0;
    MN_CHECK_OK(t, mn_model_set_precision(m, MN_PRECISION_FP32));
    if (!mn_fused_set_isa(m, isa)) return -1;
    float *ref = eval_copy(m, x, B, T, &n0);
    MN_CHECK_OK(t, mn_model_set_precision(m, MN_PRECISION_BF16));
    MN_CHECK(t, mn_model_precision(m) == MN_PRECISION_BF16);
    float *y = eval_copy(m, x, B, T, &n1);
    MN_CHECK_MSG(t, ref && y && n0 == n1 && m->fused_ran, "%s: forwards failed", isa);
    double e = -1;
    if (ref && y && n0 == n1) e = rel_diff(y, ref, n0);
    mn_free(ref);
    if (keep) *keep = y;
    else mn_free(y);
    MN_CHECK_OK(t, mn_model_set_precision(m, MN_PRECISION_FP32));
    return e;
}

MN_TEST(bf16_light_model_close_to_fp32)
{
    /* The whole light model in bf16 (the SIMD kernels where the CPU has them, and the portable
     * reference kernels everywhere): close to fp32, but not equal to it. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x119b7);
    mn_model m;
    MN_CHECK_OK(t, light(&m, 3, 1500, &rng));
    static const int cases[][2] = {{1, 16}, {2, 17}, {3, 100}, {1, 496}, {3, 1000}, {2, 1500}};
    const char *isas[] = {"c", "avx512"};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !mn_fused_cpu_bf16()) continue;
        for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
            const int B = cases[c][0], T = cases[c][1];
            float *x = randn(&rng, (size_t)B * 64 * T, 1.0);
            double e = bf16_vs_fp32(t, &m, isas[k], x, B, T, NULL);
            if (t->verbose) printf("    %s B %d T %d: max|bf16 - fp32| / max|fp32| = %.3g\n", isas[k], B, T, e);
            MN_CHECK_MSG(t, e >= 0, "%s: kernels unavailable", isas[k]);
            MN_CHECK_MSG(t, e <= BF16_TOL_REL, "%s B %d T %d: bf16 is %.3g from fp32", isas[k], B, T, e);
            MN_CHECK_MSG(t, e > FP32_TOL_REL, "%s B %d T %d: bf16 within %.3g of fp32: was it applied?", isas[k], B, T, e);
            mn_free(x);
        }
    }
    /* The SIMD bf16 forward against the reference bf16 forward: they need not be bit-equal (the
     * DW ops and sigmoids of the two sets differ by float rounding, ~1e-7, and where that moves
     * a PW input across a bf16 rounding boundary it becomes one bf16 step, 2^-8, of that input),
     * and the per-tile offsets are means of those DW outputs), but they must be far closer than
     * bf16 is to fp32.  (Measured: 1.1e-5 for seed 1.) */
    if (mn_fused_cpu_bf16()) {
        const int B = 2, T = 1000;
        float *x = randn(&rng, (size_t)B * 64 * T, 1.0), *yc = NULL, *ya = NULL;
        bf16_vs_fp32(t, &m, "c", x, B, T, &yc);
        bf16_vs_fp32(t, &m, "avx512", x, B, T, &ya);
        MN_CHECK(t, yc && ya);
        if (yc && ya) {
            double e = rel_diff(ya, yc, (size_t)B * 32 * T);
            if (t->verbose) printf("    bf16 avx512 vs bf16 c: %.3g\n", e);
            MN_CHECK_MSG(t, e <= 2e-3, "bf16 avx512 vs reference: %.3g", e);
        }
        mn_free(x);
        mn_free(yc);
        mn_free(ya);
    }
    mn_model_free(&m);
}

MN_TEST(bf16_weights_follow_changes)
{
    /* The bf16 weights are repacked at every bf16 forward: a change to a weight shows. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x3e1);
    mn_model m;
    MN_CHECK_OK(t, light(&m, 2, 600, &rng));
    if (!mn_fused_set_isa(&m, mn_fused_cpu_bf16() ? "avx512" : "c")) MN_CHECK(t, false);
    MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_BF16));
    const int B = 2, T = 600;
    float *x = randn(&rng, (size_t)B * 64 * T, 1.0);
    size_t n = 0;
    float *y0 = eval_copy(&m, x, B, T, &n);
    float *w = mn_params_w(&m.params, mn_params_find(&m.params, "l4.pw.weight"));
    for (int i = 0; i < 32; i++) w[i] += 0.05f;
    float *y1 = eval_copy(&m, x, B, T, &n);
    MN_CHECK(t, y0 && y1);
    if (y0 && y1) MN_CHECK_MSG(t, rel_diff(y1, y0, n) > 1e-3, "a weight change did not show (%.3g)", rel_diff(y1, y0, n));
    mn_free(y0);
    mn_free(y1);
    mn_free(x);
    mn_model_free(&m);
}

MN_TEST(bf16_thread_invariance)
{
    if (!mn_have_openmp()) return;
    const int keep = mn_threads_get();
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x7b16);
    mn_threads_set(3); /* the plan's scratch covers at least this many threads */
    mn_model m;
    MN_CHECK_OK(t, light(&m, 3, 1500, &rng));
    const int B = 3, T = 1500;
    float *x = randn(&rng, (size_t)B * 64 * T, 1.0);
    const char *isas[] = {"c", "avx512"};
    for (int k = 0; k < 2; k++) {
        if (k == 1 && !mn_fused_cpu_bf16()) continue;
        MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_FP32));
        MN_CHECK(t, mn_fused_set_isa(&m, isas[k]));
        MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_BF16));
        check_threads_bitwise(t, &m, x, B, T, isas[k]);
    }
    mn_threads_set(keep);
    mn_free(x);
    mn_model_free(&m);
}

MN_TEST(bf16_refusals)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x4ef);
    mn_model m;

    /* Before build there is no plan: refused, precision unchanged. */
    mn_model_init(&m);
    mn_pim_model_light(&m, 2, 1);
    MN_CHECK(t, mn_model_set_precision(&m, MN_PRECISION_BF16) == MN_ERR_UNSUPPORTED);
    MN_CHECK(t, mn_model_precision(&m) == MN_PRECISION_FP32);
    MN_CHECK_OK(t, mn_model_build(&m, 2, 64, &rng));
    /* An unknown value is invalid. */
    MN_CHECK(t, mn_model_set_precision(&m, (mn_precision)7) == MN_ERR_INVALID);
    MN_CHECK(t, mn_model_precision(&m) == MN_PRECISION_FP32);

    /* Kernels without a bf16 kernel (AVX2), or a CPU without AVX512_BF16: refused. */
    if (mn_fused_set_isa(&m, "avx2")) {
        MN_CHECK(t, mn_model_set_precision(&m, MN_PRECISION_BF16) == MN_ERR_UNSUPPORTED);
        MN_CHECK(t, mn_model_precision(&m) == MN_PRECISION_FP32);
    }
    /* With bf16 on, kernels that cannot serve it are refused by mn_fused_set_isa. */
    MN_CHECK(t, mn_fused_set_isa(&m, "c"));
    MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_BF16));
    MN_CHECK(t, !mn_fused_set_isa(&m, "avx2"));
    MN_CHECK(t, strcmp(mn_fused_isa(&m), "c") == 0);

    /* A fused bf16 forward keeps no activations: backward refuses.  A training forward runs
     * layer by layer in float (bit-equal to an fp32 model's), and backward then works. */
    const int B = 2, T = 64;
    float *x = randn(&rng, (size_t)B * 4 * T, 1.0), *dy = randn(&rng, (size_t)B * 2 * T, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, false));
    MN_CHECK(t, m.fused_ran);
    MN_CHECK(t, mn_model_backward(&m, dy) == MN_ERR_INVALID);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
    MN_CHECK(t, !m.fused_ran);
    float *yb = mn_malloc((size_t)B * 2 * T * sizeof(float));
    memcpy(yb, mn_model_output(&m, NULL, NULL), (size_t)B * 2 * T * sizeof(float));
    MN_CHECK_OK(t, mn_model_backward(&m, dy));
    MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_FP32));
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
    MN_CHECK(t, !memcmp(yb, mn_model_output(&m, NULL, NULL), (size_t)B * 2 * T * sizeof(float)));
    mn_free(yb);
    mn_free(x);
    mn_free(dy);
    mn_model_free(&m);

    /* A graph the fused executor does not run (tanh): refused after build too. */
    mn_model_init(&m);
    mn_model_act(&m, mn_model_linear(&m, mn_model_input(&m, 3), "fc", 4), MN_ACT_TANH, 0);
    MN_CHECK_OK(t, mn_model_build(&m, 1, 32, &rng));
    MN_CHECK(t, m.fused == NULL);
    MN_CHECK(t, mn_model_set_precision(&m, MN_PRECISION_BF16) == MN_ERR_UNSUPPORTED);
    MN_CHECK_OK(t, mn_model_set_precision(&m, MN_PRECISION_FP32));
    mn_model_free(&m);

    /* Names. */
    mn_precision p = MN_PRECISION_BF16;
    MN_CHECK(t, mn_precision_parse("fp32", &p) == MN_OK && p == MN_PRECISION_FP32);
    MN_CHECK(t, mn_precision_parse("bf16", &p) == MN_OK && p == MN_PRECISION_BF16);
    MN_CHECK(t, mn_precision_parse("fp16", &p) == MN_ERR_INVALID && p == MN_PRECISION_BF16);
    MN_CHECK(t, !strcmp(mn_precision_name(MN_PRECISION_FP32), "fp32") && !strcmp(mn_precision_name(MN_PRECISION_BF16), "bf16"));
    MN_CHECK(t, mn_precision_name((mn_precision)7) == NULL);

    /* The default kernels on this CPU: bf16 accepted exactly when it has AVX512_BF16. */
    MN_CHECK_OK(t, light(&m, 1, 64, &rng));
    mn_status st = mn_model_set_precision(&m, MN_PRECISION_BF16);
    MN_CHECK_MSG(t, mn_fused_cpu_bf16() ? st == MN_OK : st == MN_ERR_UNSUPPORTED, "default kernels %s: status %d",
                 mn_fused_isa(&m), (int)st);
    mn_model_free(&m);
}

MN_TEST(bf16_streaming_canceller)
{
    /* The streaming canceller's switch: a neural canceller in bf16 stays close to its fp32
     * output (the cancelled signal differs by bf16 rounding of the prediction only), a GMP
     * canceller refuses bf16. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x57e);
    mn_pim_net net;
    MN_CHECK_OK(t, mn_pim_net_create(&net, "light", 2, 2, 4, 256, &rng));
    mn_pim_canceller *q = NULL;
    MN_CHECK_OK(t, mn_pim_canceller_from_net(&q, &net));
    if (!q) {
        mn_pim_net_free(&net);
        return;
    }
    MN_CHECK(t, mn_pim_canceller_precision(q) == MN_PRECISION_FP32);
    const int64_t n = 3000, D = mn_pim_canceller_latency(q);
    float complex *tx = mn_malloc((size_t)(2 * n) * sizeof *tx), *rx = mn_malloc((size_t)(2 * n) * sizeof *rx);
    float complex *o32 = mn_calloc((size_t)(2 * n), sizeof *o32), *o16 = mn_calloc((size_t)(2 * n), sizeof *o16);
    for (int64_t i = 0; i < 2 * n; i++) {
        tx[i] = CMPLXF((float)mn_rng_normal(&rng), (float)mn_rng_normal(&rng));
        rx[i] = 0;
    }
    MN_CHECK_OK(t, mn_pim_canceller_process(q, tx, rx, o32, n));
    mn_pim_canceller_reset(q);
    const bool have = mn_fused_cpu_bf16();
    if (!have) mn_fused_set_isa(&net.model, "c"); /* the reference kernels, on any CPU */
    MN_CHECK_OK(t, mn_pim_canceller_set_precision(q, MN_PRECISION_BF16));
    MN_CHECK(t, mn_pim_canceller_precision(q) == MN_PRECISION_BF16);
    MN_CHECK_OK(t, mn_pim_canceller_process(q, tx, rx, o16, n));
    /* rx = 0, so the outputs are -prediction; the first D are the pipeline filling (zeros) */
    double d = 0, s = 0;
    for (int64_t r = 0; r < 2; r++)
        for (int64_t i = D; i < n; i++) {
            d = fmax(d, cabs((double complex)(o16[r * n + i] - o32[r * n + i])));
            s = fmax(s, cabs((double complex)o32[r * n + i]));
        }
    if (t->verbose) printf("    canceller bf16 vs fp32: %.3g of max|prediction|\n", d / s);
    MN_CHECK_MSG(t, s > 0 && d / s <= BF16_TOL_REL && d / s > FP32_TOL_REL, "canceller bf16 vs fp32: %.3g", d / s);
    MN_CHECK_OK(t, mn_pim_canceller_set_precision(q, MN_PRECISION_FP32));
    mn_pim_canceller_free(q);
    mn_pim_net_free(&net);

    /* GMP: fp32 only */
    mn_pim_gmp g;
    memset(&g, 0, sizeof g);
    const mn_pim_gmp_cfg gc = {.n_tx = 2, .n_rx = 2, .M = 2, .K = 1, .L = 0, .P = 0, .linear = true, .ridge = 1e-7};
    for (int64_t i = 0; i < 2 * n; i++) rx[i] = tx[i] * 0.5f;
    if (mn_pim_gmp_fit(&g, &gc, tx, rx, n, (mn_span){0, n}) == MN_OK) {
        MN_CHECK_OK(t, mn_pim_canceller_from_gmp(&q, &g));
        MN_CHECK(t, mn_pim_canceller_set_precision(q, MN_PRECISION_BF16) == MN_ERR_UNSUPPORTED);
        MN_CHECK(t, mn_pim_canceller_precision(q) == MN_PRECISION_FP32);
        MN_CHECK_OK(t, mn_pim_canceller_set_precision(q, MN_PRECISION_FP32));
        mn_pim_canceller_free(q);
        mn_pim_gmp_free(&g);
    } else if (t->verbose) {
        printf("    GMP fit unavailable (%s): GMP refusal not tested\n", mn_error_msg());
    }
    mn_free(tx);
    mn_free(rx);
    mn_free(o32);
    mn_free(o16);
}
