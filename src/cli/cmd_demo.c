/* cli/cmd_demo.c — `mimonet demo [--quick] [--out DIR]`: DESIGN.md's main job.
 *
 *   1. simulate the default static 32 x 16 scenario (pim.h simulator; data kept in DIR/data);
 *   2. train the light model of DESIGN.md, the physics-shaped junction model, and fit the GMP
 *      baseline, on the first 70 % (validation: the next 10 %);
 *   3. evaluate all three on the held-out last 20 %;
 *   4. print a table and write DIR/report.html with the paper's figures, plus the three
 *      checkpoints.
 * --quick does the same on a short recording with few steps (under 30 s on 2 cores). */
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "mimonet/io.h"
#include "mimonet/pim.h"
#include "progress.h"

enum { CURVE_EVERY = 10, MAX_CURVE = 1024 };

/* Training curve kept for the report: every CURVE_EVERY steps the mean loss since the last
 * point and the latest validation APE; the progress bar is drawn as usual. */
typedef struct {
    mn_cli_progress_state bar;
    float step[MAX_CURVE], loss[MAX_CURVE], val[MAX_CURVE];
    int n;
    double acc;
    int acc_n;
} curve;

static int on_progress(const mn_pim_progress *p, void *user)
{
    curve *c = user;
    c->acc += p->loss;
    c->acc_n++;
    if ((p->step % CURVE_EVERY == 0 || p->step == p->steps) && c->n < MAX_CURVE) {
        c->step[c->n] = (float)p->step;
        c->loss[c->n] = (float)(c->acc / c->acc_n);
        c->val[c->n] = (float)p->val_ape_db;
        c->n++;
        c->acc = 0;
        c->acc_n = 0;
    }
    return mn_cli_progress(p, &c->bar);
}

/* Rows [0, nch) of samples [s.begin, s.end) of a [nch, n] signal into out [nch, len]. */
static void cut(float complex *out, const float complex *x, int nch, int64_t n, mn_span s)
{
    int64_t len = s.end - s.begin;
    for (int c = 0; c < nch; c++) memcpy(out + c * len, x + c * n + s.begin, (size_t)len * sizeof *out);
}

static void sim_progress(double f, void *user)
{
    if (*(bool *)user) return;
    fprintf(stderr, "\rsimulating: %3.0f%%", 100 * f);
    if (f >= 1) fputc('\n', stderr);
}

