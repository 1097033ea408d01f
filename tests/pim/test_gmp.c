/* tests/pim/test_gmp.c — the classical baselines: a GMP recovers the coefficients of a signal
 * built from its own basis, a linear FIR cannot explain a cubic, checkpoints round-trip. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/io.h"
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
        double complex x0 = (double complex)tx[i], x1 = (double complex)tx[n + i];
        double complex x1d = i > 0 ? (double complex)tx[n + i - 1] : 0;
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

/* ---------------------------------------------------------------- the fit against a reference
 * The fit exploits the shift structure of the basis (gmp.c); the reference here does not: it
 * builds every column from pim.h's definition, forms Phi^H Phi and Phi^H Y by plain loops,
 * scales to unit-norm columns, adds the same ridge, and solves by its own complex Cholesky. */

/* Column (a, m, j) of pim.h at sample i, m in [0, M + lead) the tap x[i + lead - m]; j runs over
 * linear, k = 1..K, l = 1..L, p = 1..P.  Zero outside the signal. */
static double complex ref_column(const mn_pim_gmp_cfg *c, const float complex *tx, int64_t n, int a, int m, int j,
                                 int64_t i)
{
#define REF_X(ant, idx) ((idx) >= 0 && (idx) < n ? (double complex)tx[(int64_t)(ant) * n + (idx)] : 0)
    m -= c->lead;
    double complex u = REF_X(a, i - m);
    if (c->linear) {
        if (j == 0) return u;
        j--;
    }
    if (j < c->K) return u * pow(cabs(u), 2.0 * (j + 1));
    j -= c->K;
    if (j < c->L) return u * pow(cabs(REF_X(a, i - m - (j + 1))), 2);
    j -= c->L;
    return u * pow(cabs(REF_X((a + j + 1) % c->n_tx, i - m)), 2);
#undef REF_X
}

/* coef [n_rx, C] of the ridge normal equations on [b, e), public column order. 0 on success. */
static int ref_fit(double complex *coef, const mn_pim_gmp_cfg *c, const float complex *tx, const float complex *rx,
                   int64_t n, int64_t b, int64_t e)
{
    const int T = (c->linear ? 1 : 0) + c->K + c->L + c->P, MD = c->M + c->lead, C = c->n_tx * MD * T, nrx = c->n_rx;
    double complex *phi = mn_malloc(sizeof *phi * (size_t)C), *G = mn_calloc((size_t)C * C, sizeof *G),
                   *R = mn_calloc((size_t)C * nrx, sizeof *R);
    double *d = mn_malloc(sizeof *d * (size_t)C);
    if (!phi || !G || !R || !d) return -1;
    for (int64_t i = b; i < e; i++) {
        for (int a = 0; a < c->n_tx; a++)
            for (int m = 0; m < MD; m++)
                for (int j = 0; j < T; j++) phi[(a * MD + m) * T + j] = ref_column(c, tx, n, a, m, j, i);
        for (int p = 0; p < C; p++) {
            for (int q = 0; q < C; q++) G[p * C + q] += conj(phi[p]) * phi[q];
            for (int r = 0; r < nrx; r++) R[p * nrx + r] += conj(phi[p]) * (double complex)rx[(int64_t)r * n + i];
        }
    }
    for (int p = 0; p < C; p++) d[p] = sqrt(creal(G[p * C + p]));
    for (int p = 0; p < C; p++) {
        for (int q = 0; q < C; q++) G[p * C + q] /= d[p] * d[q];
        for (int r = 0; r < nrx; r++) R[p * nrx + r] /= d[p];
        G[p * C + p] += c->ridge;
    }
    /* Cholesky G = L L^H in place (lower triangle), then L z = R, L^H x = z. */
    int ok = 1;
    for (int j = 0; j < C && ok; j++) {
        double s = creal(G[j * C + j]);
        for (int k = 0; k < j; k++) s -= creal(G[j * C + k] * conj(G[j * C + k]));
        ok = s > 0;
        double ljj = sqrt(s);
        G[j * C + j] = ljj;
        for (int i = j + 1; i < C && ok; i++) {
            double complex v = G[i * C + j];
            for (int k = 0; k < j; k++) v -= G[i * C + k] * conj(G[j * C + k]);
            G[i * C + j] = v / ljj;
        }
    }
    for (int r = 0; r < nrx && ok; r++) {
        for (int i = 0; i < C; i++) {
            double complex v = R[i * nrx + r];
            for (int k = 0; k < i; k++) v -= G[i * C + k] * R[k * nrx + r];
            R[i * nrx + r] = v / G[i * C + i];
        }
        for (int i = C - 1; i >= 0; i--) {
            double complex v = R[i * nrx + r];
            for (int k = i + 1; k < C; k++) v -= conj(G[k * C + i]) * R[k * nrx + r];
            R[i * nrx + r] = v / G[i * C + i];
        }
        for (int i = 0; i < C; i++) coef[(size_t)r * C + i] = R[i * nrx + r] / d[i];
    }
    mn_free(phi);
    mn_free(G);
    mn_free(R);
    mn_free(d);
    return ok ? 0 : -1;
}

