/*
 * tests/nn/test_layers.c — LUT interpolation, activations, batch/layer norm, residual add,
 * complex <-> channel helpers, losses and the gradient-check harness itself.
 *
 * Each layer is checked against values derived here (hand-computed cases or the formula in
 * double), and its backward against central finite differences of L = sum r*out with a fixed
 * random r (so every output's gradient path is exercised with a different weight).
 * Tolerance: outputs are float; perturbing one value by h = 1e-3 changes at most a channel's
 * worth of outputs, each with ~1e-7 relative rounding, so the difference quotient carries an
 * absolute error of ~1e-4 at most, and the truncation error h^2 f'''/6 is ~1e-7 for these
 * smooth functions.  A relative error below 1e-2 (denominator floored at 1e-1, gradients are
 * O(1)) therefore passes rounding and fails any real mistake (a wrong sign, scale or index).
 * Inputs of piecewise-linear layers (ReLU, LeakyReLU, LUT) are kept more than h away from their
 * kinks so the finite difference never straddles one.
 */
#include "mn_test.h"
#include "util.h" /* randn */
#include "../../src/nn/act_internal.h"
#include "../../src/nn/grad_into.h"

#include <complex.h>
#include <string.h>

#include "mimonet/nn.h"

#define FD_H 1e-3
#define FD_ATOL 1e-1
#define FD_TOL 1e-2

static float *zeros(size_t n) { return mn_calloc(n, sizeof(float)); }

static double dot_rd(const float *r, const float *y, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * (double)y[i];
    return s;
}

static void check_fd_h(mn_test_ctx *t, const char *layer, const char *arg, mn_gradcheck_fn f,
                       void *ctx, float *x, const float *ana, size_t n, double h)
{
    size_t wi = 0;
    double e = mn_gradcheck(f, ctx, x, ana, n, h, FD_ATOL, &wi);
    MN_CHECK_MSG(t, e < FD_TOL, "%s: d%s relative error %.3g at index %zu", layer, arg, e, wi);
    if (t->verbose) printf("    %-30s d%-6s max rel err %.2e\n", layer, arg, e);
}

static void check_fd(mn_test_ctx *t, const char *layer, const char *arg, mn_gradcheck_fn f,
                     void *ctx, float *x, const float *ana, size_t n)
{
    check_fd_h(t, layer, arg, f, ctx, x, ana, n, FD_H);
}

/* ---------------------------------------------------------------- LUT */

typedef struct {
    mn_lut_cfg c;
    int B, T;
    float *x, *table, *y, *r;
} lut_fd;

static double lut_loss(void *p)
{
    lut_fd *f = p;
    mn_lut_forward(f->y, f->x, f->table, f->B, f->T, &f->c);
    return dot_rd(f->r, f->y, (size_t)f->B * f->c.channels * f->T);
}

/* 9 knots on [-2, 2]: delta = 0.5, every knot exactly representable. */
static const mn_lut_cfg lut_cfg = {.channels = 2, .n_knots = 9, .lo = -2.0f, .hi = 2.0f};

MN_TEST(nn_lut_forward_hand_computed)
{
    float table[18];
    for (int c = 0; c < 2; c++)
        for (int j = 0; j < 9; j++) table[c * 9 + j] = (float)((c + 1) * j * j); /* (c+1) j^2 */
    /* B = 1, T = 7 per channel */
    const float xs[7] = {-3.0f, -2.0f, -1.0f, -0.75f, 1.9f, 2.0f, 5.0f};
    float x[14], y[14];
    for (int c = 0; c < 2; c++) memcpy(x + 7 * c, xs, sizeof xs);
    mn_lut_forward(y, x, table, 1, 7, &lut_cfg);
    for (int c = 0; c < 2; c++) {
        double s = c + 1;
        /* x -> knot index u = (x + 2) / 0.5; table at knot j = s j^2 */
        MN_CHECK_NEAR(t, y[7 * c + 0], s * 0, 1e-6);                     /* clamped to lo */
        MN_CHECK_NEAR(t, y[7 * c + 1], s * 0, 1e-6);                     /* knot 0 */
        MN_CHECK_NEAR(t, y[7 * c + 2], s * 4, 1e-6);                     /* knot 2 */
        MN_CHECK_NEAR(t, y[7 * c + 3], s * (4 + 0.5 * (9 - 4)), 1e-5);   /* u = 2.5 */
        MN_CHECK_NEAR(t, y[7 * c + 4], s * (49 + 0.8 * (64 - 49)), 1e-4); /* u = 7.8 */
        MN_CHECK_NEAR(t, y[7 * c + 5], s * 64, 1e-6);                    /* last knot */
        MN_CHECK_NEAR(t, y[7 * c + 6], s * 64, 1e-6);                    /* clamped to hi */
    }
}

