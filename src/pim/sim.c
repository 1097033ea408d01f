/* pim/sim.c — the PIM scenario simulator: configuration, geometry and couplings, junction
 * draws, the oversampled junction chain and receiver, streaming, whole recordings.
 * The physics is described in include/mimonet/pim.h and derived in docs/simulator.md.
 *
 * Signal flow for one block of SIM_BLOCK samples at fs (junction chains run in parallel):
 *
 *   tx_a (fs) --C[j,a]--> v_j --interp xR--> pre-filter --F--> post-filter --x e^{j 2 pi m/R}-->
 *     decim /R --> UL channel filter (fs) --D[r,j]--> pim_r
 *
 * The mixer multiplies by e^{+j 2 pi fs t} at the oversampled rate (t = m / (R fs)): it moves
 * f_dl - fs (the Rx LO) to DC.  The channel filter after the decimator is the UL band filter
 * "band-pass around f_rx, then downconvert" moved behind the downconversion, where it is a
 * real low-pass evaluated at fs: the same filter (BPF_{f0}(x) e^{-j w0 n} = LPF(x e^{-j w0 n}))
 * at a quarter of the cost.  The decimator's own low-pass only protects the channel from
 * aliases (pass |f| < rx_bw/2 + transition, stop from fs minus that).
 *
 * Delays: the interpolator (2 R m_i + 1 taps) delays by m_i samples at fs, the decimator
 * (2 R m_d + 1 taps) by m_d, the channel filter (odd length) by its half-length; the pre- and
 * post-filters have their main tap first (no delay).  Their sum D is compensated with a delay
 * line on tx, so pim[n] is centred on tx[n]. */
#include "sim_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

mn_pim_sim_cfg mn_pim_sim_default(void)
{
    mn_pim_sim_cfg c = {
        .scenario = MN_PIM_STATIC,
        .n_tx = 32,
        .n_rx = 16,
        .seed = 1,
        .fs = 61.44e6,
        .f_dl = 1835e6,
        .n_carriers = 2,
        .oversample = 8,
        .n_junctions = 4,
        .junction_kind = MN_PIM_JUNCTION_MIXED,
        .drive = 1.0,
        .memory = 0.3,
        .memory_taps = 6,
        .rx_bw_hz = 20e6,
        .rx_transition_hz = 3e6,
        .pnr_db = 40.0,
        .pim_power = 1.0,
        .drift_tau = 50000.0,
        .drift_db = 2.0,
        .drift_phase = 0.6,
        .drift_b = 0.1,
        .traffic_symbols = 4,
        .p_idle_carrier = 0.2,
        .p_partial = 0.4,
        .p_idle_antenna = 0.1,
    };
    /* band 3: carriers at f_dl -+ fs/3 = 1814.52 / 1855.48 MHz, so 2 f1 - f2 = f_dl - fs =
     * 1773.56 MHz, inside the UL band 1710-1785 MHz */
    c.carriers[0] = (mn_pim_carrier_cfg){.offset_hz = -20.48e6, .bw_hz = 10e6, .mu = 0, .qam = 256};
    c.carriers[1] = (mn_pim_carrier_cfg){.offset_hz = +20.48e6, .bw_hz = 10e6, .mu = 0, .qam = 64};
    return c;
}

