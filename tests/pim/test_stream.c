/* tests/pim/test_stream.c — the streaming canceller (issue 6 §2): blocks of random sizes, from
 * one sample to several chunks, give the whole-signal result delayed by the latency; process
 * and flush allocate nothing; a GMP streams with no latency; rx = NULL streams the prediction. */
#include "mn_test.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimonet/io.h"
#include "mimonet/pim.h"

static void fill(float complex *x, int64_t n, mn_rng *r)
{
    for (int64_t i = 0; i < n; i++) x[i] = CMPLXF((float)mn_rng_normal(r), (float)mn_rng_normal(r));
}

/* Stream tx/rx [nch, n] through q in random blocks (sizes from 1 to max_block, some 0), then
 * flush; out receives the whole stream [n_rx, n + D].  Returns the number of allocations made
 * by process/flush (checked to be 0 by the callers). */
static long stream(mn_test_ctx *t, mn_pim_canceller *q, const float complex *tx, const float complex *rx,
                   float complex *out, int64_t n, int64_t max_block, mn_rng *r)
{
    const int ntx = mn_pim_canceller_n_tx(q), nrx = mn_pim_canceller_n_rx(q);
    const int64_t D = mn_pim_canceller_latency(q), total = n + D;
    float complex *bt = mn_malloc(sizeof *bt * ntx * (size_t)max_block), *br = mn_malloc(sizeof *br * nrx * (size_t)max_block),
                  *bo = mn_malloc(sizeof *bo * nrx * (size_t)(max_block > D ? max_block : D));
    long allocs = 0;
    (void)mn_alloc_count();
    for (int64_t pos = 0; pos < n;) {
        int64_t b = (int64_t)mn_rng_below(r, (uint64_t)max_block + 1);
        if (mn_rng_below(r, 4) == 0) b = 1 + (int64_t)mn_rng_below(r, 8); /* many tiny blocks too */
        if (b > max_block) b = max_block;
        if (b > n - pos) b = n - pos;
        for (int a = 0; a < ntx; a++) memcpy(bt + a * b, tx + a * n + pos, (size_t)b * sizeof *bt);
        for (int c = 0; c < nrx && rx; c++) memcpy(br + c * b, rx + c * n + pos, (size_t)b * sizeof *br);
        allocs -= mn_alloc_count();
        MN_CHECK_OK(t, mn_pim_canceller_process(q, bt, rx ? br : NULL, bo, b));
        allocs += mn_alloc_count();
        for (int c = 0; c < nrx; c++) memcpy(out + c * total + pos, bo + c * b, (size_t)b * sizeof *bo);
        pos += b;
    }
    allocs -= mn_alloc_count();
    MN_CHECK_OK(t, mn_pim_canceller_flush(q, bo));
    allocs += mn_alloc_count();
    for (int c = 0; c < nrx; c++) memcpy(out + c * total + n, bo + c * D, (size_t)D * sizeof *bo);
    mn_free(bt);
    mn_free(br);
    mn_free(bo);
    return allocs;
}

/* max |stream[D + i] - want[i]| over the signal, want = rx - pred (or pred), and *scale the
 * largest |want|; the leading D outputs must be exactly zero. */
static double compare(const float complex *s, const float complex *rx, const float complex *pred, int nrx, int64_t n,
                      int64_t D, bool *lead_zero, double *scale)
{
    double worst = 0;
    *scale = 0;
    *lead_zero = true;
    for (int c = 0; c < nrx; c++) {
        for (int64_t i = 0; i < D; i++) *lead_zero = *lead_zero && s[c * (n + D) + i] == 0;
        for (int64_t i = 0; i < n; i++) {
            float complex want = rx ? rx[c * n + i] - pred[c * n + i] : pred[c * n + i];
            double d = cabs((double complex)(s[c * (n + D) + D + i] - want));
            if (d > worst) worst = d;
            double m = cabs((double complex)want);
            if (m > *scale) *scale = m;
        }
    }
    return worst;
}