MN_TEST(nn_lut_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x1a7);
    lut_fd f = {.c = lut_cfg, .B = 2, .T = 13};
    const int C = f.c.channels, nk = f.c.n_knots;
    const size_t n = (size_t)f.B * C * f.T, nt = (size_t)C * nk;
    f.x = zeros(n);
    f.table = randn(&rng, nt, 1.0);
    f.y = zeros(n);
    f.r = randn(&rng, n, 1.0);
    float *dx = zeros(n), *dt = zeros(nt);

    /* (1) inputs exactly AT knots (all 9, including lo and hi) plus two outside: table gradient */
    for (size_t i = 0; i < n; i++) {
        int k = (int)(i % 11);
        f.x[i] = k < 9 ? -2.0f + 0.5f * (float)k : (k == 9 ? -2.5f : 3.0f);
    }
    mn_lut_backward(dx, dt, f.r, f.x, f.table, f.B, f.T, &f.c);
    /* y is linear in the table: no truncation error, so a large step beats rounding */
    check_fd_h(t, "lut (x at knots)", "table", lut_loss, &f, f.table, dt, nt, 1e-2);
    /* at a knot the input gradient is the slope of the segment starting there (the last knot:
     * of the last segment); outside [lo, hi] it is zero */
    for (int b = 0; b < f.B; b++)
        for (int c = 0; c < C; c++)
            for (int tt = 0; tt < f.T; tt++) {
                size_t i = ((size_t)b * C + c) * f.T + tt;
                int k = (int)(i % 11);
                const float *tb = f.table + c * nk;
                double want = 0.0;
                if (k < 9) {
                    int j = k < 8 ? k : 7;
                    want = (double)f.r[i] * ((double)tb[j + 1] - (double)tb[j]) / 0.5;
                }
                MN_CHECK_MSG(t, fabs((double)dx[i] - want) <= 1e-5 * (1.0 + fabs(want)),
                             "lut: dinp at knot %d = %.7g, one-sided slope gives %.7g", k,
                             (double)dx[i], want);
            }

    /* (2) inputs BETWEEN knots (at least 0.05 from any knot) and outside: both gradients */
    for (size_t i = 0; i < n; i++) {
        double u;
        do u = -2.4 + 4.8 * mn_rng_uniform(&rng);
        while (fabs(u / 0.5 - floor(u / 0.5 + 0.5)) < 0.1 || fabs(fabs(u) - 2.0) < 0.05);
        f.x[i] = (float)u;
    }
    memset(dx, 0, n * sizeof *dx);
    memset(dt, 0, nt * sizeof *dt);
    mn_lut_backward(dx, dt, f.r, f.x, f.table, f.B, f.T, &f.c);
    check_fd(t, "lut (x between knots)", "inp", lut_loss, &f, f.x, dx, n);
    check_fd_h(t, "lut (x between knots)", "table", lut_loss, &f, f.table, dt, nt, 1e-2);

    /* (3) accumulate: a second call doubles both */
    float *dx2 = zeros(n), *dt2 = zeros(nt);
    mn_lut_backward(dx2, dt2, f.r, f.x, f.table, f.B, f.T, &f.c);
    mn_lut_backward(dx2, NULL, f.r, f.x, f.table, f.B, f.T, &f.c);
    mn_lut_backward(NULL, dt2, f.r, f.x, f.table, f.B, f.T, &f.c);
    double e = 0.0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)dx2[i] - 2.0 * (double)dx[i]));
    for (size_t i = 0; i < nt; i++) e = fmax(e, fabs((double)dt2[i] - 2.0 * (double)dt[i]));
    MN_CHECK_MSG(t, e < 1e-5, "lut: backward twice != 2 x backward (%.3g)", e);
    mn_free(dx2); mn_free(dt2);
    mn_free(f.x); mn_free(f.table); mn_free(f.y); mn_free(f.r); mn_free(dx); mn_free(dt);
}

/* ---------------------------------------------------------------- activations */

MN_TEST(nn_act_names)
{
    for (int k = MN_ACT_NONE; k <= MN_ACT_TANH; k++)
        MN_CHECK(t, mn_act_from_name(mn_act_name((mn_act)k)) == k);
    MN_CHECK(t, !strcmp(mn_act_name(MN_ACT_LEAKY), "leaky"));
    MN_CHECK(t, !strcmp(mn_act_name(MN_ACT_SIGMOID), "sigmoid"));
    MN_CHECK(t, mn_act_from_name("relu") == MN_ACT_RELU);
    MN_CHECK(t, mn_act_from_name("tanh") == MN_ACT_TANH);
    MN_CHECK(t, mn_act_from_name("none") == MN_ACT_NONE);
    MN_CHECK(t, mn_act_from_name("gelu") == -1);
    MN_CHECK(t, mn_act_from_name("") == -1);
    MN_CHECK(t, mn_act_from_name(NULL) == -1);
}

static double act_ref(mn_act k, double x, double alpha)
{
    switch (k) {
    case MN_ACT_RELU: return x > 0 ? x : 0.0;
    case MN_ACT_LEAKY: return x > 0 ? x : alpha * x;
    case MN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case MN_ACT_TANH: return tanh(x);
    default: return x;
    }
}

MN_TEST(nn_act_forward_values)
{
    enum { N = 4001 };
    float *x = zeros(N), *y = zeros(N);
    for (int i = 0; i < N; i++) x[i] = (float)(-86.0 + 172.0 * i / (N - 1)); /* step 0.043 */
    for (int k = MN_ACT_NONE; k <= MN_ACT_TANH; k++) {
        mn_act_forward(y, x, N, (mn_act)k, 0.1f);
        double worst = 0.0;
        for (int i = 0; i < N; i++) {
            double want = act_ref((mn_act)k, (double)x[i], (double)0.1f);
            /* a few float ulps of the result: 3e-7 relative (sigmoid and tanh are evaluated in
             * float; relu/leaky/none are exact or one rounding) */
            double e = fabs((double)y[i] - want) / (fabs(want) + 1e-38);
            if (e > worst) worst = e;
        }
        MN_CHECK_MSG(t, worst < 3e-7, "%s: max relative error %.3g", mn_act_name((mn_act)k), worst);
    }
    /* sigmoid at the extremes: saturates cleanly, NaN propagates */
    const float ext[7] = {-1e30f, -200.0f, -88.5f, 88.5f, 200.0f, 1e30f, INFINITY};
    float ye[7];
    mn_act_forward(ye, ext, 7, MN_ACT_SIGMOID, 0.0f);
    for (int i = 0; i < 3; i++) MN_CHECK(t, ye[i] >= 0.0f && ye[i] < 1e-37f);
    for (int i = 3; i < 7; i++) MN_CHECK(t, ye[i] == 1.0f);
    float nan_in = NAN, nan_out = 0.0f;
    mn_act_forward(&nan_out, &nan_in, 1, MN_ACT_SIGMOID, 0.0f);
    MN_CHECK(t, nan_out != nan_out);
    /* tanh: odd, saturates to exactly +-1, NaN propagates, and keeps relative accuracy for
     * tiny inputs and on both sides of its switch at |x| = 0.625 */
    const float tx[12] = {-INFINITY, -1e30f, -44.1f, 44.1f, 1e30f, INFINITY, 1e-30f, -3e-8f, 0.6249999f, 0.6250001f, -0.625f, NAN};
    float ty[12];
    mn_act_forward(ty, tx, 12, MN_ACT_TANH, 0.0f);
    for (int i = 0; i < 3; i++) MN_CHECK_MSG(t, ty[i] == -1.0f && ty[5 - i] == 1.0f, "tanh(%g) = %g", (double)tx[i], (double)ty[i]);
    for (int i = 6; i < 11; i++) {
        double e = fabs((double)ty[i] - tanh((double)tx[i])) / fabs(tanh((double)tx[i]));
        MN_CHECK_MSG(t, e < 3e-7, "tanh(%.9g): relative error %.3g", (double)tx[i], e);
    }
    MN_CHECK(t, ty[11] != ty[11]);
    /* in place is allowed */
    float v[3] = {-2.0f, 0.0f, 3.0f};
    mn_act_forward(v, v, 3, MN_ACT_LEAKY, 0.25f);
    MN_CHECK(t, v[0] == -0.5f && v[1] == 0.0f && v[2] == 3.0f);
    mn_free(x); mn_free(y);
}

