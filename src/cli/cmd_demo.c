/* cli/cmd_demo.c — `mimonet demo [--quick] [--out DIR]`: the main job on an embedded default.
 *
 * This release's demo trains the light model of DESIGN.md (32 Tx -> 16 Rx) on a synthetic
 * multi-antenna nonlinear task generated in memory: band-limited complex Gaussian Tx streams,
 * coupled into a few junctions with a soft-saturating cubic characteristic and one tap of memory,
 * coupled out to the Rx antennas, plus white noise at 40 dB below the interference.  It prints
 * the loss curve and the held-out APE next to the noise ceiling, and saves the checkpoint as
 * DIR/light.safetensors (with DIR/loss.csv).  When the PIM simulator lands it replaces the
 * synthetic task. */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "mimonet/pim.h"
#include "progress.h"

enum { N_TX = 32, N_RX = 16, N_JUNC = 4, LP_TAPS = 31 };

/* Soft-saturating cubic: g(v) = v |v|^2 / (1 + 0.2 |v|^2).  Not a polynomial. */
static float complex junction(float complex v)
{
    float p = crealf(v) * crealf(v) + cimagf(v) * cimagf(v);
    return v * (p / (1.0f + 0.2f * p));
}

/* tx [N_TX, n], rx [N_RX, n]; returns the noise power added to rx. */
static double synth(float complex *tx, float complex *rx, int64_t n, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    /* Hann-windowed sinc low-pass, cutoff 0.3 cycles/sample: band-limited Tx streams. */
    float h[LP_TAPS];
    double hs = 0;
    for (int k = 0; k < LP_TAPS; k++) {
        double m = k - (LP_TAPS - 1) / 2.0, fc = 0.3;
        double s = m == 0 ? 2 * fc : sin(2 * M_PI * fc * m) / (M_PI * m);
        h[k] = (float)(s * (0.5 - 0.5 * cos(2 * M_PI * k / (LP_TAPS - 1))));
        hs += (double)h[k] * (double)h[k];
    }
    for (int k = 0; k < LP_TAPS; k++) h[k] = (float)((double)h[k] / sqrt(hs));
    float complex w[LP_TAPS] = {0};
    for (int a = 0; a < N_TX; a++) {
        memset(w, 0, sizeof w);
        for (int64_t i = 0; i < n + LP_TAPS; i++) {
            memmove(w + 1, w, (LP_TAPS - 1) * sizeof *w);
            w[0] = CMPLXF((float)(mn_rng_normal(&r) * M_SQRT1_2), (float)(mn_rng_normal(&r) * M_SQRT1_2));
            if (i < LP_TAPS) continue;
            float complex acc = 0;
            for (int k = 0; k < LP_TAPS; k++) acc += h[k] * w[k];
            tx[(int64_t)a * n + i - LP_TAPS] = acc;
        }
    }
    float complex C[N_JUNC][N_TX], D[N_RX][N_JUNC];
    for (int j = 0; j < N_JUNC; j++)
        for (int a = 0; a < N_TX; a++)
            C[j][a] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r)) * (float)(0.5 / sqrt(N_TX));
    for (int q = 0; q < N_RX; q++)
        for (int j = 0; j < N_JUNC; j++) D[q][j] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    memset(rx, 0, (size_t)N_RX * n * sizeof *rx);
    float complex prev[N_JUNC] = {0};
    for (int64_t i = 0; i < n; i++) {
        float complex y[N_JUNC];
        for (int j = 0; j < N_JUNC; j++) {
            float complex v = 0;
            for (int a = 0; a < N_TX; a++) v += C[j][a] * tx[(int64_t)a * n + i];
            float complex g = junction(v);
            y[j] = g + 0.3f * prev[j]; /* one tap of memory after the junction */
            prev[j] = g;
        }
        for (int q = 0; q < N_RX; q++) {
            float complex acc = 0;
            for (int j = 0; j < N_JUNC; j++) acc += D[q][j] * y[j];
            rx[(int64_t)q * n + i] = acc;
        }
    }
    double p = 0;
    for (int64_t i = 0; i < (int64_t)N_RX * n; i++) p += (double)crealf(rx[i] * conjf(rx[i]));
    p /= (double)N_RX * n;
    double noise = p / 1e4; /* PNR 40 dB */
    double s = sqrt(noise / 2);
    for (int64_t i = 0; i < (int64_t)N_RX * n; i++)
        rx[i] += CMPLXF((float)(s * mn_rng_normal(&r)), (float)(s * mn_rng_normal(&r)));
    return noise;
}