/* The light model runs in the fused executor, junction in its tiled one (pim/jx.c), both in
 * long windows; poly (products of branches) layer by layer in the built windows.  Those are
 * made just longer than two receptive fields, batch 1: chunks of 4 samples, shorter than the
 * latency, so the flush predicts more than a chunk at once (that once wrote past the
 * prediction buffer). */
static void stream_equals_whole(mn_test_ctx *t, const char *kind, bool bf16)
{
    const int ntx = 3, nrx = 2;
    const int64_t n = 9000;
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_pim_net q;
    /* Small windows so the stream crosses many chunk and window boundaries. */
    MN_CHECK_OK(t, mn_pim_net_create(&q, kind, ntx, nrx, 1, 1024, &r));
    const int window = 2 * q.border + 4;
    mn_pim_net_free(&q);
    MN_CHECK_OK(t, mn_pim_net_create(&q, kind, ntx, nrx, 1, window, &r));
    q.in_scale = 0.8f;
    q.out_scale = 3.0f;
    /* bf16: a value's rounding to 8 bits can follow its last float bit, which a window's layout
     * may change, and the light model's offsets are taken per time tile (nn/fused.c), so a few
     * outputs move by a bf16 step of one term: over 40 seeds, up to 1.7e-5 of the scale (light;
     * junction 3.1e-7) */
    const double tol = bf16 ? 1e-4 : 1e-6;
    if (bf16) {
        mn_status st = mn_pim_net_set_precision(&q, MN_PRECISION_BF16);
        MN_CHECK(t, st == MN_OK || st == MN_ERR_UNSUPPORTED); /* a CPU without AVX512_BF16 */
        if (st != MN_OK) {
            mn_pim_net_free(&q);
            return;
        }
        MN_CHECK(t, mn_pim_net_precision(&q) == MN_PRECISION_BF16);
    }
    float complex *tx = mn_malloc(sizeof *tx * ntx * n), *rx = mn_malloc(sizeof *rx * nrx * n),
                  *pred = mn_malloc(sizeof *pred * nrx * n), *s = mn_malloc(sizeof *s * nrx * (n + q.border));
    fill(tx, ntx * n, &r);
    fill(rx, nrx * n, &r);
    MN_CHECK_OK(t, mn_pim_net_predict(&q, pred, tx, n));
    mn_pim_canceller *c = NULL;
    MN_CHECK_OK(t, mn_pim_canceller_from_net(&c, &q));
    MN_CHECK(t, c && mn_pim_canceller_latency(c) == q.border && q.border > 0 && !strcmp(mn_pim_canceller_kind(c), kind));
    MN_CHECK(t, c && mn_pim_canceller_precision(c) == (bf16 ? MN_PRECISION_BF16 : MN_PRECISION_FP32));
    for (int round = 0; round < 3 && c; round++) {
        int64_t max_block = round == 0 ? 7 : round == 1 ? 500 : 4000; /* blocks of up to 7, 500 and 4000 samples */
        bool z;
        double scale;
        long allocs = stream(t, c, tx, rx, s, n, max_block, &r);
        MN_CHECK_MSG(t, allocs == 0, "process/flush made %ld allocations", allocs);
        double worst = compare(s, rx, pred, nrx, n, q.border, &z, &scale);
        MN_CHECK(t, z && scale > 0);
        /* Every output comes from a window with full context through the same kernels; only a
         * shorter last window of a chunk may change a GEMM's blocking. */
        MN_CHECK_MSG(t, worst <= tol * scale, "%s%s, blocks <= %lld: max diff %.3g (scale %.3g)", kind, bf16 ? " bf16" : "",
                     (long long)max_block, worst, scale);
    }
    /* rx = NULL: the stream is the prediction itself. */
    if (c) {
        bool z;
        double scale;
        MN_CHECK(t, stream(t, c, tx, NULL, s, n, 300, &r) == 0);
        const double worst = compare(s, NULL, pred, nrx, n, q.border, &z, &scale);
        /* the untrained model's prediction is small against its terms (scale ~0.1), and bf16's
         * differences are as absolute as above, so against it they are larger: over 40 seeds up
         * to 2.8e-3 (light; junction 1.1e-5) */
        MN_CHECK_MSG(t, worst <= (bf16 ? 1e-2 : tol) * scale && z, "%s%s, the prediction alone: max diff %.3g (scale %.3g)", kind,
                     bf16 ? " bf16" : "", worst, scale);
    }
    /* A stream shorter than the latency: all of it comes out of flush. */
    if (c) {
        float complex o[2 * 64];
        MN_CHECK(t, q.border <= 64);
        MN_CHECK_OK(t, mn_pim_canceller_process(c, tx, rx, o, 1));
        MN_CHECK(t, o[0] == 0 && o[1] == 0);
        MN_CHECK_OK(t, mn_pim_canceller_flush(c, o));
        float complex p1[2];
        MN_CHECK_OK(t, mn_pim_net_predict(&q, p1, tx, 1));
        MN_CHECK(t, cabsf(o[q.border - 1] - (rx[0] - p1[0])) <= (float)tol * (1 + cabsf(p1[0])));
        MN_CHECK(t, cabsf(o[2 * q.border - 1] - (rx[0] - p1[1])) >= 0); /* row 1 exists */
    }
    mn_pim_canceller_free(c);
    mn_pim_net_free(&q);
    mn_free(tx);
    mn_free(rx);
    mn_free(pred);
    mn_free(s);
}

