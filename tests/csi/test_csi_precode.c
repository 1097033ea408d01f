/* tests/csi/test_csi_precode.c — the sum-SE metric and the perfect-CSI precoders (MRT, ZF,
 * RZF, WMMSE), dominant-eigenmode combining and analog feedback, against hand-computed cases
 * and limiting properties. */
#include "mn_test.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/csi.h"

static float complex cf(double re, double im) { return CMPLXF((float)re, (float)im); }
static double cabs2f(float complex z) { return (double)(crealf(z) * crealf(z) + cimagf(z) * cimagf(z)); }

/* G[K][M][F], W[K][M][F] element accessors */
#define AT(X, k, m, f) (X)[((size_t)(k) * M + (m)) * F + (f)]

static void random_g(float complex *G, size_t n, mn_rng *r)
{
    for (size_t i = 0; i < n; i++)
        G[i] = cf(mn_rng_normal(r) * 0.7071067811865476, mn_rng_normal(r) * 0.7071067811865476);
}

/* g_k w_j on subcarrier f */
static double complex gw(const float complex *G, const float complex *W, int K, int M, int F, int k, int j, int f)
{
    (void)K;
    double complex s = 0;
    for (int m = 0; m < M; m++) s += (double complex)AT(G, k, m, f) * (double complex)AT(W, j, m, f);
    return s;
}

MN_TEST(csi_se_hand_case)
{
    enum { K = 2, M = 2, F = 2 };
    float complex G[K * M * F], W[K * M * F];
    /* f = 0: G = I; f = 1: G = [[1, 1], [0, 1]]; W = I on both (sum ||w||^2 = 2 = P) */
    AT(G, 0, 0, 0) = 1; AT(G, 0, 1, 0) = 0; AT(G, 1, 0, 0) = 0; AT(G, 1, 1, 0) = 1;
    AT(G, 0, 0, 1) = 1; AT(G, 0, 1, 1) = 1; AT(G, 1, 0, 1) = 0; AT(G, 1, 1, 1) = 1;
    for (int f = 0; f < F; f++) {
        AT(W, 0, 0, f) = 1; AT(W, 0, 1, f) = 0; AT(W, 1, 0, f) = 0; AT(W, 1, 1, f) = 1;
    }
    /* sigma^2 = 0.5.  f0: SINR = 1 / 0.5 = 2 for both -> 2 log2 3.
     * f1: user 0: |g0 w0|^2 = 1, |g0 w1|^2 = 1 -> SINR 1 / 1.5; user 1: 1 / 0.5 = 2. */
    double want_u0 = (log2(3.0) + log2(1.0 + 1.0 / 1.5)) / 2, want_u1 = log2(3.0);
    double se = 0, ue[2];
    MN_CHECK_OK(t, mn_csi_sum_se(&se, ue, G, W, K, M, F, 2.0, 0.5));
    MN_CHECK_NEAR(t, se, want_u0 + want_u1, 1e-12);
    MN_CHECK_NEAR(t, ue[0], want_u0, 1e-12);
    MN_CHECK_NEAR(t, ue[1], want_u1, 1e-12);
    /* scaling W does not matter: the metric normalizes to P on each subcarrier */
    for (int i = 0; i < K * M * F; i++) W[i] *= 3.0f;
    double se2 = 0;
    MN_CHECK_OK(t, mn_csi_sum_se(&se2, NULL, G, W, K, M, F, 2.0, 0.5));
    MN_CHECK_NEAR(t, se2, se, 1e-12);
    /* P = 8 with the same W: every received power x4: f0 SINR 8; f1 user 0: 4 / (4 + 0.5) */
    double se3 = 0;
    MN_CHECK_OK(t, mn_csi_sum_se(&se3, NULL, G, W, K, M, F, 8.0, 0.5));
    MN_CHECK_NEAR(t, se3, (2 * log2(9.0) + log2(1.0 + 4.0 / 4.5) + log2(9.0)) / 2, 1e-12);
    /* bad arguments */
    MN_CHECK(t, mn_csi_sum_se(&se, NULL, G, W, K, M, F, 0.0, 0.5) == MN_ERR_INVALID);
    MN_CHECK(t, mn_csi_sum_se(&se, NULL, G, W, K, M, F, 1.0, 0.0) == MN_ERR_INVALID);
}

