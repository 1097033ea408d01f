/* src/csi/chan.c — the channel object of module csi: configuration presets, create/destroy,
 * drawing a multi-user drop, and the OFDM frequency response of a drop on the DL or UL carrier
 * (TR 38.901 7.7.1 step 4 with isotropic single-polarized elements, plus Doppler, eq. 7.5-25).
 *
 * The per-model ray generation lives in cdl.c (CDL-A..E) and sv.c (Saleh–Valenzuela); both fill
 * the same ray list, so the response code, the FDD pairing and channel aging are shared. */
#include "csi_internal.h"

#include <string.h>

void mn_csi_chan_cfg_default(mn_csi_chan_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->model = MN_CSI_CDL_C;
    c->table = NULL;
    c->bs_nh = 8;
    c->bs_nv = 4;
    c->ue_ant = 1;
    c->users = 4;
    c->fc_dl_hz = 3.5e9;
    c->fc_ul_hz = 3.5e9 * 0.95;
    c->f_design_hz = 0.0;
    c->n_sc = 48;
    c->sc_spacing_hz = 360e3;
    c->ds_sec = 100e-9;
    c->k_factor_db = (double)NAN;
    c->user_aod_spread_deg = 60.0;
    c->ue_random_orientation = true;
    c->speed_mps = 3.0 / 3.6;
    c->travel_az_deg = (double)NAN;
    c->share_phases = false;
    c->sv_paths = 2;
    c->sv_aod_min_deg = -60.0;
    c->sv_aod_max_deg = 60.0;
    c->sv_zod_halfwidth_deg = 0.0;
    c->sv_max_delay_sec = 0.0;
}

void mn_csi_chan_cfg_say(mn_csi_chan_cfg *c)
{
    mn_csi_chan_cfg_default(c);
    c->model = MN_CSI_SV;
    c->bs_nh = 64;
    c->bs_nv = 1;
    c->ue_ant = 1;
    c->users = 2;
    c->fc_ul_hz = c->fc_dl_hz; /* the SAY setting has no uplink; keep one carrier */
    c->n_sc = 1;
    c->sc_spacing_hz = 0.0;
    c->speed_mps = 0.0;
    c->travel_az_deg = 0.0;
    c->sv_paths = 2;
    c->sv_aod_min_deg = -30.0;
    c->sv_aod_max_deg = 30.0;
    c->sv_zod_halfwidth_deg = 0.0;
    c->sv_max_delay_sec = 0.0;
}

static bool finite_pos(double x) { return isfinite(x) && x > 0.0; }
static bool finite_nonneg(double x) { return isfinite(x) && x >= 0.0; }

