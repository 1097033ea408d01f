/* src/csi/srs_baseline.c — SRS-only FDD precoding from partial (angle) reciprocity.
 *
 * The BS sees each user's UL channel rows h_f (noisy SRS, [M] per subcarrier, UL carrier).  In
 * precoder space x_f = conj(h_f), the wideband UL covariance is R = (1/F) sum_f x_f x_f^H.  A
 * ray with direction cosines (uy, uz) = (sin ZoD sin AoD, cos ZoD) contributes
 * a_l(u)_s = exp(j kappa_l (ih uy + iv uz)), kappa_l = pi f_l / f_design, to a link's channel
 * row, so its matched precoder is b_l(u) = conj(a_l(u)) / sqrt(M).  Angles and powers are
 * reciprocal across the duplex gap but the array response scales with f_l, so:
 *   ANGLE:  u* = argmax_u b_ul(u)^H R b_ul(u) (Bartlett spectrum on an oversampled grid of
 *           direction cosines), DL beam = b_dl(u*);
 *   COVMAP: R_dl = sum_u S(u) b_dl(u) b_dl(u)^H with S(u) = b_ul(u)^H R b_ul(u), the UL angular
 *           power spectrum mapped to DL (UL->DL covariance conversion in the angle domain, cf.
 *           Miretti, Cavalcante, Stanczak, "FDD massive MIMO channel spatial covariance
 *           conversion using projection methods", ICASSP 2018), DL beam = its dominant
 *           eigenvector;
 *   NAIVE:  the dominant eigenvector of R itself (correct only without a duplex gap).
 * Then (regularized) ZF across users with g_k ~ beam_k^H.  Grid: uy = -1 + 2 i / (os nh), i < os nh, and
 * uz likewise (uz = 0 only when nv = 1), keeping uy^2 + uz^2 <= 1. */
#include "csi_internal.h"

#include <string.h>

static void steer(double complex *b, double uy, double uz, double kap, int nh, int nv)
{
    double sc = 1.0 / sqrt((double)nh * nv);
    for (int ih = 0; ih < nh; ih++)
        for (int iv = 0; iv < nv; iv++) b[ih * nv + iv] = sc * csi_expj(-kap * (ih * uy + iv * uz));
}

static double quad(const double complex *R, const double complex *b, int M)
{
    double s = 0;
    for (int i = 0; i < M; i++) {
        double complex t = 0;
        for (int j = 0; j < M; j++) t += R[i * M + j] * b[j];
        s += creal(conj(b[i]) * t);
    }
    return s;
}