/* Fill zero fields that have no meaningful zero with their defaults, then validate. */
static mn_status resolve(mn_pim_sim_cfg *c)
{
    mn_pim_sim_cfg d = mn_pim_sim_default();
    if (c->n_carriers == 0) {
        c->n_carriers = d.n_carriers;
        memcpy(c->carriers, d.carriers, sizeof c->carriers);
    }
    if (c->fs == 0) c->fs = d.fs;
    if (c->f_dl == 0) c->f_dl = d.f_dl;
    if (c->oversample == 0) c->oversample = d.oversample;
    if (c->n_junctions == 0) c->n_junctions = d.n_junctions;
    if (c->drive == 0) c->drive = d.drive;
    if (c->memory_taps == 0) c->memory_taps = d.memory_taps;
    if (c->rx_bw_hz == 0) c->rx_bw_hz = d.rx_bw_hz;
    if (c->rx_transition_hz == 0) c->rx_transition_hz = d.rx_transition_hz;
    if (c->pim_power == 0) c->pim_power = d.pim_power;
    if (c->drift_tau == 0) c->drift_tau = d.drift_tau;
    if (c->traffic_symbols == 0) c->traffic_symbols = d.traffic_symbols;
    for (int k = 0; k < c->n_carriers && k < MN_PIM_MAX_CARRIERS; k++)
        if (c->carriers[k].qam == 0) c->carriers[k].qam = 256;

#define BAD(...) return mn_error(MN_ERR_INVALID, "pim sim: " __VA_ARGS__)
    if (c->scenario != MN_PIM_STATIC && c->scenario != MN_PIM_DYNAMIC) BAD("scenario must be static or dynamic");
    if (c->n_tx < 1 || c->n_tx > 1024) BAD("n_tx = %d must be in 1..1024", c->n_tx);
    if (c->n_rx < 1 || c->n_rx > 1024) BAD("n_rx = %d must be in 1..1024", c->n_rx);
    if (!(c->fs > 0 && isfinite(c->fs))) BAD("fs = %g Hz must be > 0", c->fs);
    if (!(c->f_dl > c->fs && isfinite(c->f_dl))) BAD("f_dl = %g Hz must exceed fs (the Rx LO sits at f_dl - fs)", c->f_dl);
    if (c->n_carriers < 2 || c->n_carriers > MN_PIM_MAX_CARRIERS)
        BAD("n_carriers = %d must be in 2..%d (intermodulation needs two carriers)", c->n_carriers, MN_PIM_MAX_CARRIERS);
    for (int k = 0; k < c->n_carriers; k++) {
        const mn_pim_carrier_cfg *cc = &c->carriers[k];
        if (cc->qam != 16 && cc->qam != 64 && cc->qam != 256) BAD("carrier %d: qam %d must be 16, 64 or 256", k, cc->qam);
        if (!(cc->bw_hz > 0) || !(fabs(cc->offset_hz) + cc->bw_hz / 2 < 0.45 * c->fs))
            BAD("carrier %d: offset %.6g MHz +- bw/2 (%.6g MHz) must lie within +-0.45 fs = %.6g MHz",
                k, cc->offset_hz / 1e6, cc->bw_hz / 2e6, 0.45 * c->fs / 1e6);
        if (mn_nr_n_rb(cc->bw_hz, cc->mu) < 0)
            BAD("carrier %d: %.6g MHz at mu = %d is not an NR channel (TS 38.101-1 Table 5.3.2-1)", k, cc->bw_hz / 1e6, cc->mu);
        if (cc->n_layers < 0 || cc->n_layers > 1024) BAD("carrier %d: n_layers = %d must be in 0..1024", k, cc->n_layers);
        if (!isfinite(cc->power_db) || fabs(cc->power_db) > 60) BAD("carrier %d: power %g dB must be within +-60 dB", k, cc->power_db);
    }
    if (c->oversample < 4 || c->oversample > 16 || c->oversample % 4)
        BAD("oversample = %d must be 4, 8, 12 or 16", c->oversample);
    if (c->n_junctions < 1 || c->n_junctions > MN_PIM_MAX_JUNCTIONS) BAD("n_junctions = %d must be in 1..%d", c->n_junctions, MN_PIM_MAX_JUNCTIONS);
    if (c->junction_kind < MN_PIM_JUNCTION_MIXED || c->junction_kind > MN_PIM_JUNCTION_CUBIC) BAD("junction_kind %d unknown", (int)c->junction_kind);
    if (!(c->drive > 0 && c->drive <= 20)) BAD("drive = %g must be in (0, 20]", c->drive);
    if (!(c->memory >= 0 && c->memory < 1)) BAD("memory = %g must be in [0, 1)", c->memory);
    if (c->memory_taps < 1 || c->memory_taps > 64) BAD("memory_taps = %d must be in 1..64", c->memory_taps);
    if (!(c->rx_bw_hz > 0 && c->rx_transition_hz > 0 && c->rx_bw_hz / 2 + c->rx_transition_hz < 0.5 * c->fs))
        BAD("rx_bw_hz/2 + rx_transition_hz = %.6g MHz must be below fs/2 = %.6g MHz",
            (c->rx_bw_hz / 2 + c->rx_transition_hz) / 1e6, c->fs / 2e6);
    if (!(c->pnr_db >= -50 && c->pnr_db <= 200)) BAD("pnr_db = %g must be in [-50, 200]", c->pnr_db);
    if (!(c->pim_power > 0 && isfinite(c->pim_power))) BAD("pim_power = %g must be > 0", c->pim_power);
    if (!(c->drift_tau >= 1) || !(c->drift_db >= 0 && c->drift_db <= 40) || !(c->drift_phase >= 0 && c->drift_phase <= 10) ||
        !(c->drift_b >= 0 && c->drift_b <= 1))
        BAD("drift: tau >= 1 sample, 0 <= drift_db <= 40, 0 <= drift_phase <= 10 rad, 0 <= drift_b <= 1");
    if (c->traffic_symbols < 1) BAD("traffic_symbols = %d must be >= 1", c->traffic_symbols);
    if (!(c->p_idle_carrier >= 0 && c->p_partial >= 0 && c->p_idle_carrier + c->p_partial <= 1 &&
          c->p_idle_antenna >= 0 && c->p_idle_antenna <= 1))
        BAD("traffic probabilities must be in [0, 1] with p_idle_carrier + p_partial <= 1");
#undef BAD
    return MN_OK;
}

