/* pim/sim_random.c — the simulator's randomness: independent streams per part of the scenario,
 * stateless traffic patterns, and the slow drift of the dynamic scenario.
 *
 * Streams: part p = the seed's xoshiro256** stream advanced by p long jumps (2^192 draws;
 * Blackman & Vigna's published long-jump polynomial), items within a part by mn_rng_jump
 * (2^128).  Traffic patterns are hashes (splitmix64 finalizer) of (key, kind, index, block),
 * so any block can be evaluated on its own, in any order, by any thread.
 *
 * Drift (dynamic scenario): every drifting quantity is an Ornstein-Uhlenbeck process, i.e. a
 * random walk pulled back to its nominal value, sampled every SIM_GRID samples as the AR(1)
 *   x[g+1] = rho x[g] + sqrt(1 - rho^2) sigma e[g],   rho = exp(-SIM_GRID / tau),  e ~ N(0,1),
 * started in its stationary law N(0, sigma^2), and linearly interpolated between grid points.
 * Its spectrum is a Lorentzian of corner 1/(2 pi tau): slow wander with no steps.  The
 * quantities (time-compressed stand-ins for temperature and wind):
 *   per junction    level of a [dB] (sigma = drift_db), relative b (drift_b), common coupling
 *                   phase [rad] (drift_phase: the junction moving relative to the array)
 *   per Tx->junction  magnitude [dB] (drift_db / 2) and phase (drift_phase / 3)
 *   per junction->Rx  magnitude [dB] (drift_db / 2) and phase (drift_phase / 2) */
#include "sim_internal.h"

#include <math.h>
#include <string.h>

