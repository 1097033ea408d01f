/*
 * mimonet/csi.h — FDD massive-MIMO CSI: channel models, the sum-spectral-efficiency metric, and
 * the classical precoding / CSI-feedback baselines that learned schemes are compared against.
 * (The neural half of module csi — projection net, UE encoder, precoder and fusion nets,
 * training — builds on this API.)
 *
 * A short tour
 * ------------
 * 1. Channels.  An mn_csi_chan object (liquid's grammar: create / draw / response / destroy)
 *    holds one *drop*: K users, each its own random realization of a 3GPP TR 38.901 CDL profile
 *    (A..E, section 7.7.1) or of a Saleh–Valenzuela mmWave model.  A realization is a list of
 *    rays (power, four angles, cluster delay, one DL and one UL initial phase), so the same
 *    geometry gives both links of an FDD pair:
 *
 *        mn_csi_chan_cfg c;  mn_csi_chan_cfg_default(&c);      // CDL-C, 8x4 UPA, K = 4 ...
 *        c.fc_ul_hz = 0.95 * c.fc_dl_hz;                          // 5 % duplex gap
 *        mn_csi_chan *ch = mn_csi_chan_create(&c);                // NULL + mn_error_msg()
 *        mn_rng rng;  mn_rng_seed(&rng, 1);
 *        mn_csi_chan_draw(ch, &rng);                              // a new drop
 *        mn_cf32 *H = mn_malloc(mn_csi_chan_response_len(ch) * sizeof *H);
 *        mn_csi_chan_response(ch, H, MN_CSI_DL, 0.0);             // CSI-RS time
 *        mn_csi_chan_response(ch, H, MN_CSI_DL, 5e-3);            // data time (aged)
 *        mn_csi_chan_response(ch, H, MN_CSI_UL, 0.0);             // SRS (UL carrier)
 *        mn_csi_chan_destroy(ch);
 *
 * 2. Layouts.  A channel tensor is mn_cf32 H[K][Nr][M][F] (user, UE antenna, BS antenna,
 *    subcarrier; subcarrier fastest), the drop slice of the external format
 *    [drops, ue, ue_ant, bs_ant, subcarriers].  H[k][r][:][f] is row r of user k's DL channel
 *    matrix: y_k = H_k x + n.  The UL response uses the same layout (it is the transpose of the
 *    physical UL matrix that the BS receives through), so an SRS observation of user k is the
 *    row H_ul[k][r][:][f].
 *    The single-stream precoding functions take G[K][M][F] (one row g_k per user: Nr = 1, or
 *    after mn_csi_combine_dominant) and write precoders W[K][M][F] (column w_k per user and
 *    subcarrier, same layout as G).
 *
 * 3. Metric (DESIGN.md).  Sum SE = mean over subcarriers of sum_k log2(1 + SINR_k),
 *    SINR_k = |g_k w_k|^2 / (sum_{j != k} |g_k w_j|^2 + sigma^2), after W is scaled on each
 *    subcarrier so that sum_k ||w_k||^2 = P.  With the channel normalization below,
 *    P / sigma^2 is the per-antenna transmit SNR (10 dB: P = 1, sigma^2 = 0.1).
 *
 * 4. Baselines (same drops, same P and sigma^2): perfect-CSI MRT, ZF, RZF and WMMSE; SRS-only
 *    (UL -> DL beams); 3GPP Type I and Type II PMI feedback + ZF; analog feedback + ZF.
 *
 * Conventions and modelling choices (docs/csi.md has the derivations)
 * ----------------------------------------------------------------
 * - Coordinates: TR 38.901 GCS; azimuth phi from the x axis, zenith theta from the z axis.  The BS
 *   array is a UPA in the y-z plane facing +x: element (ih, iv), ih < bs_nh along y, iv < bs_nv
 *   along z, has BS index s = ih * bs_nv + iv (the N1-outer, N2-inner port order of TS 38.214's
 *   v_{l,m}, with N1 = bs_nh, N2 = bs_nv).  The UE array is a ULA along y.  Elements are
 *   isotropic and single-polarized (XPR is ignored), spaced half a wavelength at f_design_hz;
 *   each link evaluates its array responses at its own wavelength:
 *       a_s(theta, phi) = exp(j pi (f / f_design) (ih sin(theta) sin(phi) + iv cos(theta))).
 * - Normalization: the ray powers of each CDL user sum to 1 (the cluster powers of 7.7.1 are
 *   normalized to unit sum; SV: E[sum] = 1 over the random path gains) and the phases are
 *   uniform, so E[|H[k][r][s][f]|^2] = 1 for every antenna pair.  No path loss: the SNR is set
 *   through P / sigma^2.
 * - Frequencies f of the response are baseband offsets from the link's carrier; the carrier
 *   phase exp(-j 2 pi fc tau) is part of the random initial ray phase.
 * - Doppler (38.901 eq. 7.5-25): nu = r_rx . v / lambda_link with r_rx the ray's arrival unit
 *   vector at the UE and v the UE velocity (horizontal, speed_mps, azimuth travel_az_deg).
 * - FDD pair: UL and DL share every ray's power, angles and delay, but draw independent
 *   initial phases (share_phases = true reuses the DL phases: with fc_ul == fc_dl the two
 *   responses are then identical).
 * - Multi-antenna UEs: the single-stream baselines use the effective channel g_k = u_k^H H_k of
 *   mn_csi_combine_dominant (u_k: dominant left singular vector of the UE's own channel on each
 *   subcarrier — eigen-mode receive combining, one stream per UE).
 */
