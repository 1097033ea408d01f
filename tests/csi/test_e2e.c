/* tests/csi/test_e2e.c — the end-to-end learned CSI system: the SE loss and its gradient (double
 * finite differences), the power normalization, the CSI-RS observation against a direct sum and
 * its backward, whole-pipeline gradients along random directions, feedback bit counts,
 * checkpoints, frozen tables in the fusion stage, reproducibility, configuration errors, and a
 * short training run that must beat channel-blind baselines measured on the same drops. */
#include "mn_test.h"

#include <complex.h>
#include <stdio.h>
#include <string.h>

#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"
#include "../../src/csi/e2e_internal.h"

static double complex crandn(mn_rng *r)
{
    return CMPLX(mn_rng_normal(r) * 0.7071067811865476, mn_rng_normal(r) * 0.7071067811865476);
}

/* ---------------------------------------------------------------- SE loss */

MN_TEST(csi_e2e_se_matches_metric_and_hand_case)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x5e1);
    enum { K = 3, M = 4, F = 3 };
    double W[2 * K * M * F];
    double complex Gd[K * M * F];
    float complex Gf[K * M * F], Wc[K * M * F];
    float Wf[2 * K * M * F];
    for (int i = 0; i < K * M * F; i++) {
        Gd[i] = crandn(&r);
        Gf[i] = CMPLXF((float)creal(Gd[i]), (float)cimag(Gd[i]));
        Gd[i] = CMPLX((double)crealf(Gf[i]), (double)cimagf(Gf[i])); /* the same numbers in both */
    }
    for (int k = 0; k < K; k++)
        for (int i = 0; i < M * F; i++) {
            Wf[(2 * k) * M * F + i] = (float)mn_rng_normal(&r);
            Wf[(2 * k + 1) * M * F + i] = (float)mn_rng_normal(&r);
            W[(2 * k) * M * F + i] = (double)Wf[(2 * k) * M * F + i];
            W[(2 * k + 1) * M * F + i] = (double)Wf[(2 * k + 1) * M * F + i];
            Wc[k * M * F + i] = CMPLXF(Wf[(2 * k) * M * F + i], Wf[(2 * k + 1) * M * F + i]);
        }
    /* the same number as the metric of csi.h (independently written, complex layout) */
    double want = 0;
    MN_CHECK_OK(t, mn_csi_sum_se(&want, NULL, Gf, Wc, K, M, F, 2.0, 0.3));
    double got = mn_csi_se_grad_d(NULL, W, Gd, K, M, F, 2.0, 0.3);
    MN_CHECK_NEAR(t, got, want, 1e-9);
    MN_CHECK_NEAR(t, mn_csi_se_grad(NULL, 1.0f, Wf, Gf, K, M, F, 2.0, 0.3), want, 1e-9);
    /* hand case: one user, one antenna: SE = log2(1 + P |g|^2 / s2), whatever w (normalized),
     * so the gradient is zero */
    double w1[2] = {0.3, -1.7}, dw1[2];
    double complex g1 = CMPLX(0.6, 0.8); /* |g| = 1 */
    MN_CHECK_NEAR(t, mn_csi_se_grad_d(dw1, w1, &g1, 1, 1, 1, 4.0, 0.5), log2(1.0 + 4.0 / 0.5), 1e-12);
    MN_CHECK_NEAR(t, dw1[0], 0.0, 1e-12);
    MN_CHECK_NEAR(t, dw1[1], 0.0, 1e-12);
    /* a silent subcarrier contributes 0 and gets 0 gradient */
    double Wz[2 * K * M * F], dWz[2 * K * M * F];
    memcpy(Wz, W, sizeof Wz);
    for (int c = 0; c < 2 * K; c++)
        for (int m = 0; m < M; m++) Wz[(c * M + m) * F + 1] = 0.0;
    for (int i = 0; i < 2 * K * M * F; i++) dWz[i] = 99.0;
    double s_all = mn_csi_se_grad_d(dWz, Wz, Gd, K, M, F, 2.0, 0.3);
    double s_ref = 0;
    for (int c = 0; c < 2 * K; c++)
        for (int m = 0; m < M; m++) MN_CHECK(t, dWz[(c * M + m) * F + 1] == 0.0);
    for (int k = 0; k < K; k++)
        for (int m = 0; m < M; m++) Wc[(k * M + m) * F + 1] = 0;
    MN_CHECK_OK(t, mn_csi_sum_se(&s_ref, NULL, Gf, Wc, K, M, F, 2.0, 0.3));
    MN_CHECK_NEAR(t, s_all, s_ref, 1e-6);
}