MN_TEST(pim_stream_neural_equals_whole_signal)
{
    stream_equals_whole(t, "light", false);
    stream_equals_whole(t, "junction", false);
    stream_equals_whole(t, "poly", false);
    stream_equals_whole(t, "light", true);
    stream_equals_whole(t, "junction", true);
}

MN_TEST(pim_stream_gmp_equals_whole_signal)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    const int ntx = 4, nrx = 2;
    const int64_t n = 20000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 1);
    float complex *tx = mn_malloc(sizeof *tx * ntx * n), *rx = mn_malloc(sizeof *rx * nrx * n),
                  *pred = mn_malloc(sizeof *pred * nrx * n), *s = mn_malloc(sizeof *s * nrx * (n + 3));
    fill(tx, ntx * n, &r);
    for (int c = 0; c < nrx; c++)
        for (int64_t i = 0; i < n; i++) {
            float complex u = tx[c * n + i], v = i >= 2 ? tx[(c + 1) * n + i - 2] : 0;
            rx[c * n + i] = u * (crealf(v) * crealf(v) + cimagf(v) * cimagf(v)) + 0.1f * (float)mn_rng_normal(&r);
        }
    /* Causal, and with a lead of 3 taps ahead: the stream is then 3 samples late, and flush
     * emits the last 3 (the signal's end padded with zeros, as predict pads it). */
    for (int lead = 0; lead <= 3; lead += 3) {
        mn_pim_gmp g;
        mn_pim_gmp_cfg cfg = {.n_tx = ntx, .n_rx = nrx, .M = 3, .K = 2, .L = 2, .P = 1, .lead = lead, .linear = true,
                              .ridge = 1e-7};
        MN_CHECK_OK(t, mn_pim_gmp_fit(&g, &cfg, tx, rx, n, (mn_span){0, n}));
        MN_CHECK_OK(t, mn_pim_gmp_predict(&g, pred, tx, n));
        mn_pim_canceller *c = NULL;
        MN_CHECK_OK(t, mn_pim_canceller_from_gmp(&c, &g));
        MN_CHECK(t, c && mn_pim_canceller_latency(c) == lead && !strcmp(mn_pim_canceller_kind(c), "gmp"));
        for (int round = 0; round < 2 && c; round++) {
            bool z;
            double scale;
            MN_CHECK(t, stream(t, c, tx, rx, s, n, round ? 20000 : 5, &r) == 0);
            double worst = compare(s, rx, pred, nrx, n, lead, &z, &scale);
            /* The same basis rows and coefficient sums in the same order: identical. */
            MN_CHECK_MSG(t, worst == 0 && scale > 0 && z, "lead %d, round %d: max diff %.3g", lead, round, worst);
        }
        mn_pim_canceller_free(c);
        mn_pim_gmp_free(&g);
    }
    mn_free(tx);
    mn_free(rx);
    mn_free(pred);
    mn_free(s);
}

/* ------------------------------------------------------------------ pim cancel */

