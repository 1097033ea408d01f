/*
 * tests/nn/test_conv1d.c — conv1d and per-time-step linear: output-length formula, hand-computed
 * outputs, an independent naive reference (direct formula, double accumulation) for every
 * kernel path, finite-difference gradients, accumulate semantics and thread invariance.
 *
 * Finite-difference tolerance: the kernels run in float and the loss L = sum r*out is summed in
 * double from float outputs.  Perturbing one value changes ~K*Cout outputs, each carrying a
 * float rounding error of ~1e-7 |out|, so f(x+h) - f(x-h) is uncertain by ~1e-6 and the central
 * difference by ~1e-6 / (2h).  Conv and linear are linear in each argument, so there is no
 * truncation error and a large step h = 1e-2 is exact up to that rounding (~5e-5 absolute;
 * with h = 1e-3 the worst case over 30 seeds reached 8e-3 relative).  Gradients are O(1), so a
 * relative error below 1e-2 (denominator floored at 1e-1) separates rounding from any real
 * mistake (a wrong tap, a missed edge sample, a wrong scale all give errors of order 1).
 */
#include "mn_test.h"
#include "util.h" /* randn */

#include <stdlib.h>
#include <string.h>

#include "mimonet/nn.h"

#include "../../src/nn/grad_into.h" /* mn_conv1d_backward_into */

/* ---------------------------------------------------------------- helpers */

static float *zeros(size_t n) { return mn_calloc(n, sizeof(float)); }

/* The conv written independently from the kernel: the definition in nn.h, element by element,
 * with the padding worked out here ('same': floor(span/2) on the left). */
static void conv_ref(double *out, const float *in, const float *w, const float *b, int B, int T,
                     const mn_conv1d_cfg *c, int *t_out)
{
    int span = c->dil * (c->k - 1);
    int left = c->pad == MN_PAD_SAME ? span / 2 : 0;
    int to = c->pad == MN_PAD_SAME ? T : T - span;
    int cpgi = c->cin / c->groups, cpgo = c->cout / c->groups;
    for (int bi = 0; bi < B; bi++)
        for (int o = 0; o < c->cout; o++)
            for (int t = 0; t < to; t++) {
                double s = b ? (double)b[o] : 0.0;
                int g = o / cpgo;
                for (int ii = 0; ii < cpgi; ii++)
                    for (int k = 0; k < c->k; k++) {
                        int u = t - left + k * c->dil;
                        if (u < 0 || u >= T) continue;
                        s += (double)w[(o * cpgi + ii) * c->k + k] *
                             (double)in[(bi * c->cin + g * cpgi + ii) * T + u];
                    }
                out[(bi * c->cout + o) * to + t] = s;
            }
    *t_out = to;
}

typedef struct {
    const char *name;
    mn_conv1d_cfg c;
} conv_case;

/* Every kernel path: general (standard, grouped), depthwise (with and without multiplier),
 * pointwise; dilation 1, 2, 4; odd and even spans; both paddings; bias on and off. */
static const conv_case cases[] = {
    {"standard k3 d1 same", {4, 6, 3, 1, 1, MN_PAD_SAME, true}},
    {"standard k3 d2 valid", {4, 6, 3, 2, 1, MN_PAD_VALID, true}},
    {"standard k4 d1 same (odd span)", {3, 5, 4, 1, 1, MN_PAD_SAME, false}},
    {"groups2 k3 d2 same", {4, 6, 3, 2, 2, MN_PAD_SAME, true}},
    {"groups2 k2 d4 valid", {4, 2, 2, 4, 2, MN_PAD_VALID, false}},
    {"depthwise k3 d1 same", {6, 6, 3, 1, 6, MN_PAD_SAME, true}},
    {"depthwise k3 d4 same", {6, 6, 3, 4, 6, MN_PAD_SAME, false}},
    {"depthwise k3 d2 valid", {5, 5, 3, 2, 5, MN_PAD_VALID, true}},
    {"depthwise k2 d3 same (odd span)", {4, 4, 2, 3, 4, MN_PAD_SAME, true}},
    {"depthwise k5 d1 same", {3, 3, 5, 1, 3, MN_PAD_SAME, true}},
    {"depthwise x2 multiplier k3 d2 same", {3, 6, 3, 2, 3, MN_PAD_SAME, true}},
    {"pointwise", {5, 7, 1, 1, 1, MN_PAD_SAME, true}},
    {"pointwise no bias", {4, 3, 1, 1, 1, MN_PAD_VALID, false}},
    {"grouped pointwise", {4, 6, 1, 1, 2, MN_PAD_VALID, true}},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

static size_t wsize(const mn_conv1d_cfg *c) { return (size_t)c->cout * (c->cin / c->groups) * c->k; }

/* max |got - want| / (1 + |want|) */
static double max_err(const float *got, const double *want, size_t n)
{
    double e = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]) / (1.0 + fabs(want[i]));
        if (!(d <= e)) e = d; /* NaN propagates */
    }
    return e;
}

