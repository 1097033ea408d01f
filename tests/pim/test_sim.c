/* tests/pim/test_sim.c — the PIM scenario simulator's physics and contracts:
 *   - the rx spectrum holds the IM3 in the UL channel and only noise outside it;
 *   - the IM3 of a shifted plan appears exactly at 2 f1 - f2 (and nowhere else in the channel);
 *   - a two-tone input through the whole chain gives the cubic junction's predicted IM3 level;
 *   - the measured PNR equals the requested one;
 *   - bit-identical output for a seed (any thread count), different for another seed;
 *   - the dynamic scenario's transfer drifts over time, the static one's does not;
 *   - traffic load varies in the dynamic scenario;
 *   - a linear FIR from all Tx antennas cannot explain the PIM (while it does explain a linear
 *     target, so the check can fail);
 *   - x4 oversampling is enough (x8 gives the same PIM);
 *   - meta.json content, bad configurations, allocation failures.
 * Scenarios are small (4 Tx, 2 Rx, ~64k samples) to keep the suite fast. */
#include "mn_test.h"

#include <cjson/cJSON.h>
#include <complex.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/dsp.h"
#include "mimonet/pim.h"

typedef struct {
    mn_pim_sim *s;
    mn_pim_sim_cfg cfg;
    float complex *tx, *pim, *rx;
    int64_t n;
    mn_pim_sim_info info;
} rec;

static mn_pim_sim_cfg small_cfg(uint64_t seed)
{
    mn_pim_sim_cfg c = mn_pim_sim_default();
    c.n_tx = 4;
    c.n_rx = 2;
    c.seed = seed;
    return c;
}

static bool record(mn_test_ctx *t, rec *r, const mn_pim_sim_cfg *c, int64_t n)
{
    memset(r, 0, sizeof *r);
    r->cfg = *c;
    r->n = n;
    r->s = mn_pim_sim_create(c);
    MN_CHECK_MSG(t, r->s != NULL, "create: %s", mn_error_msg());
    if (!r->s) return false;
    r->tx = mn_malloc((size_t)(c->n_tx * n) * sizeof *r->tx);
    r->pim = mn_malloc((size_t)(c->n_rx * n) * sizeof *r->pim);
    r->rx = mn_malloc((size_t)(c->n_rx * n) * sizeof *r->rx);
    MN_CHECK_OK(t, mn_pim_sim_record(r->s, r->tx, r->pim, r->rx, n, &r->info));
    return true;
}

static void rec_free(rec *r)
{
    mn_pim_sim_destroy(r->s);
    mn_free(r->tx);
    mn_free(r->pim);
    mn_free(r->rx);
    memset(r, 0, sizeof *r);
}

/* Welch PSD [linear power/Hz] averaged over the rows of x (nch x n). */
static void mean_psd(float *out, const float complex *x, int nch, int64_t n, int nf, double fs)
{
    float *tmp = mn_malloc((size_t)nf * sizeof *tmp);
    for (int k = 0; k < nf; k++) out[k] = 0;
    for (int c = 0; c < nch; c++) {
        mn_psd_welch(tmp, x + c * n, (size_t)n, nf, fs, MN_PSD_DENSITY);
        for (int k = 0; k < nf; k++) out[k] += tmp[k] / (float)nch;
    }
    mn_free(tmp);
}

static double db(double x) { return 10.0 * log10(x); }

static double power(const float complex *x, int64_t n)
{
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += (double)(crealf(x[i]) * crealf(x[i]) + cimagf(x[i]) * cimagf(x[i]));
    return s / (double)n;
}