static const char *cli_path(void)
{
    const char *c = getenv("MN_CLI");
    if (c && *c) return c;
    return access("build/mimonet", X_OK) == 0 ? "build/mimonet" : NULL;
}

/* `pim cancel` streams: for several --block sizes, and for an npy and a CSV input (read whole),
 * its output is rx - the whole-signal prediction of the saved model: a light model (two-sided,
 * latency = its border), a GMP with 3 taps of lead (latency 3), or the light model over that
 * GMP (a cascade, one file). */
enum { CLI_LIGHT, CLI_GMP, CLI_CASCADE };
static void cancel_cli_matches(mn_test_ctx *t, int mode)
{
    const bool gmp = mode != CLI_LIGHT;
    const char *cli = cli_path();
    if (!cli) {
        MN_CHECK_MSG(t, 0, "no mimonet binary: build it (make) and set MN_CLI to its path");
        return;
    }
    const int ntx = 2, nrx = 1;
    const int64_t n = 5000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 7);
    mn_pim_net q = {0};
    mn_pim_gmp g = {0};
    if (mode != CLI_GMP) {
        MN_CHECK_OK(t, mn_pim_net_create(&q, "light", ntx, nrx, 4, 256, &r));
        q.in_scale = 1.3f;
        q.out_scale = 0.6f;
    }
    mn_signal tx = {0}, rx = {0}, got = {0};
    MN_CHECK_OK(t, mn_signal_alloc(&tx, ntx, n));
    MN_CHECK_OK(t, mn_signal_alloc(&rx, nrx, n));
    fill(tx.x, ntx * n, &r);
    fill(rx.x, nrx * n, &r);
    float complex *pred = mn_malloc(sizeof *pred * nrx * n);
    if (gmp) {
        mn_pim_gmp_cfg cfg = {.n_tx = ntx, .n_rx = nrx, .M = 2, .K = 1, .L = 1, .P = 1, .lead = 3, .linear = true,
                              .ridge = 1e-7};
        MN_CHECK_OK(t, mn_pim_gmp_fit(&g, &cfg, tx.x, rx.x, n, (mn_span){0, n}));
        if (mode == CLI_CASCADE) MN_CHECK_OK(t, mn_pim_net_set_base(&q, &g));
    }
    MN_CHECK_OK(t, mode == CLI_GMP ? mn_pim_gmp_predict(&g, pred, tx.x, n) : mn_pim_net_predict(&q, pred, tx.x, n));
    char model[4400], txp[4400], rxp[4400], rxc[4400], outp[4400]; /* mn_test_path reuses its buffer */
    snprintf(model, sizeof model, "%s", mn_test_path(t, "m.safetensors"));
    snprintf(txp, sizeof txp, "%s", mn_test_path(t, "tx.npy"));
    snprintf(rxp, sizeof rxp, "%s", mn_test_path(t, "rx.npy"));
    snprintf(rxc, sizeof rxc, "%s", mn_test_path(t, "rx.csv"));
    snprintf(outp, sizeof outp, "%s", mn_test_path(t, "out.npy"));
    MN_CHECK_OK(t, mode == CLI_GMP ? mn_pim_gmp_save(&g, model) : mn_pim_net_save(&q, model, NULL, NULL, 0));
    MN_CHECK_OK(t, mn_npy_write_c64(txp, &tx, false));
    MN_CHECK_OK(t, mn_npy_write_c64(rxp, &rx, false));
    MN_CHECK_OK(t, mn_csv_write(rxc, &rx));
    const char *blocks[] = {"1", "333", "4096", "1000000"};
    for (int k = 0; k < 5; k++) {
        char cmd[24000];
        snprintf(cmd, sizeof cmd, "'%s' pim cancel --model '%s' --tx '%s' --rx '%s' --out '%s' --block %s --force --quiet", cli,
                 model, txp, k == 4 ? rxc : rxp, outp, blocks[k % 4]);
        MN_CHECK_MSG(t, system(cmd) == 0, "%s", cmd);
        mn_signal_free(&got);
        MN_CHECK_OK(t, mn_source_read(&got, outp));
        if (got.nch != nrx || got.n != n) {
            MN_CHECK_MSG(t, 0, "out is [%d, %lld]", got.nch, (long long)got.n);
            continue;
        }
        double worst = 0, scale = 0;
        for (int64_t i = 0; i < nrx * n; i++) {
            /* the CSV holds 9 significant digits: exact for float32 */
            double d = cabs((double complex)(got.x[i] - (rx.x[i] - pred[i])));
            worst = d > worst ? d : worst;
            double m = cabs((double complex)(rx.x[i] - pred[i]));
            scale = m > scale ? m : scale;
        }
        MN_CHECK_MSG(t, worst <= 1e-6 * scale && scale > 0, "mode %d, --block %s%s: max diff %.3g", mode, blocks[k % 4],
                     k == 4 ? " (CSV rx)" : "", worst);
    }
    mn_signal_free(&got);
    mn_signal_free(&tx);
    mn_signal_free(&rx);
    mn_free(pred);
    mn_pim_net_free(&q);
    mn_pim_gmp_free(&g);
}