/* ---------------------------------------------------------------- output length */

MN_TEST(nn_conv1d_out_len)
{
    int l, r;
    /* valid: T - dil*(K-1), no padding */
    mn_conv1d_cfg c = {.cin = 1, .cout = 1, .k = 3, .dil = 1, .groups = 1, .pad = MN_PAD_VALID};
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 8 && l == 0 && r == 0);
    c.dil = 4; /* span 8 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 2 && l == 0 && r == 0);
    MN_CHECK(t, mn_conv1d_out_len(&c, 5, &l, &r) == -3); /* too short: <= 0 */
    c.k = 4; c.dil = 1;  /* odd span 3 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 7);
    /* same: T_out = T; span even -> symmetric, odd -> extra sample on the right (PyTorch) */
    c.pad = MN_PAD_SAME;
    c.k = 3; c.dil = 1;  /* span 2 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 10 && l == 1 && r == 1);
    c.k = 3; c.dil = 4;  /* span 8 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 10 && l == 4 && r == 4);
    c.k = 4; c.dil = 1;  /* span 3 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 10, &l, &r) == 10 && l == 1 && r == 2);
    c.k = 2; c.dil = 3;  /* span 3 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 7, &l, &r) == 7 && l == 1 && r == 2);
    c.k = 6; c.dil = 2;  /* span 10 */
    MN_CHECK(t, mn_conv1d_out_len(&c, 3, &l, &r) == 3 && l == 5 && r == 5);
    c.k = 1;             /* pointwise: no padding either way */
    MN_CHECK(t, mn_conv1d_out_len(&c, 9, &l, &r) == 9 && l == 0 && r == 0);
    MN_CHECK(t, mn_conv1d_out_len(&c, 9, NULL, NULL) == 9);
}

/* ---------------------------------------------------------------- hand-computed outputs */

MN_TEST(nn_conv1d_hand_computed)
{
    const float x[6] = {1, 2, 3, 4, 5, 6};
    const float w[3] = {1, 10, 100};
    const float b = 0.5f;
    float y[6];
    /* K = 3, dil = 2, valid: y[t] = x[t] + 10 x[t+2] + 100 x[t+4] + 0.5, T_out = 2 */
    mn_conv1d_cfg c = {.cin = 1, .cout = 1, .k = 3, .dil = 2, .groups = 1, .pad = MN_PAD_VALID,
                       .bias = true};
    for (int i = 0; i < 6; i++) y[i] = -1.0f;
    mn_conv1d_forward(y, x, w, &b, 1, 6, &c);
    MN_CHECK_NEAR(t, y[0], 531.5, 1e-4);
    MN_CHECK_NEAR(t, y[1], 642.5, 1e-4);
    MN_CHECK(t, y[2] == -1.0f); /* nothing written past T_out */
    /* same: pad 2 each side, y[t] = x[t-2] + 10 x[t] + 100 x[t+2] + 0.5 */
    const double same[6] = {310.5, 420.5, 531.5, 642.5, 53.5, 64.5};
    c.pad = MN_PAD_SAME;
    mn_conv1d_forward(y, x, w, &b, 1, 6, &c);
    for (int i = 0; i < 6; i++) MN_CHECK_NEAR(t, y[i], same[i], 1e-4);
    /* the same numbers through the general kernel: 2 input channels, the second all zero */
    float x2[12] = {1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0};
    float w2[6] = {1, 10, 100, 7, 7, 7};
    c.cin = 2;
    mn_conv1d_forward(y, x2, w2, &b, 1, 6, &c);
    for (int i = 0; i < 6; i++) MN_CHECK_NEAR(t, y[i], same[i], 1e-4);
    /* even span (K = 2, dil = 1, same): pad 0 left, 1 right: y[t] = x[t] + 10 x[t+1] */
    const float w3[2] = {1, 10};
    const double even[6] = {21, 32, 43, 54, 65, 6};
    mn_conv1d_cfg c3 = {.cin = 1, .cout = 1, .k = 2, .dil = 1, .groups = 1, .pad = MN_PAD_SAME};
    mn_conv1d_forward(y, x, w3, NULL, 1, 6, &c3);
    for (int i = 0; i < 6; i++) MN_CHECK_NEAR(t, y[i], even[i], 1e-4);
}