/* Antennas on a rows x cols grid (cols = ceil(sqrt(2 n))), centred, spacing dx, dy [wavelengths]. */
static void grid_positions(double *xy, int n, double width, double height, double d0)
{
    int cols = (int)ceil(sqrt(2.0 * n)), rows = (n + cols - 1) / cols;
    double dx = width > 0 ? (cols > 1 ? width / (cols - 1) : 0) : d0;
    double dy = height > 0 ? (rows > 1 ? height / (rows - 1) : 0) : d0;
    for (int i = 0; i < n; i++) {
        xy[2 * i] = (i % cols - 0.5 * (cols - 1)) * dx;
        xy[2 * i + 1] = (i / cols - 0.5 * (rows - 1)) * dy;
    }
}

/* Coupling between a junction at p (x, y, z) and an antenna at (x, y, 0), distance d in
 * wavelengths: magnitude (0.3 / d)^e with log-normal scatter (sigma_db), phase 2 pi d k plus a
 * uniform scatter of +-pi/4.  Tx -> junction uses e = 2 (reactive near field: a junction is
 * driven by the few antennas next to it); junction -> Rx uses e = 1 (radiated), so PIM spreads
 * over the Rx ports with a moderate level spread. */
static double complex couple(const double *p, const double *xy, double k, double e, double sigma_db,
                             mn_rng *r)
{
    double dx = p[0] - xy[0], dy = p[1] - xy[1], d = sqrt(dx * dx + dy * dy + p[2] * p[2]);
    double mag = pow(0.3 / d, e) * pow(10.0, sigma_db * mn_rng_normal(r) / 20.0);
    double ph = 2.0 * M_PI * d * k + (mn_rng_uniform(r) - 0.5) * M_PI / 2;
    return mag * CMPLX(cos(ph), sin(ph));
}

static mn_status build_scenario(mn_pim_sim *q, mn_rng *setup)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int n_tx = c->n_tx, n_rx = c->n_rx, nj = q->nj, T = c->memory_taps;
    q->tx_xy = mn_malloc((size_t)n_tx * 2 * sizeof(double));
    q->rx_xy = mn_malloc((size_t)n_rx * 2 * sizeof(double));
    q->j_xyz = mn_malloc((size_t)nj * 3 * sizeof(double));
    q->C0 = mn_malloc((size_t)nj * n_tx * sizeof *q->C0);
    q->D0 = mn_malloc((size_t)n_rx * nj * sizeof *q->D0);
    q->pre = mn_malloc((size_t)nj * T * sizeof *q->pre);
    q->post = mn_malloc((size_t)nj * T * sizeof *q->post);
    if (!q->tx_xy || !q->rx_xy || !q->j_xyz || !q->C0 || !q->D0 || !q->pre || !q->post)
        return mn_error(MN_ERR_NOMEM, "pim sim: geometry");
    /* Tx array: half-wavelength grid; Rx antennas spread over the same aperture */
    grid_positions(q->tx_xy, n_tx, 0, 0, 0.5);
    int cols = (int)ceil(sqrt(2.0 * n_tx)), rows = (n_tx + cols - 1) / cols;
    double W = 0.5 * (cols - 1), H = 0.5 * (rows - 1);
    grid_positions(q->rx_xy, n_rx, W > 0 ? W : 0.5, H > 0 ? H : 0.5, 0.5);
    double krx = (c->f_dl - c->fs) / c->f_dl; /* Rx wavelengths per DL wavelength */
    for (int j = 0; j < nj; j++) {
        double *p = q->j_xyz + 3 * j;
        p[0] = (mn_rng_uniform(setup) - 0.5) * (W + 0.5);
        p[1] = (mn_rng_uniform(setup) - 0.5) * (H + 0.5);
        p[2] = 0.15 + 0.65 * mn_rng_uniform(setup);
        double s = 0;
        for (int a = 0; a < n_tx; a++) {
            double complex v = couple(p, q->tx_xy + 2 * a, 1.0, 2.0, 3.0, setup);
            q->C0[(size_t)j * n_tx + a] = v;
            s += creal(v * conj(v));
        }
        for (int a = 0; a < n_tx; a++) q->C0[(size_t)j * n_tx + a] /= sqrt(s); /* unit row norm */
    }
    double sd = 0;
    for (int r = 0; r < n_rx; r++)
        for (int j = 0; j < nj; j++) {
            double complex v = couple(q->j_xyz + 3 * j, q->rx_xy + 2 * r, krx, 1.0, 2.0, setup);
            q->D0[(size_t)r * nj + j] = v;
            sd += creal(v * conj(v));
        }
    for (int i = 0; i < n_rx * nj; i++) q->D0[i] /= sqrt(sd / n_rx); /* mean row norm 1 */
    /* junctions: kind, drive spread 2 dB, level spread 4 dB, memory taps */
    for (int j = 0; j < nj; j++) {
        q->kind[j] = c->junction_kind != MN_PIM_JUNCTION_MIXED ? c->junction_kind
                     : (j % 2 == 0 ? MN_PIM_JUNCTION_TUNNEL : MN_PIM_JUNCTION_CONTACT);
        q->jdrive[j] = c->drive * pow(10.0, 2.0 * mn_rng_normal(setup) / 20.0);
        q->ja[j] = pow(10.0, 4.0 * mn_rng_normal(setup) / 20.0);
        for (int f = 0; f < 2; f++) {
            float complex *h = (f ? q->post : q->pre) + (size_t)j * T;
            h[0] = 1.0f;
            for (int k = 1; k < T; k++) {
                double g = c->memory * exp(-(k - 1) / (T / 3.0)) / sqrt(2.0);
                double re = g * mn_rng_normal(setup), im = g * mn_rng_normal(setup);
                h[k] = CMPLXF((float)re, (float)im);
            }
        }
    }
    return MN_OK;
}