static mn_status check_cfg(const mn_csi_chan_cfg *c)
{
    if (!c) return mn_error(MN_ERR_INVALID, "mn_csi_chan_create: NULL config");
    if ((int)c->model < 0 || c->model >= MN_CSI_MODEL_COUNT)
        return mn_error(MN_ERR_INVALID, "csi channel: model = %d is not an mn_csi_model", (int)c->model);
    if (c->bs_nh < 1 || c->bs_nv < 1 || (long)c->bs_nh * c->bs_nv > 4096)
        return mn_error(MN_ERR_INVALID, "csi channel: bs_nh = %d, bs_nv = %d (need >= 1, product <= 4096)",
                        c->bs_nh, c->bs_nv);
    if (c->ue_ant < 1 || c->ue_ant > MN_CSI_MAX_UE_ANT)
        return mn_error(MN_ERR_INVALID, "csi channel: ue_ant = %d (need 1..%d)", c->ue_ant, MN_CSI_MAX_UE_ANT);
    if (c->users < 1 || c->users > MN_CSI_MAX_USERS)
        return mn_error(MN_ERR_INVALID, "csi channel: users = %d (need 1..%d)", c->users, MN_CSI_MAX_USERS);
    if (!finite_pos(c->fc_dl_hz)) return mn_error(MN_ERR_INVALID, "csi channel: fc_dl_hz = %g must be > 0", c->fc_dl_hz);
    if (!finite_pos(c->fc_ul_hz)) return mn_error(MN_ERR_INVALID, "csi channel: fc_ul_hz = %g must be > 0", c->fc_ul_hz);
    if (!finite_nonneg(c->f_design_hz))
        return mn_error(MN_ERR_INVALID, "csi channel: f_design_hz = %g must be >= 0", c->f_design_hz);
    if (c->n_sc < 1 || c->n_sc > 1 << 16)
        return mn_error(MN_ERR_INVALID, "csi channel: n_sc = %d (need 1..65536)", c->n_sc);
    if (!finite_nonneg(c->sc_spacing_hz))
        return mn_error(MN_ERR_INVALID, "csi channel: sc_spacing_hz = %g must be >= 0", c->sc_spacing_hz);
    if (!finite_nonneg(c->speed_mps))
        return mn_error(MN_ERR_INVALID, "csi channel: speed_mps = %g must be >= 0", c->speed_mps);
    if (isinf(c->travel_az_deg))
        return mn_error(MN_ERR_INVALID, "csi channel: travel_az_deg must be finite or NAN");
    if (c->model == MN_CSI_SV) {
        if (c->sv_paths < 1 || c->sv_paths > 1024)
            return mn_error(MN_ERR_INVALID, "csi channel: sv_paths = %d (need 1..1024)", c->sv_paths);
        if (!isfinite(c->sv_aod_min_deg) || !isfinite(c->sv_aod_max_deg) ||
            c->sv_aod_min_deg > c->sv_aod_max_deg)
            return mn_error(MN_ERR_INVALID, "csi channel: sv_aod_min_deg = %g > sv_aod_max_deg = %g",
                            c->sv_aod_min_deg, c->sv_aod_max_deg);
        if (!finite_nonneg(c->sv_zod_halfwidth_deg) || c->sv_zod_halfwidth_deg > 90.0)
            return mn_error(MN_ERR_INVALID, "csi channel: sv_zod_halfwidth_deg = %g (need 0..90)",
                            c->sv_zod_halfwidth_deg);
        if (!finite_nonneg(c->sv_max_delay_sec))
            return mn_error(MN_ERR_INVALID, "csi channel: sv_max_delay_sec = %g must be >= 0",
                            c->sv_max_delay_sec);
    } else {
        if (!finite_nonneg(c->ds_sec))
            return mn_error(MN_ERR_INVALID, "csi channel: ds_sec = %g must be >= 0", c->ds_sec);
        if (!finite_nonneg(c->user_aod_spread_deg) || c->user_aod_spread_deg > 180.0)
            return mn_error(MN_ERR_INVALID, "csi channel: user_aod_spread_deg = %g (need 0..180)",
                            c->user_aod_spread_deg);
        if (isinf(c->k_factor_db))
            return mn_error(MN_ERR_INVALID, "csi channel: k_factor_db must be finite or NAN");
    }
    return MN_OK;
}

mn_csi_chan *mn_csi_chan_create(const mn_csi_chan_cfg *c)
{
    if (check_cfg(c) != MN_OK) return NULL;
    mn_csi_chan *q = mn_calloc(1, sizeof *q);
    if (!q) {
        mn_error(MN_ERR_NOMEM, "mn_csi_chan_create: out of memory");
        return NULL;
    }
    q->cfg = *c;
    if (q->cfg.f_design_hz == 0.0) q->cfg.f_design_hz = q->cfg.fc_dl_hz;
    q->M = c->bs_nh * c->bs_nv;
    q->K = c->users;
    q->Nr = c->ue_ant;
    if (c->model == MN_CSI_SV) {
        q->max_rays = c->sv_paths;
        q->max_cl = c->sv_paths;
    } else {
        if (csi_cdl_prepare(q) != MN_OK) {
            mn_free(q);
            return NULL;
        }
        q->max_cl = q->tab->n;
        q->max_rays = (q->tab->n - (q->tab->los ? 1 : 0)) * MN_CSI_CDL_RAYS + (q->tab->los ? 1 : 0);
    }
    size_t K = (size_t)q->K;
    q->rays = mn_calloc(K * (size_t)q->max_rays, sizeof *q->rays);
    q->n_rays = mn_calloc(K, sizeof *q->n_rays);
    q->n_cl = mn_calloc(K, sizeof *q->n_cl);
    q->tau = mn_calloc(K * (size_t)q->max_cl, sizeof *q->tau);
    q->travel_az = mn_calloc(K, sizeof *q->travel_az);
    q->freqs = mn_calloc((size_t)c->n_sc, sizeof *q->freqs);
    q->Gc = mn_calloc((size_t)q->max_cl * (size_t)q->Nr * (size_t)q->M, sizeof *q->Gc);
    q->E = mn_calloc((size_t)q->max_cl * (size_t)c->n_sc, sizeof *q->E);
    q->txv = mn_calloc((size_t)q->M + (size_t)c->bs_nv, sizeof *q->txv);
    q->rxv = mn_calloc((size_t)q->Nr, sizeof *q->rxv);
    if (!q->rays || !q->n_rays || !q->n_cl || !q->tau || !q->travel_az || !q->freqs || !q->Gc ||
        !q->E || !q->txv || !q->rxv) {
        mn_csi_chan_destroy(q);
        mn_error(MN_ERR_NOMEM, "mn_csi_chan_create: out of memory");
        return NULL;
    }
    for (int i = 0; i < c->n_sc; i++) q->freqs[i] = (i - 0.5 * (c->n_sc - 1)) * c->sc_spacing_hz;
    return q;
}