/* ---------------------------------------------------------------- naive reference */

static void check_against_reference(mn_test_ctx *t, mn_rng *rng, const conv_case *cc, int B,
                                    int T)
{
    const mn_conv1d_cfg *c = &cc->c;
    float *x = randn(rng, (size_t)B * c->cin * T, 1.0);
    float *w = randn(rng, wsize(c), 0.5);
    float *b = c->bias ? randn(rng, (size_t)c->cout, 0.5) : NULL;
    size_t n_out = (size_t)B * c->cout * T;
    double *want = mn_malloc(n_out * sizeof *want);
    float *got = zeros(n_out + 1);
    got[n_out] = 12345.0f; /* guard */
    int to_ref, to = mn_conv1d_out_len(c, T, NULL, NULL);
    conv_ref(want, x, w, b, B, T, c, &to_ref);
    MN_CHECK_MSG(t, to == to_ref, "%s: T_out %d, reference %d", cc->name, to, to_ref);
    if (to > 0) {
        size_t n = (size_t)B * c->cout * to;
        got[n] = 12345.0f;
        mn_conv1d_forward(got, x, w, b, B, T, c);
        double e = max_err(got, want, n);
        MN_CHECK_MSG(t, e < 1e-5, "%s (T=%d): forward differs from the reference by %.3g",
                     cc->name, T, e);
        MN_CHECK_MSG(t, got[n] == 12345.0f, "%s: wrote past the output", cc->name);
    }
    mn_free(x); mn_free(w); mn_free(b); mn_free(want); mn_free(got);
}

MN_TEST(nn_conv1d_matches_reference)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xc0417);
    for (int i = 0; i < N_CASES; i++) {
        check_against_reference(t, &rng, &cases[i], 2, 37);
        check_against_reference(t, &rng, &cases[i], 1, 9); /* short: mostly edge samples */
    }
    /* depthwise with T shorter than the span: no interior at all */
    conv_case shortdw = {"depthwise T < span", {2, 2, 3, 4, 2, MN_PAD_SAME, true}};
    check_against_reference(t, &rng, &shortdw, 2, 5);
    /* pointwise with T over one GEMM chunk (1024) and not a multiple of it */
    conv_case longpw = {"pointwise long T", {3, 4, 1, 1, 1, MN_PAD_VALID, true}};
    check_against_reference(t, &rng, &longpw, 2, 2500);
    conv_case longdw = {"depthwise long T", {2, 2, 3, 8, 2, MN_PAD_SAME, true}};
    check_against_reference(t, &rng, &longdw, 2, 700);
}

/* ---------------------------------------------------------------- gradients */

typedef struct {
    mn_conv1d_cfg c;
    int B, T, to;
    float *x, *w, *b, *y, *r;
} conv_fd;

/* L = sum r * conv(x; w, b), in double */
static double conv_loss(void *p)
{
    conv_fd *f = p;
    mn_conv1d_forward(f->y, f->x, f->w, f->b, f->B, f->T, &f->c);
    double s = 0.0;
    for (size_t i = 0; i < (size_t)f->B * f->c.cout * f->to; i++) s += (double)f->r[i] * (double)f->y[i];
    return s;
}

/* f with random x (unit), w (scale ws), b, r and room for y, for cfg c at B x T; sizes out. */
static void conv_fd_init(conv_fd *f, const mn_conv1d_cfg *c, int B, int T, double ws, mn_rng *rng, size_t *nx,
                         size_t *nw)
{
    *f = (conv_fd){.c = *c, .B = B, .T = T};
    f->to = mn_conv1d_out_len(c, T, NULL, NULL);
    size_t ny = (size_t)B * c->cout * f->to;
    *nx = (size_t)B * c->cin * T;
    *nw = wsize(c);
    f->x = randn(rng, *nx, 1.0);
    f->w = randn(rng, *nw, ws);
    f->b = c->bias ? randn(rng, (size_t)c->cout, 0.5) : NULL;
    f->y = zeros(ny);
    f->r = randn(rng, ny, 1.0);
}