MN_TEST(pim_sim_rx_psd_im3_in_channel_noise_elsewhere)
{
    /* Default band-3 plan (carriers at f_dl -+ 20.48 MHz, IM3 low at f_dl - 61.44 MHz = f_rx).
     * In the rx frame the IM3 core (2 B1 + B2 = 30 MHz wide, centred at 0 Hz) fills the 20 MHz
     * UL channel; the channel filter passes |f| < 10 MHz and stops |f| > 13 MHz.  Checks:
     *   in |f| < 8 MHz   mean PSD of rx >= noise floor + 30 dB
     *   in |f| > 13 MHz  every bin of rx <= noise floor + 1.5 dB (the stated margin), and the
     *                    noise-free PIM itself is >= 20 dB below the noise floor there. */
    rec r;
    mn_pim_sim_cfg c = small_cfg(t->seed);
    if (!record(t, &r, &c, 65536)) return;
    enum { NF = 512 };
    const double fs = c.fs;
    float prx[NF], ppim[NF];
    mean_psd(prx, r.rx, c.n_rx, r.n, NF, fs);
    mean_psd(ppim, r.pim, c.n_rx, r.n, NF, fs);
    double floor_db = db(r.info.noise_power / fs);
    double in_sum = 0, out_max = -400, pim_out_max = -400;
    int in_n = 0;
    for (int k = 0; k < NF; k++) {
        double f = fabs(mn_psd_freq(k, NF, fs));
        if (f < 8e6) {
            in_sum += (double)prx[k];
            in_n++;
        } else if (f > 13e6 + fs / NF) {
            out_max = fmax(out_max, db((double)prx[k]));
            pim_out_max = fmax(pim_out_max, db((double)ppim[k]));
        }
    }
    double in_db = db(in_sum / in_n);
    if (t->verbose)
        printf("    noise floor %.2f dB/Hz; IM3 in channel %.2f dB/Hz (+%.1f dB); outside: rx max +%.2f dB, "
               "PIM max %.1f dB re floor; PNR measured %.3f dB\n",
               floor_db, in_db, in_db - floor_db, out_max - floor_db, pim_out_max - floor_db, r.info.pnr_measured_db);
    MN_CHECK_MSG(t, in_db > floor_db + 30, "IM3 in channel only %.1f dB above the floor", in_db - floor_db);
    MN_CHECK_MSG(t, out_max < floor_db + 1.5, "outside the channel rx reaches %.2f dB above the floor", out_max - floor_db);
    MN_CHECK_MSG(t, pim_out_max < floor_db - 20, "PIM leaks %.1f dB re floor outside the channel", pim_out_max - floor_db);
    /* the Tx carriers: in the DL frame at -+20.48 MHz, unit power per antenna */
    float ptx[NF];
    mean_psd(ptx, r.tx, c.n_tx, r.n, NF, fs);
    int k1 = NF / 2 + (int)lround(-20.48e6 / (fs / NF)), k0 = NF / 2;
    MN_CHECK(t, db((double)ptx[k1]) > db((double)ptx[k0]) + 30); /* carrier vs the gap between carriers */
    MN_CHECK_NEAR(t, r.info.tx_power, 1.0, 0.05);
    rec_free(&r);
}

MN_TEST(pim_sim_im3_lands_at_2f1_minus_f2)
{
    /* Move the plan: 5 MHz carriers (25 RB, 4.5 MHz occupied) at -20.48 - 2 MHz and +20.48 MHz.
     * Then 2 f1 - f2 = f_dl - 61.44 MHz - 4 MHz: in the rx frame the IM3 sits at -4 MHz with
     * support 2 B1 + B2 = 13.5 MHz, i.e. [-10.75, +2.75] MHz.  With cubic junctions (exactly
     * third order; their memory filters are linear and keep the support) the channel must hold
     * energy at -4 MHz and only noise in [+3.5, +9.5] MHz, although that is inside the passband. */
    mn_pim_sim_cfg c = small_cfg(t->seed);
    c.junction_kind = MN_PIM_JUNCTION_CUBIC;
    c.carriers[0] = (mn_pim_carrier_cfg){.offset_hz = -22.48e6, .bw_hz = 5e6, .qam = 64};
    c.carriers[1] = (mn_pim_carrier_cfg){.offset_hz = +20.48e6, .bw_hz = 5e6, .qam = 64};
    rec r;
    if (!record(t, &r, &c, 65536)) return;
    enum { NF = 512 };
    float prx[NF], ppim[NF];
    mean_psd(prx, r.rx, c.n_rx, r.n, NF, c.fs);
    mean_psd(ppim, r.pim, c.n_rx, r.n, NF, c.fs);
    double floor_db = db(r.info.noise_power / c.fs), at_im3 = 0, gap_max = -400, gap_pim = -400;
    int n_im3 = 0;
    for (int k = 0; k < NF; k++) {
        double f = mn_psd_freq(k, NF, c.fs);
        if (fabs(f + 4e6) < 2e6) {
            at_im3 += (double)prx[k];
            n_im3++;
        }
        if (f > 3.5e6 && f < 9.5e6) {
            gap_max = fmax(gap_max, db((double)prx[k]));
            gap_pim = fmax(gap_pim, db((double)ppim[k]));
        }
    }
    at_im3 = db(at_im3 / n_im3);
    if (t->verbose)
        printf("    IM3 at -4 MHz: %.1f dB re floor; [3.5, 9.5] MHz: rx max %.2f dB, PIM max %.1f dB re floor\n",
               at_im3 - floor_db, gap_max - floor_db, gap_pim - floor_db);
    MN_CHECK(t, at_im3 > floor_db + 30);
    MN_CHECK_MSG(t, gap_max < floor_db + 1.5, "rx in the empty part of the channel: %.2f dB re floor", gap_max - floor_db);
    MN_CHECK_MSG(t, gap_pim < floor_db - 20, "PIM in the empty part of the channel: %.1f dB re floor", gap_pim - floor_db);
    rec_free(&r);
}