MN_TEST(pim_gmp_fit_matches_reference_normal_equations)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    /* Spans that start after, inside and at the memory depth (history from the data, partly
     * zero, all zero), several 2048-row blocks, and every kind of term; leads whose taps run
     * past the span's end into the data, and past the signal's end (zeros). */
    struct {
        mn_pim_gmp_cfg c;
        int64_t n, b, e;
    } cases[] = {
        {{.n_tx = 3, .n_rx = 2, .M = 3, .K = 2, .L = 1, .P = 1, .linear = true, .ridge = 1e-9}, 700, 41, 650},
        {{.n_tx = 2, .n_rx = 1, .M = 1, .K = 1, .L = 2, .P = 1, .linear = false, .ridge = 1e-9}, 300, 0, 300},
        {{.n_tx = 4, .n_rx = 3, .M = 5, .K = 1, .L = 0, .P = 2, .linear = false, .ridge = 1e-9}, 4600, 2, 4500},
        {{.n_tx = 1, .n_rx = 2, .M = 4, .K = 0, .L = 0, .P = 0, .linear = true, .ridge = 1e-9}, 500, 0, 497},
        {{.n_tx = 2, .n_rx = 2, .M = 3, .K = 1, .L = 1, .P = 1, .lead = 2, .linear = true, .ridge = 1e-9}, 600, 0, 600},
        {{.n_tx = 1, .n_rx = 1, .M = 2, .K = 2, .L = 2, .P = 0, .lead = 5, .linear = true, .ridge = 1e-9}, 3000, 7, 2990},
    };
    mn_rng r;
    mn_rng_seed(&r, t->seed + 17);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const mn_pim_gmp_cfg *c = &cases[k].c;
        const int64_t n = cases[k].n;
        const int C = mn_pim_gmp_columns(c);
        float complex *tx = mn_malloc(sizeof *tx * (size_t)(c->n_tx * n));
        float complex *rx = mn_malloc(sizeof *rx * (size_t)(c->n_rx * n));
        double complex *want = mn_malloc(sizeof *want * (size_t)(c->n_rx * C));
        for (int64_t i = 0; i < c->n_tx * n; i++)
            tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * 0.6f;
        /* A cubic of the first antenna with one sample of memory, plus noise, on every Rx. */
        for (int q = 0; q < c->n_rx; q++)
            for (int64_t i = 0; i < n; i++) {
                float complex x0 = tx[i], x1 = i > 0 ? tx[i - 1] : 0;
                float p1 = crealf(x1) * crealf(x1) + cimagf(x1) * cimagf(x1);
                rx[(int64_t)q * n + i] = (0.5f + 0.1f * (float)q) * x0 * p1 +
                                         CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * 0.05f;
            }
        MN_CHECK(t, ref_fit(want, c, tx, rx, n, cases[k].b, cases[k].e) == 0);
        mn_pim_gmp g;
        MN_CHECK_OK(t, mn_pim_gmp_fit(&g, c, tx, rx, n, (mn_span){cases[k].b, cases[k].e}));
        if (g.coef) {
            double worst = 0, scale = 0;
            for (int i = 0; i < c->n_rx * C; i++) {
                worst = fmax(worst, cabs(g.coef[i] - want[i]));
                scale = fmax(scale, cabs(want[i]));
            }
            MN_CHECK_MSG(t, worst <= 1e-10 * scale,
                         "case %zu (%d columns): max |coef - reference| %.3g, max |coef| %.3g", k, C, worst, scale);
        }
        mn_pim_gmp_free(&g);
        mn_free(tx);
        mn_free(rx);
        mn_free(want);
    }
}