/* Mean power of v_j = pre * sum_a C[j,a] x_a at full load, for independent unit-power layers:
 *   sum_c amp_c^2 sum_l |sum_a C[j,a] W_c[a,l]|^2   times  ||pre||^2 (white approximation). */
static double junction_input_power(const mn_pim_sim *q, int j)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int n_tx = c->n_tx, T = c->memory_taps;
    double p = 0;
    for (int k = 0; k < c->n_carriers; k++) {
        const sim_carrier *car = &q->car[k];
        double pc = 0;
        for (int l = 0; l < car->L; l++) {
            double complex s = 0;
            if (car->identity) s = q->C0[(size_t)j * n_tx + l];
            else
                for (int a = 0; a < n_tx; a++)
                    s += q->C0[(size_t)j * n_tx + a] * (double complex)car->W[(size_t)a * car->L + l];
            pc += creal(s * conj(s));
        }
        p += car->amp * car->amp * pc;
    }
    double h2 = 0;
    for (int k = 0; k < T; k++) h2 += pow((double)cabsf(q->pre[(size_t)j * T + k]), 2);
    return p * h2;
}

static mn_status build_chains(mn_pim_sim *q)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int R = q->R, T = c->memory_taps;
    double fs = c->fs;
    /* interpolator: pass the DL span, stop its first image (fs - span) */
    q->span_hz = 0;
    for (int k = 0; k < c->n_carriers; k++)
        q->span_hz = fmax(q->span_hz, fabs(c->carriers[k].offset_hz) + c->carriers[k].bw_hz / 2);
    int li = mn_fir_kaiser_len(80, (fs - 2 * q->span_hz) / (R * fs));
    q->interp_m = (li - 1 + 2 * R - 1) / (2 * R);
    if (q->interp_m < 1) q->interp_m = 1;
    /* decimator: protect |f| < fstop (the channel's stopband edge) from aliases */
    double fstop = c->rx_bw_hz / 2 + c->rx_transition_hz;
    int ld = mn_fir_kaiser_len(90, (fs - 2 * fstop) / (R * fs));
    q->decim_m = (ld - 1 + 2 * R - 1) / (2 * R);
    if (q->decim_m < 1) q->decim_m = 1;
    /* UL channel filter at fs: pass rx_bw/2, stop from rx_bw/2 + transition, 90 dB */
    int lc = mn_fir_kaiser_len(90, c->rx_transition_hz / fs);
    if (lc % 2 == 0) lc++;
    q->chan_len = lc;
    q->D = q->interp_m + q->decim_m + (lc - 1) / 2;
    q->pre_blocks = 1 + (2 * q->D + 2 * T) / SIM_BLOCK; /* memory spans 2 (T - 1) / 4 < 2 T samples */
    float *hc = mn_malloc((size_t)lc * sizeof *hc);
    if (!hc) return mn_error(MN_ERR_NOMEM, "pim sim: channel filter");
    /* memory taps are spaced 1/(4 fs) in time whatever the oversampling: at R = 4 u they sit
     * every u samples, so the physics does not depend on R */
    int u = R / 4, TL = (T - 1) * u + 1;
    float complex *hpre = mn_calloc((size_t)TL, sizeof *hpre), *hpost = mn_calloc((size_t)TL, sizeof *hpost);
    mn_status st = hpre && hpost ? mn_fir_design_lowpass(hc, lc, (c->rx_bw_hz / 2 + c->rx_transition_hz / 2) / fs, 90)
                                 : mn_error(MN_ERR_NOMEM, "pim sim: memory taps");
    for (int j = 0; j < q->nj && st == MN_OK; j++) {
        for (int k = 0; k < T; k++) {
            hpre[k * u] = q->pre[(size_t)j * T + k];
            hpost[k * u] = q->post[(size_t)j * T + k];
        }
        double pv = junction_input_power(q, j);
        q->jb[j] = q->jdrive[j] / sqrt(pv > 0 ? pv : 1.0);
        mn_pim_junction_cfg jc = {
            .kind = q->kind[j],
            .a = q->ja[j],
            .b = q->jb[j],
            .pre = c->memory > 0 ? hpre : NULL,
            .n_pre = TL,
            .post = c->memory > 0 ? hpost : NULL,
            .n_post = TL,
        };
        q->jn[j] = mn_pim_junction_create(&jc);
        q->ip[j] = mn_interp_create_kaiser(R, q->interp_m, 0.5 / R, 80);
        q->dc[j] = mn_decim_create_kaiser(R, q->decim_m, 0.5 / R, 90);
        q->ch[j] = mn_firfilt_create_real(hc, lc);
        if (!q->jn[j] || !q->ip[j] || !q->dc[j] || !q->ch[j]) st = MN_ERR_NOMEM;
    }
    mn_free(hc);
    mn_free(hpre);
    mn_free(hpost);
    if (st != MN_OK) return mn_error(st, "pim sim: junction chains: %s", mn_error_msg());
    for (int p = 0; p < R; p++) q->lo_rx[p] = CMPLXF((float)cos(2 * M_PI * p / R), (float)sin(2 * M_PI * p / R));
    if (R == 4) { /* exact quarter turns */
        q->lo_rx[0] = 1.0f;
        q->lo_rx[1] = CMPLXF(0.0f, 1.0f);
        q->lo_rx[2] = -1.0f;
        q->lo_rx[3] = CMPLXF(0.0f, -1.0f);
    }
    return MN_OK;
}

