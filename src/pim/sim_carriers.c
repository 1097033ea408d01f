/* pim/sim_carriers.c — the downlink carriers of the PIM scenario: NR OFDM with random QAM on
 * every subcarrier, one stream per Tx antenna or L layers beamformed by per-antenna complex
 * weights, shifted to their offsets from f_dl by an NCO and summed per antenna, at fs.
 *
 *   x_a[n] = sum_c amp_c e^{j 2 pi f_c n / fs} s_{c,a}[n],
 *   s_{c,a} = layer a (no beamforming)  or  sum_l W_c[a,l] layer_{c,l}  (beamforming),
 * with amp_c^2 = p_c / sum p, so that each antenna has unit mean power at full load (rows of W
 * of unit norm).
 *
 * Each layer is an independent stream (sim_rng_part): its QAM symbols depend only on
 * (seed, carrier, layer).  The OFDM symbols are WOLA-windowed over half the CP (mn_ofdm_mod),
 * as a real transmitter confines its spectrum; without it the sinc sidelobes of the carriers
 * would spread their IM products over the whole Rx channel.  In the dynamic scenario each
 * symbol's grid is restricted to the resource blocks that the traffic pattern allocates
 * (sim_traffic_alloc), and a muted layer (an idle antenna without beamforming; a dropped layer
 * with it) sends nothing; the same random symbols are drawn either way, so the streams stay
 * aligned, and muting in the frequency grid lets the WOLA window ramp the transitions as a
 * transmitter ramps its power. */
#include "sim_internal.h"

#include <math.h>
#include <string.h>

mn_status sim_carriers_init(struct mn_pim_sim *q)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int n_tx = c->n_tx;
    double psum = 0;
    for (int k = 0; k < c->n_carriers; k++) psum += pow(10.0, c->carriers[k].power_db / 10.0);
    for (int k = 0; k < c->n_carriers; k++) {
        const mn_pim_carrier_cfg *cc = &c->carriers[k];
        sim_carrier *car = &q->car[k];
        mn_status st = mn_ofdm_numerology_nr(&car->ofdm, cc->bw_hz, cc->mu, c->fs);
        if (st != MN_OK) return mn_error(st, "pim sim: carrier %d: %s", k, mn_error_msg());
        car->ofdm.wola = car->ofdm.cp / 2; /* transmit windowing over half the CP */
        /* this carrier's stream: its first draws fix the start offset and the default beams,
         * then layer l uses the stream advanced by l + 1 jumps */
        mn_rng r;
        sim_rng_part(&r, c->seed, SIM_PART_CARRIER0 + k);
        mn_rng own = r;
        car->qam = cc->qam;
        car->offset_hz = cc->offset_hz;
        car->amp = sqrt(pow(10.0, cc->power_db / 10.0) / psum);
        car->identity = cc->n_layers == 0;
        car->L = car->identity ? n_tx : cc->n_layers;
        int L = car->L, n_sc = mn_ofdm_n_sc(&car->ofdm), maxlen = car->ofdm.nfft + car->ofdm.cp_first;
        if (!car->identity) {
            car->W = mn_malloc((size_t)n_tx * (size_t)L * sizeof *car->W);
            if (!car->W) return mn_error(MN_ERR_NOMEM, "pim sim: beamforming weights");
            if (cc->weights) {
                memcpy(car->W, cc->weights, (size_t)n_tx * (size_t)L * sizeof *car->W);
                for (size_t i = 0; i < (size_t)n_tx * (size_t)L; i++)
                    if (!isfinite(crealf(car->W[i])) || !isfinite(cimagf(car->W[i])))
                        return mn_error(MN_ERR_INVALID, "pim sim: carrier %d: weight [%zu, %zu] is not finite", k,
                                        i / (size_t)L, i % (size_t)L);
            } else {
                /* steering vectors of the array towards random directions (azimuth +-60 deg,
                 * elevation +-10 deg): W[a,l] = e^{j 2 pi (x_a sin az cos el + y_a sin el)}/sqrt L
                 * with antenna positions in wavelengths. */
                for (int l = 0; l < L; l++) {
                    double az = (mn_rng_uniform(&own) - 0.5) * (2.0 * M_PI / 3.0);
                    double el = (mn_rng_uniform(&own) - 0.5) * (M_PI / 9.0);
                    for (int a = 0; a < n_tx; a++) {
                        double ph = 2.0 * M_PI * (q->tx_xy[2 * a] * sin(az) * cos(el) +
                                                  q->tx_xy[2 * a + 1] * sin(el));
                        car->W[(size_t)a * L + l] =
                            CMPLXF((float)(cos(ph) / sqrt(L)), (float)(sin(ph) / sqrt(L)));
                    }
                }
            }
        }
        car->start = (int)mn_rng_below(&own, (uint64_t)maxlen);
        car->layers = mn_calloc((size_t)L, sizeof *car->layers);
        car->lo = mn_malloc(SIM_BLOCK * sizeof *car->lo);
        car->lay = mn_malloc((size_t)L * SIM_BLOCK * sizeof *car->lay);
        car->nco = mn_nco_create(cc->offset_hz / c->fs);
        if (!car->layers || !car->lo || !car->lay || !car->nco)
            return mn_error(MN_ERR_NOMEM, "pim sim: carrier %d buffers", k);
        for (int l = 0; l < L; l++) {
            sim_layer *ly = &car->layers[l];
            mn_rng_jump(&r);
            ly->rng0 = r;
            ly->mod = mn_ofdm_mod_create(&car->ofdm);
            ly->sym = mn_malloc((size_t)maxlen * sizeof *ly->sym);
            ly->grid = mn_malloc((size_t)n_sc * sizeof *ly->grid);
            if (!ly->mod || !ly->sym || !ly->grid)
                return mn_error(MN_ERR_NOMEM, "pim sim: carrier %d layer %d", k, l);
        }
    }
    return MN_OK;
}