void mn_csi_chan_destroy(mn_csi_chan *q)
{
    if (!q) return;
    mn_free(q->rays);
    mn_free(q->n_rays);
    mn_free(q->n_cl);
    mn_free(q->tau);
    mn_free(q->travel_az);
    mn_free(q->freqs);
    mn_free(q->Gc);
    mn_free(q->E);
    mn_free(q->txv);
    mn_free(q->rxv);
    mn_free(q);
}

const mn_csi_chan_cfg *mn_csi_chan_config(const mn_csi_chan *q) { return &q->cfg; }
int mn_csi_chan_bs_ant(const mn_csi_chan *q) { return q->M; }
size_t mn_csi_chan_response_len(const mn_csi_chan *q)
{
    return (size_t)q->K * (size_t)q->Nr * (size_t)q->M * (size_t)q->cfg.n_sc;
}
const double *mn_csi_chan_freqs(const mn_csi_chan *q) { return q->freqs; }

double csi_wrap_az(double a)
{
    a = fmod(a, 2.0 * M_PI);
    if (a <= -M_PI) a += 2.0 * M_PI;
    else if (a > M_PI) a -= 2.0 * M_PI;
    return a;
}

double csi_wrap_zen(double z)
{
    z = fmod(z, 2.0 * M_PI);
    if (z < 0) z += 2.0 * M_PI;
    if (z > M_PI) z = 2.0 * M_PI - z; /* 38.901: theta in [180, 360] -> 360 - theta */
    return z;
}

void csi_draw_phases(mn_csi_chan *q, int k, mn_rng *rng)
{
    mn_csi_ray *r = q->rays + (size_t)k * q->max_rays;
    for (int i = 0; i < q->n_rays[k]; i++) r[i].phase_dl = 2.0 * M_PI * mn_rng_uniform(rng) - M_PI;
    for (int i = 0; i < q->n_rays[k]; i++)
        r[i].phase_ul = q->cfg.share_phases ? r[i].phase_dl : 2.0 * M_PI * mn_rng_uniform(rng) - M_PI;
}

mn_status mn_csi_chan_draw(mn_csi_chan *q, mn_rng *rng)
{
    if (!q || !rng) return mn_error(MN_ERR_INVALID, "mn_csi_chan_draw: NULL argument");
    for (int k = 0; k < q->K; k++) {
        q->travel_az[k] = isnan(q->cfg.travel_az_deg) ? 2.0 * M_PI * mn_rng_uniform(rng)
                                                      : q->cfg.travel_az_deg * M_PI / 180.0;
        if (q->cfg.model == MN_CSI_SV) csi_sv_draw_user(q, k, rng);
        else csi_cdl_draw_user(q, k, rng);
        csi_draw_phases(q, k, rng);
    }
    q->drawn = true;
    return MN_OK;
}

mn_status mn_csi_chan_redraw_phases(mn_csi_chan *q, mn_rng *rng)
{
    if (!q || !rng) return mn_error(MN_ERR_INVALID, "mn_csi_chan_redraw_phases: NULL argument");
    if (!q->drawn) return mn_error(MN_ERR_INVALID, "mn_csi_chan_redraw_phases: no drop yet (call mn_csi_chan_draw)");
    for (int k = 0; k < q->K; k++) csi_draw_phases(q, k, rng);
    return MN_OK;
}

const mn_csi_ray *mn_csi_chan_rays(const mn_csi_chan *q, int user, int *n_rays)
{
    if (!q || user < 0 || user >= q->K || !q->drawn) return NULL;
    if (n_rays) *n_rays = q->n_rays[user];
    return q->rays + (size_t)user * q->max_rays;
}

const double *mn_csi_chan_cluster_delays(const mn_csi_chan *q, int user, int *n_clusters)
{
    if (!q || user < 0 || user >= q->K || !q->drawn) return NULL;
    if (n_clusters) *n_clusters = q->n_cl[user];
    return q->tau + (size_t)user * q->max_cl;
}

static double link_fc(const mn_csi_chan *q, mn_csi_link link)
{
    return link == MN_CSI_UL ? q->cfg.fc_ul_hz : q->cfg.fc_dl_hz;
}