/* The junction parameters a, b of junction 0 from the simulator's JSON description. */
static void junction0_ab(mn_pim_sim *s, double *a, double *b)
{
    char *txt = mn_pim_sim_meta_json(s, NULL);
    cJSON *j = cJSON_Parse(txt);
    const cJSON *j0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "junctions"), 0);
    *a = cJSON_GetObjectItem(j0, "a")->valuedouble;
    *b = cJSON_GetObjectItem(j0, "b")->valuedouble;
    cJSON_Delete(j);
    mn_free(txt);
}

MN_TEST(pim_sim_two_tone_through_whole_chain)
{
    /* One Tx, one junction (cubic, no memory), one Rx: the couplings are then unit-magnitude
     * (normalized rows), and interpolation, decimation and channel filter have unit passband
     * gain, so tones A1 at f1 = -20.48 + 0.5 MHz and A2 at f2 = +20.48 MHz must come out as one
     * tone of amplitude a b^3 A1^2 A2 at 2 f1 - f2 + fs = +1 MHz in the rx frame. */
    mn_pim_sim_cfg c = small_cfg(t->seed);
    c.n_tx = 1;
    c.n_rx = 1;
    c.n_junctions = 1;
    c.memory = 0;
    c.junction_kind = MN_PIM_JUNCTION_CUBIC;
    mn_pim_sim *s = mn_pim_sim_create(&c);
    MN_CHECK(t, s != NULL);
    if (!s) return;
    enum { N = 40000 };
    const double A1 = 0.7, A2 = 0.4, f1 = (-20.48e6 + 0.5e6) / c.fs, f2 = 20.48e6 / c.fs;
    float complex *x = mn_malloc(N * sizeof *x), *y = mn_malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        x[i] = (float complex)(A1 * cexp(CMPLX(0.0, 2 * M_PI * f1 * i)) + A2 * cexp(CMPLX(0.0, 2 * M_PI * f2 * i)));
    MN_CHECK_OK(t, mn_pim_sim_apply(s, y, x, N));
    double a, b;
    junction0_ab(s, &a, &b);
    double complex acc = 0;
    const double fo = 1e6 / c.fs;
    for (int i = 5000; i < N - 5000; i++) acc += (double complex)y[i] * cexp(CMPLX(0.0, -2 * M_PI * fo * i));
    double got = 20 * log10(cabs(acc) / (N - 10000)), want = 20 * log10(a * b * b * b * A1 * A1 * A2);
    /* and nothing else: the residual after removing that tone is tiny */
    double resid = 0, tot = 0;
    for (int i = 5000; i < N - 5000; i++) {
        double complex tone = acc / (N - 10000) * cexp(CMPLX(0.0, 2 * M_PI * fo * i));
        resid += pow(cabs((double complex)y[i] - tone), 2);
        tot += pow(cabs((double complex)y[i]), 2);
    }
    if (t->verbose) printf("    rx tone at +1 MHz: %.3f dB, predicted a b^3 A1^2 A2 = %.3f dB; rest %.1f dB\n", got, want, db(resid / tot));
    MN_CHECK_NEAR(t, got, want, 0.5);
    MN_CHECK(t, db(resid / tot) < -40);
    mn_free(x);
    mn_free(y);
    mn_pim_sim_destroy(s);
}