/* mn_act_tanh_fast (the CPU's form) and each form this CPU has (portable, AVX2, AVX-512): within 4e-7 of tanh in absolute
 * terms and 1e-6 relative, odd, saturating to exactly +-1, NaN in NaN out; lengths that leave
 * SIMD tails, in place. */
MN_TEST(nn_act_tanh_fast)
{
    enum { N = 20011 }; /* not a multiple of 8 or 16 */
    float *x = zeros(N), *y = zeros(N), *yn = zeros(N);
    for (int i = 0; i < N; i++) x[i] = (float)(-12.0 + 24.0 * i / (N - 1));
    const char *const forms[4] = {"dispatched", "c", "avx2", "avx512"};
    int ran = 0;
    for (int form = 0; form < 4; form++) {
        const char *name = forms[form];
#define TF(yy, xx, nn) (form ? (void)mn_act_tanh_fast_isa(yy, xx, nn, name) : mn_act_tanh_fast(yy, xx, nn))
        float probe;
        if (form && !mn_act_tanh_fast_isa(&probe, x, 1, name)) continue; /* not on this CPU */
        ran++;
        for (int i = 0; i < N; i++) yn[i] = -x[i];
        TF(y, x, N);
        TF(yn, yn, N); /* in place */
        double worst_abs = 0, worst_rel = 0;
        int odd = 0, range = 0;
        for (int i = 0; i < N; i++) {
            const double want = tanh((double)x[i]), e = fabs((double)y[i] - want);
            if (e > worst_abs) worst_abs = e;
            if (want != 0 && e / fabs(want) > worst_rel) worst_rel = e / fabs(want);
            odd += yn[i] != -y[i];
            range += !(fabsf(y[i]) <= 1.0f);
        }
        MN_CHECK_MSG(t, worst_abs < 4e-7 && worst_rel < 1e-6, "%s: max error %.3g, relative %.3g", name, worst_abs,
                     worst_rel);
        MN_CHECK_MSG(t, odd == 0 && range == 0, "%s: %d values not odd, %d outside [-1, 1]", name, odd, range);
        /* tiny inputs keep their relative accuracy; the ends saturate; NaN propagates (17
         * values: one SIMD vector and a tail) */
        float tx[17] = {1e-30f, -3e-8f, 1e-4f, -0.01f, 0.5f, 9.0f, 9.5f, -44.1f, 1e30f, -INFINITY, INFINITY, NAN,
                        0.0f, -0.0f, 2.0f, -3.0f, NAN};
        float ty[17];
        TF(ty, tx, 17);
#undef TF
        for (int i = 0; i < 5; i++) {
            const double e = fabs((double)ty[i] - tanh((double)tx[i])) / fabs(tanh((double)tx[i]));
            MN_CHECK_MSG(t, e < 1e-6, "%s tanh(%g): relative error %.3g", name, (double)tx[i], e);
        }
        MN_CHECK_MSG(t, ty[5] >= 0.9999997f && ty[5] <= 1.0f && ty[6] == 1.0f && ty[7] == -1.0f && ty[8] == 1.0f &&
                            ty[9] == -1.0f && ty[10] == 1.0f,
                     "%s: saturation %.9g %.9g %.9g %.9g %.9g %.9g", name, (double)ty[5], (double)ty[6], (double)ty[7],
                     (double)ty[8], (double)ty[9], (double)ty[10]);
        MN_CHECK_MSG(t, ty[11] != ty[11] && ty[16] != ty[16], "%s: NaN gave %g, %g", name, (double)ty[11], (double)ty[16]);
        MN_CHECK(t, ty[12] == 0.0f && ty[13] == 0.0f);
    }
    MN_CHECK(t, ran >= 2); /* the dispatched form and the portable one at least */
    mn_free(x); mn_free(y); mn_free(yn);
}

typedef struct {
    mn_act kind;
    float alpha;
    size_t n;
    float *x, *y, *r;
} act_fd;

static double act_loss(void *p)
{
    act_fd *f = p;
    mn_act_forward(f->y, f->x, f->n, f->kind, f->alpha);
    return dot_rd(f->r, f->y, f->n);
}

MN_TEST(nn_act_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xac7);
    act_fd f = {.alpha = 0.1f, .n = 300};
    f.x = randn(&rng, f.n, 2.0);
    for (size_t i = 0; i < f.n; i++) /* keep away from the kink at 0 */
        if (fabsf(f.x[i]) < 0.05f) f.x[i] = f.x[i] < 0 ? -0.05f : 0.05f;
    f.y = zeros(f.n);
    f.r = randn(&rng, f.n, 1.0);
    float *dx = zeros(f.n), *dx2 = zeros(f.n);
    for (int k = MN_ACT_NONE; k <= MN_ACT_TANH; k++) {
        f.kind = (mn_act)k;
        memset(dx, 0, f.n * sizeof *dx);
        mn_act_forward(f.y, f.x, f.n, f.kind, f.alpha);
        mn_act_backward(dx, f.r, f.y, f.n, f.kind, f.alpha); /* reads the forward OUTPUT */
        check_fd(t, mn_act_name(f.kind), "inp", act_loss, &f, f.x, dx, f.n);
        mn_act_forward(f.y, f.x, f.n, f.kind, f.alpha); /* the check left a perturbed output */
        memset(dx2, 0, f.n * sizeof *dx2);
        mn_act_backward(dx2, f.r, f.y, f.n, f.kind, f.alpha);
        mn_act_backward(dx2, f.r, f.y, f.n, f.kind, f.alpha);
        bool twice = true;
        for (size_t i = 0; i < f.n; i++) twice &= dx2[i] == 2.0f * dx[i];
        MN_CHECK_MSG(t, twice, "%s: backward does not accumulate", mn_act_name(f.kind));
    }
    /* derivative at exactly 0: ReLU 0, LeakyReLU alpha (PyTorch's convention) */
    float zero = 0.0f, y0, g = 1.0f, d = 0.0f;
    mn_act_forward(&y0, &zero, 1, MN_ACT_RELU, 0.0f);
    mn_act_backward(&d, &g, &y0, 1, MN_ACT_RELU, 0.0f);
    MN_CHECK(t, d == 0.0f);
    d = 0.0f;
    mn_act_forward(&y0, &zero, 1, MN_ACT_LEAKY, 0.1f);
    mn_act_backward(&d, &g, &y0, 1, MN_ACT_LEAKY, 0.1f);
    MN_CHECK(t, d == 0.1f);
    mn_free(f.x); mn_free(f.y); mn_free(f.r); mn_free(dx); mn_free(dx2);
}