#ifndef MIMONET_CSI_H
#define MIMONET_CSI_H

#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- CDL tables (TR 38.901 7.7.1) */

typedef enum {
    MN_CSI_CDL_A = 0,
    MN_CSI_CDL_B,
    MN_CSI_CDL_C,
    MN_CSI_CDL_D,
    MN_CSI_CDL_E,
    MN_CSI_SV, /* Saleh–Valenzuela: Lp single-ray paths, random gains, angles, delays */
    MN_CSI_MODEL_COUNT
} mn_csi_model;

#define MN_CSI_CDL_MAX_ENTRIES 25 /* table rows (clusters, plus the LoS ray) */
#define MN_CSI_CDL_RAYS 20        /* rays per cluster (7.7.1 step 1) */
#define MN_CSI_MAX_USERS 64
#define MN_CSI_MAX_UE_ANT 4

/* One CDL profile.  For LoS profiles (los = true) entry 0 is the specular LoS ray (one ray, no
 * spread) and entry 1 the Laplacian cluster at the same delay. */
typedef struct {
    const char *name;
    int n;     /* entries, <= MN_CSI_CDL_MAX_ENTRIES */
    bool los;  /* entry 0 is the LoS ray */
    double delay[MN_CSI_CDL_MAX_ENTRIES];    /* normalized delay (RMS delay spread ~1) */
    double power_db[MN_CSI_CDL_MAX_ENTRIES]; /* [dB] */
    double aod[MN_CSI_CDL_MAX_ENTRIES], aoa[MN_CSI_CDL_MAX_ENTRIES]; /* [deg] */
    double zod[MN_CSI_CDL_MAX_ENTRIES], zoa[MN_CSI_CDL_MAX_ENTRIES]; /* [deg] */
    double c_asd, c_asa, c_zsd, c_zsa; /* cluster-wise RMS angle spreads [deg] */
    double xpr_db;                      /* not used: single-polarized elements */
} mn_csi_cdl_table;

/* The built-in table of a CDL profile (generated from the 3GPP tables by
 * tools/gen_cdl_tables.py); NULL for MN_CSI_SV or an unknown value. */
const mn_csi_cdl_table *mn_csi_cdl_table_get(mn_csi_model model);

/* TR 38.901 Table 7.5-3: ray offset angles for unit RMS angle spread, alpha_m, m = 0..19. */
extern const double mn_csi_ray_offsets[MN_CSI_CDL_RAYS];