void sim_rng_part(mn_rng *r, uint64_t seed, int part)
{
    mn_rng_seed(r, seed);
    for (int p = 0; p < part; p++) mn_rng_long_jump(r);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double sim_hash_uniform(uint64_t key, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t h = mix64(key + 0x9e3779b97f4a7c15ULL);
    h = mix64(h ^ (a + 0x9e3779b97f4a7c15ULL * 2));
    h = mix64(h ^ (b + 0x9e3779b97f4a7c15ULL * 3));
    h = mix64(h ^ (c + 0x9e3779b97f4a7c15ULL * 4));
    return (double)(h >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------- traffic */

void sim_traffic_alloc(const struct mn_pim_sim *q, int c, long l, int *rb0, int *nrb)
{
    int n_rb = q->car[c].ofdm.n_rb;
    *rb0 = 0;
    *nrb = n_rb;
    if (q->cfg.scenario != MN_PIM_DYNAMIC) return;
    long tb = l / (q->cfg.traffic_symbols > 0 ? q->cfg.traffic_symbols : 1);
    double u = sim_hash_uniform(q->traffic_key, 1, (uint64_t)c, (uint64_t)tb);
    if (u < q->cfg.p_idle_carrier) {
        *nrb = 0;
    } else if (u < q->cfg.p_idle_carrier + q->cfg.p_partial) {
        /* a contiguous allocation of 25 .. 100 % of the RBs at a random position */
        double frac = 0.25 + 0.75 * sim_hash_uniform(q->traffic_key, 2, (uint64_t)c, (uint64_t)tb);
        int k = (int)lround(frac * n_rb);
        if (k < 1) k = 1;
        if (k > n_rb) k = n_rb;
        *nrb = k;
        *rb0 = (int)(sim_hash_uniform(q->traffic_key, 3, (uint64_t)c, (uint64_t)tb) * (n_rb - k + 1));
    }
}

bool sim_traffic_muted(const struct mn_pim_sim *q, int a, long tb)
{
    if (q->cfg.scenario != MN_PIM_DYNAMIC) return false;
    return sim_hash_uniform(q->traffic_key, 4, (uint64_t)a, (uint64_t)tb) < q->cfg.p_idle_antenna;
}

/* ---------------------------------------------------------------- drift */

/* process indices */
#define P_A(j) (j)
#define P_B(j) (nj + (j))
#define P_PH(j) (2 * nj + (j))
#define P_CM(j, a) (3 * nj + (j) * n_tx + (a))
#define P_CP(j, a) (3 * nj + nj * n_tx + (j) * n_tx + (a))
#define P_DM(r, j) (3 * nj + 2 * nj * n_tx + (r) * nj + (j))
#define P_DP(r, j) (3 * nj + 2 * nj * n_tx + n_rx * nj + (r) * nj + (j))

mn_status sim_drift_init(struct mn_pim_sim *q)
{
    const mn_pim_sim_cfg *c = &q->cfg;
    int nj = q->nj, n_tx = c->n_tx, n_rx = c->n_rx;
    sim_drift *d = &q->drift;
    d->n = 3 * nj + 2 * nj * n_tx + 2 * n_rx * nj;
    d->sigma = mn_malloc((size_t)d->n * sizeof *d->sigma);
    d->val = mn_malloc((size_t)(SIM_STEPS + 1) * (size_t)d->n * sizeof *d->val);
    if (!d->sigma || !d->val) return mn_error(MN_ERR_NOMEM, "pim sim: drift processes");
    for (int j = 0; j < nj; j++) {
        d->sigma[P_A(j)] = c->drift_db;
        d->sigma[P_B(j)] = c->drift_b;
        d->sigma[P_PH(j)] = c->drift_phase;
        for (int a = 0; a < n_tx; a++) {
            d->sigma[P_CM(j, a)] = c->drift_db / 2;
            d->sigma[P_CP(j, a)] = c->drift_phase / 3;
        }
        for (int r = 0; r < n_rx; r++) {
            d->sigma[P_DM(r, j)] = c->drift_db / 2;
            d->sigma[P_DP(r, j)] = c->drift_phase / 2;
        }
    }
    d->rho = exp(-(double)SIM_GRID / c->drift_tau);
    d->innov = sqrt(1.0 - d->rho * d->rho);
    return MN_OK;
}

void sim_drift_reset(struct mn_pim_sim *q)
{
    sim_drift *d = &q->drift;
    if (!d->val) return;
    sim_rng_part(&d->rng, q->cfg.seed, SIM_PART_DRIFT);
    for (int i = 0; i < d->n; i++) d->val[i] = d->sigma[i] * mn_rng_normal(&d->rng);
    d->fresh = true;
}

void sim_drift_block(struct mn_pim_sim *q)
{
    sim_drift *d = &q->drift;
    int nj = q->nj, n_tx = q->cfg.n_tx, n_rx = q->cfg.n_rx, n = d->n;
    if (!d->fresh) memcpy(d->val, d->val + (size_t)SIM_STEPS * n, (size_t)n * sizeof *d->val);
    d->fresh = false;
    for (int s = 1; s <= SIM_STEPS; s++) {
        double *prev = d->val + (size_t)(s - 1) * n, *cur = d->val + (size_t)s * n;
        for (int i = 0; i < n; i++)
            cur[i] = d->rho * prev[i] + d->innov * d->sigma[i] * mn_rng_normal(&d->rng);
    }
    for (int s = 0; s <= SIM_STEPS; s++) {
        const double *v = d->val + (size_t)s * n;
        for (int j = 0; j < nj; j++) {
            q->gag[s * nj + j] = pow(10.0, v[P_A(j)] / 20.0);
            q->gbg[s * nj + j] = fmax(0.2, 1.0 + v[P_B(j)]);
            for (int a = 0; a < n_tx; a++) {
                double m = pow(10.0, v[P_CM(j, a)] / 20.0), ph = v[P_PH(j)] + v[P_CP(j, a)];
                q->Cg[((size_t)s * nj + j) * n_tx + a] =
                    q->C0[(size_t)j * n_tx + a] * CMPLX(m * cos(ph), m * sin(ph));
            }
        }
        for (int r = 0; r < n_rx; r++)
            for (int j = 0; j < nj; j++) {
                double m = pow(10.0, v[P_DM(r, j)] / 20.0), ph = v[P_DP(r, j)];
                q->Dg[((size_t)s * n_rx + r) * nj + j] =
                    q->D0[(size_t)r * nj + j] * CMPLX(m * cos(ph), m * sin(ph));
            }
    }
}

void sim_drift_free(struct mn_pim_sim *q)
{
    mn_free(q->drift.sigma);
    mn_free(q->drift.val);
    q->drift.sigma = q->drift.val = NULL;
}