MN_TEST(csi_e2e_se_gradient_finite_differences)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x6a1);
    enum { K = 3, M = 5, F = 2, N = 2 * K * M * F };
    double W[N], dW[N];
    double complex G[K * M * F];
    for (int i = 0; i < K * M * F; i++) G[i] = crandn(&r);
    for (int i = 0; i < N; i++) W[i] = mn_rng_normal(&r);
    /* low and high SNR: interference-limited and noise-limited regimes */
    const double s2s[2] = {0.05, 3.0};
    for (int si = 0; si < 2; si++) {
        mn_csi_se_grad_d(dW, W, G, K, M, F, 1.5, s2s[si]);
        double worst = 0.0, gmax = 0.0;
        for (int i = 0; i < N; i++) {
            const double h = 1e-6, w0 = W[i];
            W[i] = w0 + h;
            double fp = mn_csi_se_grad_d(NULL, W, G, K, M, F, 1.5, s2s[si]);
            W[i] = w0 - h;
            double fm = mn_csi_se_grad_d(NULL, W, G, K, M, F, 1.5, s2s[si]);
            W[i] = w0;
            double num = (fp - fm) / (2 * h);
            worst = fmax(worst, fabs(num - dW[i]));
            gmax = fmax(gmax, fabs(dW[i]));
        }
        /* central differences in double: truncation h^2 f''' ~ 1e-12, rounding 1e-16/1e-6 */
        MN_CHECK_MSG(t, worst < 1e-7 * fmax(1.0, gmax), "sigma2 %g: max |num - ana| = %.3g (max |grad| %.3g)", s2s[si],
                     worst, gmax);
        MN_CHECK(t, gmax > 1e-3); /* not a vacuous check */
    }
    /* the float version accumulates scale * gradient */
    float Wf[N], dWf[N];
    float complex Gf[K * M * F];
    for (int i = 0; i < K * M * F; i++) {
        Gf[i] = CMPLXF((float)creal(G[i]), (float)cimag(G[i]));
        G[i] = CMPLX((double)crealf(Gf[i]), (double)cimagf(Gf[i]));
    }
    for (int i = 0; i < N; i++) {
        Wf[i] = (float)W[i];
        W[i] = (double)Wf[i];
        dWf[i] = 1.0f;
    }
    mn_csi_se_grad_d(dW, W, G, K, M, F, 1.5, 0.05);
    mn_csi_se_grad(dWf, -0.5f, Wf, Gf, K, M, F, 1.5, 0.05);
    double e = 0;
    for (int i = 0; i < N; i++) e = fmax(e, fabs((double)dWf[i] - (1.0 - 0.5 * dW[i])));
    MN_CHECK_MSG(t, e < 1e-5, "float gradient off by %.3g", e);
}

typedef struct {
    float *in, *out, *r;
    int K, M, F;
} pn_ctx;

static double pn_loss(void *p)
{
    pn_ctx *c = p;
    size_t n = (size_t)2 * c->K * c->M * c->F;
    mn_csi_pnorm_forward(c->out, c->in, c->K, c->M, c->F, 2.0);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)c->r[i] * (double)c->out[i];
    return s;
}

MN_TEST(csi_e2e_power_normalization)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x9a);
    enum { K = 2, M = 3, F = 4, N = 2 * K * M * F };
    float in[N], out[N], rr[N], din[N];
    for (int i = 0; i < N; i++) {
        in[i] = (float)mn_rng_normal(&r);
        rr[i] = (float)mn_rng_normal(&r);
        din[i] = 0;
    }
    mn_csi_pnorm_forward(out, in, K, M, F, 2.0);
    for (int f = 0; f < F; f++) {
        double e = 0;
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) e += (double)out[(c * M + m) * F + f] * (double)out[(c * M + m) * F + f];
        MN_CHECK_NEAR(t, e, 2.0, 1e-5);
    }
    mn_csi_pnorm_backward(din, rr, in, K, M, F, 2.0);
    pn_ctx c = {in, out, rr, K, M, F};
    size_t wi;
    double err = mn_gradcheck(pn_loss, &c, in, din, N, 1e-3, 1e-1, &wi);
    MN_CHECK_MSG(t, err < 1e-2, "pnorm backward rel err %.3g at %zu", err, wi);
}

/* ---------------------------------------------------------------- RZF head */

typedef struct {
    float *h, *w, *r;
    double complex *ws;
    int K, M, F;
    double alpha;
} rzf_ctx;

static double rzf_loss(void *p)
{
    rzf_ctx *c = p;
    size_t n = (size_t)2 * c->K * c->M * c->F;
    mn_csi_rzf_head_forward(c->w, c->h, c->K, c->M, c->F, c->alpha, c->ws);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)c->r[i] * (double)c->w[i];
    return s;
}

/* complex entry (k, m, f) of the precoder-layout tensor x [2K][M][F] */
static double complex at(const float *x, int k, int m, int M, int F)
{
    return CMPLX((double)x[((2 * k) * M + m) * F], (double)x[((2 * k + 1) * M + m) * F]);
}