/* ---------------------------------------------------------------- batch norm */

MN_TEST(nn_batchnorm_hand_computed)
{
    /* one channel, x = [1 2 3 6]: mean 3, biased var 14/4 = 3.5, unbiased 14/3 */
    const float x[4] = {1, 2, 3, 6};
    const float gamma = 2.0f, beta = 0.5f, eps = 1e-5f, mom = 0.1f;
    float y[4], mean = 0, rstd = 0, rm = 0.5f, rv = 2.0f;
    mn_batchnorm_forward(y, &mean, &rstd, x, &gamma, &beta, &rm, &rv, 1, 1, 4, eps, mom, true);
    const double rs = 1.0 / sqrt(3.5 + 1e-5);
    MN_CHECK_NEAR(t, mean, 3.0, 1e-6);
    MN_CHECK_NEAR(t, rstd, rs, 1e-6);
    for (int i = 0; i < 4; i++) MN_CHECK_NEAR(t, y[i], 2.0 * ((double)x[i] - 3.0) * rs + 0.5, 1e-5);
    /* running = 0.9 running + 0.1 batch, with the unbiased variance */
    MN_CHECK_NEAR(t, rm, 0.9 * 0.5 + 0.1 * 3.0, 1e-6);
    MN_CHECK_NEAR(t, rv, 0.9 * 2.0 + 0.1 * 14.0 / 3.0, 1e-6);
    /* eval: normalize by the running statistics; caches and running stats untouched */
    const double rm1 = 0.75, rv1 = 1.8 + 1.4 / 3.0;
    float m2 = -7.0f, r2 = -7.0f;
    mn_batchnorm_forward(y, &m2, &r2, x, &gamma, &beta, &rm, &rv, 1, 1, 4, eps, mom, false);
    for (int i = 0; i < 4; i++)
        MN_CHECK_NEAR(t, y[i], 2.0 * ((double)x[i] - rm1) / sqrt(rv1 + 1e-5) + 0.5, 1e-5);
    MN_CHECK(t, m2 == -7.0f && r2 == -7.0f);
    MN_CHECK_NEAR(t, rm, rm1, 1e-6);
    /* affine = false: gamma/beta NULL */
    mn_batchnorm_forward(y, &mean, &rstd, x, NULL, NULL, NULL, NULL, 1, 1, 4, eps, mom, true);
    for (int i = 0; i < 4; i++) MN_CHECK_NEAR(t, y[i], ((double)x[i] - 3.0) * rs, 1e-5);
}

MN_TEST(nn_batchnorm_per_channel_statistics)
{
    /* B = 2, C = 3, T = 5: statistics must pool (b, t) per channel and nothing else */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xb4);
    enum { B = 2, C = 3, T = 5 };
    float *x = randn(&rng, B * C * T, 1.0), y[B * C * T], mean[C], rstd[C];
    for (int i = 0; i < B * C * T; i++) x[i] += (float)(3 * ((i / T) % C)); /* channel offsets */
    float rm[C] = {0, 0, 0}, rv[C] = {1, 1, 1};
    const float g[C] = {1.0f, 2.0f, -1.0f}, be[C] = {0.0f, 1.0f, -2.0f};
    mn_batchnorm_forward(y, mean, rstd, x, g, be, rm, rv, B, C, T, 1e-5f, 0.25f, true);
    for (int c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (int b = 0; b < B; b++)
            for (int tt = 0; tt < T; tt++) s += (double)x[(b * C + c) * T + tt];
        double mu = s / (B * T);
        for (int b = 0; b < B; b++)
            for (int tt = 0; tt < T; tt++) {
                double d = (double)x[(b * C + c) * T + tt] - mu;
                ss += d * d;
            }
        double var = ss / (B * T), r = 1.0 / sqrt(var + 1e-5);
        MN_CHECK_NEAR(t, mean[c], mu, 1e-5);
        MN_CHECK_NEAR(t, rstd[c], r, 1e-5 * r);
        MN_CHECK_NEAR(t, rm[c], 0.25 * mu, 1e-5);
        MN_CHECK_NEAR(t, rv[c], 0.75 + 0.25 * ss / (B * T - 1), 1e-5);
        for (int b = 0; b < B; b++)
            for (int tt = 0; tt < T; tt++) {
                int i = (b * C + c) * T + tt;
                MN_CHECK_NEAR(t, y[i], (double)g[c] * ((double)x[i] - mu) * r + (double)be[c], 1e-5);
            }
    }
    mn_free(x);
}

typedef struct {
    int B, C, T;
    bool affine;
    float *x, *gamma, *beta, *y, *mean, *rstd, *r;
} norm_fd;

static double bn_loss(void *p)
{
    norm_fd *f = p;
    mn_batchnorm_forward(f->y, f->mean, f->rstd, f->x, f->affine ? f->gamma : NULL,
                         f->affine ? f->beta : NULL, NULL, NULL, f->B, f->C, f->T, 1e-5f, 0.1f,
                         true);
    return dot_rd(f->r, f->y, (size_t)f->B * f->C * f->T);
}

static double ln_loss(void *p)
{
    norm_fd *f = p;
    mn_layernorm_forward(f->y, f->mean, f->rstd, f->x, f->affine ? f->gamma : NULL,
                         f->affine ? f->beta : NULL, f->B, f->C, f->T, 1e-5f);
    return dot_rd(f->r, f->y, (size_t)f->B * f->C * f->T);
}