MN_TEST(csi_zf_hand_2x2)
{
    enum { K = 2, M = 2, F = 1 };
    /* G = [[1, 0.5], [0, 1]]: G^-1 = [[1, -0.5], [0, 1]], so w0 = (1, 0), w1 = (-0.5, 1),
     * sum ||w||^2 = 2.25; scaled by c = sqrt(P / 2.25): G W = c I. */
    float complex G[4] = {1, 0.5f, 0, 1}, W[4];
    const double P = 1.0, s2 = 0.1;
    MN_CHECK_OK(t, mn_csi_precode_zf(W, G, K, M, F, P));
    double c = sqrt(P / 2.25);
    MN_CHECK_NEAR(t, cabs((double complex)AT(W, 0, 0, 0) - c), 0, 1e-6);
    MN_CHECK_NEAR(t, cabs((double complex)AT(W, 0, 1, 0)), 0, 1e-6);
    MN_CHECK_NEAR(t, cabs((double complex)AT(W, 1, 0, 0) + 0.5 * c), 0, 1e-6);
    MN_CHECK_NEAR(t, cabs((double complex)AT(W, 1, 1, 0) - c), 0, 1e-6);
    MN_CHECK_NEAR(t, cabs(gw(G, W, K, M, F, 0, 1, 0)), 0, 1e-7);
    MN_CHECK_NEAR(t, cabs(gw(G, W, K, M, F, 1, 0, 0)), 0, 1e-7);
    double se = 0;
    MN_CHECK_OK(t, mn_csi_sum_se(&se, NULL, G, W, K, M, F, P, s2));
    MN_CHECK_NEAR(t, se, 2 * log2(1 + P / (2.25 * s2)), 1e-5);
    /* complex case G = [[1, j], [0, 2]]: G^-1 = [[1, -j/2], [0, 1/2]]; ||W||^2 = 1 + 1/4 + 1/4 */
    float complex G2[4] = {1, cf(0, 1), 0, 2};
    MN_CHECK_OK(t, mn_csi_precode_zf(W, G2, K, M, F, P));
    MN_CHECK_NEAR(t, cabs(gw(G2, W, K, M, F, 0, 1, 0)), 0, 1e-7);
    MN_CHECK_NEAR(t, cabs(gw(G2, W, K, M, F, 1, 0, 0)), 0, 1e-7);
    MN_CHECK_NEAR(t, cabs(gw(G2, W, K, M, F, 0, 0, 0)), sqrt(P / 1.5), 1e-6);
    /* random 4 x 8 over 3 subcarriers: interference vanishes, equal effective gains */
    {
        enum { K4 = 4, M8 = 8, F3 = 3 };
        mn_rng r;
        mn_rng_seed(&r, t->seed);
        float complex Gr[K4 * M8 * F3], Wr[K4 * M8 * F3];
        random_g(Gr, K4 * M8 * F3, &r);
        MN_CHECK_OK(t, mn_csi_precode_zf(Wr, Gr, K4, M8, F3, 2.0));
        for (int f = 0; f < F3; f++) {
            double pw = 0;
            for (int i = 0; i < K4 * M8; i++) pw += cabs2f(Wr[(size_t)i * F3 + f]);
            MN_CHECK_NEAR(t, pw, 2.0, 1e-5);
            double g00 = cabs(gw(Gr, Wr, K4, M8, F3, 0, 0, f));
            for (int k = 0; k < K4; k++)
                for (int j = 0; j < K4; j++) {
                    double v = cabs(gw(Gr, Wr, K4, M8, F3, k, j, f));
                    if (k != j) MN_CHECK_NEAR(t, v, 0, 1e-5);
                    else MN_CHECK_NEAR(t, v, g00, 1e-5);
                }
        }
    }
    /* singular channel: identical users */
    float complex Gs[4] = {1, 2, 1, 2};
    MN_CHECK(t, mn_csi_precode_zf(W, Gs, K, M, F, P) == MN_ERR_NUMERIC);
}

