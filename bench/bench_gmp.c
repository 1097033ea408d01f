/*
 * bench/bench_gmp.c — time of the GMP baseline's least-squares fit (mn_pim_gmp_fit) on a
 * deterministic 32 Tx -> 16 Rx data set; bench/gmp_numpy.py fits the same data with numpy and
 * bench/compare.sh runs the two alternately.
 *
 *     bench_gmp [--threads N] [--reps R] [--warmup W] [--samples N] [--seed S]
 *               [--M 7] [--K 3] [--L 0] [--P 1] [--linear 0|1] [--ridge 1e-7]
 *               [--save DIR] [--json]
 *
 * Default basis (the size issue #6 times, 896 columns): 32 Tx antennas x M 7 memory taps x
 * (K 3 odd orders |x|^2..|x|^6 + P 1 neighbouring-antenna cross term), no linear term (PIM is
 * a purely nonlinear product); pim.h documents the column order.
 * Data (seeded, identical for any thread count): tx [32, N] i.i.d. complex Gaussian of power
 * 0.5; rx [16, N] = for every Rx r and Tx a, a random complex mix of x_a|x_a|^2 (taps 0, 1),
 * x_a|x_a|^4 (tap 0) and x_a|x_(a+1)|^2 (tap 0), each coefficient CN(0, 1/32), plus complex
 * white noise of power 1e-4 (about -30 dB below the PIM).
 * Timing: the whole fit (basis, Gram, solve), each repetition alone after W warm-up fits (the
 * warm-up also pays the first touch of the fit's buffers); the result is the median.
 * --save DIR writes DIR/tx.npy, DIR/rx.npy (complex64 [nch, N]) and DIR/coef.npy (complex128
 * [16, columns], the fit's coefficients) so that gmp_numpy.py can fit exactly the same data
 * and check that its basis is the same.
 * Output: one line (--json: a JSON object) with seconds_median, seconds_min, and the NMSE of
 * the fit on its first 20,000 training samples (a sanity figure).  Exit status: 0 ok, 1 runtime failure, 2 bad usage.
 */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/core.h"
#include "mimonet/io.h"
#include "mimonet/pim.h"

#include "bench_util.h"

typedef struct {
    int threads, reps, warmup, json;
    int64_t samples;
    uint64_t seed;
    mn_pim_gmp_cfg cfg;
    const char *save;
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_gmp [--threads N] [--reps R] [--warmup W] [--samples N] [--seed S]\n"
               "                 [--M 7] [--K 3] [--L 0] [--P 1] [--linear 0|1] [--ridge 1e-7]\n"
               "                 [--save DIR] [--json]\n");
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(s, &end, 10);
    if (!s[0] || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse(opts *o, int argc, char **argv)
{
    *o = (opts){.threads = 1, .reps = 3, .warmup = 1, .samples = 100000, .seed = 1,
                .cfg = {.n_tx = 32, .n_rx = 16, .M = 7, .K = 3, .L = 0, .P = 1, .linear = false, .ridge = 1e-7}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x = 0;
        int bad = 0;
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!v) { fprintf(stderr, "bench_gmp: %s needs a value\n", a); return -1; }
        if (!strcmp(a, "--threads")) { bad = parse_long(v, 1, 1024, &x); o->threads = (int)x; }
        else if (!strcmp(a, "--reps")) { bad = parse_long(v, 1, 1000, &x); o->reps = (int)x; }
        else if (!strcmp(a, "--warmup")) { bad = parse_long(v, 0, 1000, &x); o->warmup = (int)x; }
        else if (!strcmp(a, "--samples")) { bad = parse_long(v, 1, 100000000L, &x); o->samples = x; }
        else if (!strcmp(a, "--seed")) { bad = parse_long(v, 0, 1L << 62, &x); o->seed = (uint64_t)x; }
        else if (!strcmp(a, "--M")) { bad = parse_long(v, 1, 1000, &x); o->cfg.M = (int)x; }
        else if (!strcmp(a, "--K")) { bad = parse_long(v, 0, 100, &x); o->cfg.K = (int)x; }
        else if (!strcmp(a, "--L")) { bad = parse_long(v, 0, 100, &x); o->cfg.L = (int)x; }
        else if (!strcmp(a, "--P")) { bad = parse_long(v, 0, 100, &x); o->cfg.P = (int)x; }
        else if (!strcmp(a, "--linear")) { bad = parse_long(v, 0, 1, &x); o->cfg.linear = x != 0; }
        else if (!strcmp(a, "--ridge")) {
            char *end = NULL;
            o->cfg.ridge = strtod(v, &end);
            bad = !v[0] || *end || !(o->cfg.ridge >= 0);
        } else if (!strcmp(a, "--save")) o->save = v;
        else { fprintf(stderr, "bench_gmp: unknown option %s\n", a); return -1; }
        if (bad) { fprintf(stderr, "bench_gmp: bad value '%s' for %s\n", v, a); return -1; }
        i++;
    }
    return 0;
}