MN_TEST(pim_sim_pnr_matches_request)
{
    const double pnrs[] = {40.0, 12.5};
    for (int i = 0; i < 2; i++) {
        mn_pim_sim_cfg c = small_cfg(t->seed + 11);
        c.pnr_db = pnrs[i];
        rec r;
        if (!record(t, &r, &c, 40000)) return;
        double pp = 0, pn = 0;
        for (int64_t k = 0; k < c.n_rx * r.n; k++) {
            pp += pow((double)cabsf(r.pim[k]), 2);
            pn += pow((double)cabsf(r.rx[k] - r.pim[k]), 2);
        }
        double meas = db(pp / pn);
        if (t->verbose) printf("    requested PNR %.2f dB, measured %.3f dB\n", pnrs[i], meas);
        MN_CHECK_NEAR(t, meas, pnrs[i], 0.3);
        MN_CHECK_NEAR(t, r.info.pnr_measured_db, meas, 1e-3);
        MN_CHECK_NEAR(t, pp / (double)(c.n_rx * r.n), c.pim_power, 1e-4);
        MN_CHECK_NEAR(t, r.info.noise_power, c.pim_power / pow(10, pnrs[i] / 10), 1e-12);
        rec_free(&r);
    }
}

MN_TEST(pim_sim_bit_identical_for_a_seed)
{
    mn_pim_sim_cfg c = small_cfg(t->seed);
    c.scenario = MN_PIM_DYNAMIC; /* exercises the drift and traffic paths too */
    const int64_t n = 30000;
    rec a, b, d;
    int saved = mn_threads_get();
    mn_threads_set(1);
    if (!record(t, &a, &c, n)) return;
    mn_threads_set(2);
    if (!record(t, &b, &c, n)) return;
    mn_threads_set(saved);
    size_t bt = (size_t)(c.n_tx * n) * sizeof *a.tx, br = (size_t)(c.n_rx * n) * sizeof *a.rx;
    MN_CHECK(t, memcmp(a.tx, b.tx, bt) == 0);
    MN_CHECK(t, memcmp(a.pim, b.pim, br) == 0);
    MN_CHECK(t, memcmp(a.rx, b.rx, br) == 0);
    /* a second recording from the same object repeats itself */
    mn_pim_sim_record(b.s, b.tx, b.pim, b.rx, n, &b.info);
    MN_CHECK(t, memcmp(a.pim, b.pim, br) == 0);
    rec_free(&b);
    /* another seed: different signals */
    mn_pim_sim_cfg c2 = c;
    c2.seed = c.seed + 1;
    if (!record(t, &b, &c2, n)) return;
    MN_CHECK(t, memcmp(a.tx, b.tx, bt) != 0);
    MN_CHECK(t, memcmp(a.pim, b.pim, br) != 0);
    rec_free(&b);
    /* tx depends only on (seed, carrier, layer): one more Rx antenna leaves it unchanged */
    mn_pim_sim_cfg c3 = c;
    c3.n_rx = 3;
    if (!record(t, &d, &c3, n)) return;
    MN_CHECK(t, memcmp(a.tx, d.tx, bt) == 0);
    rec_free(&d);
    rec_free(&a);
}

/* NMSE [dB] of period p against period q of x (row-major rows of n, period P). */
static double period_nmse(const float complex *x, int rows, int64_t n, int64_t P, int p, int q)
{
    double e = 0, s = 0;
    for (int r = 0; r < rows; r++)
        for (int64_t i = 0; i < P; i++) {
            float complex u = x[r * n + p * P + i], v = x[r * n + q * P + i];
            e += pow((double)cabsf(u - v), 2);
            s += pow((double)cabsf(v), 2);
        }
    return db(e / s + 1e-300);
}