static void conv_fd_free(conv_fd *f)
{
    mn_free(f->x); mn_free(f->w); mn_free(f->b); mn_free(f->y); mn_free(f->r);
}

#define FD_H 1e-2 /* linear layers: no truncation error, see the top comment */
#define FD_ATOL 1e-1
#define FD_TOL 1e-2

static void check_fd(mn_test_ctx *t, const char *layer, const char *arg, mn_gradcheck_fn f,
                     void *ctx, float *x, const float *ana, size_t n)
{
    size_t wi = 0;
    double e = mn_gradcheck(f, ctx, x, ana, n, FD_H, FD_ATOL, &wi);
    MN_CHECK_MSG(t, e < FD_TOL, "%s: d%s relative error %.3g at index %zu", layer, arg, e, wi);
    if (t->verbose) printf("    %-40s d%-4s max rel err %.2e\n", layer, arg, e);
}

MN_TEST(nn_conv1d_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x9c0417);
    for (int i = 0; i < N_CASES; i++) {
        conv_fd f;
        size_t nx, nw;
        conv_fd_init(&f, &cases[i].c, 2, 11, 0.5, &rng, &nx, &nw);
        const mn_conv1d_cfg *c = &f.c;
        float *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)c->cout);
        mn_conv1d_backward(dx, dw, c->bias ? db : NULL, f.r, f.x, f.w, f.B, f.T, c);
        check_fd(t, cases[i].name, "inp", conv_loss, &f, f.x, dx, nx);
        check_fd(t, cases[i].name, "w", conv_loss, &f, f.w, dw, nw);
        if (c->bias) check_fd(t, cases[i].name, "b", conv_loss, &f, f.b, db, (size_t)c->cout);

        /* accumulate: a second backward adds the same amount again; NULL gradients skipped */
        float *dx2 = zeros(nx), *dw2 = zeros(nw), *db2 = zeros((size_t)c->cout);
        for (int rep = 0; rep < 2; rep++) {
            mn_conv1d_backward(dx2, NULL, NULL, f.r, f.x, f.w, f.B, f.T, c);
            mn_conv1d_backward(NULL, dw2, db2, f.r, f.x, f.w, f.B, f.T, c);
        }
        double e = 0.0;
        for (size_t j = 0; j < nx; j++) e = fmax(e, fabs((double)dx2[j] - 2.0 * (double)dx[j]));
        for (size_t j = 0; j < nw; j++) e = fmax(e, fabs((double)dw2[j] - 2.0 * (double)dw[j]));
        if (c->bias)
            for (int j = 0; j < c->cout; j++) e = fmax(e, fabs((double)db2[j] - 2.0 * (double)db[j]));
        MN_CHECK_MSG(t, e < 1e-5, "%s: backward twice != 2 x backward (%.3g)", cases[i].name, e);
        mn_free(dx2); mn_free(dw2); mn_free(db2);
        conv_fd_free(&f);
        mn_free(dx); mn_free(dw); mn_free(db);
    }
}

/* Long kernels: the weight gradient keeps up to 128 taps' sums at once (conv1d.c WT_TAPS) and
 * goes in chunks of it beyond; both sides of that bound against finite differences. */
MN_TEST(nn_conv1d_long_kernel_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x10a6);
    static const conv_case longk[] = {
        {"depthwise k 128", {2, 4, 128, 1, 2, MN_PAD_SAME, true}},
        {"grouped k 129", {4, 2, 129, 1, 2, MN_PAD_SAME, false}},
    };
    for (size_t i = 0; i < sizeof longk / sizeof *longk; i++) {
        conv_fd f;
        size_t nx, nw;
        conv_fd_init(&f, &longk[i].c, 2, 150, 0.1, &rng, &nx, &nw);
        const mn_conv1d_cfg *c = &f.c;
        float *dw = zeros(nw), *db = zeros((size_t)c->cout);
        mn_conv1d_backward(NULL, dw, c->bias ? db : NULL, f.r, f.x, f.w, f.B, f.T, c);
        check_fd(t, longk[i].name, "w", conv_loss, &f, f.w, dw, nw);
        conv_fd_free(&f);
        mn_free(dw); mn_free(db);
    }
}