static mn_status alloc_work(mn_pim_sim *q)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    size_t nj = (size_t)q->nj, R = (size_t)q->R, B = SIM_BLOCK, S1 = SIM_STEPS + 1;
    q->ldq = q->D + SIM_BLOCK;
    q->txq = mn_calloc((size_t)c->n_tx * (size_t)q->ldq, sizeof *q->txq);
    q->v = mn_malloc(nj * B * sizeof *q->v);
    q->v4 = mn_malloc(nj * R * B * sizeof *q->v4);
    q->pim = mn_malloc((size_t)c->n_rx * B * sizeof *q->pim);
    if (!q->txq || !q->v || !q->v4 || !q->pim) return mn_error(MN_ERR_NOMEM, "pim sim: work buffers");
    if (c->scenario == MN_PIM_DYNAMIC) {
        q->ga4 = mn_malloc(nj * R * B * sizeof *q->ga4);
        q->gb4 = mn_malloc(nj * R * B * sizeof *q->gb4);
        q->Cg = mn_malloc(S1 * nj * (size_t)c->n_tx * sizeof *q->Cg);
        q->Dg = mn_malloc(S1 * (size_t)c->n_rx * nj * sizeof *q->Dg);
        q->gag = mn_malloc(S1 * nj * sizeof *q->gag);
        q->gbg = mn_malloc(S1 * nj * sizeof *q->gbg);
        if (!q->ga4 || !q->gb4 || !q->Cg || !q->Dg || !q->gag || !q->gbg)
            return mn_error(MN_ERR_NOMEM, "pim sim: drift buffers");
        return sim_drift_init(q);
    }
    return MN_OK;
}

mn_pim_sim *mn_pim_sim_create(const mn_pim_sim_cfg *cfg)
{
    if (!cfg) {
        mn_error(MN_ERR_INVALID, "pim sim: NULL configuration");
        return NULL;
    }
    mn_pim_sim_cfg c = *cfg;
    if (resolve(&c) != MN_OK) return NULL;
    mn_pim_sim *q = mn_calloc(1, sizeof *q);
    if (!q) {
        mn_error(MN_ERR_NOMEM, "pim sim");
        return NULL;
    }
    q->cfg = c;
    q->R = c.oversample;
    q->nj = c.n_junctions;
    mn_rng setup;
    sim_rng_part(&setup, c.seed, SIM_PART_SETUP);
    mn_rng tr;
    sim_rng_part(&tr, c.seed, SIM_PART_TRAFFIC);
    q->traffic_key = mn_rng_u64(&tr);
    mn_status st = build_scenario(q, &setup);
    if (st == MN_OK) st = sim_carriers_init(q); /* copies the caller's weights */
    for (int k = 0; k < c.n_carriers; k++) q->cfg.carriers[k].weights = NULL;
    if (st == MN_OK) st = build_chains(q);
    if (st == MN_OK) st = alloc_work(q);
    if (st != MN_OK) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mn_error_msg());
        mn_pim_sim_destroy(q);
        mn_error(st, "%s", msg);
        return NULL;
    }
    mn_pim_sim_reset(q);
    return q;
}

const mn_pim_sim_cfg *mn_pim_sim_config(const mn_pim_sim *q) { return &q->cfg; }
double mn_pim_sim_f_rx(const mn_pim_sim *q) { return q->cfg.f_dl - q->cfg.fs; }
int mn_pim_sim_delay(const mn_pim_sim *q) { return q->D; }

/* ---------------------------------------------------------------- the chain */