MN_TEST(csi_e2e_rzf_head)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x42f);
    enum { K = 3, M = 5, F = 2, N = 2 * K * M * F };
    float h[N], w[N], rr[N], dh[N];
    double complex ws[2 * K * M + 4 * K * K];
    MN_CHECK(t, mn_csi_rzf_head_ws(K, M) <= sizeof ws / sizeof *ws);
    for (int i = 0; i < N; i++) {
        h[i] = (float)mn_rng_normal(&r);
        rr[i] = (float)mn_rng_normal(&r);
    }
    /* one user: w = conj(h) / (|h|^2 + alpha), by hand */
    {
        /* [Re row][m] then [Im row][m]: Re h = (3, 0), Im h = (0, 4), so h = (3, 4i), |h|^2 = 25 */
        float h1[4] = {3.0f, 0.0f, 0.0f, 4.0f}, w1[4];
        MN_CHECK(t, mn_csi_rzf_head_forward(w1, h1, 1, 2, 1, 5.0, ws) == 0);
        MN_CHECK_NEAR(t, w1[0], 3.0 / 30.0, 1e-7);  /* Re w[0] */
        MN_CHECK_NEAR(t, w1[1], 0.0, 1e-7);         /* Re w[1] */
        MN_CHECK_NEAR(t, w1[2], 0.0, 1e-7);         /* Im w[0] */
        MN_CHECK_NEAR(t, w1[3], -4.0 / 30.0, 1e-7); /* Im w[1]: conj(4i) / 30 */
        h1[2] = NAN;
        MN_CHECK(t, mn_csi_rzf_head_forward(w1, h1, 1, 2, 1, 5.0, ws) != 0);
    }
    /* the defining identity on every subcarrier: H W = H H^H (H H^H + alpha I)^-1, i.e.
     * (H H^H + alpha I) H W = H H^H; with alpha -> 0 it is zero forcing, H W = I */
    const double alphas[2] = {0.7, 1e-9};
    for (int ai = 0; ai < 2; ai++) {
        MN_CHECK(t, mn_csi_rzf_head_forward(w, h, K, M, F, alphas[ai], ws) == 0);
        double worst = 0;
        for (int f = 0; f < F; f++) {
            double complex G[K][K], HW[K][K];
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) {
                    double complex g = 0, hw = 0;
                    for (int m = 0; m < M; m++) {
                        g += at(h + f, i, m, M, F) * conj(at(h + f, j, m, M, F));
                        hw += at(h + f, i, m, M, F) * at(w + f, j, m, M, F);
                    }
                    G[i][j] = g;
                    HW[i][j] = hw;
                }
            for (int i = 0; i < K; i++)
                for (int j = 0; j < K; j++) {
                    double complex lhs = alphas[ai] * HW[i][j];
                    for (int l = 0; l < K; l++) lhs += G[i][l] * HW[l][j];
                    worst = fmax(worst, cabs(lhs - G[i][j]) / cabs(G[i][i]));
                    if (ai == 1) worst = fmax(worst, cabs(HW[i][j] - (i == j ? 1.0 : 0.0)));
                }
        }
        MN_CHECK_MSG(t, worst < 1e-5, "alpha %g: identity off by %.3g", alphas[ai], worst);
    }
    /* the backward against central differences of L = <r, W(H)> */
    for (int ai = 0; ai < 2; ai++) {
        const double alpha = ai ? 3.0 : 0.2;
        MN_CHECK(t, mn_csi_rzf_head_backward(dh, rr, h, K, M, F, alpha, ws) == 0);
        rzf_ctx c = {h, w, rr, ws, K, M, F, alpha};
        size_t wi;
        double err = mn_gradcheck(rzf_loss, &c, h, dh, N, 1e-3, 1e-1, &wi);
        MN_CHECK_MSG(t, err < 1e-2, "alpha %g: RZF head backward rel err %.3g at %zu", alpha, err, wi);
    }
    /* a non-finite estimate is reported, not turned into a precoder */
    h[3] = NAN;
    MN_CHECK(t, mn_csi_rzf_head_forward(w, h, K, M, F, 0.5, ws) != 0);
}

/* ---------------------------------------------------------------- observation */

static mn_e2e_cfg small_cfg(int K, int M, int F, bool srs_pilots)
{
    mn_e2e_cfg c;
    mn_e2e_cfg_default(&c, K, M, F);
    c.pilots = 3;
    c.beams = 2;
    c.bits = 4;
    c.q = 2;
    c.srs_pilots = srs_pilots;
    c.width = 16; /* layer norm over few channels is too curved for finite differences */
    c.blocks = 1;
    c.hidden = 8;
    return c;
}

typedef struct {
    mn_e2e *e;
    float *praw, *y, *r;
    const float complex *G;
} obs_ctx;

static double obs_loss(void *p)
{
    obs_ctx *c = p;
    size_t n = (size_t)c->e->cfg.K * c->e->ny;
    memset(c->y, 0, n * sizeof(float));
    csi_e2e_obs_forward(c->e, 0, c->praw, c->G, c->y);
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)c->r[i] * (double)c->y[i];
    return s;
}