static void norm_fd_check(mn_test_ctx *t, mn_rng *rng, bool layer, bool affine)
{
    norm_fd f = {.B = 2, .C = layer ? 6 : 3, .T = 9, .affine = affine};
    const size_t n = (size_t)f.B * f.C * f.T, nstat = layer ? (size_t)f.B * f.T : (size_t)f.C;
    f.x = randn(rng, n, 1.5);
    f.gamma = randn(rng, (size_t)f.C, 1.0);
    f.beta = randn(rng, (size_t)f.C, 1.0);
    f.y = zeros(n);
    f.mean = zeros(nstat);
    f.rstd = zeros(nstat);
    f.r = randn(rng, n, 1.0);
    float *dx = zeros(n), *dg = zeros((size_t)f.C), *db = zeros((size_t)f.C);
    const char *name = layer ? (affine ? "layernorm affine" : "layernorm") :
                               (affine ? "batchnorm affine" : "batchnorm");
    mn_gradcheck_fn fn = layer ? ln_loss : bn_loss;
    fn(&f); /* fills the caches */
    for (int rep = 0; rep < 2; rep++) { /* rep 1: accumulate into copies, checked below */
        float *x1 = rep ? zeros(n) : dx, *g1 = rep ? zeros((size_t)f.C) : dg;
        float *b1 = rep ? zeros((size_t)f.C) : db;
        for (int k = 0; k <= rep; k++) {
            if (layer)
                mn_layernorm_backward(x1, affine ? g1 : NULL, affine ? b1 : NULL, f.r, f.x, f.mean,
                                      f.rstd, affine ? f.gamma : NULL, f.B, f.C, f.T);
            else
                mn_batchnorm_backward(x1, affine ? g1 : NULL, affine ? b1 : NULL, f.r, f.x, f.mean,
                                      f.rstd, affine ? f.gamma : NULL, f.B, f.C, f.T);
        }
        if (rep) {
            double e = 0.0;
            for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)x1[i] - 2.0 * (double)dx[i]));
            for (int c = 0; c < f.C; c++) {
                e = fmax(e, fabs((double)g1[c] - 2.0 * (double)dg[c]));
                e = fmax(e, fabs((double)b1[c] - 2.0 * (double)db[c]));
            }
            MN_CHECK_MSG(t, e < 1e-5, "%s: backward twice != 2 x backward (%.3g)", name, e);
            mn_free(x1); mn_free(g1); mn_free(b1);
        }
    }
    /* a norm spreads one perturbation over every output of its channel (batch norm) or time
     * step (layer norm), so rounding is larger than for an elementwise layer; a step of 1e-2
     * (truncation ~ (h / sigma)^2 ~ 1e-4 here) keeps the quotient clear of it */
    check_fd_h(t, name, "inp", fn, &f, f.x, dx, n, 1e-2);
    if (affine) {
        /* the output is linear in gamma and beta: no truncation error at any step */
        check_fd_h(t, name, "gamma", fn, &f, f.gamma, dg, (size_t)f.C, 1e-2);
        check_fd_h(t, name, "beta", fn, &f, f.beta, db, (size_t)f.C, 1e-2);
    }
    mn_free(f.x); mn_free(f.gamma); mn_free(f.beta); mn_free(f.y); mn_free(f.mean);
    mn_free(f.rstd); mn_free(f.r); mn_free(dx); mn_free(dg); mn_free(db);
}

MN_TEST(nn_batchnorm_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xb46);
    norm_fd_check(t, &rng, false, true);
    norm_fd_check(t, &rng, false, false);
}

MN_TEST(nn_layernorm_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x146);
    norm_fd_check(t, &rng, true, true);
    norm_fd_check(t, &rng, true, false);
}

MN_TEST(nn_layernorm_forward_values)
{
    /* T = 600 spans several internal time chunks */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x14f);
    enum { B = 2, C = 5, T = 600 };
    float *x = randn(&rng, B * C * T, 2.0), *y = zeros(B * C * T);
    float *mean = zeros(B * T), *rstd = zeros(B * T);
    const float g[C] = {1, 2, 3, -1, 0.5f}, be[C] = {0, 1, -1, 2, 0};
    mn_layernorm_forward(y, mean, rstd, x, g, be, B, C, T, 1e-5f);
    double worst = 0.0;
    for (int b = 0; b < B; b++)
        for (int tt = 0; tt < T; tt++) {
            double s = 0, ss = 0;
            for (int c = 0; c < C; c++) s += (double)x[(b * C + c) * T + tt];
            double mu = s / C;
            for (int c = 0; c < C; c++) {
                double d = (double)x[(b * C + c) * T + tt] - mu;
                ss += d * d;
            }
            double r = 1.0 / sqrt(ss / C + 1e-5);
            worst = fmax(worst, fabs((double)mean[b * T + tt] - mu));
            worst = fmax(worst, fabs((double)rstd[b * T + tt] - r) / r);
            for (int c = 0; c < C; c++) {
                int i = (b * C + c) * T + tt;
                double want = (double)g[c] * ((double)x[i] - mu) * r + (double)be[c];
                worst = fmax(worst, fabs((double)y[i] - want));
            }
        }
    MN_CHECK_MSG(t, worst < 1e-5, "layernorm forward error %.3g", worst);
    mn_free(x); mn_free(y); mn_free(mean); mn_free(rstd);
}

MN_TEST(nn_norm_thread_invariance)
{
    if (!mn_have_openmp()) return;
    const int saved = mn_threads_get();
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x7b4);
    enum { B = 4, C = 8, T = 1500 };
    const size_t n = (size_t)B * C * T;
    float *x = randn(&rng, n, 1.0), *dy = randn(&rng, n, 1.0);
    float *g = randn(&rng, C, 1.0), *be = randn(&rng, C, 1.0);
    float *y[2], *dx[2], *dg[2], *db[2], *mean[2], *rstd[2], *rm[2], *rv[2];
    for (int layer = 0; layer < 2; layer++) {
        const size_t ns = layer ? (size_t)B * T : C;
        for (int k = 0; k < 2; k++) {
            mn_threads_set(k + 1);
            y[k] = zeros(n); dx[k] = zeros(n); dg[k] = zeros(C); db[k] = zeros(C);
            mean[k] = zeros(ns); rstd[k] = zeros(ns); rm[k] = zeros(C); rv[k] = zeros(C);
            if (layer) {
                mn_layernorm_forward(y[k], mean[k], rstd[k], x, g, be, B, C, T, 1e-5f);
                mn_layernorm_backward(dx[k], dg[k], db[k], dy, x, mean[k], rstd[k], g, B, C, T);
            } else {
                mn_batchnorm_forward(y[k], mean[k], rstd[k], x, g, be, rm[k], rv[k], B, C, T,
                                     1e-5f, 0.1f, true);
                mn_batchnorm_backward(dx[k], dg[k], db[k], dy, x, mean[k], rstd[k], g, B, C, T);
            }
        }
        const char *nm = layer ? "layernorm" : "batchnorm";
        MN_CHECK_MSG(t, !memcmp(y[0], y[1], n * sizeof(float)), "%s: out differs", nm);
        MN_CHECK_MSG(t, !memcmp(dx[0], dx[1], n * sizeof(float)), "%s: dinp differs", nm);
        MN_CHECK_MSG(t, !memcmp(dg[0], dg[1], C * sizeof(float)), "%s: dgamma differs", nm);
        MN_CHECK_MSG(t, !memcmp(db[0], db[1], C * sizeof(float)), "%s: dbeta differs", nm);
        MN_CHECK_MSG(t, !memcmp(rm[0], rm[1], C * sizeof(float)), "%s: running mean differs", nm);
        MN_CHECK_MSG(t, !memcmp(rv[0], rv[1], C * sizeof(float)), "%s: running var differs", nm);
        for (int k = 0; k < 2; k++) {
            mn_free(y[k]); mn_free(dx[k]); mn_free(dg[k]); mn_free(db[k]);
            mn_free(mean[k]); mn_free(rstd[k]); mn_free(rm[k]); mn_free(rv[k]);
        }
    }
    mn_threads_set(saved);
    mn_free(x); mn_free(dy); mn_free(g); mn_free(be);
}