/* 38.901 eq. 7.5-25: nu = r_rx . v / lambda, v = speed (cos phi_v, sin phi_v, 0). */
static double ray_doppler(const mn_csi_chan *q, const mn_csi_ray *r, int k, double fc)
{
    return q->cfg.speed_mps * fc / CSI_C0 * sin(r->zoa) * cos(r->aoa - q->travel_az[k]);
}

double mn_csi_chan_doppler_hz(const mn_csi_chan *q, int user, int ray, mn_csi_link link)
{
    if (!q || !q->drawn || user < 0 || user >= q->K || ray < 0 || ray >= q->n_rays[user]) return (double)NAN;
    return ray_doppler(q, q->rays + (size_t)user * q->max_rays + ray, user, link_fc(q, link));
}

mn_status mn_csi_chan_response_at(mn_csi_chan *q, float complex *H, mn_csi_link link,
                                  const double *f_hz, int n_f, double t_sec)
{
    if (!q || !H || !f_hz) return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: NULL argument");
    if (!q->drawn) return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: no drop yet (call mn_csi_chan_draw)");
    if (link != MN_CSI_DL && link != MN_CSI_UL)
        return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: link = %d", (int)link);
    if (n_f < 1 || n_f > q->cfg.n_sc)
        return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: n_f = %d (need 1..n_sc = %d)", n_f, q->cfg.n_sc);
    if (!isfinite(t_sec)) return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: t_sec is not finite");
    const int M = q->M, Nr = q->Nr, nh = q->cfg.bs_nh, nv = q->cfg.bs_nv;
    const double fc = link_fc(q, link);
    /* element spacing d = lambda_design / 2, so 2 pi d / lambda = pi fc / f_design */
    const double kap = M_PI * fc / q->cfg.f_design_hz;
    for (int k = 0; k < q->K; k++) {
        const int ncl = q->n_cl[k];
        const double *tau = q->tau + (size_t)k * q->max_cl;
        for (int c = 0; c < ncl; c++)
            for (int f = 0; f < n_f; f++) q->E[(size_t)c * n_f + f] = csi_expj(-2.0 * M_PI * f_hz[f] * tau[c]);
        memset(q->Gc, 0, sizeof(double complex) * (size_t)ncl * Nr * M);
        const mn_csi_ray *rays = q->rays + (size_t)k * q->max_rays;
        for (int i = 0; i < q->n_rays[k]; i++) {
            const mn_csi_ray *r = &rays[i];
            double ph0 = link == MN_CSI_UL ? r->phase_ul : r->phase_dl;
            double nu = ray_doppler(q, r, k, fc);
            double complex a = sqrt(r->power) * csi_expj(ph0 + 2.0 * M_PI * nu * t_sec);
            double uy = sin(r->zod) * sin(r->aod), uz = cos(r->zod);
            /* separable UPA response exp(j kap ih uy) exp(j kap iv uz); txv[M..M+nv) holds the
             * vertical factors */
            double complex *ev = q->txv + M;
            for (int iv = 0; iv < nv; iv++) ev[iv] = csi_expj(kap * iv * uz);
            for (int ih = 0; ih < nh; ih++) {
                double complex eh = csi_expj(kap * ih * uy);
                for (int iv = 0; iv < nv; iv++) q->txv[ih * nv + iv] = eh * ev[iv];
            }
            double ry = sin(r->zoa) * sin(r->aoa);
            for (int u = 0; u < Nr; u++) q->rxv[u] = a * csi_expj(kap * u * ry);
            double complex *g = q->Gc + (size_t)r->cluster * Nr * M;
            for (int u = 0; u < Nr; u++)
                for (int s = 0; s < M; s++) g[(size_t)u * M + s] += q->rxv[u] * q->txv[s];
        }
        for (int u = 0; u < Nr; u++)
            for (int s = 0; s < M; s++) {
                float complex *out = H + (((size_t)k * Nr + u) * M + s) * n_f;
                for (int f = 0; f < n_f; f++) {
                    double complex acc = 0;
                    for (int c = 0; c < ncl; c++)
                        acc += q->Gc[((size_t)c * Nr + u) * M + s] * q->E[(size_t)c * n_f + f];
                    out[f] = csi_d2c(acc);
                }
            }
    }
    return MN_OK;
}

mn_status mn_csi_chan_response(mn_csi_chan *q, float complex *H, mn_csi_link link, double t_sec)
{
    if (!q) return mn_error(MN_ERR_INVALID, "mn_csi_chan_response: NULL channel");
    return mn_csi_chan_response_at(q, H, link, q->freqs, q->cfg.n_sc, t_sec);
}
