/* src/csi/analog.c — analog (unquantized) CSI feedback + ZF, the classical reference for
 * feedback without quantization (e.g. Caire, Jindal, Kobayashi, Ravindran, "Multiuser MIMO
 * achievable rates with downlink training and channel state feedback", IEEE TIT 56(6), 2010,
 * analog feedback; and the analog-feedback baseline of Sohrabi, Attiah, Yu 2021).
 *
 * Per subcarrier: the BS sends L <= M pilot symbols X = sqrt(P) F_M[:, :L] (unitary DFT
 * columns, so X^H X = P I_L); user k observes y = g_k X + n, n ~ CN(0, sigma2 I), and feeds y
 * back unquantized through a channel adding CN(0, sigma2_fb); with the i.i.d. unit-power prior
 * E[g^H g] = I the BS's LMMSE estimate is
 *     ghat = y (X^H X + (sigma2 + sigma2_fb) I)^-1 X^H = y X^H / (P + sigma2 + sigma2_fb),
 * followed by ZF across users (the scalar does not change the ZF direction), or RZF with
 * W = ghat^H (ghat ghat^H + reg I)^-1 when reg > 0 (reg = K sigma^2 / P: MMSE loading, since
 * ghat has the scale of the channel). */
#include "csi_internal.h"

mn_status mn_csi_fb_analog(float complex *W, const float complex *G, int K, int M, int F,
                           int n_pilots, double P, double sigma2, double sigma2_fb, double reg,
                           mn_rng *rng)
{
    mn_status st = csi_check_dims("mn_csi_fb_analog", W, G, K, M, F, P);
    if (st != MN_OK) return st;
    if (!rng) return mn_error(MN_ERR_INVALID, "mn_csi_fb_analog: NULL rng");
    if (n_pilots < 1 || n_pilots > M)
        return mn_error(MN_ERR_INVALID, "mn_csi_fb_analog: n_pilots = %d (need 1..M = %d)", n_pilots, M);
    if (!(sigma2 >= 0) || !(sigma2_fb >= 0) || !isfinite(sigma2) || !isfinite(sigma2_fb))
        return mn_error(MN_ERR_INVALID, "mn_csi_fb_analog: sigma2 = %g, sigma2_fb = %g must be >= 0", sigma2, sigma2_fb);
    if (!(reg >= 0) || !isfinite(reg)) return mn_error(MN_ERR_INVALID, "mn_csi_fb_analog: reg = %g must be >= 0", reg);
    const int L = n_pilots;
    size_t km = (size_t)K * M;
    double complex *X = mn_malloc(sizeof(double complex) * ((size_t)M * L + 3 * km + (size_t)L + 2 * (size_t)K * K));
    if (!X) return mn_error(MN_ERR_NOMEM, "mn_csi_fb_analog: out of memory");
    double complex *g = X + (size_t)M * L, *gh = g + km, *wd = gh + km, *y = wd + km, *ws = y + L;
    const double sx = sqrt(P / M);
    for (int m = 0; m < M; m++)
        for (int l = 0; l < L; l++) X[(size_t)m * L + l] = sx * csi_expj(-2.0 * M_PI * (double)m * l / M);
    const double sd = sqrt((sigma2 + sigma2_fb) / 2.0), den = P + sigma2 + sigma2_fb;
    for (int f = 0; f < F && st == MN_OK; f++) {
        csi_gather_rows(g, G, K, M, F, f);
        for (int k = 0; k < K; k++) {
            for (int l = 0; l < L; l++) { /* y = g X + n + n_fb (the two noises add: one draw) */
                double complex s = 0;
                for (int m = 0; m < M; m++) s += g[k * M + m] * X[(size_t)m * L + l];
                y[l] = s + CMPLX(sd * mn_rng_normal(rng), sd * mn_rng_normal(rng));
            }
            for (int m = 0; m < M; m++) {
                double complex s = 0;
                for (int l = 0; l < L; l++) s += y[l] * conj(X[(size_t)m * L + l]);
                gh[k * M + m] = s / den;
            }
        }
        if (csi_rzf_one(wd, gh, K, M, reg, ws) != 0) {
            st = mn_error(MN_ERR_NUMERIC, "mn_csi_fb_analog: estimated G G^H singular on subcarrier %d "
                          "(n_pilots = %d < K?)", f, L);
            break;
        }
        csi_normalize_one(wd, M, K, P);
        csi_scatter_cols(W, wd, K, M, F, f);
    }
    mn_free(X);
    return st;
}