MN_TEST(csi_e2e_csirs_observation)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x0b5);
    const int K = 2, M = 4, F = 5;
    /* Nc = 1: one sum over the band; Nc = 2: subbands [0, 2) and [2, 5); Nc = F: per subcarrier */
    for (int Nc = 1; Nc <= F; Nc += (Nc == 2 ? 3 : 1)) {
        mn_e2e_cfg c = small_cfg(K, M, F, false);
        c.P = 2.0;
        c.subbands = Nc;
        mn_e2e e;
        MN_CHECK_OK(t, mn_e2e_init(&e, &c, 1, &r));
        const int L = e.L, Nb = e.Nb, n = e.proj_len, ny = e.ny;
        MN_CHECK(t, L == 3 && Nb == 2 && n == 2 * Nb * M + 2 * L * F + 2 * Nb * L && ny == 2 * L * Nc);
        MN_CHECK(t, mn_model_in_channels(&e.enc) == ny);
        float praw[128], dpraw[128], y[2 * 2 * 3 * 5], rr[2 * 2 * 3 * 5];
        float complex G[2 * 4 * 5];
        for (int i = 0; i < n; i++) praw[i] = (float)mn_rng_normal(&r);
        for (int i = 0; i < K * M * F; i++) {
            double complex z = crandn(&r);
            G[i] = CMPLXF((float)creal(z), (float)cimag(z));
        }
        for (int i = 0; i < K * ny; i++) rr[i] = (float)mn_rng_normal(&r);
        obs_ctx oc = {&e, praw, y, rr, G};
        obs_loss(&oc);
        /* Reference, straight from the definitions (double): A, Pi, Phi from the layout, the
         * pilot x_l[m, f] = sqrt(F P) Phi[f,l] X[m,l] / (||Phi[:,l]|| ||X[:,l]||), and
         * y[l, c] = |S_c|^-1/2 sum_{f in S_c} sum_m x g with S_c = [c F / Nc, (c+1) F / Nc). */
        const int oF = 2 * Nb * M, oP = oF + 2 * L * F;
        for (int l = 0; l < L; l++) {
            double complex X[4];
            double nx = 0, np = 0;
            for (int m = 0; m < M; m++) {
                X[m] = 0;
                for (int b = 0; b < Nb; b++)
                    X[m] += CMPLX((double)praw[(2 * b) * M + m], (double)praw[(2 * b + 1) * M + m]) *
                            CMPLX((double)praw[oP + 2 * (b * L + l)], (double)praw[oP + 2 * (b * L + l) + 1]);
                nx += creal(X[m] * conj(X[m]));
            }
            for (int f = 0; f < F; f++) {
                double complex ph = CMPLX((double)praw[oF + (2 * l) * F + f], (double)praw[oF + (2 * l + 1) * F + f]);
                np += creal(ph * conj(ph));
            }
            double energy = 0;
            for (int f = 0; f < F; f++)
                for (int m = 0; m < M; m++) {
                    double complex ph = CMPLX((double)praw[oF + (2 * l) * F + f], (double)praw[oF + (2 * l + 1) * F + f]);
                    double complex x = sqrt(F * c.P) * ph * X[m] / sqrt(nx * np);
                    energy += creal(x * conj(x));
                }
            MN_CHECK_NEAR(t, energy, F * c.P, 1e-9); /* the pilot power budget: P per subcarrier */
            for (int k = 0; k < K; k++)
                for (int sb = 0; sb < Nc; sb++) {
                    int f0 = sb * F / Nc, f1 = (sb + 1) * F / Nc;
                    double complex acc = 0;
                    for (int f = f0; f < f1; f++) {
                        double complex ph = CMPLX((double)praw[oF + (2 * l) * F + f], (double)praw[oF + (2 * l + 1) * F + f]);
                        for (int m = 0; m < M; m++)
                            acc += sqrt(F * c.P) * ph * X[m] / sqrt(nx * np) * (double complex)G[(k * M + m) * F + f];
                    }
                    acc /= sqrt((double)(f1 - f0));
                    MN_CHECK_NEAR(t, y[k * ny + 2 * (l * Nc + sb)], creal(acc), 1e-5);
                    MN_CHECK_NEAR(t, y[k * ny + 2 * (l * Nc + sb) + 1], cimag(acc), 1e-5);
                }
        }
        /* backward against finite differences over the raw projection output */
        csi_e2e_obs_backward(&e, 0, dpraw, rr, G);
        size_t wi;
        double err = mn_gradcheck(obs_loss, &oc, praw, dpraw, (size_t)n, 1e-3, 1e-1, &wi);
        MN_CHECK_MSG(t, err < 1e-2, "Nc = %d: observation backward rel err %.3g at %zu", Nc, err, wi);
        mn_e2e_free(&e);
    }
}

/* ---------------------------------------------------------------- whole-pipeline gradients */

static mn_e2e_data tiny_data(int n, int K, int nh, int nv, int F, uint64_t seed)
{
    mn_csi_chan_cfg c;
    mn_csi_chan_cfg_default(&c);
    c.bs_nh = nh;
    c.bs_nv = nv;
    c.users = K;
    c.n_sc = F;
    c.sc_spacing_hz = 1.44e6; /* 4 x 360 kHz: frequency selective over few subcarriers */
    mn_csi_chan *ch = mn_csi_chan_create(&c);
    mn_e2e_data d;
    mn_e2e_data_alloc(&d, n, K, nh * nv, F);
    mn_e2e_data_simulate(&d, ch, seed, 2e-3, 1);
    mn_csi_chan_destroy(ch);
    return d;
}

typedef struct {
    mn_e2e *e;
    const mn_e2e_data *d;
    mn_e2e_scheme s;
    bool both;
    mn_rng rng; /* the same noise on every evaluation */
} sys_ctx;

