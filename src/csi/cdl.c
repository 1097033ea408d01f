/* src/csi/cdl.c — 3GPP TR 38.901 clustered delay line (CDL) realizations, section 7.7.1.
 *
 * Per user and drop:
 *   - cluster delays tau_n = tau_n,model * DS_desired (7.7.3, eq. 7.7-1), powers normalized to
 *     unit sum;
 *   - optional K-factor scaling for the LoS profiles (7.7.6): K_model = P_1,LOS - 10 log10
 *     sum_{n>=2} P_n (eq. 7.7.6-2), P_n,scaled = P_n - K_desired + K_model for the non-LoS
 *     entries (eq. 7.7.6-1), then the delays are re-normalized by the RMS delay spread of the
 *     scaled profile before multiplying by DS_desired, so the RMS delay spread stays DS_desired;
 *   - step 1: 20 rays per cluster, phi_n,m = phi_n + c_AS alpha_m with the ray offsets alpha_m of
 *     Table 7.5-3 (eq. 7.7-0a), for AoA, AoD, ZoA and ZoD with C_ASA, C_ASD, C_ZSA, C_ZSD; the
 *     LoS entry of CDL-D/E is a single ray with no spread;
 *   - step 2: random coupling of the rays within a cluster: the AoD, ZoD and ZoA offsets are
 *     independent random permutations of the AoA offsets' order;
 *   - step 3 (XPR) is not modelled: single-polarized elements;
 *   - the user's direction: all AoDs are rotated by U[-x, x] (x = user_aod_spread_deg), a
 *     translation of the mean AoD as allowed by 7.7.5.1, and all AoAs by a random UE
 *     orientation U[0, 360) when ue_random_orientation;
 *   - initial phases uniform (chan.c, csi_draw_phases).
 * Angles are wrapped to (-180, 180] (azimuths) and [0, 180] (zeniths). */
#include "csi_internal.h"

#include <string.h>

const double mn_csi_ray_offsets[MN_CSI_CDL_RAYS] = {
    0.0447, -0.0447, 0.1413, -0.1413, 0.2492, -0.2492, 0.3715, -0.3715, 0.5129, -0.5129,
    0.6797, -0.6797, 0.8844, -0.8844, 1.1481, -1.1481, 1.5195, -1.5195, 2.1551, -2.1551,
};

static double rms_spread(const double *x, const double *p, int n)
{
    double sp = 0, m1 = 0, m2 = 0;
    for (int i = 0; i < n; i++) {
        sp += p[i];
        m1 += p[i] * x[i];
        m2 += p[i] * x[i] * x[i];
    }
    m1 /= sp;
    m2 /= sp;
    double v = m2 - m1 * m1;
    return v > 0 ? sqrt(v) : 0.0;
}

mn_status csi_cdl_prepare(mn_csi_chan *q)
{
    const mn_csi_chan_cfg *c = &q->cfg;
    const mn_csi_cdl_table *t = c->table ? c->table : mn_csi_cdl_table_get(c->model);
    if (!t) return mn_error(MN_ERR_INVALID, "csi channel: no CDL table for model %d", (int)c->model);
    if (t->n < 1 || t->n > MN_CSI_CDL_MAX_ENTRIES)
        return mn_error(MN_ERR_INVALID, "csi channel: CDL table '%s': n = %d (need 1..%d)",
                        t->name ? t->name : "custom", t->n, MN_CSI_CDL_MAX_ENTRIES);
    if (t->los && t->n < 2 && !isnan(c->k_factor_db))
        return mn_error(MN_ERR_INVALID, "csi channel: K-factor scaling needs a non-LoS entry");
    if (!t->los && !isnan(c->k_factor_db))
        return mn_error(MN_ERR_INVALID, "csi channel: k_factor_db = %g given for a non-LoS profile",
                        c->k_factor_db);
    for (int n = 0; n < t->n; n++) {
        if (!isfinite(t->power_db[n]) || !isfinite(t->delay[n]) || t->delay[n] < 0 ||
            !isfinite(t->aod[n]) || !isfinite(t->aoa[n]) || !isfinite(t->zod[n]) || !isfinite(t->zoa[n]))
            return mn_error(MN_ERR_INVALID, "csi channel: CDL table '%s': entry %d is not finite "
                            "(or has a negative delay)", t->name ? t->name : "custom", n);
    }
    if (!(t->c_asd >= 0 && t->c_asa >= 0 && t->c_zsd >= 0 && t->c_zsa >= 0))
        return mn_error(MN_ERR_INVALID, "csi channel: CDL table '%s': negative cluster angle spread",
                        t->name ? t->name : "custom");
    q->tab = t;
    double pdb[MN_CSI_CDL_MAX_ENTRIES];
    memcpy(pdb, t->power_db, sizeof(double) * (size_t)t->n);
    bool kscaled = false;
    if (t->los && !isnan(c->k_factor_db)) {
        double nlos = 0;
        for (int n = 1; n < t->n; n++) nlos += pow(10.0, pdb[n] / 10.0);
        double k_model = pdb[0] - 10.0 * log10(nlos);              /* eq. 7.7.6-2 */
        for (int n = 1; n < t->n; n++) pdb[n] = pdb[n] - c->k_factor_db + k_model; /* 7.7.6-1 */
        kscaled = true;
    }
    double sum = 0;
    for (int n = 0; n < t->n; n++) sum += (q->tab_pw[n] = pow(10.0, pdb[n] / 10.0));
    for (int n = 0; n < t->n; n++) q->tab_pw[n] /= sum;
    double norm = 1.0;
    if (kscaled) {
        norm = rms_spread(t->delay, q->tab_pw, t->n);
        if (!(norm > 0)) norm = 1.0;
    }
    for (int n = 0; n < t->n; n++) q->tab_tau[n] = t->delay[n] / norm * c->ds_sec;
    return MN_OK;
}