/* ---------------------------------------------------------------- channel object */

typedef enum { MN_CSI_DL = 0, MN_CSI_UL = 1 } mn_csi_link;

typedef struct {
    mn_csi_model model;
    const mn_csi_cdl_table *table; /* CDL: a custom table used instead of the model's (or NULL) */

    /* arrays */
    int bs_nh, bs_nv; /* BS UPA: columns along y (N1) x rows along z (N2); a ULA has bs_nv = 1 */
    int ue_ant;       /* UE ULA elements, 1..MN_CSI_MAX_UE_ANT */
    int users;        /* K, 1..MN_CSI_MAX_USERS */

    /* frequencies */
    double fc_dl_hz;      /* DL carrier [Hz] > 0 */
    double fc_ul_hz;      /* UL carrier [Hz] > 0; FDD gap = |fc_dl - fc_ul| / fc_dl */
    double f_design_hz;   /* elements are lambda/2 apart at this frequency [Hz]; 0: fc_dl_hz */
    int n_sc;             /* subcarriers of the default grid, >= 1 */
    double sc_spacing_hz; /* default grid: f_i = (i - (n_sc - 1) / 2) * sc_spacing_hz [Hz] */

    /* CDL */
    double ds_sec;       /* desired RMS delay spread [s] (Table 7.7.3-1: 10, 30, 100, 300, 1000 ns) */
    double k_factor_db;  /* LoS profiles: desired K-factor [dB] (7.7.6); NAN keeps the table's */
    double user_aod_spread_deg; /* each user's AoDs are rotated by U[-x, x] [deg] (7.7.5.1
                                   translation of the mean angle); 0 keeps the table angles */
    bool ue_random_orientation; /* rotate each user's AoAs by U[0, 360) deg */

    /* mobility */
    double speed_mps;     /* UE speed [m/s] >= 0 */
    double travel_az_deg; /* direction of travel (horizontal) [deg]; NAN: U[0, 360) per user */

    /* FDD */
    bool share_phases; /* UL reuses the DL ray phases (reciprocal / TDD-like; tests) */

    /* Saleh–Valenzuela (model == MN_CSI_SV) */
    int sv_paths;                 /* Lp >= 1, single-ray paths, gains CN(0, 1/Lp) */
    double sv_aod_min_deg;        /* AoD ~ U[min, max] [deg] */
    double sv_aod_max_deg;
    double sv_zod_halfwidth_deg;  /* ZoD ~ 90 + U[-x, x] [deg] (0: horizontal) */
    double sv_max_delay_sec;      /* delays ~ U[0, max] [s]; 0: frequency-flat */
} mn_csi_chan_cfg;

/* One ray of a user's realization.  CDL: the powers of a user's rays sum to 1; SV: random
 * path powers |alpha_l|^2 with expected sum 1. */
typedef struct {
    double power;              /* linear */
    double aod, zod, aoa, zoa; /* [rad], GCS; aod/aoa in (-pi, pi], zod/zoa in [0, pi] */
    double phase_dl, phase_ul; /* initial phases [rad] */
    int cluster;               /* index into the user's cluster delays */
} mn_csi_ray;

typedef struct mn_csi_chan mn_csi_chan;

/* Defaults: CDL-C, 8x4 UPA (32 BS antennas), 1 UE antenna, K = 4, DL 3.5 GHz, UL 5 % lower,
 * f_design = fc_dl, 48 subcarriers 360 kHz apart (one per 30 kHz-SCS PRB, 17.3 MHz), DS 100 ns,
 * table K-factor, user AoD rotation U[-60, 60] deg, random UE orientation, 3 km/h with a
 * random direction, independent UL phases; SV fields: Lp = 2, AoD U[-60, 60], flat. */