static double sys_loss(sys_ctx *c)
{
    mn_rng r = c->rng;
    double se_fb = 0, se_srs = 0;
    double m = mn_e2e_forward(c->e, c->s, c->d, c->both, true, &r, &se_fb, &se_srs);
    return c->both ? -(se_fb + se_srs) : -m;
}

static double sys_loss_v(void *c) { return sys_loss(c); }

MN_TEST(csi_e2e_pipeline_gradients)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x717);
    const int K = 2, F = 3;
    mn_e2e_data d = tiny_data(3, K, 2, 2, F, 11);
    mn_e2e_cfg c = small_cfg(K, 4, F, true);
    c.srs_noise = 0.01;
    /* q = 0 (no quantizer) makes every network differentiable, so the whole chain is checked:
     * proj -> pilots -> observation -> enc -> {fb, fusion's feedback input} -> fus -> SE.  With
     * the quantizer, the gradient upstream of it is the documented STE surrogate, whose pieces
     * are checked in test_axis_nodes.c (nn_quant_ste_in_model). */
    c.q = 0;
    c.subbands = 2;
    /* both heads: the networks' outputs as precoders, and as channel estimates through RZF */
    for (int hd = 0; hd < MN_E2E_HEAD_COUNT; hd++) {
        c.head = (mn_e2e_head)hd;
        mn_e2e e;
        MN_CHECK_OK(t, mn_e2e_init(&e, &c, 4, &r));
        /* a generic point: the fusion gates start symmetric (1/2, 1/2), where the two candidates'
         * gradients look alike and a swapped path could hide */
        mn_params *fp = &e.fus.params;
        float *gb = mn_params_w(fp, mn_params_find(fp, "fus.gfb.bias")), *sb = mn_params_w(fp, mn_params_find(fp, "fus.gsrs.bias"));
        for (int i = 0; i < 2 * K; i++) {
            gb[i] = 0.9f + 0.1f * (float)i;
            sb[i] = 0.2f - 0.05f * (float)i;
        }
        struct {
            mn_e2e_scheme s;
            bool both;
            int net;
        } cases[] = {{MN_E2E_FUSION, false, 0}, {MN_E2E_FUSION, false, 1}, {MN_E2E_FUSION, false, 2},
                     {MN_E2E_FUSION, false, 3}, {MN_E2E_FUSION, false, 4}, {MN_E2E_FUSION, true, 0},
                     {MN_E2E_FUSION, true, 2},  {MN_E2E_FUSION, true, 3},  {MN_E2E_FEEDBACK, false, 0},
                     {MN_E2E_FEEDBACK, false, 1}, {MN_E2E_FEEDBACK, false, 2}, {MN_E2E_SRS, false, 3}};
        for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
            sys_ctx sc = {&e, &d, cases[ci].s, cases[ci].both, r};
            for (int i = 0; i < MN_E2E_NETS; i++) mn_params_zero_grad(&mn_e2e_net(&e, i, NULL)->params);
            sys_loss(&sc);
            MN_CHECK_OK(t, mn_e2e_backward(&e, 31u));
            const char *name;
            mn_model *m = mn_e2e_net(&e, cases[ci].net, &name);
            float *g = mn_malloc(m->params.total * sizeof *g);
            memcpy(g, m->params.g, m->params.total * sizeof *g);
            for (int p = 0; p < m->params.n; p++) {
                const mn_param_def *pd = &m->params.defs[p];
                /* Scalars (the pooling heads' biases) have one direction only, so the best-of-five
                 * below cannot step around a kink or a rounding-dominated quotient; their gradient
                 * path is the same as their weights', which are checked. */
                if (!pd->trainable || pd->numel < 2) continue;
                /* The nets use LeakyReLU: a difference step can straddle a kink, which spoils that
                 * direction only.  A wrong gradient (a missed path, a factor, a sign) is wrong along
                 * every direction, so the best of five directions must agree. */
                /* Steps: small enough that kinks and layer-norm curvature rarely matter (measured:
                 * errors of 1e-2 at h = 1e-2 fall to 1e-4..1e-5 at 1e-3..1e-4), large enough for
                 * float noise; a kink closer than 5e-4 to the point (it happens: one downstream
                 * unit spoils every direction) is passed by the smaller step. */
                double gn = 0, err = (double)INFINITY;
                for (int k = 0; k < 5; k++)
                    for (int hi = 0; hi < 2; hi++)
                        err = fmin(err, mn_gradcheck_dir(sys_loss_v, &sc, m->params.w + pd->offset, g + pd->offset, pd->numel,
                                                         hi ? 1.5e-4 : 5e-4, &r, &gn));
                /* float forward: ~1e-6 relative noise in the loss (~1e-5 absolute) over steps of
                 * 1e-4 is ~5e-2 absolute in the quotient: skip tensors whose gradient is too small
                 * to measure against it, and allow more where it is small (measured: the errors of
                 * such tensors wander between 1e-4 and 5e-2 as h goes from 1e-2 to 3e-5, the mark
                 * of rounding, not of a wrong gradient, which is wrong at every h) */
                if (gn < 1e-4) continue;
                const double tol = gn >= 1e-2 ? 2e-2 : 6e-2;
                MN_CHECK_MSG(t, err < tol, "head %s, scheme %s%s, %s: %s rel err %.3g (|g| %.3g)", mn_e2e_head_name(c.head),
                             mn_e2e_scheme_name(cases[ci].s), cases[ci].both ? " (both)" : "", name, pd->name, err, gn);
            }
            mn_free(g);
        }
        mn_e2e_free(&e);
    }
    mn_e2e_data_free(&d);
}

