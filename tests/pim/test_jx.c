/* tests/pim/test_jx.c — junction's tiled executor (src/pim/jx.c) against the layer-by-layer one:
 * the same outputs to float rounding for windows shorter than a tile, across tile edges and
 * longer than the post filter; the same bits on 1 and 2 threads; and it takes only the
 * junction layout. */
#include "mn_test.h"

#include <complex.h>
#include <math.h>
#include <string.h>

#include "../../src/pim/jx.h"

/* jx over the complex rows tx [n_tx, T] into y [n_rx, T]: unit scales, so the conversions are
 * exact and y holds the model's output rows (2r, 2r + 1) as (re, im). */
static mn_status jx_run(mn_pim_jx *x, const mn_model *m, const float complex *tx, int n_tx, int n_rx, int T,
                        float complex *y)
{
    const pim_src src = {.a = tx, .as = T, .x0 = 0, .xm = T, .x1 = T};
    const pim_io io = {.x = &src, .n_tx = n_tx, .n_rx = n_rx, .s = 0, .in_scale = 1.0f, .out = y, .os = T, .lo = 0,
                       .klo = 0, .khi = T, .sub = NULL, .out_inv = 1.0f};
    return mn_pim_jx_infer_io(x, m, &io, T);
}

/* Weights away from the priors, so that every product and map carries its own numbers. */
static void scramble(mn_model *m, mn_rng *r)
{
    for (size_t i = 0; i < m->params.total; i++) m->params.w[i] = 0.3f * (float)mn_rng_normal(r);
}

static void check_against_layers(mn_test_ctx *t, int n_tx, int n_rx, int T_max)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed + (uint64_t)n_tx);
    mn_pim_net q;
    MN_CHECK_OK(t, mn_pim_net_create(&q, "junction", n_tx, n_rx, 1, T_max, &r));
    scramble(&q.model, &r);
    bool match = false;
    MN_CHECK_OK(t, mn_pim_jx_matches(&q.model, n_tx, n_rx, &match));
    MN_CHECK(t, match);
    mn_pim_jx *x1 = NULL, *x2 = NULL;
    MN_CHECK_OK(t, mn_pim_jx_create(&x1, &q.model, n_tx, n_rx, T_max, 1));
    MN_CHECK_OK(t, mn_pim_jx_create(&x2, &q.model, n_tx, n_rx, T_max, 2));
    const int cin = 2 * n_tx, cout = 2 * n_rx;
    float *x = mn_malloc(sizeof *x * cin * T_max);
    float complex *tx = mn_malloc(sizeof *tx * n_tx * T_max), *y1 = mn_malloc(sizeof *y1 * n_rx * T_max),
                  *y2 = mn_malloc(sizeof *y2 * n_rx * T_max);
    /* shorter than the post filter, one tile and one sample more, several tiles and a part */
    const int Ts[] = {5, 100, 512, 513, T_max};
    for (size_t k = 0; k < sizeof Ts / sizeof *Ts && x && tx && y1 && y2 && x1 && x2; k++) {
        const int T = Ts[k];
        for (int i = 0; i < cin * T; i++) x[i] = (float)mn_rng_normal(&r);
        for (int a = 0; a < n_tx; a++) /* the same samples as complex rows */
            for (int i = 0; i < T; i++) tx[a * T + i] = CMPLXF(x[(2 * a) * T + i], x[(2 * a + 1) * T + i]);
        MN_CHECK_OK(t, mn_model_forward(&q.model, x, 1, T, false));
        int C, To;
        const float *ref = mn_model_output(&q.model, &C, &To);
        MN_CHECK(t, C == cout && To == T);
        int threads = mn_threads_get();
        mn_threads_set(1);
        MN_CHECK_OK(t, jx_run(x1, &q.model, tx, n_tx, n_rx, T, y1));
        mn_threads_set(2);
        MN_CHECK_OK(t, jx_run(x2, &q.model, tx, n_tx, n_rx, T, y2));
        mn_threads_set(threads);
        double worst = 0, scale = 0;
        for (int c = 0; c < cout; c++)
            for (int i = 0; i < T; i++) {
                const float complex z = y1[(c / 2) * T + i];
                const float v = c % 2 ? cimagf(z) : crealf(z), want = ref[c * T + i];
                worst = fmax(worst, fabs((double)v - (double)want));
                scale = fmax(scale, fabs((double)want));
            }
        MN_CHECK_MSG(t, scale > 0 && worst <= 1e-5 * scale, "%d -> %d, T %d: max diff %.3g (scale %.3g)", n_tx, n_rx, T,
                     worst, scale);
        /* tiles depend on the window only: the thread count does not change a bit */
        MN_CHECK_MSG(t, !memcmp(y1, y2, sizeof *y1 * n_rx * T), "T %d: 1 and 2 threads differ", T);
    }
    /* a window beyond the buffers is refused */
    if (x1) MN_CHECK(t, jx_run(x1, &q.model, tx, n_tx, n_rx, T_max + 1, y1) == MN_ERR_INVALID);
    mn_pim_jx_free(x1);
    mn_pim_jx_free(x2);
    mn_free(x);
    mn_free(tx);
    mn_free(y1);
    mn_free(y2);
    mn_pim_net_free(&q);
}

MN_TEST(pim_jx_matches_the_layer_executor)
{
    check_against_layers(t, 3, 2, 1300);
    check_against_layers(t, 32, 16, 1100);
}

MN_TEST(pim_jx_takes_only_the_junction_layout)
{
    mn_model m;
    bool match = true;
    mn_model_init(&m);
    MN_CHECK(t, mn_pim_model_declare(&m, "light", 4, 2) >= 0);
    MN_CHECK(t, mn_pim_jx_matches(&m, 4, 2, &match) == MN_OK && !match);
    mn_model_free(&m);
    /* junction at other sizes: recognized at those sizes, not for another antenna count */
    mn_model_init(&m);
    MN_CHECK(t, mn_pim_model_junction(&m, 4, 2, 3, 7, 5, 9) >= 0);
    MN_CHECK(t, mn_pim_jx_matches(&m, 4, 2, &match) == MN_OK && match);
    MN_CHECK(t, mn_pim_jx_matches(&m, 5, 2, &match) == MN_OK && !match);
    mn_pim_jx *x = NULL;
    MN_CHECK(t, mn_pim_jx_create(&x, &m, 5, 2, 256, 1) == MN_ERR_INVALID && !x);
    mn_model_free(&m);
    /* junction with one more layer on top is another graph */
    mn_model_init(&m);
    int y = mn_pim_model_junction(&m, 4, 2, 3, 7, 5, 9);
    mn_model_act(&m, y, MN_ACT_TANH, 0);
    MN_CHECK(t, mn_pim_jx_matches(&m, 4, 2, &match) == MN_OK && !match);
    mn_model_free(&m);
}