MN_TEST(csi_rzf_limits)
{
    enum { K = 3, M = 6, F = 4 };
    mn_rng r;
    mn_rng_seed(&r, t->seed + 1);
    float complex G[K * M * F], Wz[K * M * F], Wr[K * M * F], Wm[K * M * F];
    random_g(G, K * M * F, &r);
    MN_CHECK_OK(t, mn_csi_precode_zf(Wz, G, K, M, F, 1.0));
    MN_CHECK_OK(t, mn_csi_precode_mrt(Wm, G, K, M, F, 1.0));
    /* sigma^2 -> 0: reg = K sigma^2 / P -> 0 gives ZF */
    MN_CHECK_OK(t, mn_csi_precode_rzf(Wr, G, K, M, F, 1.0, K * 1e-9 / 1.0));
    double dz = 0, dm = 0;
    for (int i = 0; i < K * M * F; i++) dz = fmax(dz, (double)cabsf(Wr[i] - Wz[i]));
    MN_CHECK_NEAR(t, dz, 0, 1e-4);
    /* sigma^2 -> inf: W -> G^H / reg, i.e. MRT after normalization */
    MN_CHECK_OK(t, mn_csi_precode_rzf(Wr, G, K, M, F, 1.0, K * 1e9 / 1.0));
    for (int i = 0; i < K * M * F; i++) dm = fmax(dm, (double)cabsf(Wr[i] - Wm[i]));
    MN_CHECK_NEAR(t, dm, 0, 1e-4);
    /* and MRT is not ZF here (the two limits differ) */
    double dzm = 0;
    for (int i = 0; i < K * M * F; i++) dzm = fmax(dzm, (double)cabsf(Wz[i] - Wm[i]));
    MN_CHECK(t, dzm > 0.05);
    /* MRT direction: w_k = c g_k^H */
    MN_CHECK_NEAR(t, cabs((double complex)AT(Wm, 1, 2, 3) / conj((double complex)AT(G, 1, 2, 3)) -
                          (double complex)AT(Wm, 0, 0, 3) / conj((double complex)AT(G, 0, 0, 3))), 0, 1e-5);
}

MN_TEST(csi_wmmse_monotone_and_low_snr)
{
    enum { K = 3, M = 4, F = 3, IT = 60 };
    mn_rng r;
    mn_rng_seed(&r, t->seed + 2);
    float complex G[K * M * F], W[K * M * F], Wz[K * M * F], Wr[K * M * F];
    double trace[IT + 1];
    const double snr_db[3] = {-10, 5, 20};
    for (int si = 0; si < 3; si++) {
        random_g(G, K * M * F, &r);
        const double P = 1.0, s2 = pow(10.0, -snr_db[si] / 10);
        mn_csi_wmmse_cfg cfg = {.iters = IT, .tol = 0, .init_mrt = false};
        MN_CHECK_OK(t, mn_csi_precode_wmmse(W, trace, G, K, M, F, P, s2, &cfg));
        for (int i = 0; i < IT && !isnan(trace[i + 1]); i++) /* NAN: all subcarriers stopped */
            MN_CHECK_MSG(t, trace[i + 1] >= trace[i] - 1e-9 * fabs(trace[i]),
                         "WMMSE rate decreased at iteration %d: %.12g -> %.12g (SNR %g dB)", i, trace[i], trace[i + 1], snr_db[si]);
        double se_w = 0, se_z = 0, se_r = 0;
        MN_CHECK_OK(t, mn_csi_sum_se(&se_w, NULL, G, W, K, M, F, P, s2));
        MN_CHECK_OK(t, mn_csi_precode_zf(Wz, G, K, M, F, P));
        MN_CHECK_OK(t, mn_csi_sum_se(&se_z, NULL, G, Wz, K, M, F, P, s2));
        MN_CHECK_OK(t, mn_csi_precode_rzf(Wr, G, K, M, F, P, K * s2 / P));
        MN_CHECK_OK(t, mn_csi_sum_se(&se_r, NULL, G, Wr, K, M, F, P, s2));
        if (t->verbose) printf("    SNR %g dB: ZF %.4f RZF %.4f WMMSE %.4f (init %.4f)\n", snr_db[si], se_z, se_r, se_w, trace[0]);
        /* init is RZF at power P (trace in double, se_r from the float precoder) */
        MN_CHECK_NEAR(t, trace[0], se_r, 1e-6 * se_r);
        MN_CHECK(t, se_w >= se_r - 1e-6 * se_r);
        MN_CHECK(t, se_w >= trace[IT] - 1e-6 * se_w); /* final scaling to P does not lose rate */
        if (snr_db[si] < 0) MN_CHECK_MSG(t, se_w > se_z * 1.2, "low SNR: WMMSE %.4f should beat ZF %.4f clearly", se_w, se_z);
        /* MRT init reaches a comparable point */
        cfg.init_mrt = true;
        MN_CHECK_OK(t, mn_csi_precode_wmmse(W, trace, G, K, M, F, P, s2, &cfg));
        for (int i = 0; i < IT && !isnan(trace[i + 1]); i++) MN_CHECK(t, trace[i + 1] >= trace[i] - 1e-9 * fabs(trace[i]));
    }
    /* K = 1: the sum-rate optimum is MRT, SE = log2(1 + P ||g||^2 / sigma^2) (hand-solvable) */
    {
        enum { M3 = 3 };
        float complex g[M3] = {1, cf(0, 2), cf(-1, 1)}, w[M3];
        double se = 0;
        MN_CHECK_OK(t, mn_csi_precode_wmmse(w, NULL, g, 1, M3, 1, 2.0, 0.5, NULL));
        MN_CHECK_OK(t, mn_csi_sum_se(&se, NULL, g, w, 1, M3, 1, 2.0, 0.5));
        MN_CHECK_NEAR(t, se, log2(1 + 2.0 * 7.0 / 0.5), 1e-6);
    }
}