/* ---------------------------------------------------------------- bits */

MN_TEST(csi_e2e_feedback_bits)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0xb17);
    const int K = 2, F = 2;
    mn_e2e_data d = tiny_data(3, K, 2, 1, F, 5);
    for (int q = 1; q <= 3; q++) {
        mn_e2e_cfg c = small_cfg(K, 2, F, false);
        c.q = q;
        c.bits = 6; /* 6, 3 or 2 features */
        mn_e2e e;
        MN_CHECK_OK(t, mn_e2e_init(&e, &c, 3, &r));
        MN_CHECK(t, e.nfeat * q == 6);
        MN_CHECK(t, mn_model_out_channels(&e.enc) == 6 / q);
        MN_CHECK(t, mn_model_in_channels(&e.fb) == K * 6 / q); /* the BS receives K x B bits */
        mn_rng nr = r;
        mn_e2e_forward(&e, MN_E2E_FEEDBACK, &d, false, false, &nr, NULL, NULL);
        uint8_t bits[3 * 2 * 6];
        mn_e2e_bits(&e, bits);
        /* decode the bits (MSB first) to levels: they must equal what the BS consumed */
        const float *lv = e.fb.nodes[0].y;
        int bad = 0;
        for (int b = 0; b < 3; b++)
            for (int k = 0; k < K; k++)
                for (int j = 0; j < 6 / q; j++) {
                    int idx = 0;
                    for (int s = 0; s < q; s++) {
                        uint8_t bit = bits[(b * K + k) * 6 + j * q + s];
                        bad += bit > 1;
                        idx = 2 * idx + bit;
                    }
                    int Lm1 = (1 << q) - 1;
                    float want = (float)(2 * idx - Lm1) / (float)Lm1;
                    bad += lv[(b * K + k) * (6 / q) + j] != want;
                }
        MN_CHECK_MSG(t, bad == 0, "q = %d: %d bits/levels disagree", q, bad);
        mn_e2e_free(&e);
    }
    mn_e2e_data_free(&d);
}

/* ---------------------------------------------------------------- checkpoints and freezing */

MN_TEST(csi_e2e_checkpoint_round_trip)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0xc4e);
    const int K = 2, F = 3;
    mn_e2e_data d = tiny_data(2, K, 2, 2, F, 9);
    mn_e2e_cfg c = small_cfg(K, 4, F, true);
    mn_e2e a, b;
    MN_CHECK_OK(t, mn_e2e_init(&a, &c, 2, &r));
    char path[512];
    snprintf(path, sizeof path, "%s/m.safetensors", mn_test_tmpdir(t));
    const char *k[1] = {"note"}, *v[1] = {"test"};
    MN_CHECK_OK(t, mn_e2e_save(&a, MN_E2E_FUSION, path, k, v, 1));
    mn_e2e_scheme s = MN_E2E_SRS;
    MN_CHECK_OK(t, mn_e2e_load(&b, &s, path, 2));
    MN_CHECK(t, s == MN_E2E_FUSION && b.cfg.bits == c.bits && b.cfg.q == c.q && b.cfg.srs_pilots);
    mn_rng r1 = r, r2 = r;
    double sa = mn_e2e_forward(&a, MN_E2E_FUSION, &d, false, false, &r1, NULL, NULL);
    double sb = mn_e2e_forward(&b, MN_E2E_FUSION, &d, false, false, &r2, NULL, NULL);
    MN_CHECK(t, sa == sb && isfinite(sa));
    mn_e2e_free(&b);
    /* a file of another kind is refused with a message */
    mn_params p;
    mn_params_init_table(&p);
    int64_t sh[1] = {2};
    mn_params_add(&p, "x", 1, sh, MN_INIT_ZEROS, 0, 1, true);
    mn_params_alloc(&p);
    MN_CHECK_OK(t, mn_safetensors_save(path, &p, NULL, NULL, 0));
    mn_params_free(&p);
    MN_CHECK(t, mn_e2e_load(&b, &s, path, 2) == MN_ERR_FORMAT);
    MN_CHECK(t, strstr(mn_error_msg(), "csi") != NULL);
    mn_e2e_free(&a);
    mn_e2e_data_free(&d);
}