MN_TEST(pim_sim_dynamic_transfer_drifts_static_does_not)
{
    /* A model-free probe of time variance: feed a periodic tx (one 16384-sample stretch of the
     * simulator's own carriers, repeated 6 times) through the scenario's chain.  A
     * time-invariant map gives a periodic PIM (after the first period's transient); the
     * dynamic scenario's drift (correlation time 50000 samples) must change it measurably, and
     * more over 4 periods than over 1. */
    enum { P = 16384, REP = 6, N = P * REP };
    mn_pim_sim_cfg c = small_cfg(t->seed);
    rec r;
    if (!record(t, &r, &c, P)) return;
    float complex *x = mn_malloc((size_t)c.n_tx * N * sizeof *x), *y = mn_malloc((size_t)c.n_rx * N * sizeof *y);
    for (int a = 0; a < c.n_tx; a++)
        for (int k = 0; k < REP; k++) memcpy(x + (size_t)a * N + k * P, r.tx + a * P, P * sizeof *x);
    MN_CHECK_OK(t, mn_pim_sim_apply(r.s, y, x, N));
    double st_worst = -400;
    for (int k = 2; k < REP - 1; k++) st_worst = fmax(st_worst, period_nmse(y, c.n_rx, N, P, k, 1));
    mn_pim_sim_cfg cd = c;
    cd.scenario = MN_PIM_DYNAMIC;
    mn_pim_sim *sd = mn_pim_sim_create(&cd);
    MN_CHECK_OK(t, mn_pim_sim_apply(sd, y, x, N));
    double d1 = period_nmse(y, c.n_rx, N, P, 2, 1), d4 = period_nmse(y, c.n_rx, N, P, 5, 1);
    if (t->verbose) printf("    period-to-period NMSE: static %.1f dB; dynamic 1 period %.1f dB, 4 periods %.1f dB\n", st_worst, d1, d4);
    MN_CHECK_MSG(t, st_worst < -100, "static PIM not periodic: %.1f dB", st_worst);
    MN_CHECK_MSG(t, d4 > -20, "dynamic PIM changed only %.1f dB over 4 periods", d4);
    MN_CHECK_MSG(t, d1 < d4, "drift not slow: %.1f dB over 1 period, %.1f dB over 4", d1, d4);
    mn_pim_sim_destroy(sd);
    mn_free(x);
    mn_free(y);
    rec_free(&r);
}

MN_TEST(pim_sim_dynamic_traffic_load_varies)
{
    /* Power of each Tx antenna in windows of one OFDM symbol (4384 samples): constant at full
     * load in the static scenario; in the dynamic one carriers go idle or partly allocated and
     * antennas are muted, in blocks of 4 symbols. */
    for (int dyn = 0; dyn < 2; dyn++) {
        mn_pim_sim_cfg c = small_cfg(t->seed + 3);
        c.scenario = dyn ? MN_PIM_DYNAMIC : MN_PIM_STATIC;
        c.n_junctions = 1; /* only tx matters here */
        rec r;
        if (!record(t, &r, &c, 163840)) return;
        double lo = 1e9, hi = 0;
        for (int a = 0; a < c.n_tx; a++)
            for (int64_t w = 0; w + 4384 <= r.n; w += 4384) {
                double p = power(r.tx + a * r.n + w, 4384);
                lo = fmin(lo, p);
                hi = fmax(hi, p);
            }
        if (t->verbose) printf("    %s: per-symbol Tx power %.3f .. %.3f\n", dyn ? "dynamic" : "static", lo, hi);
        if (!dyn) MN_CHECK(t, lo > 0.8 && hi < 1.25);
        else MN_CHECK(t, lo < 0.3 && hi > 0.8);
        rec_free(&r);
    }
}

/* Solve the Hermitian positive definite system G w = h (P unknowns, G overwritten) by
 * Gaussian elimination with partial pivoting, in double. */
static void solve(double complex *G, double complex *h, int P)
{
    for (int k = 0; k < P; k++) {
        int piv = k;
        for (int i = k + 1; i < P; i++)
            if (cabs(G[i * P + k]) > cabs(G[piv * P + k])) piv = i;
        if (piv != k) {
            for (int j = 0; j < P; j++) {
                double complex tmp = G[k * P + j];
                G[k * P + j] = G[piv * P + j];
                G[piv * P + j] = tmp;
            }
            double complex tmp = h[k];
            h[k] = h[piv];
            h[piv] = tmp;
        }
        for (int i = k + 1; i < P; i++) {
            double complex f = G[i * P + k] / G[k * P + k];
            for (int j = k; j < P; j++) G[i * P + j] -= f * G[k * P + j];
            h[i] -= f * h[k];
        }
    }
    for (int k = P - 1; k >= 0; k--) {
        for (int j = k + 1; j < P; j++) h[k] -= G[k * P + j] * h[j];
        h[k] /= G[k * P + k];
    }
}