MN_TEST(csi_combine_dominant)
{
    /* rank one: H = u v^T -> ||g|| = ||u|| ||v|| and g parallel to v^T */
    enum { K = 1, NR = 3, M = 4, F = 2 };
    float complex H[K * NR * M * F], G[K * M * F];
    const double complex u[NR] = {1, CMPLX(0, 1), CMPLX(2, -1)}, v[M] = {0.5, -1, CMPLX(0, 2), CMPLX(1, 1)};
    double nu = 0, nv = 0;
    for (int a = 0; a < NR; a++) nu += creal(u[a] * conj(u[a]));
    for (int m = 0; m < M; m++) nv += creal(v[m] * conj(v[m]));
    for (int a = 0; a < NR; a++)
        for (int m = 0; m < M; m++)
            for (int f = 0; f < F; f++) H[((size_t)a * M + m) * F + f] = (float complex)(u[a] * v[m] * (f + 1.0));
    MN_CHECK_OK(t, mn_csi_combine_dominant(G, H, K, NR, M, F));
    for (int f = 0; f < F; f++) {
        double ng = 0;
        double complex ip = 0;
        for (int m = 0; m < M; m++) {
            ng += cabs2f(G[(size_t)m * F + f]);
            ip += (double complex)G[(size_t)m * F + f] * conj(v[m]);
        }
        MN_CHECK_NEAR(t, sqrt(ng), sqrt(nu * nv) * (f + 1), 1e-4);
        MN_CHECK_NEAR(t, cabs(ip) / sqrt(ng * nv), 1.0, 1e-6);
    }
    /* diagonal: singular values 3 and 1 -> the combiner keeps the stronger row */
    enum { NR2 = 2, M2 = 3 };
    float complex H2[NR2 * M2] = {0, 1, 0, 0, 0, 3}, G2[M2];
    MN_CHECK_OK(t, mn_csi_combine_dominant(G2, H2, 1, NR2, M2, 1));
    MN_CHECK_NEAR(t, cabsf(G2[0]), 0, 1e-6);
    MN_CHECK_NEAR(t, cabsf(G2[1]), 0, 1e-6);
    MN_CHECK_NEAR(t, cabsf(G2[2]), 3, 1e-6);
}