MN_TEST(pim_cancel_cli_streams_the_whole_signal_result)
{
    cancel_cli_matches(t, CLI_LIGHT);
#ifdef MN_HAVE_LAPACKE
    cancel_cli_matches(t, CLI_GMP);
    cancel_cli_matches(t, CLI_CASCADE);
#endif
}

/* Number `key` of the JSON object in file path (NAN if absent); *kind receives "model". */
static double json_number(const char *path, const char *key, char *kind, size_t kn)
{
    char *text = NULL;
    size_t len = 0;
    double v = (double)NAN;
    if (mn_file_read_all(path, 1 << 20, &text, &len) != MN_OK) return v;
    cJSON *o = cJSON_Parse(text);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key), *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    if (cJSON_IsNumber(x)) v = x->valuedouble;
    if (kind) snprintf(kind, kn, "%s", cJSON_IsString(m) ? m->valuestring : "");
    cJSON_Delete(o);
    mn_free(text);
    return v;
}

/* pim train --base: a light model trained on what a GMP leaves, written as one cascade file.
 * Its test metrics count both parts, pim eval of the file gives the same figure, and the file's
 * base is the GMP that was given.  pim eval --report writes the page and figures for it, with
 * --compare's models in its table. */
MN_TEST(pim_train_cli_base_writes_a_cascade)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    const char *cli = cli_path();
    if (!cli) {
        MN_CHECK_MSG(t, 0, "no mimonet binary: build it (make) and set MN_CLI to its path");
        return;
    }
    const int64_t n = 12000; /* validation: 1,200 samples, a window */
    mn_rng r;
    mn_rng_seed(&r, t->seed + 31);
    mn_signal tx = {0}, rx = {0};
    MN_CHECK_OK(t, mn_signal_alloc(&tx, 2, n));
    MN_CHECK_OK(t, mn_signal_alloc(&rx, 1, n));
    fill(tx.x, 2 * n, &r);
    /* the next sample of antenna 0 (a lead), a cubic of antenna 1, and noise */
    for (int64_t i = 0; i < n; i++) {
        float complex a = i + 1 < n ? tx.x[i + 1] : 0, b = tx.x[n + i];
        rx.x[i] = 0.5f * a + 0.2f * b * (crealf(b) * crealf(b) + cimagf(b) * cimagf(b)) +
                  0.01f * CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    }
    char dir[4400], cmd[24000];
    snprintf(dir, sizeof dir, "%s", mn_test_tmpdir(t));
    MN_CHECK_OK(t, mn_npy_write_c64(mn_test_path(t, "tx.npy"), &tx, false));
    MN_CHECK_OK(t, mn_npy_write_c64(mn_test_path(t, "rx.npy"), &rx, false));
    char abs[4400]; /* the test may have found the CLI by a relative path: it runs from dir */
    MN_CHECK(t, realpath(cli, abs) != NULL);
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' pim train --tx tx.npy --rx rx.npy --model gmp --memory 3 --order 1 --lead 2 "
             "--out g.safetensors --quiet --json > g.json && '%s' pim train --tx tx.npy --rx rx.npy --model light "
             "--base g.safetensors --steps 40 --batch 2 --window 1100 --threads 1 --out c.safetensors --quiet --json > c.json "
             "&& '%s' pim eval --model c.safetensors --tx tx.npy --rx rx.npy --json > e.json "
             "&& cp c.safetensors 'c<1>.safetensors' && '%s' pim eval --model 'c<1>.safetensors' --tx tx.npy --rx rx.npy "
             "--report rep --compare g.safetensors,c.safetensors 2>/dev/null > /dev/null",
             dir, abs, abs, abs, abs);
    MN_CHECK_MSG(t, system(cmd) == 0, "%s", cmd);
    char kind[32], ekind[32];
    const double ape = json_number(mn_test_path(t, "c.json"), "ape_db", kind, sizeof kind);
    const double params = json_number(mn_test_path(t, "c.json"), "params", NULL, 0);
    const double eape = json_number(mn_test_path(t, "e.json"), "ape_db", ekind, sizeof ekind);
    const double gape = json_number(mn_test_path(t, "g.json"), "ape_db", NULL, 0);
    MN_CHECK_MSG(t, !strcmp(kind, "gmp+light") && !strcmp(ekind, "gmp+light"), "model '%s', eval '%s'", kind, ekind);
    MN_CHECK_MSG(t, isfinite(ape) && ape == eape, "train's test APE %.6f, eval's %.6f", ape, eape);
    /* The GMP alone explains the signal to its noise (about 41 dB): the cascade is not far from it. */
    MN_CHECK_MSG(t, gape > 30 && ape > gape - 3, "gmp %.2f dB, cascade %.2f dB", gape, ape);
    mn_pim_net l;
    mn_pim_gmp g;
    MN_CHECK_OK(t, mn_pim_net_load(&l, mn_test_path(t, "c.safetensors"), 1, 1100));
    MN_CHECK_OK(t, mn_pim_gmp_load(&g, mn_test_path(t, "g.safetensors")));
    const mn_pim_gmp *b = mn_pim_net_base(&l);
    MN_CHECK(t, b && b->ncols == g.ncols && b->cfg.lead == 2);
    if (b && b->ncols == g.ncols)
        MN_CHECK(t, !memcmp(b->coef, g.coef, sizeof *g.coef * (size_t)g.ncols));
    MN_CHECK_MSG(t, params == (double)mn_params_count_trainable(&l.model.params) + 2.0 * g.ncols,
                 "params %.0f: light %zu + gmp %d", params, mn_params_count_trainable(&l.model.params), 2 * g.ncols);
    /* pim eval --report --compare: the page names the cascade and its file (escaped) and the
     * compared models, and the figures exist */
    char *html = NULL;
    size_t hl = 0;
    MN_CHECK_OK(t, mn_file_read_all(mn_test_path(t, "rep/report.html"), 1 << 22, &html, &hl));
    MN_CHECK_MSG(t, html && strstr(html, "<td>gmp+light (c&lt;1&gt;.safetensors)</td>") && !strstr(html, "c<1>") &&
                        strstr(html, "<td>gmp (g.safetensors)</td>") && strstr(html, "<td>gmp+light (c.safetensors)</td>") &&
                        strstr(html, "&ndash;"),
                 "report.html does not name the models as expected");
    mn_free(html);
    const char *figs[] = {"rep/heatmap.svg", "rep/time.svg", "rep/psd.svg", "rep/channels.svg"};
    for (int k = 0; k < 4; k++) MN_CHECK_MSG(t, access(mn_test_path(t, figs[k]), R_OK) == 0, "no %s", figs[k]);
    mn_pim_gmp_free(&g);
    mn_pim_net_free(&l);
    mn_signal_free(&tx);
    mn_signal_free(&rx);
}