int mn_cli_demo(int argc, char **argv)
{
    const char *cmd = "demo";
    bool quick = false, quiet = false, help = false;
    const char *out = "out";
    uint64_t seed = 1;
    int threads = 0;
    mn_opt opts[] = {
        {"--quick", MN_OPT_FLAG, &quick, 0, -1, "a short run for smoke tests (under 30 s)", false},
        {"--out", MN_OPT_STR, &out, 0, -1, "output folder (default out)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "random seed of the scenario and the training (default 1)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all cores)", false},
        {"--quiet", MN_OPT_FLAG, &quiet, 0, -1, "no progress output", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "[--quick] [--out DIR] [--seed S] [--threads N]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (threads > 0) mn_threads_set(threads);
    char data_dir[4200];
    snprintf(data_dir, sizeof data_dir, "%s/data", out);
    if (!mn_cli_mkdirs(cmd, out) || !mn_cli_mkdirs(cmd, data_dir)) return MN_EXIT_USAGE;

    /* 1. the default static scenario */
    const int64_t n = quick ? 40000 : 200000;
    enum { QUICK_STEPS = 100 };
    mn_pim_sim_cfg sc = mn_pim_sim_default();
    sc.seed = seed;
    sc.progress = sim_progress;
    sc.progress_user = &quiet;
    const int ntx = sc.n_tx, nrx = sc.n_rx;
    mn_signal tx = {0}, rx = {0}, pim = {0};
    mn_pim_sim *sim = mn_pim_sim_create(&sc);
    mn_pim_sim_info info;
    mn_status st = sim ? MN_OK : MN_ERR_INVALID;
    if (st == MN_OK) st = mn_signal_alloc(&tx, ntx, n);
    if (st == MN_OK) st = mn_signal_alloc(&rx, nrx, n);
    if (st == MN_OK) st = mn_signal_alloc(&pim, nrx, n);
    if (st == MN_OK) st = mn_pim_sim_record(sim, tx.x, pim.x, rx.x, n, &info);
    if (st == MN_OK) {
        tx.sample_rate = rx.sample_rate = pim.sample_rate = sc.fs;
        char path[4300];
        snprintf(path, sizeof path, "%s/tx.npy", data_dir);
        st = mn_npy_write_c64(path, &tx, false);
        snprintf(path, sizeof path, "%s/rx.npy", data_dir);
        if (st == MN_OK) st = mn_npy_write_c64(path, &rx, false);
        snprintf(path, sizeof path, "%s/pim.npy", data_dir);
        if (st == MN_OK) st = mn_npy_write_c64(path, &pim, false);
        char *meta = st == MN_OK ? mn_pim_sim_meta_json(sim, &info) : NULL;
        snprintf(path, sizeof path, "%s/meta.json", data_dir);
        if (st == MN_OK) st = meta ? mn_file_write_atomic(path, meta, strlen(meta)) : MN_ERR_NOMEM;
        mn_free(meta);
    }
    mn_pim_sim_destroy(sim);
    mn_signal_free(&pim);
    int code = MN_EXIT_OK;
    if (st != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "simulation: %s", mn_error_msg());
        goto free_data;
    }
    if (!quiet)
        fprintf(stderr, "demo: static %dx%d scenario, %lld samples at %.2f Msps, PNR %.2f dB; %d threads\n", ntx, nrx,
                (long long)n, sc.fs * 1e-6, info.pnr_measured_db, mn_threads_get());

    /* 2. train */
    mn_span sp[3];
    const int window = 2048;
    st = mn_pim_split(sp, n, (const double[3]){0.7, 0.1, 0.2}, window);
    const int64_t tl = sp[2].end - sp[2].begin;
    enum { N_NETS = 2 };
    static const char *const kinds[N_NETS] = {"light", "junction"};
    mn_pim_net nets[N_NETS];
    memset(nets, 0, sizeof nets);
    static curve curves[N_NETS];
    mn_pim_train_result res[N_NETS];
    mn_pim_gmp gmp = {0};
    double gmp_s = 0;
    float complex *ttx = NULL, *trx = NULL, *pred[N_NETS + 1] = {NULL};
    for (int k = 0; k < N_NETS && st == MN_OK; k++) {
        const bool junction = !strcmp(kinds[k], "junction");
        mn_rng rng;
        mn_rng_seed(&rng, junction ? seed : seed + (uint64_t)k);
        const int batch = quick ? 8 : mn_pim_model_default_batch(kinds[k]);
        st = mn_pim_net_create(&nets[k], kinds[k], ntx, nrx, batch, window, &rng);
        if (st != MN_OK) break;
        /* junction trains as `pim train --model junction --seed S` does: its default 6,000
         * steps of the default schedule at its default batch of 8 (docs/pim.md "Time to
         * 35 dB").  light: 1,500 steps of a faster cycle with a higher floor. */
        mn_pim_train_cfg tc = mn_pim_train_default();
        tc.steps = quick ? QUICK_STEPS : junction ? mn_pim_model_default_steps(kinds[k]) : 1500;
        if (!junction) {
            tc.clr_half = tc.steps / 6;
            tc.lr_min = 3e-3f;
        }
        tc.batch = batch;
        tc.window = window;
        tc.eval_every = quick ? 50 : 100;
        tc.patience = 0;
        tc.seed = seed;
        memset(&curves[k], 0, sizeof curves[k]);
        mn_cli_progress_init(&curves[k].bar, quiet);
        tc.progress = on_progress;
        tc.progress_user = &curves[k];
        mn_cli_catch_sigint();
        if (!quiet) fprintf(stderr, "training %s (%zu parameters)\n", kinds[k], mn_params_count_trainable(&nets[k].model.params));
        st = mn_pim_train(&nets[k], tx.x, rx.x, n, sp[0], sp[1], &tc, &res[k]);
    }
    if (st == MN_OK) {
        /* GMP at a MAC budget comparable to the light model's: memory 2, orders 3 and 5,
         * one neighbouring-antenna cross term. */
        mn_pim_gmp_cfg gc = {.n_tx = ntx, .n_rx = nrx, .M = 2, .K = 2, .P = 1, .linear = false, .ridge = 1e-7};
        if (!quiet) fprintf(stderr, "fitting gmp (%d columns)\n", mn_pim_gmp_columns(&gc));
        double t0 = mn_time_sec();
        st = mn_pim_gmp_fit(&gmp, &gc, tx.x, rx.x, n, (mn_span){sp[0].begin, sp[1].end});
        gmp_s = mn_time_sec() - t0;
    }
    if (st != MN_OK) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto free_models;
    }

    /* 3. evaluate on the held-out segment */
    ttx = mn_malloc((size_t)ntx * tl * sizeof *ttx);
    trx = mn_malloc((size_t)nrx * tl * sizeof *trx);
    for (int k = 0; k <= N_NETS; k++) pred[k] = mn_malloc((size_t)nrx * tl * sizeof *pred[k]);
    if (!ttx || !trx || !pred[0] || !pred[1] || !pred[2]) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "out of memory for the test segment");
        goto free_models;
    }
    cut(ttx, tx.x, ntx, n, sp[2]);
    cut(trx, rx.x, nrx, n, sp[2]);
    for (int k = 0; k < N_NETS && st == MN_OK; k++) st = mn_pim_net_predict(&nets[k], pred[k], ttx, tl);
    if (st == MN_OK) st = mn_pim_gmp_predict(&gmp, pred[N_NETS], ttx, tl);
    int border = 0;
    for (int k = 0; k < N_NETS; k++) border = nets[k].border > border ? nets[k].border : border;
    border = gmp.cfg.M > border ? gmp.cfg.M : border;
    mn_pim_report_model rm[N_NETS + 1];
    for (int k = 0; k < N_NETS; k++)
        rm[k] = (mn_pim_report_model){.name = kinds[k], .pred = pred[k],
                                      .params = (long)mn_params_count_trainable(&nets[k].model.params),
                                      .macs = mn_model_macs_per_sample(&nets[k].model), .train_seconds = res[k].seconds,
                                      .curve_step = curves[k].step, .curve_loss = curves[k].loss,
                                      .curve_val = curves[k].val, .curve_n = curves[k].n};
    rm[N_NETS] = (mn_pim_report_model){.name = "gmp", .pred = pred[N_NETS], .params = 2L * gmp.ncols * nrx,
                                       .macs = mn_pim_gmp_macs_per_sample(&gmp.cfg), .train_seconds = gmp_s};
    /* The figures show the best model. */
    int best = 0;
    double best_ape = -(double)INFINITY, ape[N_NETS + 1];
    for (int k = 0; k <= N_NETS && st == MN_OK; k++) {
        mn_pim_metrics mt;
        st = mn_pim_metrics_compute(&mt, NULL, trx, pred[k], nrx, tl, tl, border);
        ape[k] = mt.ape_db;
        if (mt.ape_db > best_ape) {
            best_ape = mt.ape_db;
            best = k;
        }
    }
    if (st != MN_OK) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto free_models;
    }
    mn_pim_report_model ordered[N_NETS + 1];
    ordered[0] = rm[best];
    for (int k = 0, j = 1; k <= N_NETS; k++)
        if (k != best) ordered[j++] = rm[k];

    /* 4. table, report, checkpoints */
    double py = 0;
    for (int64_t i = 0; i < (int64_t)nrx * tl; i++) py += (double)(crealf(trx[i] * conjf(trx[i])));
    py /= (double)nrx * (double)tl;
    char title[256];
    snprintf(title, sizeof title, "Static %d x %d scenario (seed %llu, %lld samples, PNR %.1f dB)%s", ntx, nrx,
             (unsigned long long)seed, (long long)n, info.pnr_measured_db, quick ? ", quick run" : "");
    mn_pim_report rep = {.title = title, .y = trx, .n_rx = nrx, .n = tl, .border = border, .fs = sc.fs,
                         .noise_power = info.noise_power, .models = ordered, .n_models = N_NETS + 1};
    st = mn_pim_report_write(out, &rep);
    char path[4300];
    for (int k = 0; k < N_NETS && st == MN_OK; k++) {
        snprintf(path, sizeof path, "%s/%s.safetensors", out, kinds[k]);
        st = mn_pim_net_save(&nets[k], path, NULL, NULL, 0);
    }
    snprintf(path, sizeof path, "%s/gmp.safetensors", out);
    if (st == MN_OK) st = mn_pim_gmp_save(&gmp, path);
    if (st != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "%s", mn_error_msg());
        goto free_models;
    }
    printf("\nmimonet demo: PIM cancellation, static %dx%d scenario, held-out test of %lld samples/channel\n", ntx,
           nrx, (long long)tl);
    printf("  %-8s %10s %10s %12s %12s %9s\n", "model", "params", "MAC/samp", "APE pooled", "APE mean", "time");
    for (int k = 0; k <= N_NETS; k++) {
        mn_pim_metrics mt;
        mn_pim_metrics_compute(&mt, NULL, trx, pred[k], nrx, tl, tl, border);
        printf("  %-8s %10ld %10ld %9.2f dB %9.2f dB %8.1fs\n", rm[k].name, rm[k].params, rm[k].macs, ape[k],
               mt.ape_mean_db, rm[k].train_seconds);
    }
    printf("  noise ceiling %.2f dB (interference over noise power)\n", mn_pim_noise_ceiling_db(py, info.noise_power));
    if (quick)
        printf("  quick run: %lld samples and %d training steps a network, a check that everything runs: too\n"
               "  few to cancel (APE near 0 dB). Without --quick, junction reaches about 38 dB in a few minutes.\n",
               (long long)n, (int)QUICK_STEPS);
    printf("  wrote %s/report.html, %s/{light,junction,gmp}.safetensors and the data in %s/\n", out, out, data_dir);
    if (mn_cli_interrupted()) code = MN_EXIT_RUNTIME;
free_models:
    for (int k = 0; k < N_NETS; k++) mn_pim_net_free(&nets[k]);
    mn_pim_gmp_free(&gmp);
    mn_free(ttx);
    mn_free(trx);
    for (int k = 0; k <= N_NETS; k++) mn_free(pred[k]);
free_data:
    mn_signal_free(&tx);
    mn_signal_free(&rx);
    return code;
}