/* ---------------------------------------------------------------- residual */

MN_TEST(nn_add_forward_backward)
{
    const float a[4] = {1, 2, 3, 4}, b[4] = {0.5f, -2, 10, 0};
    float y[4];
    mn_add_forward(y, a, b, 4);
    for (int i = 0; i < 4; i++) MN_CHECK(t, y[i] == a[i] + b[i]);
    const float g[4] = {1, -1, 2, 0.25f};
    float da[4] = {1, 1, 1, 1}, db[4] = {0, 0, 0, 0};
    mn_add_backward(da, db, g, 4);
    for (int i = 0; i < 4; i++) MN_CHECK(t, da[i] == 1.0f + g[i] && db[i] == g[i]);
    /* the same node on both inputs (y = x + x) receives 2 dout; NULL is skipped */
    float dd[4] = {0, 0, 0, 0};
    mn_add_backward(dd, dd, g, 4);
    mn_add_backward(NULL, NULL, g, 4);
    for (int i = 0; i < 4; i++) MN_CHECK(t, dd[i] == 2.0f * g[i]);
}

typedef struct {
    size_t n;
    float *a, *b, *y, *r;
} add_fd;

static double add_loss(void *p)
{
    add_fd *f = p;
    mn_add_forward(f->y, f->a, f->b, f->n);
    return dot_rd(f->r, f->y, f->n);
}

MN_TEST(nn_add_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xadd);
    add_fd f = {.n = 50};
    f.a = randn(&rng, f.n, 1.0);
    f.b = randn(&rng, f.n, 1.0);
    f.y = zeros(f.n);
    f.r = randn(&rng, f.n, 1.0);
    float *da = zeros(f.n), *db = zeros(f.n);
    mn_add_backward(da, db, f.r, f.n);
    check_fd(t, "add", "a", add_loss, &f, f.a, da, f.n);
    check_fd(t, "add", "b", add_loss, &f, f.b, db, f.n);
    mn_free(f.a); mn_free(f.b); mn_free(f.y); mn_free(f.r); mn_free(da); mn_free(db);
}

/* ---------------------------------------------------------------- complex helpers */

static float complex mkc(float re, float im)
{
    float complex z;
    const float pair[2] = {re, im};
    memcpy(&z, pair, sizeof z);
    return z;
}

MN_TEST(nn_complex_channels)
{
    enum { NCH = 3, T = 5 };
    float complex z[NCH * T], back[NCH * T];
    float ch[2 * NCH * T];
    for (int c = 0; c < NCH; c++)
        for (int i = 0; i < T; i++) z[c * T + i] = mkc((float)(10 * c + i), (float)(-100 - 10 * c - i));
    mn_complex_to_channels(ch, z, NCH, T);
    for (int c = 0; c < NCH; c++)
        for (int i = 0; i < T; i++) {
            MN_CHECK(t, ch[(2 * c) * T + i] == (float)(10 * c + i));          /* Re at 2c */
            MN_CHECK(t, ch[(2 * c + 1) * T + i] == (float)(-100 - 10 * c - i)); /* Im at 2c+1 */
        }
    mn_channels_to_complex(back, ch, NCH, T);
    MN_CHECK(t, !memcmp(back, z, sizeof z));
}

MN_TEST(nn_complex_rows_scaled)
{
    /* Lengths around the 16-sample SIMD step (the tail loop, both, and several steps): every
     * value is one float multiply by s, as computed here element by element, and an infinite
     * imaginary part stays imaginary through join. */
    enum { N = 53 };
    const float s = 0.37f;
    float complex z[N], back[N];
    float re[N + 1], im[N + 1];
    for (int i = 0; i < N; i++) z[i] = mkc((float)i * 1.25f - 7.0f, (float)(3 * i * i) * -0.5f + 1.0f);
    const int lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 53};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        const int n = lens[k];
        re[n] = im[n] = 99.0f; /* past the end: untouched */
        mn_complex_row_split(re, im, z, n, s);
        int bad = 0;
        for (int i = 0; i < n; i++) bad += re[i] != crealf(z[i]) * s || im[i] != cimagf(z[i]) * s;
        MN_CHECK_MSG(t, bad == 0 && re[n] == 99.0f && im[n] == 99.0f, "split n %d: %d wrong", n, bad);
        for (int i = 0; i < N; i++) back[i] = mkc(-1.0f, -1.0f);
        mn_complex_row_join(back, re, im, n, 2.0f);
        bad = 0;
        for (int i = 0; i < n; i++) bad += crealf(back[i]) != re[i] * 2.0f || cimagf(back[i]) != im[i] * 2.0f;
        MN_CHECK_MSG(t, bad == 0 && (n == N || crealf(back[n]) == -1.0f), "join n %d: %d wrong", n, bad);
        /* join_sub: x minus the join, the same bits as joining and then subtracting */
        for (int i = 0; i < N; i++) back[i] = mkc(-1.0f, -1.0f);
        mn_complex_row_join_sub(back, z, re, im, n, 2.0f);
        bad = 0;
        for (int i = 0; i < n; i++)
            bad += crealf(back[i]) != crealf(z[i]) - re[i] * 2.0f || cimagf(back[i]) != cimagf(z[i]) - im[i] * 2.0f;
        MN_CHECK_MSG(t, bad == 0 && (n == N || crealf(back[n]) == -1.0f), "join_sub n %d: %d wrong", n, bad);
    }
    /* a hand case: (2 - 3i) scaled by 0.5 */
    const float complex h[17] = {[16] = mkc(2.0f, -3.0f)};
    mn_complex_row_split(re, im, h, 17, 0.5f);
    MN_CHECK(t, re[16] == 1.0f && im[16] == -1.5f && re[0] == 0.0f);
    float ri[17] = {0}, ii[17] = {0};
    ii[3] = INFINITY;
    mn_complex_row_join(back, ri, ii, 17, 1.0f);
    MN_CHECK(t, crealf(back[3]) == 0.0f && isinf(cimagf(back[3])));
    /* (5 + 1i) - 0.5 (2 - 3i) = 4 + 2.5i, at the SIMD step's last lane */
    float complex x5[17] = {[15] = mkc(5.0f, 1.0f)};
    ri[15] = 2.0f;
    ii[15] = -3.0f;
    mn_complex_row_join_sub(back, x5, ri, ii, 17, 0.5f);
    MN_CHECK(t, crealf(back[15]) == 4.0f && cimagf(back[15]) == 2.5f && crealf(back[0]) == 0.0f);
}