void mn_csi_chan_cfg_default(mn_csi_chan_cfg *c);
/* The Sohrabi–Attiah–Yu setting (arXiv 2007.06512, as in D3L-HB): 64-antenna ULA, K = 2
 * single-antenna users, Saleh–Valenzuela with Lp = 2 paths, gains CN(0, 1/Lp),
 * AoD ~ U[-30, 30] deg, frequency-flat (one subcarrier), static; so h_k = sum_l alpha_l a(phi_l)
 * with a_s(phi) = exp(j pi s sin(phi)).  Use it with P / sigma^2 = 10 dB and L = 8 pilots. */
void mn_csi_chan_cfg_say(mn_csi_chan_cfg *c);

/* NULL (with mn_error_msg() naming the field) on a bad configuration or allocation failure.
 * Allocates every buffer once; draw and response never allocate.  An object holds workspace:
 * use one object per thread. */
mn_csi_chan *mn_csi_chan_create(const mn_csi_chan_cfg *c);
void mn_csi_chan_destroy(mn_csi_chan *q);
const mn_csi_chan_cfg *mn_csi_chan_config(const mn_csi_chan *q);
int mn_csi_chan_bs_ant(const mn_csi_chan *q); /* M = bs_nh * bs_nv */
/* Elements of a response on the default grid: users * ue_ant * M * n_sc. */
size_t mn_csi_chan_response_len(const mn_csi_chan *q);
/* The default subcarrier grid (n_sc baseband offsets [Hz]). */
const double *mn_csi_chan_freqs(const mn_csi_chan *q);

/* A new drop: for every user a new realization (CDL: 7.7.1 steps 1-2 plus the user rotation
 * and random phases; SV: new gains, angles, delays), drawn in user order from rng. */
mn_status mn_csi_chan_draw(mn_csi_chan *q, mn_rng *rng);
/* New initial phases (DL and UL) for every ray, geometry kept: small-scale fading over a fixed
 * large-scale geometry. */
mn_status mn_csi_chan_redraw_phases(mn_csi_chan *q, mn_rng *rng);

/* OFDM frequency response of the current drop on the default grid at time t_sec [s]:
 * H[K][Nr][M][n_sc] (see the layout above),
 *   H[k][r][s][f] = sum_rays sqrt(p) exp(j(phase_link + 2 pi nu t)) b_r(aoa, zoa) a_s(aod, zod)
 *                   exp(-j 2 pi f tau_cluster),
 * array responses and Doppler at the link's carrier (7.7.1 step 4 with isotropic,
 * single-polarized elements).  Channel aging: evaluate the same drop at a later t. */
mn_status mn_csi_chan_response(mn_csi_chan *q, mn_cf32 *H, mn_csi_link link, double t_sec);
/* The same at n_f <= n_sc explicit baseband offsets f_hz [Hz]: H[K][Nr][M][n_f]. */
mn_status mn_csi_chan_response_at(mn_csi_chan *q, mn_cf32 *H, mn_csi_link link,
                                  const double *f_hz, int n_f, double t_sec);

/* The rays of one user in the current drop (NULL for a bad user). */
const mn_csi_ray *mn_csi_chan_rays(const mn_csi_chan *q, int user, int *n_rays);
/* That user's cluster delays [s] (ray.cluster indexes them). */
const double *mn_csi_chan_cluster_delays(const mn_csi_chan *q, int user, int *n_clusters);
/* Doppler shift [Hz] of a ray on a link (38.901 eq. 7.5-25). */
double mn_csi_chan_doppler_hz(const mn_csi_chan *q, int user, int ray, mn_csi_link link);

/* ---------------------------------------------------------------- metric and helpers */

/* Sum SE [bit/s/Hz] of DESIGN.md.  G[K][M][F] true channel rows (at data time), W[K][M][F]
 * precoders, scaled inside to sum_k ||w_k||^2 = P on each subcarrier (a subcarrier whose W is
 * all zero contributes 0).  se_ue[K] (may be NULL) receives each user's mean SE. */
mn_status mn_csi_sum_se(double *se, double *se_ue, const mn_cf32 *G, const mn_cf32 *W,
                        int K, int M, int F, double P, double sigma2);