/* Least-squares FIR from all n_tx rows of x (taps -K..K each) to y; returns the reduction
 * 10 log10(P(y) / P(y - fit)) in dB over samples [K, n - K). */
static double linear_fit_db(const float complex *x, int n_tx, const float complex *y, int64_t n, int K)
{
    int P = n_tx * (2 * K + 1);
    double complex *G = mn_calloc((size_t)P * P, sizeof *G), *h = mn_calloc((size_t)P, sizeof *h), *phi = mn_malloc((size_t)P * sizeof *phi);
    for (int64_t i = K; i < n - K; i++) {
        for (int a = 0; a < n_tx; a++)
            for (int k = -K; k <= K; k++) phi[a * (2 * K + 1) + k + K] = (double complex)x[a * n + i - k];
        for (int p = 0; p < P; p++) {
            h[p] += conj(phi[p]) * (double complex)y[i];
            for (int q = 0; q < P; q++) G[p * P + q] += conj(phi[p]) * phi[q];
        }
    }
    for (int p = 0; p < P; p++) G[p * P + p] *= 1 + 1e-9;
    solve(G, h, P);
    double e = 0, s = 0;
    for (int64_t i = K; i < n - K; i++) {
        double complex f = 0;
        for (int a = 0; a < n_tx; a++)
            for (int k = -K; k <= K; k++) f += h[a * (2 * K + 1) + k + K] * (double complex)x[a * n + i - k];
        e += pow(cabs((double complex)y[i] - f), 2);
        s += pow(cabs((double complex)y[i]), 2);
    }
    mn_free(G);
    mn_free(h);
    mn_free(phi);
    return db(s / e);
}

MN_TEST(pim_sim_linear_fir_cannot_explain_pim)
{
    /* The PIM sits at 2 f1 - f2 where no Tx carrier has energy: a linear FIR (7 taps from each
     * of the 4 Tx antennas, least squares) explains < 1 dB of it.  Control: the same fit on a
     * linear function of tx explains > 30 dB, so this check can fail. */
    mn_pim_sim_cfg c = small_cfg(t->seed);
    rec r;
    if (!record(t, &r, &c, 30000)) return;
    const int K = 3;
    double red = linear_fit_db(r.tx, c.n_tx, r.pim, r.n, K);
    float complex *lin = mn_malloc((size_t)r.n * sizeof *lin);
    mn_rng g;
    mn_rng_seed(&g, t->seed);
    double complex w[4][3];
    for (int a = 0; a < 4; a++)
        for (int k = 0; k < 3; k++) w[a][k] = CMPLX(mn_rng_normal(&g), mn_rng_normal(&g));
    for (int64_t i = 0; i < r.n; i++) {
        double complex s = 0.001 * CMPLX(mn_rng_normal(&g), mn_rng_normal(&g));
        for (int a = 0; a < 4; a++)
            for (int k = 0; k < 3; k++)
                if (i - k >= 0) s += w[a][k] * (double complex)r.tx[a * r.n + i - k];
        lin[i] = (float complex)s;
    }
    double ctl = linear_fit_db(r.tx, c.n_tx, lin, r.n, K);
    if (t->verbose) printf("    linear FIR explains %.3f dB of the PIM (control: %.1f dB of a linear target)\n", red, ctl);
    MN_CHECK_MSG(t, red < 1.0, "a linear FIR explains %.2f dB of the PIM", red);
    MN_CHECK(t, ctl > 30);
    mn_free(lin);
    rec_free(&r);
}