MN_TEST(csi_analog_feedback_limits)
{
    enum { K = 3, M = 8, F = 2 };
    mn_rng r;
    mn_rng_seed(&r, t->seed + 3);
    float complex G[K * M * F], W[K * M * F], Wz[K * M * F];
    random_g(G, K * M * F, &r);
    MN_CHECK_OK(t, mn_csi_precode_zf(Wz, G, K, M, F, 1.0));
    /* noiseless, full pilots: ghat = g X X^H / (P + 0) = g, so analog + ZF is ZF */
    MN_CHECK_OK(t, mn_csi_fb_analog(W, G, K, M, F, M, 1.0, 1e-14, 0.0, 0.0, &r));
    double d = 0;
    for (int i = 0; i < K * M * F; i++) d = fmax(d, (double)cabsf(W[i] - Wz[i]));
    MN_CHECK_NEAR(t, d, 0, 1e-4);
    /* noisy feedback costs rate; fewer pilots than users is refused by ZF */
    double se_z = 0, se_a = 0;
    MN_CHECK_OK(t, mn_csi_fb_analog(W, G, K, M, F, M, 1.0, 0.1, 0.1, 0.0, &r));
    MN_CHECK_OK(t, mn_csi_sum_se(&se_a, NULL, G, W, K, M, F, 1.0, 0.1));
    MN_CHECK_OK(t, mn_csi_sum_se(&se_z, NULL, G, Wz, K, M, F, 1.0, 0.1));
    MN_CHECK(t, se_a < se_z);
    MN_CHECK(t, mn_csi_fb_analog(W, G, K, M, F, 2, 1.0, 0.1, 0.0, 0.0, &r) == MN_ERR_NUMERIC);
    MN_CHECK(t, mn_csi_fb_analog(W, G, K, M, F, M + 1, 1.0, 0.1, 0.0, 0.0, &r) == MN_ERR_INVALID);
}

MN_TEST(csi_baselines_alloc_failure)
{
    /* every allocation of the baselines can fail: MN_ERR_NOMEM, a message, and no leak */
    enum { K = 2, M = 8, F = 4 };
    mn_rng r;
    mn_rng_seed(&r, t->seed + 4);
    float complex G[K * M * F], W[K * M * F];
    random_g(G, K * M * F, &r);
    mn_csi_type1_cfg t1 = {4, 2, 4, 4, 1};
    mn_csi_type2_cfg t2 = {.n1 = 4, .n2 = 2, .o1 = 4, .o2 = 4, .L = 2, .n_psk = 8, .sb_size = 2};
    mn_csi_srs_cfg sc = {.bs_nh = 4, .bs_nv = 2, .fc_dl_hz = 3.5e9, .fc_ul_hz = 3.3e9, .mode = MN_CSI_SRS_COVMAP};
    long live = mn_alloc_live();
    for (int which = 0; which < 6; which++) {
        for (int n = 1; n <= 4; n++) {
            mn_alloc_fail_at(n);
            mn_status st = MN_OK;
            switch (which) {
            case 0: st = mn_csi_precode_rzf(W, G, K, M, F, 1.0, 0.1); break;
            case 1: st = mn_csi_precode_wmmse(W, NULL, G, K, M, F, 1.0, 0.1, NULL); break;
            case 2: st = mn_csi_fb_type1(W, NULL, G, K, M, F, 1.0, 0.0, &t1); break;
            case 3: st = mn_csi_fb_type2(W, NULL, G, K, M, F, 1.0, 0.0, &t2); break;
            case 4: st = mn_csi_srs_precode(W, NULL, G, K, M, F, 1.0, 0.0, &sc); break;
            case 5: st = mn_csi_fb_analog(W, G, K, M, F, M, 1.0, 0.1, 0.0, 0.0, &r); break;
            }
            long attempted = mn_alloc_count();
            mn_alloc_fail_at(0);
            if (attempted >= n) MN_CHECK_MSG(t, st == MN_ERR_NOMEM, "baseline %d, failing allocation %d: status %d", which, n, (int)st);
            else MN_CHECK_OK(t, st);
            MN_CHECK(t, mn_alloc_live() == live);
        }
    }
}
