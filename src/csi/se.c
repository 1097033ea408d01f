/* src/csi/se.c — the sum-spectral-efficiency metric of DESIGN.md and small helpers shared by the
 * baselines: precoder power normalization, complex Gaussian noise, noisy CSI-RS estimates and
 * dominant-eigenmode receive combining for multi-antenna UEs.
 *
 *   SE = (1/F) sum_f sum_k log2(1 + SINR_k,f),
 *   SINR_k,f = |g_k,f w_k,f|^2 / (sum_{j != k} |g_k,f w_j,f|^2 + sigma^2),
 * with W scaled on each subcarrier so that sum_k ||w_k,f||^2 = P. */
#include "csi_internal.h"

#include <string.h>

mn_status mn_csi_sum_se(double *se, double *se_ue, const float complex *G, const float complex *W,
                        int K, int M, int F, double P, double sigma2)
{
    if (!se || !G || !W) return mn_error(MN_ERR_INVALID, "mn_csi_sum_se: NULL argument");
    if (K < 1 || M < 1 || F < 1)
        return mn_error(MN_ERR_INVALID, "mn_csi_sum_se: K = %d, M = %d, F = %d must be >= 1", K, M, F);
    if (!(P > 0) || !isfinite(P)) return mn_error(MN_ERR_INVALID, "mn_csi_sum_se: P = %g must be > 0", P);
    if (!(sigma2 > 0) || !isfinite(sigma2))
        return mn_error(MN_ERR_INVALID, "mn_csi_sum_se: sigma2 = %g must be > 0", sigma2);
    if (se_ue) memset(se_ue, 0, sizeof(double) * (size_t)K);
    double total = 0.0;
    for (int f = 0; f < F; f++) {
        double e = 0.0;
        for (size_t i = 0; i < (size_t)K * M; i++) {
            double complex w = csi_c2d(W[i * F + f]);
            e += csi_abs2(w);
        }
        if (!(e > 0.0)) continue; /* nothing transmitted: SE 0 on this subcarrier */
        double scale2 = P / e;    /* |c|^2 with c = sqrt(P / sum ||w||^2) */
        for (int k = 0; k < K; k++) {
            double sig = 0.0, intf = 0.0;
            for (int j = 0; j < K; j++) {
                double complex s = 0;
                for (int m = 0; m < M; m++)
                    s += csi_c2d(G[((size_t)k * M + m) * F + f]) * csi_c2d(W[((size_t)j * M + m) * F + f]);
                if (j == k) sig = csi_abs2(s) * scale2;
                else intf += csi_abs2(s) * scale2;
            }
            double r = log2(1.0 + sig / (intf + sigma2));
            total += r;
            if (se_ue) se_ue[k] += r / F;
        }
    }
    *se = total / F;
    if (!isfinite(*se)) return mn_error(MN_ERR_NUMERIC, "mn_csi_sum_se: non-finite SE (NaN in G or W?)");
    return MN_OK;
}

void mn_csi_precoder_normalize(float complex *W, int K, int M, int F, double P)
{
    for (int f = 0; f < F; f++) {
        double e = 0.0;
        for (size_t i = 0; i < (size_t)K * M; i++) e += csi_abs2(csi_c2d(W[i * F + f]));
        if (!(e > 0.0)) continue;
        double s = sqrt(P / e);
        for (size_t i = 0; i < (size_t)K * M; i++) W[i * F + f] = csi_d2c(s * csi_c2d(W[i * F + f]));
    }
}

void mn_csi_add_noise(float complex *out, const float complex *in, size_t n, double var,
                      mn_rng *rng)
{
    double sd = sqrt(var / 2.0);
    for (size_t i = 0; i < n; i++) {
        double re = mn_rng_normal(rng), im = mn_rng_normal(rng);
        out[i] = csi_d2c(csi_c2d(in[i]) + CMPLX(sd * re, sd * im));
    }
}

void mn_csi_csirs_estimate(float complex *Ghat, const float complex *G, size_t n, double P,
                           double sigma2, mn_rng *rng)
{
    /* y = g X + n with X^H X = P I (M orthogonal ports of power P); LS: ghat = y X^H / P
     * = g + n X^H / P, whose noise is CN(0, sigma2 / P) per element. */
    mn_csi_add_noise(Ghat, G, n, sigma2 / P, rng);
}

mn_status mn_csi_combine_dominant(float complex *G, const float complex *H, int K, int Nr, int M,
                                  int F)
{
    if (!G || !H) return mn_error(MN_ERR_INVALID, "mn_csi_combine_dominant: NULL argument");
    if (K < 1 || Nr < 1 || M < 1 || F < 1 || Nr > MN_CSI_MAX_UE_ANT)
        return mn_error(MN_ERR_INVALID, "mn_csi_combine_dominant: K = %d, Nr = %d (1..%d), M = %d, F = %d",
                        K, Nr, MN_CSI_MAX_UE_ANT, M, F);
    if (Nr == 1) {
        memmove(G, H, sizeof(float complex) * (size_t)K * M * F);
        return MN_OK;
    }
    enum { R = MN_CSI_MAX_UE_ANT };
    double complex A[R * R], ws[2 * R * R], u[R];
    double wv[R];
    for (int k = 0; k < K; k++)
        for (int f = 0; f < F; f++) {
            /* A = H_k H_k^H (Nr x Nr); u = its dominant eigenvector = dominant left singular
             * vector of H_k; g = u^H H_k. */
            const float complex *Hk = H + (size_t)k * Nr * M * F;
            for (int a = 0; a < Nr; a++)
                for (int b = 0; b < Nr; b++) {
                    double complex s = 0;
                    for (int m = 0; m < M; m++)
                        s += csi_c2d(Hk[((size_t)a * M + m) * F + f]) * conj(csi_c2d(Hk[((size_t)b * M + m) * F + f]));
                    A[a * Nr + b] = s;
                }
            if (csi_dominant_eigvec(u, A, Nr, ws, wv) < 0)
                return mn_error(MN_ERR_NUMERIC, "mn_csi_combine_dominant: eigensolver failed (user %d, subcarrier %d)", k, f);
            for (int m = 0; m < M; m++) {
                double complex s = 0;
                for (int a = 0; a < Nr; a++) s += conj(u[a]) * csi_c2d(Hk[((size_t)a * M + m) * F + f]);
                G[((size_t)k * M + m) * F + f] = csi_d2c(s);
            }
        }
    return MN_OK;
}