/* ---------------------------------------------------------------- losses */

MN_TEST(nn_loss_hand_computed)
{
    /* T = 6, border 1: samples 1..4 count; the border samples 0 and 5 differ wildly */
    const float p[6] = {9, 1, 2, 3, 4, -9}, y[6] = {0, 1, 0, 3, 2, 0};
    float g[6] = {7, 7, 7, 7, 7, 7};
    /* inside: diffs 0 2 0 2 -> S = 8, N = 4, E = 1 + 0 + 9 + 4 = 14 */
    MN_CHECK_NEAR(t, mn_loss_mse(g, p, y, 1, 1, 6, 1), 2.0, 1e-12);
    const double gm[6] = {0, 0, 1, 0, 1, 0}; /* 2 d / N */
    for (int i = 0; i < 6; i++) MN_CHECK_NEAR(t, g[i], gm[i], 1e-7);
    MN_CHECK(t, g[0] == 0.0f && g[5] == 0.0f);
    MN_CHECK_NEAR(t, mn_loss_nmse(g, p, y, 1, 1, 6, 1), 8.0 / 14.0, 1e-12);
    const double gn[6] = {0, 0, 4.0 / 14, 0, 4.0 / 14, 0}; /* 2 d / E */
    for (int i = 0; i < 6; i++) MN_CHECK_NEAR(t, g[i], gn[i], 1e-7);
    /* no border: every sample counts */
    MN_CHECK_NEAR(t, mn_loss_mse(NULL, p, y, 1, 1, 6, 0), (81.0 + 4 + 4 + 81) / 6.0, 1e-12);
    /* two rows: the border applies to each window row separately */
    const float p2[12] = {9, 1, 2, 3, 4, -9, 5, 0, 0, 0, 1, 5}, y2[12] = {0, 1, 0, 3, 2, 0, 0, 0, 0, 0, 0, 0};
    MN_CHECK_NEAR(t, mn_loss_mse(NULL, p2, y2, 2, 1, 6, 1), (8.0 + 1.0) / 8.0, 1e-12);
    MN_CHECK_NEAR(t, mn_loss_mse(NULL, p2, y2, 1, 2, 6, 1), (8.0 + 1.0) / 8.0, 1e-12);
    /* NMSE of an all-zero target is undefined; bad borders are refused */
    const float zt[6] = {0};
    MN_CHECK(t, isnan(mn_loss_nmse(g, p, zt, 1, 1, 6, 1)));
    for (int i = 0; i < 6; i++) MN_CHECK(t, g[i] == 0.0f);
    MN_CHECK(t, isnan(mn_loss_mse(NULL, p, y, 1, 1, 6, 3)));
    MN_CHECK(t, isnan(mn_loss_mse(NULL, p, y, 1, 1, 6, -1)));
}

typedef struct {
    int B, C, T, border;
    bool nmse;
    float *p, *y;
} loss_fd;

static double loss_value(void *ctx)
{
    loss_fd *f = ctx;
    return f->nmse ? mn_loss_nmse(NULL, f->p, f->y, f->B, f->C, f->T, f->border)
                   : mn_loss_mse(NULL, f->p, f->y, f->B, f->C, f->T, f->border);
}

MN_TEST(nn_loss_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x1055);
    loss_fd f = {.B = 2, .C = 3, .T = 12, .border = 2};
    const size_t n = (size_t)f.B * f.C * f.T;
    f.p = randn(&rng, n, 1.0);
    f.y = randn(&rng, n, 1.0);
    float *g = zeros(n);
    for (int k = 0; k < 2; k++) {
        f.nmse = k == 1;
        for (size_t i = 0; i < n; i++) g[i] = 99.0f; /* overwritten, not accumulated */
        double L = f.nmse ? mn_loss_nmse(g, f.p, f.y, f.B, f.C, f.T, f.border)
                          : mn_loss_mse(g, f.p, f.y, f.B, f.C, f.T, f.border);
        MN_CHECK_NEAR(t, L, loss_value(&f), 0.0);
        /* the losses are O(1) and their gradients O(1/N): scale the FD denominator floor */
        size_t wi;
        double e = mn_gradcheck(loss_value, &f, f.p, g, n, FD_H, 1e-3, &wi);
        MN_CHECK_MSG(t, e < FD_TOL, "%s: dpred relative error %.3g at %zu", f.nmse ? "nmse" : "mse", e, wi);
        if (t->verbose) printf("    %-30s dpred   max rel err %.2e\n", f.nmse ? "nmse" : "mse", e);
        bool border_zero = true;
        for (int r = 0; r < f.B * f.C; r++)
            for (int tt = 0; tt < f.T; tt++)
                if (tt < f.border || tt >= f.T - f.border) border_zero &= g[r * f.T + tt] == 0.0f;
        MN_CHECK_MSG(t, border_zero, "%s: gradient not exactly zero in the border", f.nmse ? "nmse" : "mse");
    }
    mn_free(f.p); mn_free(f.y); mn_free(g);
}

