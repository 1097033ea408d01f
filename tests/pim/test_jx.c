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
static mn_status jx_run_p(mn_pim_jx *x, const mn_model *m, const float complex *tx, int n_tx, int n_rx, int T,
                          float complex *y, bool bf16)
{
    const pim_src src = {.a = tx, .as = T, .x0 = 0, .xm = T, .x1 = T};
    const pim_io io = {.x = &src, .n_tx = n_tx, .n_rx = n_rx, .s = 0, .in_scale = 1.0f, .out = y, .os = T, .lo = 0,
                       .klo = 0, .khi = T, .sub = NULL, .out_inv = 1.0f};
    return mn_pim_jx_infer_io(x, m, &io, T, bf16);
}

static mn_status jx_run(mn_pim_jx *x, const mn_model *m, const float complex *tx, int n_tx, int n_rx, int T,
                        float complex *y)
{
    return jx_run_p(x, m, tx, n_tx, n_rx, T, y, false);
}

/* Weights away from the priors, so that every product and map carries its own numbers. */
static void scramble(mn_model *m, mn_rng *r)
{
    for (size_t i = 0; i < m->params.total; i++) m->params.w[i] = 0.3f * (float)mn_rng_normal(r);
}

static void check_against_layers(mn_test_ctx *t, int n_tx, int n_rx, int T_max, int sources)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed + (uint64_t)n_tx);
    mn_pim_net q;
    const mn_pim_model_opts mo = {.sources = sources};
    MN_CHECK_OK(t, mn_pim_net_create_opts(&q, "junction", &mo, n_tx, n_rx, 1, T_max, &r));
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
    /* shorter than the post filter, one drive chunk and one tile and a sample more, several
     * tiles and a part */
    const int Ts[] = {5, 100, MN_PIM_JX_DCOL + 1, MN_PIM_JX_TILE, MN_PIM_JX_TILE + 1, T_max};
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
        /* bf16 (the post filter and the small products but the drive map; the CPU's kernels,
         * or the portable references on a CPU without AVX512_BF16): near fp32, and not equal
         * to it; again the same bits on 1 and 2 threads */
        mn_threads_set(1);
        MN_CHECK_OK(t, jx_run_p(x1, &q.model, tx, n_tx, n_rx, T, y1, true));
        mn_threads_set(2);
        MN_CHECK_OK(t, jx_run_p(x2, &q.model, tx, n_tx, n_rx, T, y2, true));
        mn_threads_set(threads);
        double e2 = 0, r2 = 0;
        for (int c = 0; c < cout; c++)
            for (int i = 0; i < T; i++) {
                const float complex z = y1[(c / 2) * T + i];
                const double d = (double)(c % 2 ? cimagf(z) : crealf(z)) - (double)ref[c * T + i];
                e2 += d * d;
                r2 += (double)ref[c * T + i] * (double)ref[c * T + i];
            }
        /* bf16 keeps 8 significant bits: about -50 dB a value.  With the post filter alone in
         * bf16 this measured -52 to -56 dB; with the small products too, -35.5 to -53 dB over
         * seeds 1-8 (the scrambled weights' sums cancel, which a trained model's do not: there
         * the bf16 error is about -51 dB of the output).  A wrong pairing or row gives ~0 dB. */
        MN_CHECK_MSG(t, e2 > 0 && e2 < 1e-3 * r2, "T %d: bf16 error %.1f dB of the output", T, 10 * log10(e2 / r2));
        MN_CHECK_MSG(t, !memcmp(y1, y2, sizeof *y1 * n_rx * T), "T %d: bf16, 1 and 2 threads differ", T);
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

/* Sizes whose products have whole blocks of 8 rows (32 -> 16, 8 sources), none (3 -> 2: the
 * Rx map's 4 rows; 1 -> 1 with 1 source: every map but the gain's hidden layer), and both
 * (5 -> 3 with 6 sources: the drive map's 12 rows, 6 in the junction maps, the Rx map's 6),
 * which run through gemm's partial block. */
MN_TEST(pim_jx_matches_the_layer_executor)
{
    const int several = 2 * MN_PIM_JX_TILE + 300;
    check_against_layers(t, 3, 2, several, 0);
    check_against_layers(t, 32, 16, several, 0);
    check_against_layers(t, 5, 3, several, 6);
    check_against_layers(t, 1, 1, several, 1);
}

