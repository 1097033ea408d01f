/* pim/sim_meta.c — the simulator's scenario description as JSON (what meta.json holds): rates,
 * carrier plan with NR numerology, intermodulation frequencies relative to the Rx channel,
 * receiver filters, junction parameters, coupling matrices and their statistics, dynamic
 * settings, and the recording's noise power, gain and measured PNR. */
#include "sim_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

static cJSON *cplx(double complex z)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(creal(z)));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(cimag(z)));
    return a;
}

static cJSON *cplx_matrix(const double complex *m, int rows, int cols)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < rows; i++) {
        cJSON *row = cJSON_CreateArray();
        for (int k = 0; k < cols; k++) cJSON_AddItemToArray(row, cplx(m[(size_t)i * cols + k]));
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

/* Per-row statistics of a coupling matrix: effective number of contributors
 * (sum |c|^2)^2 / sum |c|^4, the strongest contributor's power share, and the spread
 * max |c| / min |c| in dB; summarized as mean / min / max over the rows. */
static cJSON *coupling_stats(const double complex *m, int rows, int cols)
{
    double eff_s = 0, eff_lo = (double)INFINITY, eff_hi = 0, sh_s = 0, spread_hi = 0;
    double pw_lo = (double)INFINITY, pw_hi = 0;
    for (int i = 0; i < rows; i++) {
        double s2 = 0, s4 = 0, mx = 0, mn = (double)INFINITY;
        for (int k = 0; k < cols; k++) {
            double p = creal(m[(size_t)i * cols + k] * conj(m[(size_t)i * cols + k]));
            s2 += p;
            s4 += p * p;
            mx = fmax(mx, p);
            mn = fmin(mn, p);
        }
        double eff = s4 > 0 ? s2 * s2 / s4 : 0;
        eff_s += eff;
        eff_lo = fmin(eff_lo, eff);
        eff_hi = fmax(eff_hi, eff);
        sh_s += s2 > 0 ? mx / s2 : 0;
        if (mn > 0) spread_hi = fmax(spread_hi, 10 * log10(mx / mn));
        pw_lo = fmin(pw_lo, s2);
        pw_hi = fmax(pw_hi, s2);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "effective_inputs_mean", eff_s / rows);
    cJSON_AddNumberToObject(o, "effective_inputs_min", eff_lo);
    cJSON_AddNumberToObject(o, "effective_inputs_max", eff_hi);
    cJSON_AddNumberToObject(o, "strongest_share_mean", sh_s / rows);
    cJSON_AddNumberToObject(o, "magnitude_spread_db_max", spread_hi);
    cJSON_AddNumberToObject(o, "row_power_db_min", 10 * log10(pw_lo));
    cJSON_AddNumberToObject(o, "row_power_db_max", 10 * log10(pw_hi));
    return o;
}

char *mn_pim_sim_meta_json(const mn_pim_sim *q, const mn_pim_sim_info *info)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    double f_rx = c->f_dl - c->fs;
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "generator", "mimonet pim simulate " MN_VERSION_STRING);
    cJSON_AddStringToObject(o, "scenario", c->scenario == MN_PIM_DYNAMIC ? "dynamic" : "static");
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "n_tx", c->n_tx);
    cJSON_AddNumberToObject(o, "n_rx", c->n_rx);
    if (info) cJSON_AddNumberToObject(o, "samples", (double)info->n);
    cJSON_AddNumberToObject(o, "sample_rate_hz", c->fs);
    cJSON_AddNumberToObject(o, "oversampling", q->R);
    cJSON_AddNumberToObject(o, "internal_rate_hz", c->fs * q->R);
    cJSON_AddNumberToObject(o, "f_dl_hz", c->f_dl);
    cJSON_AddNumberToObject(o, "f_rx_hz", f_rx);
    cJSON_AddStringToObject(o, "tx_frame", "complex baseband centred on f_dl_hz");
    cJSON_AddStringToObject(o, "rx_frame", "complex baseband centred on f_rx_hz = f_dl_hz - sample_rate_hz; "
                                           "tx and rx share one time base (rx[n] is centred on tx[n])");
    cJSON_AddNumberToObject(o, "compensated_delay_samples", q->D);
    if (c->f_dl >= 1805e6 && c->f_dl <= 1880e6) {
        cJSON *b = cJSON_AddObjectToObject(o, "band");
        cJSON_AddStringToObject(b, "name", "3 (NR n3 / LTE B3)");
        double dl[2] = {1805e6, 1880e6}, ul[2] = {1710e6, 1785e6};
        cJSON_AddItemToObject(b, "dl_hz", cJSON_CreateDoubleArray(dl, 2));
        cJSON_AddItemToObject(b, "ul_hz", cJSON_CreateDoubleArray(ul, 2));
        cJSON_AddBoolToObject(b, "rx_channel_in_ul_band",
                              f_rx - c->rx_bw_hz / 2 >= ul[0] && f_rx + c->rx_bw_hz / 2 <= ul[1]);
    }
    /* carriers */
    cJSON *cs = cJSON_AddArrayToObject(o, "carriers");
    for (int k = 0; k < c->n_carriers; k++) {
        const sim_carrier *car = &q->car[k];
        const mn_ofdm_cfg *of = &car->ofdm;
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "centre_hz", c->f_dl + car->offset_hz);
        cJSON_AddNumberToObject(e, "offset_hz", car->offset_hz);
        cJSON_AddNumberToObject(e, "bandwidth_hz", c->carriers[k].bw_hz);
        cJSON_AddNumberToObject(e, "scs_hz", 15e3 * (1 << of->mu));
        cJSON_AddNumberToObject(e, "n_rb", of->n_rb);
        cJSON_AddNumberToObject(e, "occupied_hz", mn_ofdm_occupied_hz(of));
        cJSON_AddNumberToObject(e, "nfft", of->nfft);
        cJSON_AddNumberToObject(e, "cp", of->cp);
        cJSON_AddNumberToObject(e, "cp_first", of->cp_first);
        cJSON_AddNumberToObject(e, "qam", car->qam);
        cJSON_AddNumberToObject(e, "power_db", c->carriers[k].power_db);
        cJSON_AddNumberToObject(e, "amplitude", car->amp);
        cJSON_AddNumberToObject(e, "layers", car->L);
        cJSON_AddBoolToObject(e, "beamformed", !car->identity);
        cJSON_AddNumberToObject(e, "start_offset_samples", car->start);
        cJSON_AddItemToArray(cs, e);
    }
    /* third-order products 2 f_i - f_k of every ordered carrier pair */
    cJSON *im = cJSON_AddArrayToObject(o, "im3");
    for (int i = 0; i < c->n_carriers; i++)
        for (int k = 0; k < c->n_carriers; k++) {
            if (i == k) continue;
            double f = 2 * (c->f_dl + c->carriers[i].offset_hz) - (c->f_dl + c->carriers[k].offset_hz);
            double bw = 2 * c->carriers[i].bw_hz + c->carriers[k].bw_hz;
            cJSON *e = cJSON_CreateObject();
            int ik[2] = {i, k};
            cJSON_AddItemToObject(e, "carriers", cJSON_CreateIntArray(ik, 2));
            cJSON_AddNumberToObject(e, "hz", f);
            cJSON_AddNumberToObject(e, "width_hz", bw);
            cJSON_AddNumberToObject(e, "offset_from_rx_hz", f - f_rx);
            cJSON_AddBoolToObject(e, "centre_in_rx_channel", fabs(f - f_rx) < c->rx_bw_hz / 2);
            cJSON_AddItemToArray(im, e);
        }
    /* receiver */
    cJSON *rxo = cJSON_AddObjectToObject(o, "rx_filter");
    cJSON_AddNumberToObject(rxo, "centre_hz", f_rx);
    cJSON_AddNumberToObject(rxo, "passband_hz", c->rx_bw_hz);
    cJSON_AddNumberToObject(rxo, "stopband_edge_offset_hz", c->rx_bw_hz / 2 + c->rx_transition_hz);
    cJSON_AddNumberToObject(rxo, "stopband_db", 90);
    cJSON_AddNumberToObject(rxo, "channel_taps", q->chan_len);
    cJSON_AddNumberToObject(rxo, "interp_taps", 2 * q->R * q->interp_m + 1);
    cJSON_AddNumberToObject(rxo, "decim_taps", 2 * q->R * q->decim_m + 1);
    /* junctions */
    cJSON *js = cJSON_AddArrayToObject(o, "junctions");
    int T = c->memory_taps;
    for (int j = 0; j < q->nj; j++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "kind", mn_pim_junction_name(q->kind[j]));
        cJSON_AddStringToObject(e, "iv_curve", q->kind[j] == MN_PIM_JUNCTION_TUNNEL ? "i = a sinh(b V)"
                                               : q->kind[j] == MN_PIM_JUNCTION_CONTACT ? "i = a tanh(b V)"
                                                                                       : "y = a b^3 |v|^2 v");
        cJSON_AddNumberToObject(e, "a", q->ja[j]);
        cJSON_AddNumberToObject(e, "b", q->jb[j]);
        cJSON_AddNumberToObject(e, "drive_rms", q->jdrive[j]);
        double pos[3] = {q->j_xyz[3 * j], q->j_xyz[3 * j + 1], q->j_xyz[3 * j + 2]};
        cJSON_AddItemToObject(e, "position_wavelengths", cJSON_CreateDoubleArray(pos, 3));
        if (c->memory > 0) {
            cJSON *pr = cJSON_AddArrayToObject(e, "pre_filter"), *po = cJSON_AddArrayToObject(e, "post_filter");
            for (int k = 0; k < T; k++) {
                cJSON_AddItemToArray(pr, cplx((double complex)q->pre[(size_t)j * T + k]));
                cJSON_AddItemToArray(po, cplx((double complex)q->post[(size_t)j * T + k]));
            }
        }
        cJSON_AddItemToArray(js, e);
    }
    cJSON *co = cJSON_AddObjectToObject(o, "coupling");
    cJSON_AddStringToObject(co, "model", "magnitude (0.3/d)^e, d in wavelengths: tx->junction e = 2 with 3 dB "
                                         "log-normal scatter (rows normalized to unit norm), junction->rx e = 1 "
                                         "with 2 dB scatter (mean row norm 1); phase 2 pi d/lambda +- pi/4");
    cJSON_AddItemToObject(co, "tx_to_junction_stats", coupling_stats(q->C0, q->nj, c->n_tx));
    cJSON_AddItemToObject(co, "junction_to_rx_stats", coupling_stats(q->D0, c->n_rx, q->nj));
    cJSON_AddItemToObject(co, "tx_to_junction", cplx_matrix(q->C0, q->nj, c->n_tx));
    cJSON_AddItemToObject(co, "junction_to_rx", cplx_matrix(q->D0, c->n_rx, q->nj));
    cJSON *mo = cJSON_AddObjectToObject(o, "memory");
    cJSON_AddNumberToObject(mo, "echo_amplitude", c->memory);
    cJSON_AddNumberToObject(mo, "taps", T);
    cJSON_AddNumberToObject(mo, "tap_spacing_s", 1.0 / (4.0 * c->fs));
    if (c->scenario == MN_PIM_DYNAMIC) {
        cJSON *d = cJSON_AddObjectToObject(o, "dynamic");
        cJSON_AddNumberToObject(d, "drift_tau_samples", c->drift_tau);
        cJSON_AddNumberToObject(d, "drift_grid_samples", SIM_GRID);
        cJSON_AddNumberToObject(d, "drift_level_db", c->drift_db);
        cJSON_AddNumberToObject(d, "drift_b_relative", c->drift_b);
        cJSON_AddNumberToObject(d, "drift_phase_rad", c->drift_phase);
        cJSON_AddNumberToObject(d, "traffic_block_symbols", c->traffic_symbols);
        cJSON_AddNumberToObject(d, "p_idle_carrier", c->p_idle_carrier);
        cJSON_AddNumberToObject(d, "p_partial_allocation", c->p_partial);
        cJSON_AddNumberToObject(d, "p_idle_antenna", c->p_idle_antenna);
    }
    cJSON_AddNumberToObject(o, "pnr_db", c->pnr_db);
    if (info) {
        cJSON_AddNumberToObject(o, "noise_power", info->noise_power);
        cJSON_AddNumberToObject(o, "pim_power", info->pim_power);
        cJSON_AddNumberToObject(o, "pim_gain", info->pim_gain);
        if (isfinite(info->pnr_measured_db)) cJSON_AddNumberToObject(o, "pnr_measured_db", info->pnr_measured_db);
        cJSON_AddNumberToObject(o, "tx_power", info->tx_power);
    }
    char *txt = cJSON_Print(o);
    cJSON_Delete(o);
    if (!txt) return NULL;
    char *out = mn_strdup(txt);
    cJSON_free(txt);
    return out;
}