/* y[i] += (c0 + (i / S) dc) x[i] for i in [0, n), complex; written on interleaved floats so
 * the compiler need not guard every complex product against NaN (C11 Annex G) and can
 * vectorize.  dc = 0 gives a plain complex multiply-accumulate. */
static void cmac_ramp(float complex *restrict y, double complex c0, double complex dc, int S,
                      const float complex *restrict x, int n)
{
    float *yf = (float *)y;
    const float *xf = (const float *)x;
    float ar = (float)creal(c0), ai = (float)cimag(c0), dr = (float)creal(dc), di = (float)cimag(dc);
    for (int i = 0; i < n; i++) {
        float t = (float)i / (float)S, cr = ar + t * dr, ci = ai + t * di;
        float xr = xf[2 * i], xi = xf[2 * i + 1];
        yf[2 * i] += cr * xr - ci * xi;
        yf[2 * i + 1] += cr * xi + ci * xr;
    }
}

/* Junction j: couple x (n_tx rows, stride ld) into v_j, run the oversampled junction and the
 * receiver, leave pim contribution u_j (fs, SIM_BLOCK samples) in q->v + j * SIM_BLOCK. */
static void chain_junction(mn_pim_sim *q, int j, const float complex *x, int64_t ld, bool dyn)
{
    const int n_tx = q->cfg.n_tx, R = q->R, B = SIM_BLOCK, S = SIM_GRID, nj = q->nj;
    float complex *v = q->v + (size_t)j * B, *v4 = q->v4 + (size_t)j * R * B;
    memset(v, 0, B * sizeof *v);
    for (int a = 0; a < n_tx; a++) {
        const float complex *xa = x + (size_t)a * (size_t)ld;
        if (!dyn) {
            cmac_ramp(v, q->C0[(size_t)j * n_tx + a], 0, S, xa, B);
        } else {
            for (int s = 0; s < SIM_STEPS; s++) {
                double complex c0 = q->Cg[((size_t)s * nj + j) * n_tx + a];
                double complex dc = q->Cg[((size_t)(s + 1) * nj + j) * n_tx + a] - c0;
                cmac_ramp(v + s * S, c0, dc, S, xa + s * S, S);
            }
        }
    }
    mn_interp_execute(q->ip[j], v4, v, B);
    const float *ga = NULL, *gb = NULL;
    if (dyn) {
        float *ga4 = q->ga4 + (size_t)j * R * B, *gb4 = q->gb4 + (size_t)j * R * B;
        int RS = R * S;
        for (int m = 0; m < R * B; m++) {
            int s = m / RS;
            float t = (float)(m - s * RS) / (float)RS;
            float a0 = (float)q->gag[s * nj + j], a1 = (float)q->gag[(s + 1) * nj + j];
            float b0 = (float)q->gbg[s * nj + j], b1 = (float)q->gbg[(s + 1) * nj + j];
            ga4[m] = a0 + t * (a1 - a0);
            gb4[m] = b0 + t * (b1 - b0);
        }
        ga = ga4;
        gb = gb4;
    }
    mn_pim_junction_execute_mod(q->jn[j], v4, v4, (size_t)R * B, ga, gb);
    {
        float *vf = (float *)v4;
        for (int m = 0; m < R * B; m++) {
            float lr = crealf(q->lo_rx[m % R]), li = cimagf(q->lo_rx[m % R]);
            float xr = vf[2 * m], xi = vf[2 * m + 1];
            vf[2 * m] = lr * xr - li * xi;
            vf[2 * m + 1] = lr * xi + li * xr;
        }
    }
    size_t got = mn_decim_execute(q->dc[j], v, v4, (size_t)R * B);
    (void)got; /* = B: blocks start on multiples of R at the oversampled rate */
    mn_firfilt_execute(q->ch[j], v, v, B);
}

/* One block of SIM_BLOCK chain inputs x (n_tx rows, stride ld) -> q->pim [n_rx, SIM_BLOCK]. */
static void run_chain(mn_pim_sim *q, const float complex *x, int64_t ld)
{
    const int n_rx = q->cfg.n_rx, nj = q->nj, B = SIM_BLOCK, S = SIM_GRID;
    bool dyn = q->cfg.scenario == MN_PIM_DYNAMIC;
    if (dyn) sim_drift_block(q);
SIM_OMP("omp parallel for schedule(dynamic, 1)")
    for (int j = 0; j < nj; j++) chain_junction(q, j, x, ld, dyn);
SIM_OMP("omp parallel for schedule(static)")
    for (int r = 0; r < n_rx; r++) {
        float complex *out = q->pim + (size_t)r * B;
        memset(out, 0, B * sizeof *out);
        for (int j = 0; j < nj; j++) {
            const float complex *u = q->v + (size_t)j * B;
            if (!dyn) {
                cmac_ramp(out, q->D0[(size_t)r * nj + j], 0, S, u, B);
            } else {
                for (int s = 0; s < SIM_STEPS; s++) {
                    double complex d0 = q->Dg[((size_t)s * n_rx + r) * nj + j];
                    double complex dd = q->Dg[((size_t)(s + 1) * n_rx + r) * nj + j] - d0;
                    cmac_ramp(out + s * S, d0, dd, S, u + s * S, S);
                }
            }
        }
    }
    q->k_abs += B;
}