MN_TEST(pim_gmp_fit_and_predict_same_for_any_thread_count)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    /* 16 antennas x 8 terms: 128 base columns + 4 Rx, wide enough to be split into strips. */
    mn_pim_gmp_cfg c = {.n_tx = 16, .n_rx = 4, .M = 2, .K = 3, .L = 2, .P = 2, .linear = true, .ridge = 1e-7};
    const int64_t n = 5000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 5);
    float complex *tx = mn_malloc(sizeof *tx * (size_t)(c.n_tx * n));
    float complex *rx = mn_malloc(sizeof *rx * (size_t)(c.n_rx * n));
    for (int64_t i = 0; i < c.n_tx * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * 0.6f;
    for (int64_t i = 0; i < c.n_rx * n; i++) rx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    const int keep = mn_threads_get();
    mn_pim_gmp g[3];
    for (int k = 0; k < 3; k++) {
        mn_threads_set(k + 1);
        MN_CHECK_OK(t, mn_pim_gmp_fit(&g[k], &c, tx, rx, n, (mn_span){3, n - 1}));
    }
    mn_threads_set(keep);
    const size_t bytes = sizeof *g[0].coef * (size_t)c.n_rx * mn_pim_gmp_columns(&c);
    MN_CHECK(t, g[0].coef && g[1].coef && g[2].coef);
    if (g[0].coef && g[1].coef && g[2].coef) {
        MN_CHECK_MSG(t, !memcmp(g[0].coef, g[1].coef, bytes), "1 and 2 threads differ");
        MN_CHECK_MSG(t, !memcmp(g[0].coef, g[2].coef, bytes), "1 and 3 threads differ");
    }
    /* Prediction too: blocks of outputs go to threads whole, each through the same GEMMs. */
    float complex *p[3];
    for (int k = 0; k < 3; k++) {
        p[k] = mn_malloc(sizeof *p[k] * (size_t)(c.n_rx * n));
        mn_threads_set(k + 1);
        MN_CHECK_OK(t, mn_pim_gmp_predict(&g[0], p[k], tx, n));
    }
    mn_threads_set(keep);
    MN_CHECK_MSG(t, !memcmp(p[0], p[1], sizeof *p[0] * (size_t)(c.n_rx * n)) &&
                        !memcmp(p[0], p[2], sizeof *p[0] * (size_t)(c.n_rx * n)),
                 "predictions differ with the thread count");
    for (int k = 0; k < 3; k++) {
        mn_free(p[k]);
        mn_pim_gmp_free(&g[k]);
    }
    mn_free(tx);
    mn_free(rx);
}

MN_TEST(pim_gmp_fit_alloc_failure_sweep)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    /* Every allocation of the fit can fail cleanly: MN_ERR_NOMEM, nothing left allocated. */
    mn_pim_gmp_cfg c = {.n_tx = 2, .n_rx = 2, .M = 3, .K = 1, .L = 1, .P = 1, .linear = true, .ridge = 1e-7};
    const int64_t n = 400;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 9);
    float complex *tx = mn_malloc(sizeof *tx * (size_t)(c.n_tx * n));
    float complex *rx = mn_malloc(sizeof *rx * (size_t)(c.n_rx * n));
    for (int64_t i = 0; i < c.n_tx * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    for (int64_t i = 0; i < c.n_rx * n; i++) rx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    long live0 = mn_alloc_live();
    int ok = 0;
    for (long k = 1; k < 50 && !ok; k++) {
        mn_pim_gmp g;
        mn_alloc_fail_at(k);
        mn_status st = mn_pim_gmp_fit(&g, &c, tx, rx, n, (mn_span){0, n});
        mn_alloc_fail_at(0);
        if (st == MN_OK) ok = 1;
        else MN_CHECK_MSG(t, st == MN_ERR_NOMEM && !g.coef, "allocation %ld: status %d", k, (int)st);
        mn_pim_gmp_free(&g);
        MN_CHECK_MSG(t, mn_alloc_live() == live0, "leak after failing allocation %ld", k);
    }
    MN_CHECK(t, ok);
    mn_free(tx);
    mn_free(rx);
}

/* A recording whose output is aligned early: rx[i] depends on tx[i + 1] and tx[i + 2].  With
 * white tx no causal basis can know those samples; a lead of 2 holds them, and its fit is exact.
 * The model file keeps the lead, and a file written before the lead existed loads as causal. */