static double complex cn(mn_rng *r, double power)
{
    double s = sqrt(power / 2);
    double re = mn_rng_normal(r) * s;
    return CMPLX(re, mn_rng_normal(r) * s);
}

/* The data set of the file header. */
static void make_data(float complex *tx, float complex *rx, int ntx, int nrx, int64_t n, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    for (int64_t i = 0; i < (int64_t)ntx * n; i++) tx[i] = (float complex)cn(&r, 0.5);
    double complex h[4];
    for (int q = 0; q < nrx; q++) {
        float complex *y = rx + (int64_t)q * n;
        for (int64_t i = 0; i < n; i++) y[i] = 0;
        for (int a = 0; a < ntx; a++) {
            for (int k = 0; k < 4; k++) h[k] = cn(&r, 1.0 / ntx);
            const float complex *x = tx + (int64_t)a * n, *xn = tx + (int64_t)((a + 1) % ntx) * n;
            for (int64_t i = 0; i < n; i++) {
                double complex u = (double complex)x[i], u1 = i > 0 ? (double complex)x[i - 1] : 0;
                double complex v = (double complex)xn[i];
                double p = creal(u * conj(u)), p1 = creal(u1 * conj(u1)), pv = creal(v * conj(v));
                y[i] += (float complex)(h[0] * u * p + h[1] * u1 * p1 + h[2] * u * p * p + h[3] * u * pv);
            }
        }
        for (int64_t i = 0; i < n; i++) y[i] += (float complex)cn(&r, 1e-4);
    }
}

