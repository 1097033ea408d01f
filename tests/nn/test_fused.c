/*
 * tests/nn/test_fused.c — the eval-mode fused executor (nn/fused.c) against the layer-by-layer
 * path it stands in for, on the light PIM model and on graphs that exercise every op the planner
 * emits (standalone batch norms and activations, affine batch norms, even and odd kernels,
 * channel counts that need padding), for every instruction set this CPU runs.
 *
 * Windows: T = 16 (the shortest that runs fused) and 17 (just above two borders of 8), shorter
 * than a tile (100), one tile (the light model's tile is 496), one more than a tile, not a
 * multiple of it (1000), and long enough that middle tiles read the input in place (1500).
 * Batches of 1 to 3.
 *
 * Tolerance.  Both paths compute the same sums in float; the fused one folds batch norm into the
 * weights (rounded once from double), uses FMA and its own exp.  Each output of the light model
 * is a chain of 10 layers of sums of up to 91 terms, so the two differ by float rounding of the
 * order of 1e-7 to 1e-6 of the output scale (measured over seeds 1-8: 3e-7 to 6e-7 of max|y| for
 * the light model, up to 8e-7 for the graph variants; see --verbose).  We allow
 * max|fused - naive| <= 1e-5 max|naive|: more than 10x the measured difference,
 * and far below any real mistake (a wrong tap, a missed padding zero at a window edge, a stale
 * weight or an unfolded batch norm all change outputs by 1e-3 .. 1 of the scale; the "can fail"
 * check below perturbs one weight by 0.01 and must be caught).
 */
#include "mn_test.h"
#include "util.h" /* randn, rel_diff, eval_copy, randomize_norms, check_threads_bitwise */

#include <stdlib.h>
#include <string.h>

#include "../../src/nn/fused.h"
#include "mimonet/nn.h"
#include "mimonet/pim.h"

#define TOL_REL 1e-5

static const char *const isas[] = {"c", "avx2", "avx512"};
#define N_ISA 3

/* An eval forward, fused or layer by layer; a copy of the output (mn_free it), NULL on error. */
static float *run(mn_model *m, const float *x, int B, int T, bool fused, size_t *ny)
{
    mn_model_set_fused(m, fused);
    return eval_copy(m, x, B, T, ny);
}

/* Fused (each instruction set available) vs layer by layer for every (B, T) case; returns the
 * largest relative difference seen. */
static double compare_all(mn_test_ctx *t, mn_model *m, const char *what, mn_rng *rng)
{
    static const int cases[][2] = {{1, 16}, {2, 17}, {3, 100}, {1, 496}, {2, 497}, {3, 1000}, {2, 1500}};
    const int cin = mn_model_in_channels(m);
    double worst = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const int B = cases[c][0], T = cases[c][1];
        float *x = randn(rng, (size_t)B * cin * T, 1.0);
        size_t n0 = 0, n1 = 0;
        float *ref = run(m, x, B, T, false, &n0);
        MN_CHECK_MSG(t, ref && !m->fused_ran, "%s: naive forward B %d T %d", what, B, T);
        for (int k = 0; k < N_ISA; k++) {
            if (!mn_fused_set_isa(m, isas[k])) continue;
            float *y = run(m, x, B, T, true, &n1);
            MN_CHECK_MSG(t, y && m->fused_ran && n1 == n0, "%s: fused forward (%s) B %d T %d did not run", what,
                         isas[k], B, T);
            if (y && ref && n1 == n0) {
                double e = rel_diff(y, ref, n0);
                if (!(e <= worst)) worst = e;
                MN_CHECK_MSG(t, e <= TOL_REL, "%s (%s) B %d T %d: max|fused - naive| / max|naive| = %.3g", what,
                             isas[k], B, T, e);
            }
            mn_free(y);
        }
        mn_free(ref);
        mn_free(x);
    }
    return worst;
}

/* The light model, 32 -> 16, built for B windows of T samples from rng, with non-trivial norm
 * statistics: the set-up most tests here start from. */