/* Scale W[K][M][F] in place so that sum_k ||w_k||^2 = P on each subcarrier. */
void mn_csi_precoder_normalize(mn_cf32 *W, int K, int M, int F, double P);
/* out = in + CN(0, var) noise, n elements (out may equal in). */
void mn_csi_add_noise(mn_cf32 *out, const mn_cf32 *in, size_t n, double var,
                      mn_rng *rng);
/* Effective single-stream channel G[K][M][F] from H[K][Nr][M][F]: g_k = u_k^H H_k with u_k
 * the dominant left singular vector of H_k on each subcarrier (eigen-mode receive combining;
 * ||g_k|| = the largest singular value).  Nr = 1 copies.  G must not overlap H when Nr > 1. */
mn_status mn_csi_combine_dominant(mn_cf32 *G, const mn_cf32 *H, int K, int Nr, int M,
                                  int F);

/* ---------------------------------------------------------------- perfect-CSI precoders
 * All take G[K][M][F] (K <= M) and write W[K][M][F] normalized to sum_k ||w_k||^2 = P per
 * subcarrier.  They allocate a small workspace once per call. */

/* MRT: w_k = g_k^H. */
mn_status mn_csi_precode_mrt(mn_cf32 *W, const mn_cf32 *G, int K, int M, int F,
                             double P);
/* ZF: W = G^H (G G^H)^-1 (MN_ERR_NUMERIC if G G^H is singular on some subcarrier). */
mn_status mn_csi_precode_zf(mn_cf32 *W, const mn_cf32 *G, int K, int M, int F,
                            double P);
/* RZF: W = G^H (G G^H + reg I)^-1; reg = K sigma^2 / P is the MMSE loading. */
mn_status mn_csi_precode_rzf(mn_cf32 *W, const mn_cf32 *G, int K, int M, int F,
                             double P, double reg);

typedef struct {
    int iters;         /* maximum iterations (default 100) */
    double tol;        /* stop when the relative WSR gain of an iteration is below tol (1e-7) */
    bool init_mrt;     /* initialize from MRT instead of RZF (MMSE loading) */
} mn_csi_wmmse_cfg;

/* WMMSE sum-rate precoding (Shi, Razaviyayn, Luo, Hua, IEEE TSP 59(9) 2011, Algorithm 1 with
 * single-antenna receivers and unit weights), per subcarrier, deterministic init (RZF or MRT at
 * power P).  trace[iters + 1] (may be NULL) receives the mean-over-subcarriers sum rate of the
 * iterate before each update (entry 0: the init) and of the final iterate, evaluated as is
 * (power <= P); unused entries are NAN.  cfg may be NULL (defaults). */
mn_status mn_csi_precode_wmmse(mn_cf32 *W, double *trace, const mn_cf32 *G, int K,
                               int M, int F, double P, double sigma2, const mn_csi_wmmse_cfg *cfg);

/* ---------------------------------------------------------------- SRS-only (UL -> DL) */

typedef enum {
    MN_CSI_SRS_ANGLE = 0, /* dominant direction of the UL covariance on an oversampled grid,
                             then the DL steering vector at the DL wavelength */
    MN_CSI_SRS_COVMAP,    /* UL angular power spectrum -> DL covariance (DL wavelength),
                             dominant eigenvector */
    MN_CSI_SRS_NAIVE      /* dominant eigenvector of the UL covariance as is (ignores the gap) */
} mn_csi_srs_mode;

typedef struct {
    int bs_nh, bs_nv;   /* BS array, as in mn_csi_chan_cfg */
    double fc_dl_hz, fc_ul_hz, f_design_hz; /* f_design 0: fc_dl */
    mn_csi_srs_mode mode;
    int oversample;     /* angle grid: oversample * bs_nh x oversample * bs_nv direction
                           cosines (default 4 when 0) */
} mn_csi_srs_cfg;