/* A complex128 array [rows, cols] as .npy (v1.0, C order, header padded to 64 bytes). */
static int write_npy_c128(const char *path, const double complex *x, int rows, int cols)
{
    char hdr[128];
    int len = snprintf(hdr, sizeof hdr, "{'descr': '<c16', 'fortran_order': False, 'shape': (%d, %d), }", rows, cols);
    int total = ((10 + len + 1 + 63) / 64) * 64;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned short hl = (unsigned short)(total - 10);
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(hdr, 1, (size_t)len, f);
    for (int i = 10 + len; i < total - 1; i++) fputc(' ', f);
    fputc('\n', f);
    size_t cnt = (size_t)rows * cols;
    int bad = fwrite(x, sizeof *x, cnt, f) != cnt; /* little-endian hosts only, like the rest */
    return fclose(f) != 0 || bad ? -1 : 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv)) {
        usage(stderr);
        return 2;
    }
    mn_threads_set(o.threads);
    const mn_pim_gmp_cfg *c = &o.cfg;
    const int64_t n = o.samples;
    const int cols = mn_pim_gmp_columns(c);
    float complex *tx = mn_malloc(sizeof *tx * (size_t)(c->n_tx * n));
    float complex *rx = mn_malloc(sizeof *rx * (size_t)(c->n_rx * n));
    /* The NMSE is measured on the first nchk samples only: mn_pim_gmp_predict costs more than
     * the fit (per-sample dot products in double), and this is a sanity figure. */
    const int64_t nchk = n < 20000 ? n : 20000;
    float complex *txc = mn_malloc(sizeof *txc * (size_t)(c->n_tx * nchk));
    float complex *pred = mn_malloc(sizeof *pred * (size_t)(c->n_rx * nchk));
    double *sec = mn_calloc((size_t)o.reps, sizeof *sec);
    if (!tx || !rx || !txc || !pred || !sec) {
        fprintf(stderr, "bench_gmp: out of memory\n");
        return 1;
    }
    make_data(tx, rx, c->n_tx, c->n_rx, n, o.seed);

    mn_pim_gmp g = {0};
    int rc = 0;
    for (int r = -o.warmup; r < o.reps && rc == 0; r++) {
        mn_pim_gmp_free(&g);
        double t0 = mn_time_sec();
        mn_status st = mn_pim_gmp_fit(&g, c, tx, rx, n, (mn_span){0, n});
        double dt = mn_time_sec() - t0;
        if (st != MN_OK) {
            fprintf(stderr, "bench_gmp: %s\n", mn_error_msg());
            rc = 1;
        } else if (r >= 0) {
            sec[r] = dt;
        }
    }
    for (int a = 0; a < c->n_tx; a++) memcpy(txc + a * nchk, tx + a * n, sizeof *txc * (size_t)nchk);
    if (rc == 0 && mn_pim_gmp_predict(&g, pred, txc, nchk) != MN_OK) {
        fprintf(stderr, "bench_gmp: %s\n", mn_error_msg());
        rc = 1;
    }
    if (rc == 0) {
        double e = 0, p = 0;
        for (int q = 0; q < c->n_rx; q++)
            for (int64_t i = 0; i < nchk; i++) {
                double complex y = (double complex)rx[q * n + i], d = y - (double complex)pred[q * nchk + i];
                e += creal(d * conj(d));
                p += creal(y * conj(y));
            }
        double nmse_db = 10 * log10(e / p);
        double med = bench_median(sec, o.reps); /* sorts: sec[0] is the fastest */
        /* Real flops.  Solve (both): Cholesky 4/3 C^3 + two triangular solves 8 C^2 n_rx.
         * Classic normal equations: zherk of Phi [n, C], 4 n C (C + 1) (C (C + 1) / 2 complex dot
         * products of length n, 8 flops per complex multiply-add), plus Phi^H Y, 8 n C n_rx.
         * Executed by mn_pim_gmp_fit (shift structure, gmp.c): 8 n M U (U + n_rx), U = C / M. */
        const double N = (double)n, C = cols, U = (double)cols / c->M, nr = c->n_rx;
        const double solve = 4.0 / 3 * C * C * C + 8 * C * C * nr;
        const double fl_classic = 4 * N * C * (C + 1) + 8 * N * C * nr + solve;
        const double fl_exec = 8 * N * c->M * U * (U + nr) + solve;
        if (o.json) {
            printf("{\"engine\":\"mimonet\",\"version\":\"%s\",\"benchmark\":\"gmp_fit\",\"method\":\"normal\","
                   "\"threads\":%d,\"threads_effective\":%d,\"samples\":%lld,\"n_tx\":%d,\"n_rx\":%d,"
                   "\"M\":%d,\"K\":%d,\"L\":%d,\"P\":%d,\"linear\":%d,\"columns\":%d,\"reps\":%d,"
                   "\"seconds_median\":%.6f,\"seconds_min\":%.6f,\"nmse_db\":%.3f,\"flops_classic\":%.6g,"
                   "\"flops_executed\":%.6g}\n",
                   MN_VERSION_STRING, o.threads, mn_threads_get(), (long long)n, c->n_tx, c->n_rx, c->M, c->K,
                   c->L, c->P, c->linear ? 1 : 0, cols, o.reps, med, sec[0], nmse_db, fl_classic, fl_exec);
        } else {
            printf("mimonet %s GMP fit, %lld samples x %d columns -> %d Rx, threads=%d: %.3f s (median of %d, "
                   "min %.3f s), NMSE %.2f dB; %.1f GFLOP/s executed, %.1f classic-equivalent\n",
                   MN_VERSION_STRING, (long long)n, cols, c->n_rx, mn_threads_get(), med, o.reps, sec[0], nmse_db,
                   fl_exec / med / 1e9, fl_classic / med / 1e9);
        }
    }
    if (rc == 0 && o.save) {
        char path[4096];
        mn_signal s = {.x = tx, .nch = c->n_tx, .n = n, .sample_rate = 0};
        snprintf(path, sizeof path, "%s/tx.npy", o.save);
        mn_status st = mn_npy_write_c64(path, &s, false);
        if (st == MN_OK) {
            s = (mn_signal){.x = rx, .nch = c->n_rx, .n = n, .sample_rate = 0};
            snprintf(path, sizeof path, "%s/rx.npy", o.save);
            st = mn_npy_write_c64(path, &s, false);
        }
        if (st == MN_OK) {
            snprintf(path, sizeof path, "%s/coef.npy", o.save);
            if (write_npy_c128(path, g.coef, c->n_rx, cols) != 0) st = mn_error(MN_ERR_IO, "%s: cannot write", path);
        }
        if (st != MN_OK) {
            fprintf(stderr, "bench_gmp: --save: %s\n", mn_error_msg());
            rc = 1;
        }
    }
    mn_pim_gmp_free(&g);
    mn_free(tx);
    mn_free(rx);
    mn_free(txc);
    mn_free(pred);
    mn_free(sec);
    return rc;
}