static void chain_reset(mn_pim_sim *q)
{
    for (int j = 0; j < q->nj; j++) {
        mn_interp_reset(q->ip[j]);
        mn_pim_junction_reset(q->jn[j]);
        mn_decim_reset(q->dc[j]);
        mn_firfilt_reset(q->ch[j]);
    }
    if (q->cfg.scenario == MN_PIM_DYNAMIC) sim_drift_reset(q);
    q->k_abs = 0;
}

/* Next block: advance the tx delay line, generate SIM_BLOCK new samples at column D, run the
 * chain on them.  Afterwards columns [0, SIM_BLOCK) of txq are the tx aligned with q->pim. */
static void produce_block(mn_pim_sim *q)
{
    int n_tx = q->cfg.n_tx;
    for (int a = 0; a < n_tx; a++) {
        float complex *row = q->txq + (size_t)a * (size_t)q->ldq;
        memmove(row, row + SIM_BLOCK, (size_t)q->D * sizeof *row);
    }
    sim_carriers_block(q, q->txq + q->D, q->ldq);
    run_chain(q, q->txq + q->D, q->ldq);
    q->blk_pos = 0;
}

void mn_pim_sim_reset(mn_pim_sim *q)
{
    sim_carriers_reset(q);
    chain_reset(q);
    memset(q->txq, 0, (size_t)q->cfg.n_tx * (size_t)q->ldq * sizeof *q->txq);
    for (int b = 0; b < q->pre_blocks; b++) produce_block(q);
    q->blk_pos = SIM_BLOCK;
}

mn_status mn_pim_sim_execute(mn_pim_sim *q, float complex *tx, int64_t ld_tx, float complex *pim,
                             int64_t ld_pim, int64_t n)
{
    if (n < 0 || (tx && ld_tx < n) || (pim && ld_pim < n))
        return mn_error(MN_ERR_INVALID, "pim sim: n = %lld with row strides %lld, %lld",
                        (long long)n, (long long)ld_tx, (long long)ld_pim);
    int64_t off = 0;
    while (off < n) {
        if (q->blk_pos == SIM_BLOCK) produce_block(q);
        int64_t take = n - off < SIM_BLOCK - q->blk_pos ? n - off : SIM_BLOCK - q->blk_pos;
        if (tx)
            for (int a = 0; a < q->cfg.n_tx; a++)
                memcpy(tx + a * ld_tx + off, q->txq + (size_t)a * (size_t)q->ldq + q->blk_pos,
                       (size_t)take * sizeof *tx);
        if (pim)
            for (int r = 0; r < q->cfg.n_rx; r++)
                memcpy(pim + r * ld_pim + off, q->pim + (size_t)r * SIM_BLOCK + q->blk_pos,
                       (size_t)take * sizeof *pim);
        q->blk_pos += take;
        off += take;
    }
    return MN_OK;
}

mn_status mn_pim_sim_apply(mn_pim_sim *q, float complex *pim, const float complex *tx, int64_t n)
{
    if (n < 1) return mn_error(MN_ERR_INVALID, "pim sim: apply needs n >= 1 samples, got %lld", (long long)n);
    int n_tx = q->cfg.n_tx, n_rx = q->cfg.n_rx, D = q->D;
    chain_reset(q);
    for (int64_t k0 = 0; k0 < n + D; k0 += SIM_BLOCK) {
        for (int a = 0; a < n_tx; a++) {
            float complex *row = q->txq + (size_t)a * (size_t)q->ldq + D;
            int64_t avail = n - k0 > SIM_BLOCK ? SIM_BLOCK : (n - k0 > 0 ? n - k0 : 0);
            if (avail > 0) memcpy(row, tx + a * n + k0, (size_t)avail * sizeof *row);
            memset(row + avail, 0, (size_t)(SIM_BLOCK - avail) * sizeof *row);
        }
        run_chain(q, q->txq + D, q->ldq);
        for (int r = 0; r < n_rx; r++)
            for (int i = 0; i < SIM_BLOCK; i++) {
                int64_t o = k0 + i - D;
                if (o >= 0 && o < n) pim[r * n + o] = q->pim[(size_t)r * SIM_BLOCK + i];
            }
    }
    mn_pim_sim_reset(q);
    return MN_OK;
}