static void light_built(mn_test_ctx *t, mn_model *m, int B, int T, mn_rng *rng)
{
    mn_model_init(m);
    MN_CHECK(t, mn_pim_model_light(m, 32, 16) > 0);
    MN_CHECK_OK(t, mn_model_build(m, B, T, rng));
    randomize_norms(m, rng);
}

MN_TEST(fused_light_matches_naive)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xf05ed);
    mn_model m;
    light_built(t, &m, 3, 1500, &rng);
    MN_CHECK(t, m.fused != NULL);
    if (t->verbose) printf("    best kernels here: %s\n", mn_fused_isa(&m));
    double e = compare_all(t, &m, "light", &rng);
    if (t->verbose) printf("    light: worst max|fused - naive| / max|naive| = %.3g\n", e);
    mn_model_free(&m);
}

/* Every op kind and fold the planner knows:
 *   input -> BN (affine; ELEM) -> leaky -> sigmoid (ELEM after an activation)
 *   -> dw k5 d3 -> BN (folded into dw) -> relu -> dw k2 d3 (asymmetric padding 1 | 2)
 *   -> linear 5 -> 7 (rows padded to 8) -> BN (folded) -> dw k4 d2 -> pw 7 -> 3 -> relu -> act none
 * and one that starts with a pointwise op and ends with a standalone activation. */
static void graph_elem(mn_model *m)
{
    int x = mn_model_input(m, 5);
    x = mn_model_batchnorm(m, x, "a.bn", true);
    x = mn_model_act(m, x, MN_ACT_LEAKY, 0.2f);
    x = mn_model_act(m, x, MN_ACT_SIGMOID, 0);
    x = mn_model_conv1d(m, x, "d1", &(mn_conv1d_cfg){.cin = 5, .cout = 5, .k = 5, .dil = 3, .groups = 5,
                                                     .pad = MN_PAD_SAME, .bias = true});
    x = mn_model_batchnorm(m, x, "b.bn", true);
    x = mn_model_act(m, x, MN_ACT_RELU, 0);
    x = mn_model_conv1d(m, x, "d2", &(mn_conv1d_cfg){.cin = 5, .cout = 5, .k = 2, .dil = 3, .groups = 5,
                                                     .pad = MN_PAD_SAME, .bias = false});
    x = mn_model_linear(m, x, "fc", 7);
    x = mn_model_batchnorm(m, x, "c.bn", false);
    x = mn_model_conv1d(m, x, "d3", &(mn_conv1d_cfg){.cin = 7, .cout = 7, .k = 4, .dil = 2, .groups = 7,
                                                     .pad = MN_PAD_SAME, .bias = true});
    x = mn_model_conv1d(m, x, "p", &(mn_conv1d_cfg){.cin = 7, .cout = 3, .k = 1, .dil = 1, .groups = 1,
                                                    .pad = MN_PAD_SAME, .bias = true});
    x = mn_model_act(m, x, MN_ACT_RELU, 0);
    mn_model_act(m, x, MN_ACT_NONE, 0);
}

static void graph_pw_first(mn_model *m)
{
    int x = mn_model_input(m, 3);
    x = mn_model_linear(m, x, "fc", 20);
    x = mn_model_dsconv(m, x, "l", &(mn_dsconv_cfg){.cout = 9, .k = 3, .dil = 5, .act = MN_ACT_LEAKY,
                                                    .norm = MN_NORM_BATCH, .inner_act = true});
    x = mn_model_act(m, x, MN_ACT_SIGMOID, 0); /* after the leaky: a standalone ELEM */
    mn_model_batchnorm(m, x, "z.bn", true);    /* after an activation: ELEM with an affine map */
}