static void shuffle(int *p, int n, mn_rng *rng)
{
    for (int i = 0; i < n; i++) p[i] = i;
    for (int i = n - 1; i > 0; i--) { /* Fisher–Yates */
        int j = (int)mn_rng_below(rng, (uint64_t)i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
}

void csi_cdl_draw_user(mn_csi_chan *q, int k, mn_rng *rng)
{
    const mn_csi_cdl_table *t = q->tab;
    const double d2r = M_PI / 180.0;
    double rot_aod = 0, rot_aoa = 0;
    if (q->cfg.user_aod_spread_deg > 0)
        rot_aod = (2.0 * mn_rng_uniform(rng) - 1.0) * q->cfg.user_aod_spread_deg * d2r;
    if (q->cfg.ue_random_orientation) rot_aoa = 2.0 * M_PI * mn_rng_uniform(rng);
    mn_csi_ray *r = q->rays + (size_t)k * q->max_rays;
    double *tau = q->tau + (size_t)k * q->max_cl;
    int nr = 0;
    for (int n = 0; n < t->n; n++) {
        tau[n] = q->tab_tau[n];
        double aod = t->aod[n] * d2r + rot_aod, aoa = t->aoa[n] * d2r + rot_aoa;
        double zod = t->zod[n] * d2r, zoa = t->zoa[n] * d2r;
        if (t->los && n == 0) {
            r[nr++] = (mn_csi_ray){.power = q->tab_pw[n], .aod = csi_wrap_az(aod),
                                   .zod = csi_wrap_zen(zod), .aoa = csi_wrap_az(aoa),
                                   .zoa = csi_wrap_zen(zoa), .cluster = n};
            continue;
        }
        int p_aod[MN_CSI_CDL_RAYS], p_zod[MN_CSI_CDL_RAYS], p_zoa[MN_CSI_CDL_RAYS];
        shuffle(p_aod, MN_CSI_CDL_RAYS, rng);
        shuffle(p_zod, MN_CSI_CDL_RAYS, rng);
        shuffle(p_zoa, MN_CSI_CDL_RAYS, rng);
        const double *al = mn_csi_ray_offsets;
        for (int m = 0; m < MN_CSI_CDL_RAYS; m++) {
            r[nr++] = (mn_csi_ray){
                .power = q->tab_pw[n] / MN_CSI_CDL_RAYS,
                .aoa = csi_wrap_az(aoa + t->c_asa * d2r * al[m]),
                .aod = csi_wrap_az(aod + t->c_asd * d2r * al[p_aod[m]]),
                .zod = csi_wrap_zen(zod + t->c_zsd * d2r * al[p_zod[m]]),
                .zoa = csi_wrap_zen(zoa + t->c_zsa * d2r * al[p_zoa[m]]),
                .cluster = n};
        }
    }
    q->n_rays[k] = nr;
    q->n_cl[k] = t->n;
}