/* Every allocation of opening a canceller from a model file can fail cleanly; process then
 * allocates nothing (checked above). */
/* light (the fused executor) and junction (pim/jx.c): every allocation of open may fail. */
static void open_alloc_failure_sweep(mn_test_ctx *t, const char *kind)
{
    mn_rng r;
    mn_rng_seed(&r, 3);
    mn_pim_net q;
    MN_CHECK_OK(t, mn_pim_net_create(&q, kind, 2, 1, 2, 256, &r));
    char path[4400];
    snprintf(path, sizeof path, "%s", mn_test_path(t, "m.safetensors"));
    MN_CHECK_OK(t, mn_pim_net_save(&q, path, NULL, NULL, 0));
    mn_pim_net_free(&q);
    int ok = 0;
    for (long k = 1; k < 2000 && !ok; k++) {
        long live0 = mn_alloc_live();
        mn_pim_canceller *c = NULL;
        mn_alloc_fail_at(k);
        mn_status st = mn_pim_canceller_open(&c, path, 0);
        mn_alloc_fail_at(0);
        if (st == MN_OK) ok = 1;
        else MN_CHECK_MSG(t, st == MN_ERR_NOMEM && c == NULL, "allocation %ld: status %d (%s)", k, (int)st, mn_error_msg());
        mn_pim_canceller_free(c);
        MN_CHECK_MSG(t, mn_alloc_live() == live0, "leak after failing allocation %ld", k);
    }
    MN_CHECK(t, ok);
}