MN_TEST(fused_graph_variants_match_naive)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x9a7);
    void (*graphs[])(mn_model *) = {graph_elem, graph_pw_first};
    const char *names[] = {"elem graph", "pw-first graph"};
    for (int g = 0; g < 2; g++) {
        mn_model m;
        mn_model_init(&m);
        graphs[g](&m);
        MN_CHECK_OK(t, mn_model_build(&m, 3, 1500, &rng));
        MN_CHECK_MSG(t, m.fused != NULL, "%s: no fused plan", names[g]);
        randomize_norms(&m, &rng);
        double e = compare_all(t, &m, names[g], &rng);
        if (t->verbose) printf("    %s: worst relative difference %.3g\n", names[g], e);
        mn_model_free(&m);
    }
}

MN_TEST(fused_weights_never_stale)
{
    /* The fused copy of the weights is rebuilt at every forward: change a weight and a running
     * variance after a fused forward and the next one follows, and matches the naive path.  The
     * weight change (0.01 on one of 1,024 output weights of size ~0.1) must also be caught by
     * the tolerance: the comparison can fail. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x57a1e);
    mn_model m;
    light_built(t, &m, 2, 600, &rng);
    const int B = 2, T = 600;
    float *x = randn(&rng, (size_t)B * 64 * T, 1.0);
    size_t n = 0;
    float *y0 = run(&m, x, B, T, true, &n);
    float *w = mn_params_w(&m.params, mn_params_find(&m.params, "l4.pw.weight"));
    w[5] += 0.01f;
    float *y1 = run(&m, x, B, T, true, &n), *r1 = run(&m, x, B, T, false, &n);
    MN_CHECK(t, y0 && y1 && r1);
    if (y0 && y1 && r1) {
        MN_CHECK_MSG(t, rel_diff(y0, r1, n) > TOL_REL, "a weight change is within tolerance (%.3g)",
                     rel_diff(y0, r1, n));
        MN_CHECK_MSG(t, rel_diff(y1, r1, n) <= TOL_REL, "after a weight change: %.3g", rel_diff(y1, r1, n));
    }
    float *rv = mn_params_w(&m.params, mn_params_find(&m.params, "l3.bn.running_var"));
    for (int c = 0; c < 32; c++) rv[c] *= 1.5f;
    float *y2 = run(&m, x, B, T, true, &n), *r2 = run(&m, x, B, T, false, &n);
    MN_CHECK(t, y2 && r2);
    if (y1 && y2 && r2) {
        MN_CHECK(t, rel_diff(y2, y1, n) > TOL_REL);
        MN_CHECK_MSG(t, rel_diff(y2, r2, n) <= TOL_REL, "after a running-var change: %.3g", rel_diff(y2, r2, n));
    }
    mn_free(y0); mn_free(y1); mn_free(r1); mn_free(y2); mn_free(r2); mn_free(x);
    mn_model_free(&m);
}

MN_TEST(fused_thread_invariance)
{
    if (!mn_have_openmp()) return;
    const int keep = mn_threads_get();
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x7e4d);
    mn_model m;
    mn_threads_set(3); /* the plan's scratch covers at least this many threads */
    light_built(t, &m, 3, 1500, &rng);
    const int B = 3, T = 1500; /* 12 tiles of work: every thread gets some */
    float *x = randn(&rng, (size_t)B * 64 * T, 1.0);
    for (int k = 0; k < N_ISA; k++) {
        if (!mn_fused_set_isa(&m, isas[k])) continue;
        mn_model_set_fused(&m, true);
        check_threads_bitwise(t, &m, x, B, T, isas[k]);
    }
    mn_threads_set(keep);
    mn_free(x);
    mn_model_free(&m);
}