/* Stage 2 steps only the fusion table: the branch tables stay bit-identical. */
MN_TEST(csi_e2e_fusion_stage_freezes_branches)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0xf2e);
    const int K = 2, F = 3;
    mn_e2e_data d = tiny_data(8, K, 2, 2, F, 3);
    mn_e2e_cfg c = small_cfg(K, 4, F, true);
    mn_e2e e;
    MN_CHECK_OK(t, mn_e2e_init(&e, &c, 4, &r));
    float *before[MN_E2E_NETS];
    for (int i = 0; i < MN_E2E_NETS; i++) {
        mn_params *p = &mn_e2e_net(&e, i, NULL)->params;
        before[i] = mn_malloc(p->total * sizeof(float));
        memcpy(before[i], p->w, p->total * sizeof(float));
    }
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.steps[0] = 0;
    tc.steps[1] = 5;
    tc.steps[2] = 0;
    tc.batch = 4;
    tc.warmup = 1;
    MN_CHECK_OK(t, mn_e2e_train(&e, MN_E2E_FUSION, &d, NULL, &tc, NULL, NULL, &r));
    for (int i = 0; i < MN_E2E_NETS; i++) {
        const char *nm;
        mn_params *p = &mn_e2e_net(&e, i, &nm)->params;
        bool same = memcmp(before[i], p->w, p->total * sizeof(float)) == 0;
        MN_CHECK_MSG(t, same == (i != 4), "network %s %s in the fusion stage", nm, same ? "did not change" : "changed");
        mn_free(before[i]);
    }
    mn_e2e_free(&e);
    mn_e2e_data_free(&d);
}

/* ---------------------------------------------------------------- reproducibility */

static void train_few(mn_e2e *e, const mn_e2e_data *d, uint64_t seed, int threads)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    mn_e2e_cfg c = small_cfg(2, 4, 3, true);
    mn_e2e_init(e, &c, 4, &r);
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.steps[0] = 3;
    tc.steps[1] = 2;
    tc.steps[2] = 2;
    tc.batch = 4;
    tc.warmup = 1;
    int keep = mn_threads_get();
    mn_threads_set(threads);
    mn_e2e_train(e, MN_E2E_FUSION, d, NULL, &tc, NULL, NULL, &r);
    mn_threads_set(keep);
}

MN_TEST(csi_e2e_reproducible_seeds)
{
    mn_e2e_data d = tiny_data(8, 2, 2, 2, 3, 21);
    mn_e2e a, b, c;
    train_few(&a, &d, 5, 1);
    train_few(&b, &d, 5, 2);
    train_few(&c, &d, 6, 1);
    bool same_ab = true, same_ac = true;
    for (int i = 0; i < MN_E2E_NETS; i++) {
        const mn_params *pa = &mn_e2e_net(&a, i, NULL)->params, *pb = &mn_e2e_net(&b, i, NULL)->params;
        const mn_params *pc = &mn_e2e_net(&c, i, NULL)->params;
        same_ab = same_ab && pa->total == pb->total && memcmp(pa->w, pb->w, pa->total * sizeof(float)) == 0;
        same_ac = same_ac && memcmp(pa->w, pc->w, pa->total * sizeof(float)) == 0;
    }
    MN_CHECK_MSG(t, same_ab, "the same seed (1 vs 2 threads) gave different trained weights");
    MN_CHECK_MSG(t, !same_ac, "a different seed gave the same weights");
    mn_e2e_free(&a);
    mn_e2e_free(&b);
    mn_e2e_free(&c);
    mn_e2e_data_free(&d);
}

/* ---------------------------------------------------------------- errors */

MN_TEST(csi_e2e_config_errors)
{
    mn_e2e_cfg c;
    mn_rng r;
    mn_rng_seed(&r, 1);
    mn_e2e e;
    const char *fields[] = {"K", "pilots", "beams", "bits", "q", "sigma2", "width", "blocks", "hidden", "P", "head"};
    /* (q = 0 is valid: unquantized features) */
    for (int i = 0; i < 11; i++) {
        c = small_cfg(2, 4, 3, true);
        switch (i) {
        case 0: c.K = 0; break;
        case 1: c.pilots = 0; break;
        case 2: c.beams = 5; break;
        case 3: c.bits = 5; break; /* not a multiple of q = 2 */
        case 4: c.q = 9; break;
        case 5: c.sigma2 = 0; break;
        case 6: c.width = 3; break;
        case 7: c.blocks = 0; break;
        case 8: c.hidden = 0; break;
        case 9: c.P = -1; break;
        case 10: c.head = MN_E2E_HEAD_COUNT; break;
        }
        MN_CHECK_MSG(t, mn_e2e_init(&e, &c, 2, &r) == MN_ERR_INVALID, "field %s accepted", fields[i]);
        MN_CHECK_MSG(t, strstr(mn_error_msg(), fields[i]) != NULL, "message '%s' does not name %s", mn_error_msg(), fields[i]);
    }
    /* data of the wrong shape, a batch above the built maximum */
    c = small_cfg(2, 4, 3, false);
    MN_CHECK_OK(t, mn_e2e_init(&e, &c, 2, &r));
    mn_e2e_data d = tiny_data(3, 2, 2, 2, 3, 1);
    MN_CHECK(t, isnan(mn_e2e_forward(&e, MN_E2E_FEEDBACK, &d, false, false, &r, NULL, NULL)));
    mn_e2e_data v = mn_e2e_data_view(&d, 0, 2);
    MN_CHECK(t, isfinite(mn_e2e_forward(&e, MN_E2E_FEEDBACK, &v, false, false, &r, NULL, NULL)));
    MN_CHECK(t, isnan(mn_e2e_forward(&e, MN_E2E_FEEDBACK, &v, true, false, &r, NULL, NULL))); /* both needs fusion */
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.batch = 3;
    MN_CHECK(t, mn_e2e_train(&e, MN_E2E_FEEDBACK, &d, NULL, &tc, NULL, NULL, &r) == MN_ERR_INVALID);
    mn_e2e_free(&e);
    mn_e2e_data_free(&d);
    MN_CHECK(t, mn_e2e_scheme_from_name("fusion") == MN_E2E_FUSION && mn_e2e_scheme_from_name("x") == -1);
}