int mn_cli_demo(int argc, char **argv)
{
    const char *cmd = "demo";
    bool quick = false, quiet = false, help = false;
    const char *out = "out";
    uint64_t seed = 1;
    int threads = 0;
    mn_opt opts[] = {
        {"--quick", MN_OPT_FLAG, &quick, 0, -1, "a smaller run for smoke tests (under 30 s)", false},
        {"--out", MN_OPT_STR, &out, 0, -1, "output folder (default out)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "random seed (default 1)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 256, "threads (default: all cores)", false},
        {"--quiet", MN_OPT_FLAG, &quiet, 0, -1, "no progress output", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) {
            mn_args_usage(cmd, "[--quick] [--out DIR]", opts);
            return MN_EXIT_OK;
        }
        return MN_EXIT_USAGE;
    }
    if (threads > 0) mn_threads_set(threads);
    if (!mn_cli_mkdirs(cmd, out)) return MN_EXIT_USAGE;

    const int64_t n = quick ? 30000 : 200000;
    mn_pim_train_cfg tc = mn_pim_train_default();
    tc.steps = quick ? 150 : 1500;
    tc.batch = 8;
    tc.window = 2048;
    tc.eval_every = quick ? 50 : 100;
    tc.clr_half = tc.steps / 6;
    tc.patience = 0;
    tc.seed = seed;

    float complex *tx = mn_malloc((size_t)N_TX * n * sizeof *tx), *rx = mn_malloc((size_t)N_RX * n * sizeof *rx);
    float complex *pred = mn_malloc((size_t)N_RX * n * sizeof *pred);
    if (!tx || !rx || !pred) {
        mn_free(tx); mn_free(rx); mn_free(pred);
        return mn_cli_fail(MN_EXIT_RUNTIME, cmd, "out of memory for %lld samples", (long long)n);
    }
    if (!quiet)
        fprintf(stderr, "demo: synthetic %dx%d nonlinear task, %lld samples, PNR 40 dB, %d threads\n", N_TX, N_RX,
                (long long)n, mn_threads_get());
    double noise = synth(tx, rx, n, seed);

    mn_span sp[3];
    mn_pim_net q;
    mn_rng rng;
    mn_rng_seed(&rng, seed);
    int code = MN_EXIT_OK;
    mn_status st = mn_pim_split(sp, n, (const double[3]){0.7, 0.1, 0.2}, tc.window);
    if (st == MN_OK) st = mn_pim_net_create(&q, "light", N_TX, N_RX, tc.batch, tc.window, &rng);
    if (st != MN_OK) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto out_free;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/loss.csv", out);
    mn_cli_progress_state ps;
    mn_cli_progress_init(&ps, quiet);
    ps.curve = fopen(path, "w");
    if (ps.curve) fprintf(ps.curve, "step,loss,lr,grad_norm,val_ape_db\n");
    tc.progress = mn_cli_progress;
    tc.progress_user = &ps;
    mn_cli_catch_sigint();
    mn_pim_train_result res;
    st = mn_pim_train(&q, tx, rx, n, sp[0], sp[1], &tc, &res);
    if (ps.curve) fclose(ps.curve);
    if (st != MN_OK && st != MN_ERR_INTERRUPTED) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto out_net;
    }
    /* Held-out test segment. */
    int64_t tl = sp[2].end - sp[2].begin;
    float complex *ttx = mn_malloc((size_t)N_TX * tl * sizeof *ttx), *trx = mn_malloc((size_t)N_RX * tl * sizeof *trx);
    mn_pim_metrics mt = {0};
    if (!ttx || !trx) st = mn_error(MN_ERR_NOMEM, "test split");
    else {
        for (int a = 0; a < N_TX; a++) memcpy(ttx + a * tl, tx + a * n + sp[2].begin, (size_t)tl * sizeof *ttx);
        for (int r = 0; r < N_RX; r++) memcpy(trx + r * tl, rx + r * n + sp[2].begin, (size_t)tl * sizeof *trx);
        st = mn_pim_net_predict(&q, pred, ttx, tl);
        if (st == MN_OK) st = mn_pim_metrics_compute(&mt, NULL, trx, pred, N_RX, tl, tl, q.border);
    }
    mn_free(ttx);
    mn_free(trx);
    if (st != MN_OK) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto out_net;
    }
    snprintf(path, sizeof path, "%s/light.safetensors", out);
    st = mn_pim_net_save(&q, path, NULL, NULL, 0);
    if (st != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "%s", mn_error_msg());
        goto out_net;
    }
    double ceiling = mn_pim_noise_ceiling_db(mt.power_y, noise);
    printf("\nmimonet demo — light model (%zu params, %ld MAC/sample), synthetic %dx%d task\n",
           mn_params_count_trainable(&q.model.params), mn_model_macs_per_sample(&q.model), N_TX, N_RX);
    printf("  steps %ld in %.1f s (%.0f samples/s), best validation APE %.2f dB at step %ld\n", res.steps_done,
           res.seconds, (double)res.steps_done * tc.batch * tc.window / res.seconds, res.best_val_ape_db,
           res.best_step);
    printf("  held-out test (%lld samples): APE %.2f dB pooled, %.2f dB mean, NMSE %.2f dB; noise ceiling %.2f dB\n",
           (long long)mt.samples, mt.ape_db, mt.ape_mean_db, mt.nmse_db, ceiling);
    printf("  wrote %s and %s/loss.csv\n", path, out);
    if (st == MN_OK && mn_cli_interrupted()) code = MN_EXIT_RUNTIME;
out_net:
    mn_pim_net_free(&q);
out_free:
    mn_free(tx);
    mn_free(rx);
    mn_free(pred);
    return code;
}
