/* tests/pim/test_gmp.c — the classical baselines: a GMP recovers the coefficients of a signal
 * built from its own basis, a linear FIR cannot explain a cubic, checkpoints round-trip. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/pim.h"

MN_TEST(pim_gmp_column_count)
{
    /* 32 antennas x 7 taps x (K 3 + P 1) = 896, the size the performance issue times. */
    mn_pim_gmp_cfg c = {.n_tx = 32, .n_rx = 16, .M = 7, .K = 3, .L = 0, .P = 1};
    MN_CHECK(t, mn_pim_gmp_columns(&c) == 896);
    c.linear = true;
    c.L = 2;
    MN_CHECK(t, mn_pim_gmp_columns(&c) == 32 * 7 * 7);
    MN_CHECK(t, mn_pim_gmp_macs_per_sample(&c) == 4L * 1568 * 16 + 2L * 1568);
}

MN_TEST(pim_gmp_recovers_known_coefficients)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* built without LAPACKE: the fit reports MN_ERR_UNSUPPORTED (checked below) */
#endif
    const int64_t n = 4000;
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    float complex *tx = mn_malloc(sizeof *tx * 2 * n), *rx = mn_malloc(sizeof *rx * 2 * n),
                  *pred = mn_malloc(sizeof *pred * 2 * n);
    for (int64_t i = 0; i < 2 * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * 0.7f;
    /* rx0 = 0.5 x0|x0|^2 + (0.2 - 0.1j) x1[n-1]|x1[n-1]|^2 + 0.3 x0 |x1|^2   (self k=1, cross p=1)
     * rx1 = -0.4j x1[n-1] |x1[n-1]|^4                                          (self k=2)     */
    for (int64_t i = 0; i < n; i++) {
        double complex x0 = tx[i], x1 = tx[n + i], x1d = i > 0 ? (double complex)tx[n + i - 1] : 0;
        double p0 = creal(x0 * conj(x0)), p1 = creal(x1 * conj(x1)), p1d = creal(x1d * conj(x1d));
        rx[i] = (float complex)(0.5 * x0 * p0 + CMPLX(0.2, -0.1) * x1d * p1d + 0.3 * x0 * p1);
        rx[n + i] = (float complex)(CMPLX(0, -0.4) * x1d * p1d * p1d);
    }
    mn_pim_gmp_cfg c = {.n_tx = 2, .n_rx = 2, .M = 2, .K = 2, .L = 0, .P = 1, .linear = true, .ridge = 1e-10};
    mn_pim_gmp g;
    mn_status st = mn_pim_gmp_fit(&g, &c, tx, rx, n, (mn_span){0, n});
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, st == MN_ERR_UNSUPPORTED);
#else
    MN_CHECK_OK(t, st);
    /* Column of (antenna a, tap m, term j): (a * M + m) * terms + j, terms = linear, k1, k2, p1. */
    int T = 4;
    double complex c00k1 = g.coef[(0 * 2 + 0) * T + 1], c11k1 = g.coef[(1 * 2 + 1) * T + 1];
    double complex c00p1 = g.coef[(0 * 2 + 0) * T + 3], r1c11k2 = g.coef[g.ncols + (1 * 2 + 1) * T + 2];
    MN_CHECK_NEAR(t, cabs(c00k1 - 0.5), 0, 1e-4);
    MN_CHECK_NEAR(t, cabs(c11k1 - CMPLX(0.2, -0.1)), 0, 1e-4);
    MN_CHECK_NEAR(t, cabs(c00p1 - 0.3), 0, 1e-4);
    MN_CHECK_NEAR(t, cabs(r1c11k2 - CMPLX(0, -0.4)), 0, 1e-4);
    MN_CHECK_OK(t, mn_pim_gmp_predict(&g, pred, tx, n));
    mn_pim_metrics m;
    MN_CHECK_OK(t, mn_pim_metrics_compute(&m, NULL, rx, pred, 2, n, n, 2));
    MN_CHECK_MSG(t, m.ape_db > 60, "GMP on its own basis: APE %.1f dB", m.ape_db);

    /* Checkpoint round trip: identical predictions. */
    char path[4200];
    snprintf(path, sizeof path, "%s/gmp.safetensors", mn_test_tmpdir(t));
    MN_CHECK_OK(t, mn_pim_gmp_save(&g, path));
    mn_pim_gmp h;
    MN_CHECK_OK(t, mn_pim_gmp_load(&h, path));
    MN_CHECK(t, h.ncols == g.ncols && h.cfg.K == 2 && h.cfg.P == 1 && h.cfg.linear);
    double worst = 0;
    for (int i = 0; i < g.ncols * 2; i++) worst = fmax(worst, cabs(h.coef[i] - g.coef[i]) / (cabs(g.coef[i]) + 1e-30));
    MN_CHECK_MSG(t, worst < 1e-12, "hi/lo split keeps ~48 bits: worst rel diff %.3g", worst);

    /* The linear FIR cannot explain the cubic terms. */
    mn_pim_gmp f;
    mn_pim_gmp_cfg fc = {.n_tx = 2, .n_rx = 2, .M = 4, .K = 0, .linear = true};
    MN_CHECK_OK(t, mn_pim_gmp_fit(&f, &fc, tx, rx, n, (mn_span){0, n}));
    MN_CHECK_OK(t, mn_pim_gmp_predict(&f, pred, tx, n));
    MN_CHECK_OK(t, mn_pim_metrics_compute(&m, NULL, rx, pred, 2, n, n, 4));
    /* With Gaussian inputs the cubic has a linear projection (Bussgang): a few dB, not more. */
    MN_CHECK_MSG(t, m.ape_db < 6, "FIR on a cubic: APE %.1f dB", m.ape_db);
    mn_pim_gmp_free(&f);
    mn_pim_gmp_free(&h);
    mn_pim_gmp_free(&g);
#endif
    /* Bad configurations are refused. */
    mn_pim_gmp_cfg bad = {.n_tx = 2, .n_rx = 1, .M = 0, .K = 1};
    MN_CHECK(t, mn_pim_gmp_fit(&g, &bad, tx, rx, n, (mn_span){0, n}) == MN_ERR_INVALID);
    mn_free(tx);
    mn_free(rx);
    mn_free(pred);
}