MN_TEST(fused_infer_any_window)
{
    /* mn_model_infer: windows longer and batches larger than the built ones, into the
     * caller's buffer, the same bits as a model built for that shape runs with
     * mn_model_forward; the built model's own output is left alone. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x1f3);
    mn_model small, big;
    mn_model_init(&small);
    mn_model_init(&big);
    mn_pim_model_light(&small, 32, 16);
    mn_pim_model_light(&big, 32, 16);
    MN_CHECK_OK(t, mn_model_build(&small, 1, 64, &rng));
    MN_CHECK_OK(t, mn_model_build(&big, 3, 700, &rng));
    randomize_norms(&small, &rng);
    memcpy(big.params.w, small.params.w, small.params.total * sizeof(float));
    const int B = 3, T = 700;
    float *x = randn(&rng, (size_t)B * 64 * T, 1.0), *y = mn_calloc((size_t)B * 32 * T, sizeof(float));
    float *x1 = randn(&rng, 64 * 64, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&small, x1, 1, 64, false));
    float *keep = mn_malloc(32 * 64 * sizeof(float));
    memcpy(keep, mn_model_output(&small, NULL, NULL), 32 * 64 * sizeof(float));
    if (mn_model_fused_usable(&small, T)) {
        MN_CHECK_OK(t, mn_model_infer(&small, x, B, T, y));
        size_t n = 0;
        float *ref = run(&big, x, B, T, true, &n);
        MN_CHECK(t, ref && big.fused_ran && n == (size_t)B * 32 * T);
        if (ref) MN_CHECK_MSG(t, !memcmp(y, ref, n * sizeof(float)), "infer vs forward: %.3g", rel_diff(y, ref, n));
        mn_free(ref);
        MN_CHECK(t, !memcmp(keep, mn_model_output(&small, NULL, NULL), 32 * 64 * sizeof(float)));
    } else if (t->verbose) {
        printf("    no fused kernels on this CPU: only the refusal is tested\n");
    }
    /* refused: fused executor off, a window below its minimum, bad shapes */
    mn_model_set_fused(&small, false);
    MN_CHECK(t, mn_model_infer(&small, x, B, T, y) == MN_ERR_UNSUPPORTED);
    MN_CHECK(t, !mn_model_fused_usable(&small, T));
    mn_model_set_fused(&small, true);
    MN_CHECK(t, mn_model_infer(&small, x, 1, 8, y) == MN_ERR_UNSUPPORTED);
    MN_CHECK(t, mn_model_infer(&small, x, 0, T, y) == MN_ERR_SHAPE);
    mn_free(x);
    mn_free(x1);
    mn_free(y);
    mn_free(keep);
    mn_model_free(&small);
    mn_model_free(&big);
}

/* mn_model_infer_io's caller: planar input rows x [C_in, T] read through load, and every
 * stored sample counted, into y [C_out, T]. */
typedef struct {
    const float *x;
    float *y;
    int *seen;
    int T, cin, cout, bad;
} io_user;

static void io_load(void *user, float *dst, size_t ds, int t, int n)
{
    io_user *u = user;
    if (t < 0 || n < 1 || t + n > u->T) u->bad++;
    else
        for (int c = 0; c < u->cin; c++) memcpy(dst + (size_t)c * ds, u->x + (size_t)c * u->T + t, (size_t)n * sizeof(float));
}

static void io_store(void *user, const float *src, size_t ss, int t, int n)
{
    io_user *u = user;
    if (t < 0 || n < 1 || t + n > u->T) {
        u->bad++;
        return;
    }
    for (int c = 0; c < u->cout; c++) memcpy(u->y + (size_t)c * u->T + t, src + (size_t)c * ss, (size_t)n * sizeof(float));
    for (int i = t; i < t + n; i++) u->seen[i]++;
}

