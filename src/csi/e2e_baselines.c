/* src/csi/e2e_baselines.c — the classical schemes of csi.h scored on the same drops (and the
 * same P, sigma2) as the learned system, for `mimonet csi eval` and the benchmarks.
 *
 * Per drop: perfect-CSI MRT / ZF / RZF / WMMSE use the data-time DL channel itself (upper
 * references); the codebook and analog schemes start from the UE's noisy CSI-time estimate
 * (M orthogonal CSI-RS ports, LS noise sigma2 / P per element: mn_csi_csirs_estimate); SRS-only
 * from the noisy UL observation; every precoder is scored with DESIGN.md's sum SE on the
 * data-time channel.  The BS's linear step of the feedback / SRS schemes is ZF with a 1e-6
 * loading (defined when two users report the same codeword), as docs/csi.md section 4. */
#include "mimonet/csi_e2e.h"

#include <math.h>
#include <string.h>

static const char *const bl_names[MN_E2E_BL_COUNT] = {
    "mrt_perfect", "zf_perfect", "rzf_perfect", "wmmse_perfect", "srs_angle_zf",
    "type1_zf",    "type2_l2_wideband_zf", "type2_l2_zf", "type2_l4_zf", "analog_zf"};

mn_status mn_e2e_baselines(mn_e2e_result *res, const mn_e2e_data *d, const mn_e2e_baseline_cfg *c, mn_rng *rng)
{
    const int K = d->K, M = d->M, F = d->F;
    const size_t n = (size_t)K * M * F;
    const double P = c->P, s2 = c->sigma2;
    const bool geo = c->bs_nh > 0 && c->bs_nv > 0 && c->bs_nh * c->bs_nv == M;
    float complex *Gh = mn_malloc(n * sizeof *Gh), *Hh = mn_malloc(n * sizeof *Hh), *W = mn_malloc(n * sizeof *W);
    int *b = mn_malloc((size_t)K * sizeof *b);
    double sum[MN_E2E_BL_COUNT] = {0}, sum2[MN_E2E_BL_COUNT] = {0}, bits[MN_E2E_BL_COUNT] = {0};
    mn_status st = Gh && Hh && W && b ? MN_OK : mn_error(MN_ERR_NOMEM, "csi baselines: workspace");
    const int sb = c->sb_size > 0 ? c->sb_size : 4;
    mn_csi_type1_cfg t1 = {c->bs_nh, c->bs_nv, 4, c->bs_nv > 1 ? 4 : 1, 1};
    mn_csi_type2_cfg t2w = {.n1 = c->bs_nh, .n2 = c->bs_nv, .o1 = 4, .o2 = c->bs_nv > 1 ? 4 : 1, .L = 2, .n_psk = 8,
                            .sb_amp = false, .sb_size = F};
    mn_csi_type2_cfg t2a = t2w, t2b = t2w;
    t2a.sb_size = sb < F ? sb : F;
    t2b.sb_size = t2a.sb_size;
    t2b.L = M >= 4 ? 4 : 2;
    mn_csi_srs_cfg srs = {.bs_nh = c->bs_nh, .bs_nv = c->bs_nv, .fc_dl_hz = c->fc_dl_hz, .fc_ul_hz = c->fc_ul_hz,
                          .f_design_hz = 0, .mode = MN_CSI_SRS_ANGLE, .oversample = 4};
    const double reg_u = 1e-6;
    for (int i = 0; i < d->n && st == MN_OK; i++) {
        const float complex *Gc = d->csi + i * n, *Gd = d->dat + i * n, *Hu = d->ul + i * n;
        mn_csi_csirs_estimate(Gh, Gc, n, P, s2, rng);
        mn_csi_add_noise(Hh, Hu, n, c->srs_noise, rng);
        for (int s = 0; s < MN_E2E_BL_COUNT && st == MN_OK; s++) {
            bool need_geo = s == MN_E2E_BL_SRS || s == MN_E2E_BL_TYPE1 || s == MN_E2E_BL_TYPE2_WB ||
                            s == MN_E2E_BL_TYPE2_L2 || s == MN_E2E_BL_TYPE2_L4;
            if ((need_geo && !geo) || (s == MN_E2E_BL_WMMSE && !c->wmmse) || K > M) continue;
            for (int k = 0; k < K; k++) b[k] = 0;
            switch ((mn_e2e_baseline)s) {
            case MN_E2E_BL_MRT: st = mn_csi_precode_mrt(W, Gd, K, M, F, P); break;
            case MN_E2E_BL_ZF: st = mn_csi_precode_zf(W, Gd, K, M, F, P); break;
            case MN_E2E_BL_RZF: st = mn_csi_precode_rzf(W, Gd, K, M, F, P, K * s2 / P); break;
            case MN_E2E_BL_WMMSE: st = mn_csi_precode_wmmse(W, NULL, Gd, K, M, F, P, s2, NULL); break;
            case MN_E2E_BL_SRS: st = mn_csi_srs_precode(W, NULL, Hh, K, M, F, P, reg_u, &srs); break;
            case MN_E2E_BL_TYPE1: st = mn_csi_fb_type1(W, b, Gh, K, M, F, P, reg_u, &t1); break;
            case MN_E2E_BL_TYPE2_WB: st = mn_csi_fb_type2(W, b, Gh, K, M, F, P, reg_u, &t2w); break;
            case MN_E2E_BL_TYPE2_L2: st = mn_csi_fb_type2(W, b, Gh, K, M, F, P, reg_u, &t2a); break;
            case MN_E2E_BL_TYPE2_L4: st = mn_csi_fb_type2(W, b, Gh, K, M, F, P, reg_u, &t2b); break;
            case MN_E2E_BL_ANALOG: st = mn_csi_fb_analog(W, Gc, K, M, F, M, P, s2, s2, 0.0, rng); break;
            case MN_E2E_BL_COUNT: break;
            }
            double se = 0;
            if (st == MN_OK) st = mn_csi_sum_se(&se, NULL, Gd, W, K, M, F, P, s2);
            sum[s] += se;
            sum2[s] += se * se;
            for (int k = 0; k < K; k++) bits[s] += (double)b[k] / K;
        }
    }
    for (int s = 0; s < MN_E2E_BL_COUNT; s++) {
        mn_e2e_result *r = &res[s];
        bool need_geo = s == MN_E2E_BL_SRS || s == MN_E2E_BL_TYPE1 || s == MN_E2E_BL_TYPE2_WB ||
                        s == MN_E2E_BL_TYPE2_L2 || s == MN_E2E_BL_TYPE2_L4;
        r->name = bl_names[s];
        r->valid = !(need_geo && !geo) && !(s == MN_E2E_BL_WMMSE && !c->wmmse) && K <= M;
        double m = sum[s] / d->n, var = d->n > 1 ? (sum2[s] - d->n * m * m) / (d->n - 1) : 0.0;
        r->se = r->valid ? m : (double)NAN;
        r->se_stderr = r->valid && var > 0 ? sqrt(var / d->n) : 0.0;
        bool fb = s == MN_E2E_BL_TYPE1 || s == MN_E2E_BL_TYPE2_WB || s == MN_E2E_BL_TYPE2_L2 || s == MN_E2E_BL_TYPE2_L4;
        r->bits_per_ue = fb ? bits[s] / d->n : s == MN_E2E_BL_SRS ? 0.0 : (double)NAN;
        r->pilot_symbols = fb || s == MN_E2E_BL_ANALOG ? M : 0;
    }
    mn_free(Gh);
    mn_free(Hh);
    mn_free(W);
    mn_free(b);
    return st;
}