/* SRS-only precoding: from noisy UL observations Hul[K][M][F] (one UE port per user) each user
 * gets one wideband DL beam (mode above); then ZF across users over the beams, g_k ~ beam_k^H,
 * W = Ghat^H (Ghat Ghat^H + reg I)^-1 (reg = 0: ZF, which fails with MN_ERR_NUMERIC when two
 * users get the same beam; a small reg > 0 keeps it defined), equal on all subcarriers and
 * normalized to P.  beams[K][M] (may be NULL) receives the unit-norm beams.  0 feedback bits. */
mn_status mn_csi_srs_precode(mn_cf32 *W, mn_cf32 *beams, const mn_cf32 *Hul,
                             int K, int M, int F, double P, double reg, const mn_csi_srs_cfg *cfg);

/* ---------------------------------------------------------------- 3GPP codebooks (TS 38.214)
 * Beams: v_{l,m}[ih N2 + iv] = exp(j 2 pi (l ih / (O1 N1) + m iv / (O2 N2))) / sqrt(N1 N2),
 * TS 38.214 5.2.2.2.1.  This module's array is single-polarized (N1 N2 = M ports), so the
 * simulated codebooks drop the cross-polarization co-phasing; the bit-count functions give both
 * the spec's dual-polarized count (n_pol = 2, P_CSI-RS = 2 N1 N2) and this module's (n_pol = 1). */

typedef struct {
    int n1, n2; /* ports per polarization: N1 = bs_nh, N2 = bs_nv */
    int o1, o2; /* oversampling: (4, 4), or (4, 1) when N2 = 1 */
    int mode;   /* codebookMode 1 or 2 (bits only; selection implements mode 1) */
} mn_csi_type1_cfg;

/* Rank-1 Type I single-panel PMI bits (TS 38.214 Table 5.2.2.2.1-5):
 *   mode 1: i1,1 ceil(log2 N1 O1) + i1,2 ceil(log2 N2 O2) + n_i2 * i2 with i2 = 2 bits
 *           (co-phasing, n_pol = 2) or 0 bits (n_pol = 1);
 *   mode 2: i1,1 ceil(log2 N1 O1 / 2) + i1,2 (N2 > 1: ceil(log2 N2 O2 / 2), else 0)
 *           + n_i2 * i2 with i2 = 4 bits (beam 2 + co-phase 2; n_pol = 1: 2 bits).
 * n_i2: number of i2 reports (1 for a wideband PMI, the number of subbands for subband PMI).
 * -1 (mn_error set) on a bad config. */
int mn_csi_type1_bits(const mn_csi_type1_cfg *c, int n_pol, int n_i2);

/* UE side, mode 1, single polarization: (i11, i12) = argmax_{l,m} sum_f |g_f v_{l,m}|^2 over
 * the noisy channel estimate Ghat[M][F] of one user; w[M] receives v_{i11,i12} (unit norm). */
mn_status mn_csi_type1_select(int *i11, int *i12, mn_cf32 *w, const mn_cf32 *Ghat,
                              int M, int F, const mn_csi_type1_cfg *c);

typedef struct {
    int n1, n2, o1, o2; /* as Type I; (O1, O2) = (4, 4), or (4, 1) when N2 = 1 */
    int L;              /* beams 2, 3 or 4 */
    int n_psk;          /* subband phase alphabet 4 (QPSK) or 8 (8PSK) */
    bool sb_amp;        /* subbandAmplitude: 1-bit subband amplitude for the strongest K2 */
    int sb_size;        /* subcarriers (of the F grid) per subband, >= 1 */
} mn_csi_type2_cfg;

/* Rank-1 Type II PMI bits (TS 38.214 5.2.2.2.3, TS 38.212 6.3.1.1.2), n_pol polarizations
 * (2: the spec; 1: this module), C = n_pol * L coefficients, n_nz of them with non-zero
 * wideband amplitude (1 <= n_nz <= C), K2 = 4, 4, 6 for L = 2, 3, 4:
 *   part 1: number of non-zero wideband amplitudes     ceil(log2 C)
 *   i1,1 rotation (q1, q2)                             ceil(log2 O1 O2)
 *   i1,2 beam set                                      ceil(log2 binom(N1 N2, L))
 *   i1,3 strongest coefficient                         ceil(log2 C)
 *   i1,4 wideband amplitudes (3 bits each)             3 (C - 1)
 *   per subband, sb_amp false: i2,1 phases              (n_nz - 1) log2 n_psk
 *   per subband, sb_amp true:  i2,1 phases              (min(n_nz, K2) - 1) log2 n_psk
 *                                                        + (n_nz - min(n_nz, K2)) * 2
 *                              i2,2 amplitudes          min(n_nz, K2) - 1
 * -1 (mn_error set) on a bad config. */
