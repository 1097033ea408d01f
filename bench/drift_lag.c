/*
 * bench/drift_lag.c — how well can any canceller do on the dynamic scenario if its model is
 * exact but L samples old?  A model-free bound for online adaptation (docs/pim.md, "Online
 * adaptation").
 *
 *     drift_lag [--tau SAMPLES] [--seed S] [--periods N] [--threads T] [--json]
 *
 * For each lag L (256 .. 65,536 samples): one stretch of L samples of the default 32 x 16
 * scenario's own tx is repeated and sent through the dynamic scenario's chain
 * (mn_pim_sim_apply: the drift of couplings and junctions runs on; the tx, and so the traffic
 * load, is frozen).  Since the map is time-invariant but for the drift, period k minus period
 * k - 1 is exactly the error of a perfect model identified L samples earlier.  Printed: that
 * error's NMSE against the PIM, pooled over the 16 Rx antennas and N - 2 pairs of periods (N
 * is --periods, 3 .. 64, default 6; the first 4,096 samples hold the filters' start-up, and the
 * last period sees the zeros after the end, so extra periods are sent), and the APE such a
 * stale-but-exact canceller would score beside the scenario's 40 dB noise ceiling (the two
 * errors add).
 * The static scenario gives -inf at every lag (tried; tests/pim/test_sim.c checks a 4 x 2 case).
 * Exit status: 0 ok, 1 runtime failure, 2 bad usage.
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mimonet/core.h"
#include "mimonet/pim.h"

#include "bench_util.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: drift_lag [--tau SAMPLES] [--seed S] [--periods N] [--threads T] [--json]\n");
}

int main(int argc, char **argv)
{
    int tau = 0, seed = 1, periods = 6, threads = 2, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int *dst = !strcmp(a, "--tau")       ? &tau
                   : !strcmp(a, "--seed")    ? &seed
                   : !strcmp(a, "--periods") ? &periods
                   : !strcmp(a, "--threads") ? &threads
                                             : NULL;
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!dst || i + 1 >= argc || bench_parse_int(argv[++i], 1, dst) < 0 ||
                   (dst == &periods && (periods < 3 || periods > 64))) {
            fprintf(stderr, dst ? "drift_lag: '%s' needs a whole number (--periods 3 .. 64)\n"
                                : "drift_lag: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    mn_threads_set(threads);
    mn_pim_sim_cfg c = mn_pim_sim_default();
    c.seed = (uint64_t)seed;
    c.scenario = MN_PIM_DYNAMIC;
    if (tau > 0) c.drift_tau = tau;
    enum { NLAG = 9 };
    static const int lags[NLAG] = {256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};
    /* The chain's filters start from zeros and look a few hundred samples ahead (delays are
     * compensated; zeros after the end), so the compared pairs start WARM samples in, and at
     * period 1 at least, and one more period follows the last pair. */
    enum { WARM = 4096 };
    const int64_t Lmax = lags[NLAG - 1], N = Lmax * (periods + 1) + WARM + Lmax;
    /* the ceiling: noise power / PIM power over the Rx band, as the recording defines it */
    const double noise_rel = pow(10.0, -c.pnr_db / 10.0);
    float complex *tx = mn_malloc((size_t)c.n_tx * Lmax * sizeof *tx);
    float complex *x = mn_malloc((size_t)c.n_tx * N * sizeof *x);
    float complex *y = mn_malloc((size_t)c.n_rx * N * sizeof *y);
    float complex *pim = mn_malloc((size_t)c.n_rx * Lmax * sizeof *pim);
    float complex *rx = mn_malloc((size_t)c.n_rx * Lmax * sizeof *rx);
    mn_pim_sim *s = NULL;
    int rc = 1;
    if (!tx || !x || !y || !pim || !rx) {
        fprintf(stderr, "drift_lag: out of memory\n");
        goto done;
    }
    /* the tx: the scenario's own (the static recording's first Lmax samples: full load) */
    mn_pim_sim_cfg cs = c;
    cs.scenario = MN_PIM_STATIC;
    mn_pim_sim_info info;
    s = mn_pim_sim_create(&cs);
    if (!s || mn_pim_sim_record(s, tx, pim, rx, Lmax, &info) != MN_OK) goto fail;
    mn_pim_sim_destroy(s);
    s = mn_pim_sim_create(&c);
    if (!s) goto fail;
    if (json) printf("{\"drift_tau\":%.0f,\"seed\":%d,\"periods\":%d,\"pnr_db\":%.1f,\"lags\":[", c.drift_tau, seed,
                     periods, c.pnr_db);
    else
        printf("dynamic scenario, drift tau %.0f samples (%.2f ms), seed %d, %d periods; noise ceiling %.1f dB\n"
               "%8s %10s %14s %22s\n",
               c.drift_tau, 1e3 * c.drift_tau / c.fs, seed, periods, c.pnr_db, "lag", "lag [ms]", "NMSE [dB]",
               "stale-oracle APE [dB]");
    for (int l = 0; l < NLAG; l++) {
        const int64_t L = lags[l], w = WARM > L ? (WARM + L - 1) / L - 1 : 0, np = periods + w + 1, n = L * np;
        for (int a = 0; a < c.n_tx; a++)
            for (int k = 0; k < np; k++) memcpy(x + (size_t)a * n + k * L, tx + (size_t)a * Lmax, (size_t)L * sizeof *x);
        if (mn_pim_sim_apply(s, y, x, n) != MN_OK) goto fail;
        double e = 0, p = 0;
        for (int r = 0; r < c.n_rx; r++)
            for (int64_t k = 2 + w; k < np - 1; k++)
                for (int64_t i = 0; i < L; i++) {
                    const float complex u = y[(size_t)r * n + k * L + i], v = y[(size_t)r * n + (k - 1) * L + i];
                    e += (double)crealf((u - v) * conjf(u - v));
                    p += (double)crealf(u * conjf(u));
                }
        const double nmse = 10.0 * log10(e / p), ape = -10.0 * log10(e / p + noise_rel);
        if (json) printf("%s{\"lag\":%lld,\"nmse_db\":%.2f,\"stale_oracle_ape_db\":%.2f}", l ? "," : "", (long long)L, nmse, ape);
        else printf("%8lld %10.3f %14.2f %22.2f\n", (long long)L, 1e3 * (double)L / c.fs, nmse, ape);
        fflush(stdout);
    }
    if (json) printf("]}\n");
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "drift_lag: %s\n", mn_error_msg());
done:
    mn_pim_sim_destroy(s);
    mn_free(tx);
    mn_free(x);
    mn_free(y);
    mn_free(pim);
    mn_free(rx);
    return rc;
}