/* ---------------------------------------------------------------- gradcheck harness */

typedef struct {
    float *x;
    size_t n;
} cube_ctx;

static double cube_sum(void *ctx)
{
    cube_ctx *c = ctx;
    double s = 0;
    for (size_t i = 0; i < c->n; i++) s += (double)c->x[i] * (double)c->x[i] * (double)c->x[i];
    return s;
}

MN_TEST(nn_gradcheck_harness)
{
    float x[5] = {0.5f, -1.0f, 2.0f, 0.1f, -3.0f}, x0[5], g[5];
    memcpy(x0, x, sizeof x);
    for (int i = 0; i < 5; i++) g[i] = 3.0f * x[i] * x[i]; /* d/dx sum x^3 */
    cube_ctx c = {x, 5};
    size_t wi = 99;
    double e = mn_gradcheck(cube_sum, &c, x, g, 5, 1e-3, 1e-6, &wi);
    /* truncation error h^2 f'''/6 = 1e-6; the smallest |num| + |ana| is 0.06 (x = 0.1) */
    MN_CHECK_MSG(t, e < 5e-5, "correct gradient rejected: %.3g", e);
    MN_CHECK(t, !memcmp(x, x0, sizeof x));                            /* restored exactly */
    g[3] *= 1.5f;                                                      /* a wrong entry */
    e = mn_gradcheck(cube_sum, &c, x, g, 5, 1e-3, 1e-6, &wi);
    MN_CHECK(t, e > 0.1 && wi == 3);
    g[3] = NAN;
    MN_CHECK(t, !(mn_gradcheck(cube_sum, &c, x, g, 5, 1e-3, 1e-6, NULL) < 1.0));
}

/* The backward kernels' overwrite mode (nn/grad_into.h), which the model uses for a gradient
 * with one reader: into a buffer full of NaN it gives the same bits as the accumulating kernel
 * into zeros, for every kernel and input slot, so it never reads the old contents. */
MN_TEST(layers_grad_overwrite_equals_add_into_zeros)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed + 77);
    enum { B = 2, C = 6, T = 37 };
    const size_t n = (size_t)B * C * T;
    float *x = randn(&rng, n, 1.0), *x2 = randn(&rng, n, 1.0), *dy = randn(&rng, 2 * n, 1.0);
    float *ref = mn_malloc(2 * n * sizeof *ref), *got = mn_malloc(2 * n * sizeof *got);
    float *w = randn(&rng, 64 * C * C, 0.3), *gw = mn_malloc(64 * C * C * sizeof *gw);
    MN_CHECK(t, x && x2 && dy && ref && got && w && gw);
    if (!(x && x2 && dy && ref && got && w && gw)) goto done;
    for (int kase = 0; kase < 14; kase++) {
        const bool slot_b = kase % 2; /* for the two-input kernels: which input is overwritten */
        memset(ref, 0, 2 * n * sizeof *ref);
        float *ra = ref, *rb = ref + n, *ga = got, *gb = got + n;
        /* Overwritten slots start as NaN, accumulated ones (the other input of mul, add and
         * concat) as zeros. */
        const bool sa = kase >= 6 || !slot_b, sb = kase < 6 && slot_b;
        for (size_t i = 0; i < n; i++) ga[i] = sa ? NAN : 0.0f, gb[i] = sb ? NAN : 0.0f;
        size_t checked = kase < 6 ? 2 * n : n;
        const char *what = "";
        if (kase < 2) {
            what = "mul";
            mn_mul_backward(ra, rb, dy, x, x2, n);
            mn_mul_backward_into(ga, gb, dy, x, x2, n, sa, sb);
        } else if (kase < 4) {
            what = "add";
            mn_add_backward(ra, rb, dy, n);
            mn_add_backward_into(ga, gb, dy, n, sa, sb);
        } else if (kase < 6) {
            what = "concat";
            mn_concat_backward(ra, rb, dy, B, C, C, T);
            mn_concat_backward_into(ga, gb, dy, B, C, C, T, sa, sb);
        } else if (kase < 8) {
            what = "leaky/tanh";
            const mn_act k = slot_b ? MN_ACT_TANH : MN_ACT_LEAKY;
            mn_act_backward(ra, dy, x, n, k, 0.1f);
            mn_act_backward_into(ga, dy, x, n, k, 0.1f, true);
        } else if (kase < 10) {
            what = "batchnorm";
            float mean[C], rstd[C], g1[C], b1[C], g2[C], b2[C];
            for (int c = 0; c < C; c++) mean[c] = (float)(0.1 * c), rstd[c] = 1.0f + 0.1f * (float)c, g1[c] = g2[c] = b1[c] = b2[c] = 0;
            mn_batchnorm_backward(ra, g1, b1, dy, x, mean, rstd, slot_b ? w : NULL, B, C, T);
            mn_batchnorm_backward_into(ga, g2, b2, dy, x, mean, rstd, slot_b ? w : NULL, B, C, T, true);
        } else if (kase >= 12) {
            what = "linear";
            memset(gw, 0, 64 * C * C * sizeof *gw);
            mn_linear_backward(ra, gw, NULL, dy, x, w, B, C, C, T);
            mn_linear_backward_into(ga, gw, NULL, dy, x, w, B, C, C, T, true);
        } else {
            what = slot_b ? "pointwise conv" : "dilated grouped conv";
            const mn_conv1d_cfg cv = slot_b ? (mn_conv1d_cfg){.cin = C, .cout = C, .k = 1, .dil = 1, .groups = 1, .pad = MN_PAD_SAME}
                                            : (mn_conv1d_cfg){.cin = C, .cout = C, .k = 3, .dil = 2, .groups = 3, .pad = MN_PAD_SAME};
            memset(gw, 0, 64 * C * C * sizeof *gw);
            mn_conv1d_backward(ra, gw, NULL, dy, x, w, B, T, &cv);
            mn_conv1d_backward_into(ga, gw, NULL, dy, x, w, B, T, &cv, true);
        }
        MN_CHECK_MSG(t, !memcmp(ref, got, checked * sizeof *ref), "%s (case %d): overwrite differs from adding into zeros",
                     what, kase);
    }
done:
    mn_free(x);
    mn_free(x2);
    mn_free(dy);
    mn_free(ref);
    mn_free(got);
    mn_free(w);
    mn_free(gw);
}