int mn_csi_type2_bits(const mn_csi_type2_cfg *c, int n_pol, int n_subbands, int n_nz);

/* UE side (single polarization): choose the rotation and L orthogonal beams with the largest
 * wideband power, the per-subband dominant combining vector over them, then quantize: wideband
 * amplitudes relative to the strongest coefficient to {1, 2^-1/2, ..., 2^-3, 0} (3 bits, nearest
 * in dB, 0 below -19.5 dB), subband phases to n_psk-PSK (QPSK for coefficients beyond the K2
 * strongest when sb_amp), optional 1-bit subband amplitude {1, 2^-1/2}.  w[M][F] receives the
 * reported unit-norm vector on each subcarrier (constant within a subband); *bits the payload
 * (mn_csi_type2_bits with n_pol = 1 and this user's n_nz). */
mn_status mn_csi_type2_select(mn_cf32 *w, int *bits, const mn_cf32 *Ghat, int M, int F,
                              const mn_csi_type2_cfg *c);

/* Codebook feedback + ZF: each user reports a PMI from its noisy DL estimate Ghat[K][M][F]; the
 * BS takes the unit-norm reports g_k ~ w_k^H and applies ZF across users,
 * W = Ghat^H (Ghat Ghat^H + reg I)^-1 (reg = 0: ZF, MN_ERR_NUMERIC when two users report the same
 * codeword; a small reg > 0 keeps it defined; reg = K sigma^2 / (P M) is RZF's MMSE loading for
 * reports scaled to an effective channel norm sqrt(M)), normalized to P.  bits[K] (may be NULL)
 * receives the payload per user (Type I: mode-1 wideband i1, single polarization). */
mn_status mn_csi_fb_type1(mn_cf32 *W, int *bits, const mn_cf32 *Ghat, int K, int M,
                          int F, double P, double reg, const mn_csi_type1_cfg *c);
mn_status mn_csi_fb_type2(mn_cf32 *W, int *bits, const mn_cf32 *Ghat, int K, int M,
                          int F, double P, double reg, const mn_csi_type2_cfg *c);

/* Noisy DL channel estimate from M orthogonal CSI-RS ports (pilot matrix X with X^H X = P I,
 * least squares): Ghat = G + CN(0, sigma2 / P) per element, n elements. */
void mn_csi_csirs_estimate(mn_cf32 *Ghat, const mn_cf32 *G, size_t n, double P,
                           double sigma2, mn_rng *rng);

/* Analog feedback + ZF.  The BS sends n_pilots <= M CSI-RS symbols X = sqrt(P) F_M[:, :n_pilots]
 * (columns of the unitary M-point DFT), the same on every subcarrier; user k observes
 * y_f = g_f X + CN(0, sigma2) and feeds y_f back unquantized over a channel adding
 * CN(0, sigma2_fb); the BS forms the LMMSE estimate ghat = y (X^H X + (sigma2 + sigma2_fb) I)^-1
 * X^H (i.i.d. unit-power prior) and applies W = ghat^H (ghat ghat^H + reg I)^-1 (reg = 0: ZF;
 * ghat has the channel's scale, so reg = K sigma2 / P is RZF's MMSE loading).  Feedback:
 * n_pilots complex symbols per user and subcarrier (no bits). */
mn_status mn_csi_fb_analog(mn_cf32 *W, const mn_cf32 *G, int K, int M, int F,
                           int n_pilots, double P, double sigma2, double sigma2_fb, double reg,
                           mn_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