MN_TEST(fused_infer_io_equals_infer)
{
    /* The caller's I/O (loads of window samples as the tiles need them, halos included, and
     * one store per tile) gives the same bits as mn_model_infer, each sample stored once, on
     * windows of one tile, a few tiles with a ragged end, and many. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x10a);
    mn_model m;
    light_built(t, &m, 1, 64, &rng);
    if (!mn_model_fused_usable(&m, 2000)) {
        MN_CHECK(t, mn_model_infer_io(&m, 2000, &(mn_infer_io){io_load, io_store, NULL}) == MN_ERR_UNSUPPORTED);
        mn_model_free(&m);
        return;
    }
    const int Ts[] = {40, 1111, 2000};
    for (int k = 0; k < 3; k++) {
        const int T = Ts[k];
        float *x = randn(&rng, (size_t)64 * T, 1.0), *ref = mn_calloc((size_t)32 * T, sizeof(float)),
              *y = mn_calloc((size_t)32 * T, sizeof(float));
        int *seen = mn_calloc((size_t)T, sizeof(int));
        io_user u = {.x = x, .y = y, .seen = seen, .T = T, .cin = 64, .cout = 32};
        MN_CHECK_OK(t, mn_model_infer(&m, x, 1, T, ref));
        MN_CHECK_OK(t, mn_model_infer_io(&m, T, &(mn_infer_io){io_load, io_store, &u}));
        int once = 0;
        for (int i = 0; i < T; i++) once += seen[i] == 1;
        MN_CHECK_MSG(t, u.bad == 0 && once == T, "T %d: %d bad calls, %d of %d samples stored once", T, u.bad, once, T);
        MN_CHECK_MSG(t, !memcmp(y, ref, (size_t)32 * T * sizeof(float)), "T %d: %.3g", T, rel_diff(y, ref, (size_t)32 * T));
        mn_free(x);
        mn_free(ref);
        mn_free(y);
        mn_free(seen);
    }
    MN_CHECK(t, mn_model_infer_io(&m, 100, &(mn_infer_io){io_load, NULL, NULL}) == MN_ERR_INVALID);
    mn_model_free(&m);
}

MN_TEST(fused_unsupported_graphs_fall_back)
{
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0xfa11);
    const int B = 2, T = 64, C = 3;
    float *x = randn(&rng, (size_t)B * C * T, 1.0);
    /* a depthwise conv then tanh (no fused tanh): the output must be exactly the two layer
     * kernels applied by hand */
    mn_model m;
    mn_model_init(&m);
    const mn_conv1d_cfg dc = {.cin = C, .cout = C, .k = 3, .dil = 2, .groups = C, .pad = MN_PAD_SAME, .bias = true};
    int h = mn_model_conv1d(&m, mn_model_input(&m, C), "d", &dc);
    mn_model_act(&m, h, MN_ACT_TANH, 0);
    MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
    MN_CHECK(t, m.fused == NULL);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, false));
    MN_CHECK(t, !m.fused_ran);
    float *ref = mn_malloc((size_t)B * C * T * sizeof(float));
    mn_conv1d_forward(ref, x, mn_params_w(&m.params, m.nodes[1].p_w), mn_params_w(&m.params, m.nodes[1].p_b), B, T,
                      &dc);
    mn_act_forward(ref, ref, (size_t)B * C * T, MN_ACT_TANH, 0);
    MN_CHECK(t, !memcmp(ref, mn_model_output(&m, NULL, NULL), (size_t)B * C * T * sizeof(float)));
    mn_free(ref);
    mn_model_free(&m);

    /* other unsupported shapes: a residual branch, a 'valid' conv, a grouped conv, a LUT, a layer
     * norm, an output that is not the last node */
    for (int g = 0; g < 6; g++) {
        mn_model_init(&m);
        int in = mn_model_input(&m, C), y = -1;
        if (g == 0) y = mn_model_add(&m, mn_model_linear(&m, in, "fc", C), in);
        if (g == 1)
            y = mn_model_conv1d(&m, in, "v", &(mn_conv1d_cfg){.cin = C, .cout = C, .k = 3, .dil = 1, .groups = C,
                                                              .pad = MN_PAD_VALID, .bias = true});
        if (g == 2)
            y = mn_model_conv1d(&m, in, "g", &(mn_conv1d_cfg){.cin = C, .cout = 6, .k = 3, .dil = 1, .groups = 1,
                                                              .pad = MN_PAD_SAME, .bias = true});
        if (g == 3) y = mn_model_lut(&m, in, "lut", 5, -2.0f, 2.0f);
        if (g == 4) y = mn_model_layernorm(&m, mn_model_linear(&m, in, "fc", 4), "ln", true);
        if (g == 5) {
            y = mn_model_linear(&m, in, "fc", 4);
            mn_model_linear(&m, y, "fc2", 2);
            m.output = y;
        }
        MN_CHECK(t, y > 0);
        MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
        MN_CHECK_MSG(t, m.fused == NULL, "unsupported graph %d got a fused plan", g);
        MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, false));
        MN_CHECK(t, !m.fused_ran);
        mn_model_free(&m);
    }

    /* a supported model with windows shorter than 16 runs layer by layer, and training forwards
     * always do */
    mn_model_init(&m);
    mn_pim_model_light(&m, 2, 1);
    MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
    float *x4 = randn(&rng, (size_t)B * 4 * T, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&m, x4, B, 15, false));
    MN_CHECK(t, !m.fused_ran);
    MN_CHECK_OK(t, mn_model_forward(&m, x4, B, T, true));
    MN_CHECK(t, !m.fused_ran);
    mn_free(x4);
    mn_model_free(&m);
    mn_free(x);
}