/* float -> bfloat16 -> float, as VCVTNEPS2BF16 rounds (nn/fused.h's mn_bf16_round) */
static double bf(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if ((u & 0x7f800000u) == 0) return 0.0; /* zero, subnormal */
    u = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    float f;
    memcpy(&f, &u, sizeof f);
    return (double)f;
}

MN_TEST(pim_jx_bf16_post_kernels)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0xb16);
    jx_post_pack_fn pack_ref, pack;
    jx_post_bf16_fn post_ref, post;
    mn_pim_jx_post_kernels(true, &pack_ref, &post_ref);
    mn_pim_jx_post_kernels(false, &pack, &post);
    enum { NMAX = 600, NPAD = 720 };
    float z[NMAX + 1], w0f[64], w1f[64], y0[NMAX], y1[NMAX], r0[NMAX], r1[NMAX];
    uint32_t zp[NPAD], zq[NPAD], w0[32], w1[32];
    const int Ps[2] = {63, 8}, ns[8] = {1, 15, 16, 63, 64, 65, 200, 512};
    for (int pi = 0; pi < 2; pi++) {
        const int P = Ps[pi], P2 = (P + 1) / 2;
        for (int k = 0; k < P; k++) {
            w0f[k] = (float)mn_rng_normal(&r);
            w1f[k] = (float)mn_rng_normal(&r);
        }
        for (int j = 0; j < P2; j++) { /* pairs as the executor packs them */
            uint32_t lo0, hi0 = 0, lo1, hi1 = 0;
            float a = (float)bf(w0f[2 * j]), b = (float)bf(w1f[2 * j]);
            memcpy(&lo0, &a, 4);
            memcpy(&lo1, &b, 4);
            if (2 * j + 1 < P) {
                a = (float)bf(w0f[2 * j + 1]);
                b = (float)bf(w1f[2 * j + 1]);
                memcpy(&hi0, &a, 4);
                memcpy(&hi1, &b, 4);
            }
            w0[j] = lo0 >> 16 | (hi0 >> 16) << 16;
            w1[j] = lo1 >> 16 | (hi1 >> 16) << 16;
        }
        for (int ni = 0; ni < 8; ni++) {
            const int n = ns[ni], zl = n + P - 1;
            for (int i = 0; i < zl; i++) z[i] = (float)mn_rng_normal(&r) * (i % 7 == 3 ? 1e-3f : 1.0f);
            z[3] = 1e-40f; /* a subnormal: flushed to zero by the conversion */
            z[zl] = NAN;   /* past the row: must not be read */
            memset(zp, 0xff, sizeof zp);
            memset(zq, 0xff, sizeof zq);
            pack_ref(zp, z, zl, NPAD);
            pack(zq, z, zl, NPAD);
            MN_CHECK_MSG(t, !memcmp(zp, zq, sizeof zp), "P %d, n %d: the packed rows differ", P, n);
            MN_CHECK(t, zp[zl - 1] >> 16 == 0 && zp[zl] == 0 && zp[NPAD - 1] == 0);
            MN_CHECK(t, (zp[3] & 0xffffu) == 0 && zp[2] >> 16 == 0);
            post_ref(r0, r1, zp, w0, w1, P2, n);
            post(y0, y1, zq, w0, w1, P2, n);
            MN_CHECK_MSG(t, !memcmp(r0, y0, sizeof *y0 * n) && !memcmp(r1, y1, sizeof *y1 * n),
                         "P %d, n %d: the kernel and the reference differ", P, n);
            /* the filter itself, in double on the rounded values */
            double worst = 0;
            for (int i = 0; i < n; i++) {
                double a = 0, b = 0, sa = 0, sb = 0;
                for (int k = 0; k < P; k++) {
                    const double v = bf(z[i + k]);
                    a += v * bf(w0f[k]);
                    b += v * bf(w1f[k]);
                    sa += fabs(v * bf(w0f[k]));
                    sb += fabs(v * bf(w1f[k]));
                }
                worst = fmax(worst, fmax(fabs(a - (double)r0[i]) / sa, fabs(b - (double)r1[i]) / sb));
            }
            MN_CHECK_MSG(t, worst < 1e-6, "P %d, n %d: off the filter by %.3g", P, n, worst);
        }
    }
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