/* ---------------------------------------------------------------- pointwise kernels */

/* The pointwise products go through the fused executor's SIMD kernels where the CPU has them
 * (conv1d.c: rows in blocks of 8, columns in units of 16, the rest by BLAS; dW by wgrad).
 * Shapes with whole blocks and leftovers in both, against the definition in double: the
 * forward, dinp written (grad_into) and accumulated, dW and db accumulated onto a start. */
MN_TEST(nn_conv1d_pointwise_kernels_match_reference)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x9e1d);
    static const int shapes[][3] = {{13, 19, 2500}, {64, 32, 1024}, {32, 91, 37}, {91, 32, 40}, {16, 8, 9}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        const int cin = shapes[s][0], cout = shapes[s][1], T = shapes[s][2], B = 2;
        const mn_conv1d_cfg c = {.cin = cin, .cout = cout, .k = 1, .dil = 1, .groups = 1, .pad = MN_PAD_VALID,
                                 .bias = true};
        const size_t nx = (size_t)B * cin * T, ny = (size_t)B * cout * T, nw = (size_t)cin * cout;
        float *x = randn(&rng, nx, 1.0), *w = randn(&rng, nw, 0.5), *b = randn(&rng, (size_t)cout, 0.5);
        float *dy = randn(&rng, ny, 1.0), *dx0 = randn(&rng, nx, 1.0), *dw0 = randn(&rng, nw, 1.0);
        float *db0 = randn(&rng, (size_t)cout, 1.0);
        float *y = zeros(ny), *dx = zeros(nx), *dxa = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)cout);
        double *want = mn_malloc((nx > ny ? nx : ny) * sizeof *want), *wdw = mn_malloc(nw * sizeof *wdw);
        double *wdb = mn_malloc((size_t)cout * sizeof *wdb);
        int to;
        conv_ref(want, x, w, b, B, T, &c, &to);
        mn_conv1d_forward(y, x, w, b, B, T, &c);
        double e = max_err(y, want, ny);
        MN_CHECK_MSG(t, e < 1e-5, "pointwise %d -> %d, T %d: forward off by %.3g", cin, cout, T, e);
        /* dinp = W^T dy, written over garbage (dx) and added to a start (dxa) */
        for (size_t j = 0; j < nx; j++) dx[j] = 1e30f;
        memcpy(dxa, dx0, nx * sizeof *dxa);
        mn_conv1d_backward_into(dx, NULL, NULL, dy, x, w, B, T, &c, true);
        mn_conv1d_backward_into(dxa, NULL, NULL, dy, x, w, B, T, &c, false);
        for (int bi = 0; bi < B; bi++)
            for (int i = 0; i < cin; i++)
                for (int tt = 0; tt < T; tt++) {
                    double acc = 0.0;
                    for (int o = 0; o < cout; o++)
                        acc += (double)w[(size_t)o * cin + i] * (double)dy[((size_t)bi * cout + o) * T + tt];
                    want[((size_t)bi * cin + i) * T + tt] = acc;
                }
        e = max_err(dx, want, nx);
        MN_CHECK_MSG(t, e < 1e-5, "pointwise %d -> %d, T %d: written dinp off by %.3g", cin, cout, T, e);
        for (size_t j = 0; j < nx; j++) want[j] += (double)dx0[j];
        e = max_err(dxa, want, nx);
        MN_CHECK_MSG(t, e < 1e-5, "pointwise %d -> %d, T %d: accumulated dinp off by %.3g", cin, cout, T, e);
        /* dW, db added to a start */
        memcpy(dw, dw0, nw * sizeof *dw);
        memcpy(db, db0, (size_t)cout * sizeof *db);
        mn_conv1d_backward(NULL, dw, db, dy, x, w, B, T, &c);
        for (int o = 0; o < cout; o++) {
            double sb = (double)db0[o];
            for (int bi = 0; bi < B; bi++)
                for (int tt = 0; tt < T; tt++) sb += (double)dy[((size_t)bi * cout + o) * T + tt];
            wdb[o] = sb;
            for (int i = 0; i < cin; i++) {
                double acc = (double)dw0[(size_t)o * cin + i];
                for (int bi = 0; bi < B; bi++)
                    for (int tt = 0; tt < T; tt++)
                        acc += (double)dy[((size_t)bi * cout + o) * T + tt] * (double)x[((size_t)bi * cin + i) * T + tt];
                wdw[(size_t)o * cin + i] = acc;
            }
        }
        /* sums of 2 T products of unit size: float rounding stays well under 1e-4 of sqrt(2 T) */
        const double scale = sqrt(2.0 * T);
        double ew = 0.0, eb = 0.0;
        for (size_t j = 0; j < nw; j++) ew = fmax(ew, fabs((double)dw[j] - wdw[j]) / scale);
        for (int o = 0; o < cout; o++) eb = fmax(eb, fabs((double)db[o] - wdb[o]) / scale);
        MN_CHECK_MSG(t, ew < 1e-5, "pointwise %d -> %d, T %d: dW off by %.3g", cin, cout, T, ew);
        MN_CHECK_MSG(t, eb < 1e-5, "pointwise %d -> %d, T %d: db off by %.3g", cin, cout, T, eb);
        mn_free(x); mn_free(w); mn_free(b); mn_free(dy); mn_free(dx0); mn_free(dw0); mn_free(db0);
        mn_free(y); mn_free(dx); mn_free(dxa); mn_free(dw); mn_free(db);
        mn_free(want); mn_free(wdw); mn_free(wdb);
    }
}