MN_TEST(fused_backward_after_fused_forward_fails)
{
    /* A fused forward keeps no intermediate activations: backward must refuse, not use stale
     * ones.  After a training forward it works again. */
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    mn_model m;
    mn_model_init(&m);
    mn_pim_model_light(&m, 2, 1);
    const int B = 2, T = 40;
    MN_CHECK_OK(t, mn_model_build(&m, B, T, &rng));
    float *x = randn(&rng, (size_t)B * 4 * T, 1.0), *dy = randn(&rng, (size_t)B * 2 * T, 1.0);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, false));
    MN_CHECK(t, m.fused_ran);
    MN_CHECK(t, mn_model_backward(&m, dy) == MN_ERR_INVALID);
    MN_CHECK_OK(t, mn_model_forward(&m, x, B, T, true));
    MN_CHECK_OK(t, mn_model_backward(&m, dy));
    mn_free(x);
    mn_free(dy);
    mn_model_free(&m);
}

MN_TEST(fused_sigmoid_accuracy)
{
    /* The vector sigmoid (fused_kern.h: Cody–Waite + Cephes' expf polynomial) against double,
     * relative to the true value, over [-87, 88] where it is not saturated by the clamp (the
     * layer-by-layer sigmoid clamps at the same points).  Measured: 1.3e-7 (AVX2, AVX-512) and
     * 1.4e-7 (C, libm expf); we allow 3e-7 (2.5 ulp). */
    mn_model m;
    mn_model_init(&m);
    mn_model_act(&m, mn_model_input(&m, 1), MN_ACT_SIGMOID, 0);
    const int T = 1 << 16;
    MN_CHECK_OK(t, mn_model_build(&m, 1, T, NULL));
    float *x = mn_malloc((size_t)T * sizeof *x);
    for (int i = 0; i < T; i++) x[i] = -87.0f + 175.0f * (float)i / (float)(T - 1);
    x[0] = 0.0f;
    x[1] = -0.0f;
    x[2] = 1e-8f;
    x[3] = -87.0f;
    x[4] = 88.0f;
    for (int k = 0; k < N_ISA; k++) {
        if (!mn_fused_set_isa(&m, isas[k])) continue;
        MN_CHECK_OK(t, mn_model_forward(&m, x, 1, T, false));
        MN_CHECK(t, m.fused_ran);
        const float *y = mn_model_output(&m, NULL, NULL);
        double worst = 0;
        int at = 0;
        for (int i = 0; i < T; i++) {
            double ref = 1.0 / (1.0 + exp(-(double)x[i]));
            double e = fabs((double)y[i] - ref) / ref;
            if (!(e <= worst)) worst = e, at = i;
        }
        if (t->verbose) printf("    sigmoid (%s): max relative error %.3g at x = %g\n", isas[k], worst, (double)x[at]);
        MN_CHECK_MSG(t, worst <= 3e-7, "sigmoid (%s): relative error %.3g at x = %g", isas[k], worst, (double)x[at]);
    }
    /* NaN in, NaN out; saturation beyond the clamp */
    float z[16] = {(float)NAN, -200.0f, 200.0f, -1e30f, 1e30f};
    mn_model_free(&m);
    mn_model_init(&m);
    mn_model_act(&m, mn_model_input(&m, 1), MN_ACT_SIGMOID, 0);
    MN_CHECK_OK(t, mn_model_build(&m, 1, 16, NULL));
    for (int k = 0; k < N_ISA; k++) {
        if (!mn_fused_set_isa(&m, isas[k])) continue;
        MN_CHECK_OK(t, mn_model_forward(&m, z, 1, 16, false));
        const float *y = mn_model_output(&m, NULL, NULL);
        MN_CHECK_MSG(t, isnan(y[0]), "%s: sigmoid(NaN) = %g", isas[k], (double)y[0]);
        MN_CHECK(t, y[1] >= 0.0f && y[1] < 1e-37f && y[3] >= 0.0f && y[3] < 1e-37f);
        MN_CHECK(t, y[2] == 1.0f && y[4] == 1.0f);
    }
    mn_free(x);
    mn_model_free(&m);
}

