/* src/csi/sv.c — Saleh–Valenzuela style mmWave channel: Lp single-ray paths per user,
 *     H_k = sum_l alpha_l b(aoa_l) a(aod_l, zod_l)^T exp(-j 2 pi f tau_l),
 * alpha_l ~ CN(0, 1/Lp) (so E ||h||^2 = M per single-antenna user, E|h_s|^2 = 1),
 * AoD ~ U[sv_aod_min, sv_aod_max], ZoD ~ 90 deg + U[-w, w], AoA ~ U[-180, 180), ZoA = 90 deg,
 * delays ~ U[0, sv_max_delay_sec].  This is the geometric channel of Sohrabi, Attiah, Yu,
 * "Deep learning for distributed channel feedback and multiuser precoding in FDD massive MIMO"
 * (IEEE TWC 2021, arXiv 2007.06512, eq. 2), made frequency-selective by the optional delays as
 * in D3L-HB (Gao et al., JSAC 2022).  Each path is its own delay group (cluster).
 * The phase of alpha_l is uniform and independent of |alpha_l|, so it is drawn as the ray's
 * initial phase with the other models' (chan.c); for an FDD pair |alpha_l|, the angles and the
 * delays are shared and the UL phase is an independent draw. */
#include "csi_internal.h"

void csi_sv_draw_user(mn_csi_chan *q, int k, mn_rng *rng)
{
    const mn_csi_chan_cfg *c = &q->cfg;
    const double d2r = M_PI / 180.0;
    const int L = c->sv_paths;
    mn_csi_ray *r = q->rays + (size_t)k * q->max_rays;
    double *tau = q->tau + (size_t)k * q->max_cl;
    for (int l = 0; l < L; l++) {
        double re = mn_rng_normal(rng), im = mn_rng_normal(rng);
        double aod = c->sv_aod_min_deg + (c->sv_aod_max_deg - c->sv_aod_min_deg) * mn_rng_uniform(rng);
        double zod = 90.0 + c->sv_zod_halfwidth_deg * (2.0 * mn_rng_uniform(rng) - 1.0);
        double aoa = 360.0 * mn_rng_uniform(rng) - 180.0;
        tau[l] = c->sv_max_delay_sec * mn_rng_uniform(rng);
        r[l] = (mn_csi_ray){.power = 0.5 * (re * re + im * im) / L, /* |alpha|^2, alpha ~ CN(0, 1/L) */
                            .aod = csi_wrap_az(aod * d2r),
                            .zod = csi_wrap_zen(zod * d2r),
                            .aoa = csi_wrap_az(aoa * d2r),
                            .zoa = M_PI / 2,
                            .cluster = l};
    }
    q->n_rays[k] = L;
    q->n_cl[k] = L;
}