MN_TEST(pim_sim_default_oversampling_is_enough)
{
    /* x16 oversampling leaves more room for high-order products; if the default (x8) aliased
     * anything into the Rx channel the two PIMs would differ.  Same seed: same carriers,
     * junctions (their memory taps are spaced in time, not in samples) and couplings.  At x4
     * the 9th-order products of the contact junctions alias onto the channel (about -35 dB). */
    mn_pim_sim_cfg c = small_cfg(t->seed);
    rec a, b;
    MN_CHECK(t, c.oversample == 8);
    if (!record(t, &a, &c, 30000)) return;
    c.oversample = 16;
    if (!record(t, &b, &c, 30000)) return;
    double e = 0, s = 0;
    for (int64_t i = 0; i < c.n_rx * a.n; i++) {
        e += pow((double)cabsf(a.pim[i] - b.pim[i]), 2);
        s += pow((double)cabsf(a.pim[i]), 2);
    }
    if (t->verbose) printf("    PIM at x8 vs x16 oversampling: NMSE %.1f dB\n", db(e / s));
    MN_CHECK_MSG(t, db(e / s) < -60, "x8 and x16 differ by %.1f dB", db(e / s));
    rec_free(&a);
    rec_free(&b);
}

MN_TEST(pim_sim_streaming_matches_record)
{
    mn_pim_sim_cfg c = small_cfg(t->seed);
    rec r;
    const int64_t n = 25000;
    if (!record(t, &r, &c, n)) return;
    float complex *tx = mn_malloc((size_t)(c.n_tx * n) * sizeof *tx), *p = mn_malloc((size_t)(c.n_rx * n) * sizeof *p);
    mn_pim_sim_reset(r.s);
    for (int64_t off = 0; off < n;) {
        int64_t m = off == 0 ? 777 : 9000;
        if (m > n - off) m = n - off;
        MN_CHECK_OK(t, mn_pim_sim_execute(r.s, tx + off, n, p + off, n, m));
        off += m;
    }
    MN_CHECK(t, memcmp(tx, r.tx, (size_t)(c.n_tx * n) * sizeof *tx) == 0);
    for (int64_t i = 0; i < c.n_rx * n; i++) p[i] *= (float)r.info.pim_gain;
    MN_CHECK(t, memcmp(p, r.pim, (size_t)(c.n_rx * n) * sizeof *p) == 0);
    mn_free(tx);
    mn_free(p);
    rec_free(&r);
}

MN_TEST(pim_sim_meta_json_records_plan)
{
    mn_pim_sim_cfg c = small_cfg(t->seed);
    rec r;
    if (!record(t, &r, &c, 9000)) return;
    char *txt = mn_pim_sim_meta_json(r.s, &r.info);
    cJSON *j = cJSON_Parse(txt);
    MN_CHECK(t, j != NULL);
#define NUM(obj, key) cJSON_GetObjectItem((obj), (key))->valuedouble
    MN_CHECK_NEAR(t, NUM(j, "sample_rate_hz"), 61.44e6, 0);
    MN_CHECK_NEAR(t, NUM(j, "f_dl_hz"), 1835e6, 0);
    MN_CHECK_NEAR(t, NUM(j, "f_rx_hz"), 1773.56e6, 1);
    MN_CHECK_NEAR(t, NUM(j, "oversampling"), 8, 0);
    MN_CHECK_NEAR(t, NUM(j, "noise_power"), r.info.noise_power, 1e-15);
    MN_CHECK_NEAR(t, NUM(j, "seed"), (double)t->seed, 0);
    const cJSON *cs = cJSON_GetObjectItem(j, "carriers");
    MN_CHECK(t, cJSON_GetArraySize(cs) == 2);
    MN_CHECK_NEAR(t, NUM(cJSON_GetArrayItem(cs, 0), "centre_hz"), 1814.52e6, 1);
    MN_CHECK_NEAR(t, NUM(cJSON_GetArrayItem(cs, 0), "n_rb"), 52, 0);
    /* IM3 of (carrier 0, carrier 1): 2 f1 - f2 = 1773.56 MHz, the Rx centre */
    const cJSON *im = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "im3"), 0);
    MN_CHECK_NEAR(t, NUM(im, "hz"), 1773.56e6, 1);
    MN_CHECK(t, cJSON_IsTrue(cJSON_GetObjectItem(im, "centre_in_rx_channel")));
    MN_CHECK(t, cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "band"), "rx_channel_in_ul_band")));
    MN_CHECK(t, cJSON_GetArraySize(cJSON_GetObjectItem(j, "junctions")) == 4);
    MN_CHECK(t, cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "coupling"), "tx_to_junction")) == 4);