MN_TEST(csi_e2e_init_alloc_failure_sweep)
{
    /* every allocation of building the system can fail cleanly, with nothing leaked */
    long live0 = mn_alloc_live();
    int ok = 0;
    mn_e2e_cfg c = small_cfg(2, 4, 3, true);
    for (long n = 1; n < 2000 && !ok; n++) {
        mn_rng r;
        mn_rng_seed(&r, 1);
        mn_e2e e;
        mn_alloc_fail_at(n);
        mn_status st = mn_e2e_init(&e, &c, 2, &r);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            ok = 1;
            mn_e2e_free(&e);
        } else
            MN_CHECK_MSG(t, st == MN_ERR_NOMEM, "n=%ld status %d", n, (int)st);
        MN_CHECK_MSG(t, mn_alloc_live() == live0, "leak after failing allocation %ld", n);
    }
    MN_CHECK(t, ok);
}

/* ---------------------------------------------------------------- it learns */

/* Mean SE over drops of one fixed precoder per drop: random i.i.d. W (channel-blind). */
static double random_precoder_se(const mn_e2e_data *d, mn_rng *r)
{
    const int K = d->K, M = d->M, F = d->F;
    float complex *W = mn_malloc((size_t)K * M * F * sizeof *W);
    double s = 0;
    for (int i = 0; i < d->n; i++) {
        for (int j = 0; j < K * M * F; j++) {
            double complex z = crandn(r);
            W[j] = CMPLXF((float)creal(z), (float)cimag(z));
        }
        double se = 0;
        mn_csi_sum_se(&se, NULL, d->dat + (size_t)i * K * M * F, W, K, M, F, 1.0, 0.1);
        s += se;
    }
    mn_free(W);
    return s / d->n;
}

MN_TEST(csi_e2e_short_training_beats_blind_baselines)
{
    /* SAY-like, scaled down: 8-antenna ULA, K = 2, 2-path SV, flat, L = 4 pilots, 4 bits/UE,
     * 10 dB.  Measured, not assumed: the trained feedback scheme against (a) the same system
     * untrained, (b) random channel-blind precoders on the same drops. */
    mn_csi_chan_cfg cc;
    mn_csi_chan_cfg_say(&cc);
    cc.bs_nh = 8;
    mn_csi_chan *ch = mn_csi_chan_create(&cc);
    mn_e2e_data tr, va;
    MN_CHECK_OK(t, mn_e2e_data_alloc(&tr, 2000, 2, 8, 1));
    MN_CHECK_OK(t, mn_e2e_data_alloc(&va, 400, 2, 8, 1));
    MN_CHECK_OK(t, mn_e2e_data_simulate(&tr, ch, 100, 0.0, 1));
    MN_CHECK_OK(t, mn_e2e_data_simulate(&va, ch, 200, 0.0, 1));
    mn_csi_chan_destroy(ch);
    mn_e2e_cfg c;
    mn_e2e_cfg_default(&c, 2, 8, 1);
    c.pilots = 4;
    c.bits = 4;
    c.srs_pilots = false;
    c.hidden = 64;
    mn_rng r;
    mn_rng_seed(&r, t->seed ^ 0x1ea);
    mn_e2e e;
    MN_CHECK_OK(t, mn_e2e_init(&e, &c, 64, &r));
    mn_rng vr;
    mn_rng_seed(&vr, 77);
    double se0 = 0, se1 = 0, sd = 0;
    MN_CHECK_OK(t, mn_e2e_eval(&e, MN_E2E_FEEDBACK, &va, &vr, &se0, NULL));
    /* one thread: many tiny parallel regions cost more than they save on a shared machine */
    int keep = mn_threads_get();
    mn_threads_set(1);
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.steps[0] = 400;
    tc.batch = 64;
    tc.lr[0] = 3e-3f;
    tc.eval_every = 0;
    MN_CHECK_OK(t, mn_e2e_train(&e, MN_E2E_FEEDBACK, &tr, NULL, &tc, NULL, NULL, &r));
    mn_threads_set(keep);
    mn_rng_seed(&vr, 77);
    MN_CHECK_OK(t, mn_e2e_eval(&e, MN_E2E_FEEDBACK, &va, &vr, &se1, &sd));
    mn_rng_seed(&vr, 78);
    double blind = random_precoder_se(&va, &vr);
    if (t->verbose) printf("    untrained %.3f, random precoder %.3f, trained %.3f +- %.3f bit/s/Hz\n", se0, blind, se1, sd);
    MN_CHECK_MSG(t, se1 > 1.5 * blind && se1 > se0 + 1.0,
                 "trained feedback SE %.3f vs random precoder %.3f and untrained %.3f", se1, blind, se0);
    mn_e2e_free(&e);
    mn_e2e_data_free(&tr);
    mn_e2e_data_free(&va);
}