MN_TEST(pim_stream_open_alloc_failure_sweep)
{
    open_alloc_failure_sweep(t, "light");
    open_alloc_failure_sweep(t, "junction");
}

/* ------------------------------------------------------------------ cascades */

/* A cascade (mn_pim_net_set_base): a light model over a GMP with a lead of 2.  Its prediction
 * is the model's plus the base's, to the bit; the file keeps both; the stream equals the whole
 * signal without allocating; training, adaptation and unfit bases are refused; removing the
 * base gives the model alone back. */
MN_TEST(pim_cascade_is_the_base_plus_the_model)
{
#ifndef MN_HAVE_LAPACKE
    MN_CHECK(t, 1); /* no LAPACKE: no GMP fit */
    return;
#endif
    const int ntx = 2, nrx = 2;
    const int64_t n = 6000;
    mn_rng r;
    mn_rng_seed(&r, t->seed + 11);
    mn_pim_net q;
    MN_CHECK_OK(t, mn_pim_net_create(&q, "light", ntx, nrx, 1, 1024, &r));
    const int window = 2 * q.border + 4;
    mn_pim_net_free(&q);
    MN_CHECK_OK(t, mn_pim_net_create(&q, "light", ntx, nrx, 1, window, &r));
    q.in_scale = 0.8f;
    q.out_scale = 3.0f;
    float complex *tx = mn_malloc(sizeof *tx * ntx * n), *rx = mn_malloc(sizeof *rx * nrx * n),
                  *pm = mn_malloc(sizeof *pm * nrx * n), *pg = mn_malloc(sizeof *pg * nrx * n),
                  *pc = mn_malloc(sizeof *pc * nrx * n), *s = mn_malloc(sizeof *s * nrx * (n + q.border));
    fill(tx, ntx * n, &r);
    fill(rx, nrx * n, &r);
    mn_pim_gmp g, far, narrow;
    /* memory 12: the base reaches further back than the model (13 samples against 8) */
    mn_pim_gmp_cfg cfg = {.n_tx = ntx, .n_rx = nrx, .M = 12, .K = 1, .L = 2, .P = 1, .lead = 2, .linear = true, .ridge = 1e-7};
    MN_CHECK_OK(t, mn_pim_gmp_fit(&g, &cfg, tx, rx, n, (mn_span){0, n}));
    MN_CHECK_OK(t, mn_pim_net_predict(&q, pm, tx, n));
    MN_CHECK_OK(t, mn_pim_gmp_predict(&g, pg, tx, n));
    MN_CHECK_OK(t, mn_pim_net_set_base(&q, &g));
    MN_CHECK(t, mn_pim_net_base(&q) && mn_pim_net_base(&q)->cfg.lead == 2);
    MN_CHECK_OK(t, mn_pim_net_predict(&q, pc, tx, n));
    long differ = 0;
    for (int64_t i = 0; i < nrx * n; i++) differ += pc[i] != pm[i] + pg[i];
    MN_CHECK_MSG(t, differ == 0, "%ld of %lld samples are not model + base", differ, (long long)(nrx * n));

    /* One file; loaded, the same predictions. */
    char path[4400];
    snprintf(path, sizeof path, "%s", mn_test_path(t, "cascade.safetensors"));
    MN_CHECK_OK(t, mn_pim_net_save(&q, path, NULL, NULL, 0));
    mn_pim_net l;
    MN_CHECK_OK(t, mn_pim_net_load(&l, path, 1, window));
    MN_CHECK(t, mn_pim_net_base(&l) && mn_pim_net_base(&l)->ncols == g.ncols && mn_pim_net_base(&l)->cfg.L == 2);
    MN_CHECK_OK(t, mn_pim_net_predict(&l, s, tx, n));
    differ = 0;
    for (int64_t i = 0; i < nrx * n; i++) differ += s[i] != pc[i];
    MN_CHECK_MSG(t, differ == 0, "the loaded cascade differs on %ld samples", differ);

    /* The stream: latency = the model's border (>= the lead), no allocation, the whole-signal
     * result (to float rounding, as for the model alone). */
    mn_pim_canceller *c = NULL;
    MN_CHECK_OK(t, mn_pim_canceller_from_net(&c, &l));
    MN_CHECK(t, c && mn_pim_canceller_latency(c) == l.border && !strcmp(mn_pim_canceller_kind(c), "gmp+light"));
    for (int round = 0; round < 2 && c; round++) {
        bool z;
        double scale;
        long allocs = stream(t, c, tx, rx, s, n, round ? 4000 : 7, &r);
        MN_CHECK_MSG(t, allocs == 0, "process/flush made %ld allocations", allocs);
        double worst = compare(s, rx, pc, nrx, n, l.border, &z, &scale);
        MN_CHECK_MSG(t, z && worst <= 1e-6 * scale, "round %d: max diff %.3g (scale %.3g)", round, worst, scale);
    }
    mn_pim_canceller_free(c);

    /* Training and adaptation work on the model alone. */
    mn_pim_train_cfg tc = mn_pim_train_default();
    mn_pim_train_result tr;
    MN_CHECK(t, mn_pim_train(&q, tx, rx, n, (mn_span){0, 4000}, (mn_span){4000, n}, &tc, &tr) == MN_ERR_INVALID);
    mn_pim_adapt_cfg ac = mn_pim_adapt_default();
    MN_CHECK(t, mn_pim_adapt(&q, pg, tx, rx, n, 0, n, &ac, NULL) == MN_ERR_UNSUPPORTED);
    /* A base that looks further ahead than the model, or has other channels: refused, the
     * cascade kept. */
    cfg.lead = q.border + 1;
    MN_CHECK_OK(t, mn_pim_gmp_fit(&far, &cfg, tx, rx, n, (mn_span){0, n}));
    MN_CHECK(t, mn_pim_net_set_base(&q, &far) == MN_ERR_INVALID);
    cfg.lead = 0;
    cfg.n_rx = 1;
    MN_CHECK_OK(t, mn_pim_gmp_fit(&narrow, &cfg, tx, rx, n, (mn_span){0, n}));
    MN_CHECK(t, mn_pim_net_set_base(&q, &narrow) == MN_ERR_SHAPE);
    MN_CHECK(t, mn_pim_net_base(&q) && mn_pim_net_base(&q)->cfg.lead == 2);
    /* Without the base: the model alone again. */
    MN_CHECK_OK(t, mn_pim_net_set_base(&q, NULL));
    MN_CHECK_OK(t, mn_pim_net_predict(&q, pc, tx, n));
    differ = 0;
    for (int64_t i = 0; i < nrx * n; i++) differ += pc[i] != pm[i];
    MN_CHECK(t, !mn_pim_net_base(&q) && differ == 0);
    mn_pim_gmp_free(&g);
    mn_pim_gmp_free(&far);
    mn_pim_gmp_free(&narrow);
    mn_pim_net_free(&l);
    mn_pim_net_free(&q);
    mn_free(tx);
    mn_free(rx);
    mn_free(pm);
    mn_free(pg);
    mn_free(pc);
    mn_free(s);
}