mn_status mn_csi_srs_precode(float complex *W, float complex *beams, const float complex *Hul,
                             int K, int M, int F, double P, double reg, const mn_csi_srs_cfg *cfg)
{
    mn_status st = csi_check_dims("mn_csi_srs_precode", W, Hul, K, M, F, P);
    if (st != MN_OK) return st;
    if (!(reg >= 0) || !isfinite(reg)) return mn_error(MN_ERR_INVALID, "mn_csi_srs_precode: reg = %g must be >= 0", reg);
    if (!cfg) return mn_error(MN_ERR_INVALID, "mn_csi_srs_precode: NULL cfg");
    if (cfg->bs_nh < 1 || cfg->bs_nv < 1 || cfg->bs_nh * cfg->bs_nv != M)
        return mn_error(MN_ERR_INVALID, "mn_csi_srs_precode: bs_nh * bs_nv = %d x %d != M = %d",
                        cfg->bs_nh, cfg->bs_nv, M);
    if (!(cfg->fc_dl_hz > 0) || !(cfg->fc_ul_hz > 0) || !(cfg->f_design_hz >= 0))
        return mn_error(MN_ERR_INVALID, "mn_csi_srs_precode: carriers must be > 0 (fc_dl %g, fc_ul %g, f_design %g)",
                        cfg->fc_dl_hz, cfg->fc_ul_hz, cfg->f_design_hz);
    if (cfg->mode != MN_CSI_SRS_ANGLE && cfg->mode != MN_CSI_SRS_COVMAP && cfg->mode != MN_CSI_SRS_NAIVE)
        return mn_error(MN_ERR_INVALID, "mn_csi_srs_precode: mode = %d", (int)cfg->mode);
    const int nh = cfg->bs_nh, nv = cfg->bs_nv;
    const int os = cfg->oversample > 0 ? cfg->oversample : 4;
    const double fd = cfg->f_design_hz > 0 ? cfg->f_design_hz : cfg->fc_dl_hz;
    const double kul = M_PI * cfg->fc_ul_hz / fd, kdl = M_PI * cfg->fc_dl_hz / fd;
    const int gh = os * nh, gv = nv > 1 ? os * nv : 1;
    size_t mm = (size_t)M * M;
    double complex *R = mn_malloc(sizeof(double complex) * (4 * mm + 4 * (size_t)M + (size_t)K * M + 2 * (size_t)K * K));
    double *wv = mn_malloc(sizeof(double) * (size_t)M);
    if (!R || !wv) {
        mn_free(R);
        mn_free(wv);
        return mn_error(MN_ERR_NOMEM, "mn_csi_srs_precode: out of memory");
    }
    double complex *Rd = R + mm, *ews = Rd + mm, *b = ews + 2 * mm, *bd = b + M, *beam = bd + M,
                   *tmp = beam + M, *Gh = tmp + M, *kws = Gh + (size_t)K * M;
    double complex *Wd = ews; /* reused after the beams are found: M x K <= 2 M^2 */
    for (int k = 0; k < K && st == MN_OK; k++) {
        memset(R, 0, sizeof(double complex) * mm);
        for (int f = 0; f < F; f++) {
            for (int m = 0; m < M; m++) tmp[m] = conj(csi_c2d(Hul[((size_t)k * M + m) * F + f]));
            for (int i = 0; i < M; i++)
                for (int j = 0; j < M; j++) R[i * M + j] += tmp[i] * conj(tmp[j]) / F;
        }
        if (cfg->mode == MN_CSI_SRS_NAIVE) {
            if (csi_dominant_eigvec(beam, R, M, ews, wv) < 0)
                st = mn_error(MN_ERR_NUMERIC, "mn_csi_srs_precode: eigensolver failed (user %d)", k);
        } else {
            double best = -1, by = 0, bz = 0;
            if (cfg->mode == MN_CSI_SRS_COVMAP) memset(Rd, 0, sizeof(double complex) * mm);
            for (int i = 0; i < gh; i++)
                for (int j = 0; j < gv; j++) {
                    double uy = -1.0 + 2.0 * i / gh, uz = gv > 1 ? -1.0 + 2.0 * j / gv : 0.0;
                    if (uy * uy + uz * uz > 1.0) continue;
                    steer(b, uy, uz, kul, nh, nv);
                    double S = quad(R, b, M);
                    if (S > best) {
                        best = S;
                        by = uy;
                        bz = uz;
                    }
                    if (cfg->mode == MN_CSI_SRS_COVMAP) {
                        steer(bd, uy, uz, kdl, nh, nv);
                        for (int r = 0; r < M; r++)
                            for (int c = 0; c < M; c++) Rd[r * M + c] += S * bd[r] * conj(bd[c]);
                    }
                }
            if (cfg->mode == MN_CSI_SRS_ANGLE) steer(beam, by, bz, kdl, nh, nv);
            else if (csi_dominant_eigvec(beam, Rd, M, ews, wv) < 0)
                st = mn_error(MN_ERR_NUMERIC, "mn_csi_srs_precode: eigensolver failed (user %d)", k);
        }
        for (int m = 0; m < M; m++) {
            Gh[k * M + m] = conj(beam[m]); /* g_k ~ beam_k^H */
            if (beams) beams[(size_t)k * M + m] = csi_d2c(beam[m]);
        }
    }
    if (st == MN_OK) {
        if (csi_rzf_one(Wd, Gh, K, M, reg, kws) != 0) {
            st = mn_error(MN_ERR_NUMERIC, "mn_csi_srs_precode: the users' beams are linearly dependent "
                          "(two users in the same direction? use reg > 0)");
        } else {
            csi_normalize_one(Wd, M, K, P);
            for (int f = 0; f < F; f++) csi_scatter_cols(W, Wd, K, M, F, f);
        }
    }
    mn_free(R);
    mn_free(wv);
    return st;
}