/* ---------------------------------------------------------------- thread invariance */

static void conv_run(const mn_conv1d_cfg *c, int B, int T, const float *x, const float *w,
                     const float *b, const float *dy, float *y, float *dx, float *dw, float *db,
                     int threads)
{
    mn_threads_set(threads);
    size_t nx = (size_t)B * c->cin * T;
    memset(dx, 0, nx * sizeof *dx);
    memset(dw, 0, wsize(c) * sizeof *dw);
    memset(db, 0, (size_t)c->cout * sizeof *db);
    mn_conv1d_forward(y, x, w, b, B, T, c);
    mn_conv1d_backward(dx, dw, db, dy, x, w, B, T, c);
}

MN_TEST(nn_conv1d_thread_invariance)
{
    if (!mn_have_openmp()) return;
    const int saved = mn_threads_get();
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x7407);
    /* big enough that every kernel runs its parallel loops */
    const conv_case big[] = {
        {"depthwise", {16, 16, 3, 2, 16, MN_PAD_SAME, true}},
        {"pointwise", {16, 24, 1, 1, 1, MN_PAD_SAME, true}},
        {"general", {8, 8, 3, 1, 2, MN_PAD_SAME, true}},
    };
    const int B = 4, T = 2100; /* B = 4: a 2-thread split of b would regroup the sums */
    for (int i = 0; i < 3; i++) {
        const mn_conv1d_cfg *c = &big[i].c;
        size_t nx = (size_t)B * c->cin * T, ny = (size_t)B * c->cout * T, nw = wsize(c);
        float *x = randn(&rng, nx, 1.0), *w = randn(&rng, nw, 0.5);
        float *b = randn(&rng, (size_t)c->cout, 0.5), *dy = randn(&rng, ny, 1.0);
        float *y[3], *dx[3], *dw[3], *db[3];
        const int threads[3] = {1, 2, 3};
        for (int k = 0; k < 3; k++) {
            y[k] = zeros(ny); dx[k] = zeros(nx); dw[k] = zeros(nw); db[k] = zeros((size_t)c->cout);
            conv_run(c, B, T, x, w, b, dy, y[k], dx[k], dw[k], db[k], threads[k]);
        }
        for (int k = 1; k < 3; k++) {
            MN_CHECK_MSG(t, !memcmp(y[0], y[k], ny * sizeof(float)), "%s: out differs with %d threads", big[i].name, threads[k]);
            MN_CHECK_MSG(t, !memcmp(dx[0], dx[k], nx * sizeof(float)), "%s: dinp differs with %d threads", big[i].name, threads[k]);
            MN_CHECK_MSG(t, !memcmp(dw[0], dw[k], nw * sizeof(float)), "%s: dw differs with %d threads", big[i].name, threads[k]);
            MN_CHECK_MSG(t, !memcmp(db[0], db[k], (size_t)c->cout * sizeof(float)), "%s: db differs with %d threads", big[i].name, threads[k]);
        }
        for (int k = 0; k < 3; k++) { mn_free(y[k]); mn_free(dx[k]); mn_free(dw[k]); mn_free(db[k]); }
        mn_free(x); mn_free(w); mn_free(b); mn_free(dy);
    }
    mn_threads_set(saved);
}