mn_status mn_pim_sim_record(mn_pim_sim *q, float complex *tx, float complex *pim,
                            float complex *rx, int64_t n, mn_pim_sim_info *info)
{
    if (n < 1 || !tx || !pim) return mn_error(MN_ERR_INVALID, "pim sim: record needs tx, pim and n >= 1");
    const mn_pim_sim_cfg *c = &q->cfg;
    int n_tx = c->n_tx, n_rx = c->n_rx;
    double t0 = mn_time_sec();
    mn_pim_sim_reset(q);
    const int64_t chunk = 8 * SIM_BLOCK;
    for (int64_t off = 0; off < n; off += chunk) {
        int64_t m = n - off < chunk ? n - off : chunk;
        mn_status st = mn_pim_sim_execute(q, tx + off, n, pim + off, n, m);
        if (st != MN_OK) return st;
        if (c->progress) c->progress((double)(off + m) / (double)n, c->progress_user);
    }
    /* scale: mean |pim|^2 over all Rx antennas = pim_power (per-row sums, then a fixed-order total) */
    double *rowp = mn_calloc((size_t)(n_rx > n_tx ? n_rx : n_tx), sizeof *rowp);
    mn_rng *nr = mn_malloc((size_t)n_rx * sizeof *nr);
    if (!rowp || !nr) {
        mn_free(rowp);
        mn_free(nr);
        return mn_error(MN_ERR_NOMEM, "pim sim: record");
    }
SIM_OMP("omp parallel for schedule(static)")
    for (int r = 0; r < n_rx; r++) {
        double s = 0;
        const float complex *p = pim + r * n;
        for (int64_t i = 0; i < n; i++) s += (double)(crealf(p[i]) * crealf(p[i]) + cimagf(p[i]) * cimagf(p[i]));
        rowp[r] = s;
    }
    double tot = 0;
    for (int r = 0; r < n_rx; r++) tot += rowp[r];
    double mean = tot / ((double)n_rx * (double)n);
    if (!(mean > 0) || !isfinite(mean)) {
        mn_free(rowp);
        mn_free(nr);
        return mn_error(MN_ERR_NUMERIC, "pim sim: the PIM is %s over %lld samples (all carriers idle?)",
                        isfinite(mean) ? "zero" : "not finite", (long long)n);
    }
    double gain = sqrt(c->pim_power / mean);
    double noise = c->pim_power / pow(10.0, c->pnr_db / 10.0);
    mn_rng base;
    sim_rng_part(&base, c->seed, SIM_PART_NOISE);
    for (int r = 0; r < n_rx; r++) {
        nr[r] = base;
        mn_rng_jump(&base);
    }
    double sd = sqrt(noise / 2.0);
SIM_OMP("omp parallel for schedule(static)")
    for (int r = 0; r < n_rx; r++) {
        float complex *p = pim + r * n;
        double s = 0;
        for (int64_t i = 0; i < n; i++) p[i] *= (float)gain;
        if (rx) {
            float complex *y = rx + r * n;
            for (int64_t i = 0; i < n; i++) {
                float complex w = CMPLXF((float)(sd * mn_rng_normal(&nr[r])), (float)(sd * mn_rng_normal(&nr[r])));
                y[i] = p[i] + w;
                s += (double)(crealf(w) * crealf(w) + cimagf(w) * cimagf(w));
            }
        }
        rowp[r] = s;
    }
    double nmeas = 0;
    for (int r = 0; r < n_rx; r++) nmeas += rowp[r];
    nmeas /= (double)n_rx * (double)n;
SIM_OMP("omp parallel for schedule(static)")
    for (int a = 0; a < n_tx; a++) {
        double s = 0;
        const float complex *x = tx + a * n;
        for (int64_t i = 0; i < n; i++) s += (double)(crealf(x[i]) * crealf(x[i]) + cimagf(x[i]) * cimagf(x[i]));
        rowp[a] = s;
    }
    double txp = 0;
    for (int a = 0; a < n_tx; a++) txp += rowp[a];
    mn_free(rowp);
    mn_free(nr);
    if (info) {
        info->n = n;
        info->pim_gain = gain;
        info->pim_power = mean * gain * gain;
        info->noise_power = noise;
        info->pnr_measured_db = rx ? 10.0 * log10(info->pim_power / nmeas) : (double)NAN;
        info->tx_power = txp / ((double)n_tx * (double)n);
        info->seconds = mn_time_sec() - t0;
    }
    return MN_OK;
}

void mn_pim_sim_destroy(mn_pim_sim *q)
{
    if (!q) return;
    sim_carriers_free(q);
    sim_drift_free(q);
    for (int j = 0; j < MN_PIM_MAX_JUNCTIONS; j++) {
        mn_pim_junction_destroy(q->jn[j]);
        mn_interp_destroy(q->ip[j]);
        mn_decim_destroy(q->dc[j]);
        mn_firfilt_destroy(q->ch[j]);
    }
    void *bufs[] = {q->tx_xy, q->rx_xy, q->j_xyz, q->C0, q->D0, q->pre, q->post, q->Cg, q->Dg,
                    q->gag, q->gbg, q->txq, q->v, q->v4, q->ga4, q->gb4, q->pim};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) mn_free(bufs[i]);
    mn_free(q);
}