/* The weight-gradient kernel of every set this CPU runs (training's pointwise dW, nn/conv1d.c)
 * against the definition in double: block sizes and their edges (M, N not multiples of the
 * register block), row strides wider than the columns read, and values past the columns read
 * that must not count (set to 1e30). */
MN_TEST(fused_wgrad_matches_naive)
{
    const mn_fused_kernels *sets[N_ISA] = {&mn_fused_kernels_c, NULL, NULL};
#ifdef MN_FUSED_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) sets[1] = &mn_fused_kernels_avx2;
    if (__builtin_cpu_supports("avx512f")) sets[2] = &mn_fused_kernels_avx512;
#endif
    mn_rng rng;
    mn_rng_seed(&rng, t->seed ^ 0x3e9d);
    static const int mn[][2] = {{1, 1}, {3, 5}, {4, 4}, {4, 8}, {7, 13}, {16, 64}};
    const int n16 = 5, n = 16 * n16, stride = n + 19;
    for (size_t s = 0; s < sizeof mn / sizeof *mn; s++) {
        const int M = mn[s][0], N = mn[s][1], ldw = N + 3;
        float *dy = randn(&rng, (size_t)M * stride, 1.0), *x = randn(&rng, (size_t)N * stride, 1.0);
        float *dw0 = randn(&rng, (size_t)M * ldw, 1.0), *dw = mn_malloc((size_t)M * ldw * sizeof *dw);
        for (int r = 0; r < M; r++) dy[(size_t)r * stride + n] = 1e30f;
        for (int r = 0; r < N; r++) x[(size_t)r * stride + n] = 1e30f;
        for (int k = 0; k < N_ISA; k++) {
            if (!sets[k]) continue;
            memcpy(dw, dw0, (size_t)M * ldw * sizeof *dw);
            sets[k]->wgrad(dw, (size_t)ldw, dy, (size_t)stride, x, (size_t)stride, M, N, n16);
            double e = 0.0;
            for (int o = 0; o < M; o++)
                for (int i = 0; i < ldw; i++) {
                    double want = (double)dw0[(size_t)o * ldw + i];
                    if (i < N)
                        for (int c = 0; c < n; c++)
                            want += (double)dy[(size_t)o * stride + c] * (double)x[(size_t)i * stride + c];
                    e = fmax(e, fabs((double)dw[(size_t)o * ldw + i] - want)); /* dw past N untouched */
                }
            /* sums of 80 unit products: float rounding about 1e-6 */
            MN_CHECK_MSG(t, e < 1e-4, "wgrad (%s) %d x %d: off by %.3g", isas[k], M, N, e);
        }
        mn_free(dy); mn_free(x); mn_free(dw0); mn_free(dw);
    }
}