static void layer_next_symbol(const struct mn_pim_sim *q, int c, const sim_carrier *car,
                              sim_layer *ly)
{
    int n_sc = mn_ofdm_n_sc(&car->ofdm);
    mn_qam_random(ly->grid, (size_t)n_sc, car->qam, &ly->rng);
    if (q->cfg.scenario == MN_PIM_DYNAMIC) {
        int rb0, nrb;
        sim_traffic_alloc(q, c, ly->l, &rb0, &nrb);
        long tb = ly->l / q->cfg.traffic_symbols;
        if (sim_traffic_muted(q, (int)(ly - car->layers), tb)) nrb = 0;
        for (int i = 0; i < n_sc; i++)
            if (i < 12 * rb0 || i >= 12 * (rb0 + nrb)) ly->grid[i] = 0;
    }
    ly->len = mn_ofdm_mod_execute(ly->mod, ly->sym, ly->grid);
    ly->pos = 0;
    ly->l++;
}

static void layer_fill(const struct mn_pim_sim *q, int c, const sim_carrier *car, sim_layer *ly,
                       float complex *out, int n)
{
    while (n > 0) {
        if (ly->pos == ly->len) layer_next_symbol(q, c, car, ly);
        int take = ly->len - ly->pos < n ? ly->len - ly->pos : n;
        memcpy(out, ly->sym + ly->pos, (size_t)take * sizeof *out);
        ly->pos += take;
        out += take;
        n -= take;
    }
}

void sim_carriers_reset(struct mn_pim_sim *q)
{
    for (int k = 0; k < q->cfg.n_carriers; k++) {
        sim_carrier *car = &q->car[k];
        mn_nco_reset(car->nco);
        for (int l = 0; l < car->L; l++) {
            sim_layer *ly = &car->layers[l];
            ly->rng = ly->rng0;
            mn_ofdm_mod_reset(ly->mod);
            ly->l = 0;
            layer_next_symbol(q, k, car, ly);
            ly->pos = car->start;
        }
    }
}

void sim_carriers_block(struct mn_pim_sim *q, float complex *x, int64_t ld)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int nc = c->n_carriers, n_tx = c->n_tx;
    int total = 0, first[MN_PIM_MAX_CARRIERS + 1];
    for (int k = 0; k < nc; k++) {
        mn_nco_generate(q->car[k].nco, q->car[k].lo, SIM_BLOCK);
        first[k] = total;
        total += q->car[k].L;
    }
    first[nc] = total;
    /* every layer of every carrier is an independent stream: fill them in parallel */
SIM_OMP("omp parallel for schedule(dynamic, 1)")
    for (int t = 0; t < total; t++) {
        int k = 0;
        while (t >= first[k + 1]) k++;
        sim_carrier *car = &q->car[k];
        int l = t - first[k];
        layer_fill(q, k, car, &car->layers[l], car->lay + (size_t)l * SIM_BLOCK, SIM_BLOCK);
    }
SIM_OMP("omp parallel for schedule(static)")
    for (int a = 0; a < n_tx; a++) {
        float complex *row = x + (size_t)a * (size_t)ld;
        memset(row, 0, SIM_BLOCK * sizeof *row);
        for (int k = 0; k < nc; k++) {
            const sim_carrier *car = &q->car[k];
            float amp = (float)car->amp;
            float *rf = (float *)row;
            const float *lof = (const float *)car->lo;
            for (int i = 0; i < SIM_BLOCK; i++) {
                float sr, si;
                if (car->identity) {
                    sr = crealf(car->lay[(size_t)a * SIM_BLOCK + i]);
                    si = cimagf(car->lay[(size_t)a * SIM_BLOCK + i]);
                } else {
                    sr = si = 0;
                    const float complex *w = car->W + (size_t)a * car->L;
                    for (int l = 0; l < car->L; l++) {
                        float wr = crealf(w[l]), wi = cimagf(w[l]);
                        float xr = crealf(car->lay[(size_t)l * SIM_BLOCK + i]), xi = cimagf(car->lay[(size_t)l * SIM_BLOCK + i]);
                        sr += wr * xr - wi * xi;
                        si += wr * xi + wi * xr;
                    }
                }
                float lr = amp * lof[2 * i], li = amp * lof[2 * i + 1];
                rf[2 * i] += lr * sr - li * si;
                rf[2 * i + 1] += lr * si + li * sr;
            }
        }
    }
}

void sim_carriers_free(struct mn_pim_sim *q)
{
    for (int k = 0; k < MN_PIM_MAX_CARRIERS; k++) {
        sim_carrier *car = &q->car[k];
        if (car->layers)
            for (int l = 0; l < car->L; l++) {
                mn_ofdm_mod_destroy(car->layers[l].mod);
                mn_free(car->layers[l].sym);
                mn_free(car->layers[l].grid);
            }
        mn_free(car->layers);
        mn_free(car->W);
        mn_free(car->lo);
        mn_free(car->lay);
        mn_nco_destroy(car->nco);
        memset(car, 0, sizeof *car);
    }
}