MN_TEST(pim_gmp_lead_fits_an_early_output)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    const int64_t n = 3000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 23);
    float complex *tx = mn_malloc(sizeof *tx * n), *rx = mn_malloc(sizeof *rx * n), *pred = mn_malloc(sizeof *pred * n);
    for (int64_t i = 0; i < n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * (float)M_SQRT1_2;
    for (int64_t i = 0; i < n; i++) {
        double complex a = i + 2 < n ? (double complex)tx[i + 2] : 0, b = i + 1 < n ? (double complex)tx[i + 1] : 0;
        rx[i] = (float complex)(0.8 * a + CMPLX(0, 0.2) * b * creal(b * conj(b)) + 0.3 * (double complex)tx[i]);
    }
    mn_pim_gmp_cfg c = {.n_tx = 1, .n_rx = 1, .M = 4, .K = 1, .linear = true, .ridge = 1e-10};
    double ape[2];
    mn_pim_gmp g[2];
    for (int k = 0; k < 2; k++) {
        c.lead = 2 * k;
        MN_CHECK_OK(t, mn_pim_gmp_fit(&g[k], &c, tx, rx, n, (mn_span){0, n}));
        MN_CHECK(t, g[k].ncols == (4 + 2 * k) * 2);
        MN_CHECK_OK(t, mn_pim_gmp_predict(&g[k], pred, tx, n));
        mn_pim_metrics m;
        MN_CHECK_OK(t, mn_pim_metrics_compute(&m, NULL, rx, pred, 1, n, n, 8));
        ape[k] = m.ape_db;
    }
    /* Causal: only the 0.3 tx[i] term, 0.09 of the power 0.64 + 0.24 + 0.09 (E|x|^6 = 6 for a unit
     * complex Gaussian): 0.42 dB. */
    MN_CHECK_MSG(t, ape[0] < 1.5, "causal GMP on an early output: APE %.2f dB", ape[0]);
    MN_CHECK_MSG(t, ape[1] > 60, "lead 2 on an early output: APE %.2f dB", ape[1]);

    /* The file keeps the lead: the same predictions after a round trip. */
    char path[4200];
    snprintf(path, sizeof path, "%s", mn_test_path(t, "lead.safetensors"));
    MN_CHECK_OK(t, mn_pim_gmp_save(&g[1], path));
    mn_pim_gmp h;
    MN_CHECK_OK(t, mn_pim_gmp_load(&h, path));
    MN_CHECK(t, h.cfg.lead == 2 && h.ncols == g[1].ncols);
    mn_pim_gmp_free(&h);

    /* A file of the earlier format (no "lead" in its basis) is a causal GMP. */
    mn_params p;
    mn_params_init_table(&p);
    int64_t shape[3] = {1, g[0].ncols, 2};
    int ih = mn_params_add(&p, "coef.hi", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    int il = mn_params_add(&p, "coef.lo", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    MN_CHECK(t, ih >= 0 && il >= 0);
    MN_CHECK_OK(t, mn_params_alloc(&p));
    float *hi = mn_params_w(&p, ih);
    for (int i = 0; i < g[0].ncols; i++) {
        hi[2 * i] = (float)creal(g[0].coef[i]);
        hi[2 * i + 1] = (float)cimag(g[0].coef[i]);
    }
    const char *keys[2] = {"mimonet.format", "mimonet.basis"};
    const char *vals[2] = {"pim-gmp", "{\"n_tx\":1,\"n_rx\":1,\"M\":4,\"K\":1,\"L\":0,\"P\":0,\"linear\":true,\"ridge\":1e-10}"};
    snprintf(path, sizeof path, "%s", mn_test_path(t, "old.safetensors"));
    MN_CHECK_OK(t, mn_safetensors_save(path, &p, keys, vals, 2));
    mn_params_free(&p);
    MN_CHECK_OK(t, mn_pim_gmp_load(&h, path));
    MN_CHECK(t, h.cfg.lead == 0 && h.cfg.M == 4 && h.ncols == g[0].ncols);
    mn_pim_gmp_free(&h);

    /* Out-of-range leads are refused. */
    c.lead = -1;
    MN_CHECK(t, mn_pim_gmp_fit(&h, &c, tx, rx, n, (mn_span){0, n}) == MN_ERR_INVALID);
    c.lead = MN_PIM_GMP_MAX_LEAD + 1;
    MN_CHECK(t, mn_pim_gmp_fit(&h, &c, tx, rx, n, (mn_span){0, n}) == MN_ERR_INVALID);
    mn_pim_gmp_free(&g[0]);
    mn_pim_gmp_free(&g[1]);
    mn_free(tx);
    mn_free(rx);
    mn_free(pred);
}