/* ---------------------------------------------------------------- linear */

typedef struct {
    int B, nin, nout, T;
    float *x, *w, *b, *y, *r;
} lin_fd;

static double lin_loss(void *p)
{
    lin_fd *f = p;
    mn_linear_forward(f->y, f->x, f->w, f->b, f->B, f->nin, f->nout, f->T);
    double s = 0.0;
    for (size_t i = 0; i < (size_t)f->B * f->nout * f->T; i++) s += (double)f->r[i] * (double)f->y[i];
    return s;
}

MN_TEST(nn_linear_forward_and_gradients)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x11ea4);
    lin_fd f = {.B = 2, .nin = 5, .nout = 3, .T = 7};
    size_t nx = (size_t)f.B * f.nin * f.T, ny = (size_t)f.B * f.nout * f.T, nw = (size_t)f.nin * f.nout;
    f.x = randn(&rng, nx, 1.0);
    f.w = randn(&rng, nw, 0.5);
    f.b = randn(&rng, (size_t)f.nout, 0.5);
    f.y = zeros(ny);
    f.r = randn(&rng, ny, 1.0);
    /* forward against the definition out[b,o,t] = bias[o] + sum_i w[o,i] x[b,i,t] */
    mn_linear_forward(f.y, f.x, f.w, f.b, f.B, f.nin, f.nout, f.T);
    double e = 0.0;
    for (int b = 0; b < f.B; b++)
        for (int o = 0; o < f.nout; o++)
            for (int tt = 0; tt < f.T; tt++) {
                double s = (double)f.b[o];
                for (int i = 0; i < f.nin; i++)
                    s += (double)f.w[o * f.nin + i] * (double)f.x[(b * f.nin + i) * f.T + tt];
                e = fmax(e, fabs(s - (double)f.y[(b * f.nout + o) * f.T + tt]));
            }
    MN_CHECK_MSG(t, e < 1e-5, "linear forward error %.3g", e);
    float *dx = zeros(nx), *dw = zeros(nw), *db = zeros((size_t)f.nout);
    mn_linear_backward(dx, dw, db, f.r, f.x, f.w, f.B, f.nin, f.nout, f.T);
    check_fd(t, "linear", "inp", lin_loss, &f, f.x, dx, nx);
    check_fd(t, "linear", "w", lin_loss, &f, f.w, dw, nw);
    check_fd(t, "linear", "b", lin_loss, &f, f.b, db, (size_t)f.nout);
    /* accumulate: a second backward doubles every gradient */
    float *dx2 = zeros(nx), *dw2 = zeros(nw), *db2 = zeros((size_t)f.nout);
    for (int rep = 0; rep < 2; rep++)
        mn_linear_backward(dx2, dw2, db2, f.r, f.x, f.w, f.B, f.nin, f.nout, f.T);
    double e2 = 0.0;
    for (size_t j = 0; j < nx; j++) e2 = fmax(e2, fabs((double)dx2[j] - 2.0 * (double)dx[j]));
    for (size_t j = 0; j < nw; j++) e2 = fmax(e2, fabs((double)dw2[j] - 2.0 * (double)dw[j]));
    for (int j = 0; j < f.nout; j++) e2 = fmax(e2, fabs((double)db2[j] - 2.0 * (double)db[j]));
    MN_CHECK_MSG(t, e2 < 1e-5, "linear: backward twice != 2 x backward (%.3g)", e2);
    mn_free(dx2); mn_free(dw2); mn_free(db2);
    /* without bias */
    float *b_saved = f.b;
    f.b = NULL;
    memset(dx, 0, nx * sizeof *dx);
    memset(dw, 0, nw * sizeof *dw);
    mn_linear_backward(dx, dw, NULL, f.r, f.x, f.w, f.B, f.nin, f.nout, f.T);
    check_fd(t, "linear (no bias)", "w", lin_loss, &f, f.w, dw, nw);
    f.b = b_saved;
    mn_free(f.x); mn_free(f.w); mn_free(f.b); mn_free(f.y); mn_free(f.r);
    mn_free(dx); mn_free(dw); mn_free(db);
}