#undef NUM
    cJSON_Delete(j);
    mn_free(txt);
    rec_free(&r);
}

MN_TEST(pim_sim_rejects_bad_configs_and_survives_alloc_failures)
{
    mn_pim_sim_cfg c = small_cfg(1);
    c.n_carriers = 1;
    MN_CHECK(t, mn_pim_sim_create(&c) == NULL && strstr(mn_error_msg(), "n_carriers"));
    c = small_cfg(1);
    c.carriers[1].qam = 32;
    MN_CHECK(t, mn_pim_sim_create(&c) == NULL && strstr(mn_error_msg(), "qam"));
    c = small_cfg(1);
    c.carriers[0].offset_hz = -28e6;
    MN_CHECK(t, mn_pim_sim_create(&c) == NULL && strstr(mn_error_msg(), "carrier 0"));
    c = small_cfg(1);
    c.oversample = 2;
    MN_CHECK(t, mn_pim_sim_create(&c) == NULL && strstr(mn_error_msg(), "oversample"));
    c = small_cfg(1);
    c.carriers[0].bw_hz = 7e6;
    MN_CHECK(t, mn_pim_sim_create(&c) == NULL && strstr(mn_error_msg(), "NR channel"));
    /* every allocation of create may fail: NULL, an explanation, no leak */
    c = small_cfg(1);
    c.n_tx = 2;
    c.n_rx = 1;
    c.scenario = MN_PIM_DYNAMIC;
    long live0 = mn_alloc_live();
    mn_alloc_fail_at(0);
    mn_pim_sim *s = mn_pim_sim_create(&c);
    long count = mn_alloc_count();
    MN_CHECK(t, s != NULL);
    mn_pim_sim_destroy(s);
    MN_CHECK(t, mn_alloc_live() == live0);
    int bad = 0;
    for (long k = 1; k <= count; k++) {
        mn_alloc_fail_at(k);
        s = mn_pim_sim_create(&c);
        mn_alloc_fail_at(0);
        if (s || mn_alloc_live() != live0 || !mn_error_msg()[0]) bad++;
        mn_pim_sim_destroy(s);
    }
    MN_CHECK_MSG(t, bad == 0, "%d of %ld allocation failures were not handled", bad, count);
}

MN_TEST(pim_sim_beamforming_weights)
{
    /* Both carriers send one layer through the same weights w: every antenna then carries
     * w_a times one common waveform, so tx_a / w_a is the same for all a.  With default
     * (random steering) weights each antenna row has unit norm: unit power per antenna. */
    mn_pim_sim_cfg c = small_cfg(t->seed);
    c.n_junctions = 1;
    float complex w[4] = {1.0f, CMPLXF(0.0f, 0.5f), CMPLXF(-0.3f, 0.2f), 0.8f};
    for (int k = 0; k < 2; k++) {
        c.carriers[k].n_layers = 1;
        c.carriers[k].weights = w;
    }
    rec r;
    if (!record(t, &r, &c, 12000)) return;
    double worst = 0, ref = 0;
    for (int64_t i = 0; i < r.n; i++) {
        double complex s0 = (double complex)r.tx[i] / (double complex)w[0];
        ref = fmax(ref, cabs(s0));
        for (int a = 1; a < 4; a++) worst = fmax(worst, cabs((double complex)r.tx[a * r.n + i] / (double complex)w[a] - s0));
    }
    MN_CHECK_MSG(t, worst < 1e-5 * ref, "antennas differ from w_a s by %g (scale %g)", worst, ref);
    MN_CHECK_NEAR(t, power(r.tx + 3 * r.n, r.n) / power(r.tx, r.n), 0.64, 0.01);
    rec_free(&r);
    mn_pim_sim_cfg d = small_cfg(t->seed);
    d.n_junctions = 1;
    d.carriers[0].n_layers = 2;
    d.carriers[1].n_layers = 3;
    if (!record(t, &r, &d, 40000)) return;
    for (int a = 0; a < 4; a++) MN_CHECK_NEAR(t, power(r.tx + a * r.n, r.n), 1.0, 0.08);
    rec_free(&r);
}
