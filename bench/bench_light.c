/*
 * bench/bench_light.c — throughput of the light PIM model of DESIGN.md (32 Tx -> 16 Rx,
 * 11,835 parameters, 11,424 MAC per output sample), the workload bench/torch_light.py runs in
 * PyTorch.  bench/compare.sh runs the two alternately and prints the ratio.
 *
 *     bench_light [--mode infer|train|stream|io] [--threads N] [--reps R] [--warmup W]
 *                 [--batch B] [--T T] [--naive] [--precision fp32|bf16] [--model KIND] [--sources J] [--json]
 *
 * infer: mn_model_forward in eval mode (BN with running statistics) of x [B, 64, T].  That runs
 *        the fused executor (nn/fused.c); --naive forces the layer-by-layer path instead
 *        (mn_model_set_fused(m, false)), for comparison in the same session.  --precision bf16
 *        runs the fused pointwise layers in bfloat16 (mn_model_set_precision; needs a CPU with
 *        AVX512_BF16, else the benchmark stops with exit status 1).
 * stream: the streaming canceller (mn_pim_canceller_process, what `pim cancel` runs) over a
 *        complex signal of B * T samples per Tx antenna, held as consecutive blocks of 16384
 *        samples (each [channels, 16384], as a receiver's buffers would be) and fed block by
 *        block: the
 *        model's windows (4 x 1024 samples a forward, as mn_pim_canceller_open makes them),
 *        the I/Q gather and scaling, the history kept between blocks and the subtraction all
 *        count.  The stream goes on across repetitions (the same samples again), as a
 *        receiver's would.  --model KIND streams another `pim train` model kind (junction,
 *        poly, ...) with random weights: the cost does not depend on the weights.
 *        --sources J sizes junction as `pim train --sources J` does (default 8).
 * io:    the stream's complex I/O alone, over the same signal and blocks, as junction's executor
 *        (src/pim/jx.c) does it in its tiles of 2,048 samples, shared by the threads: the 32 tx
 *        rows converted to planar I/Q 512 samples at a time, and the 16 output rows written as
 *        rx minus a prediction (zeros here).  No model: a rate no stream passes, and where the
 *        I/O does not overlap the arithmetic, its time adds to the model's.  Reports
 *        Msamples/s and GB/s (512 bytes a sample: tx read, rx read, output written).
 * train: one step = zero_grad, forward in training mode, MSE over the border-masked region
 *        (8 samples each side: the receptive field), backward, global-norm clipping to 1,
 *        AdamW (lr 1e-3, weight_decay 0.01).  The passes run sample-parallel, as `pim train`
 *        runs them (mn_model_set_sample_split); --naive runs every node on the whole batch.
 * Everything is allocated and touched once before timing (fresh pages cost ~10 us each on the
 * development machine).  Each repetition is timed alone after W warm-up repetitions; the
 * result is the median.  Throughput = B * T output samples / median seconds.
 * The defaults (B 16, T 4096) are DESIGN.md's.  Exit status: 0 ok, 1 runtime failure,
 * 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <complex.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "mimonet/core.h"
#include "mimonet/nn.h"
#include "mimonet/optim.h"
#include "mimonet/pim.h"

#include "bench_util.h"

typedef struct {
    int train, stream, io;
    int threads, reps, warmup, batch, T;
    int naive;
    mn_precision precision;
    const char *model; /* --mode stream: the model kind */
    int sources;       /* --mode stream, junction: J (0: the kind's default) */
    int json;
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_light [--mode infer|train|stream|io] [--threads N] [--reps R] [--warmup W]\n"
               "                   [--batch B] [--T T] [--naive] [--precision fp32|bf16] [--model KIND] [--sources J]\n"
               "                   [--json]\n");
}

static int parse(opts *o, int argc, char **argv)
{
    *o = (opts){.train = 0, .threads = 1, .reps = 20, .warmup = 3, .batch = 16, .T = 4096, .naive = 0, .model = "light", .sources = 0, .json = 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--naive")) { o->naive = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!v) { fprintf(stderr, "bench_light: %s needs a value\n", a); return -1; }
        if (!strcmp(a, "--mode")) {
            o->train = o->stream = o->io = 0;
            if (!strcmp(v, "train")) o->train = 1;
            else if (!strcmp(v, "stream")) o->stream = 1;
            else if (!strcmp(v, "io")) o->stream = o->io = 1;
            else if (strcmp(v, "infer")) bad = 1;
        } else if (!strcmp(a, "--threads")) bad = bench_parse_int(v, 1, &o->threads);
        else if (!strcmp(a, "--reps")) bad = bench_parse_int(v, 1, &o->reps);
        else if (!strcmp(a, "--warmup")) bad = bench_parse_int(v, 0, &o->warmup);
        else if (!strcmp(a, "--batch")) bad = bench_parse_int(v, 1, &o->batch);
        else if (!strcmp(a, "--T")) bad = bench_parse_int(v, 1, &o->T);
        else if (!strcmp(a, "--precision")) bad = mn_precision_parse(v, &o->precision) != MN_OK;
        else if (!strcmp(a, "--model")) o->model = v;
        else if (!strcmp(a, "--sources")) bad = bench_parse_int(v, 1, &o->sources) || o->sources > 64;
        else { fprintf(stderr, "bench_light: unknown option %s\n", a); return -1; }
        if (bad) { fprintf(stderr, "bench_light: bad value '%s' for %s\n", v, a); return -1; }
        i++;
    }
    return 0;
}

/* --mode stream: mn_pim_canceller_process over B * T samples in 16384-sample blocks. */
static int run_stream(const opts *o, int n_tx, int n_rx)
{
    const int64_t n = (int64_t)o->batch * o->T, blk = 16384;
    mn_rng rng;
    mn_rng_seed(&rng, 1);
    mn_pim_net net = {0};
    mn_pim_canceller *q = NULL;
    const mn_pim_model_opts mo = {.sources = o->sources};
    if (!o->io && mn_pim_net_create_opts(&net, o->model, &mo, n_tx, n_rx, 4, 1024, &rng) != MN_OK) {
        fprintf(stderr, "bench_light: building the model: %s\n", mn_error_msg());
        return 1;
    }
    int rc = 0;
    if (!o->io && (mn_pim_canceller_from_net(&q, &net) != MN_OK || mn_pim_canceller_set_precision(q, o->precision) != MN_OK)) {
        fprintf(stderr, "bench_light: %s\n", mn_error_msg());
        mn_pim_canceller_free(q);
        mn_pim_net_free(&net);
        return 1;
    }
    /* The signal as the canceller's callers hold it: a sequence of blocks, block k being
     * tx [n_tx, c] and rx [n_rx, c] (c = blk, or less for the last), at k * blk * channels. */
    float complex *tx = mn_calloc((size_t)(n_tx * n), sizeof *tx), *rx = mn_calloc((size_t)(n_rx * n), sizeof *rx);
    float complex *out = mn_calloc((size_t)(n_rx * n), sizeof *out);
    double *sec = mn_calloc((size_t)o->reps, sizeof(double));
    /* --mode io: each thread's planar rows, a chunk of the input and a tile of the output */
    enum { IO_TILE = 2048, IO_CHUNK = 512 };
    const int nthr = mn_threads_get();
    const size_t per = (size_t)2 * n_tx * IO_CHUNK + (size_t)2 * n_rx * IO_TILE;
    float *scr = o->io ? mn_calloc((size_t)nthr * per, sizeof(float)) : NULL;
    if (!tx || !rx || !out || !sec || (o->io && !scr)) {
        fprintf(stderr, "bench_light: out of memory\n");
        rc = 1;
        goto done;
    }
    for (int64_t i = 0; i < n_tx * n; i++) tx[i] = CMPLXF((float)mn_rng_normal(&rng), (float)mn_rng_normal(&rng));
    for (int64_t i = 0; i < n_rx * n; i++) rx[i] = CMPLXF((float)mn_rng_normal(&rng), (float)mn_rng_normal(&rng));
    double sink = 0;
    for (int r = -o->warmup; r < o->reps && rc == 0; r++) {
        const double t0 = mn_time_sec(); /* the stream goes on: each repetition is the next B * T samples */
        for (int64_t p = 0; p < n && rc == 0; p += blk) {
            const int64_t c = n - p < blk ? n - p : blk;
            if (o->io) { /* block p: [n_tx, c] and [n_rx, c] */
                const int ntile = (int)((c + IO_TILE - 1) / IO_TILE);
#ifdef _OPENMP
#pragma omp parallel for num_threads(nthr) schedule(static)
#endif
                for (int k = 0; k < ntile; k++) {
                    int me = 0;
#ifdef _OPENMP
                    me = omp_get_thread_num();
#endif
                    float *xin = scr + (size_t)me * per, *yo = xin + (size_t)2 * n_tx * IO_CHUNK;
                    const int64_t s0 = (int64_t)k * IO_TILE, m = c - s0 < IO_TILE ? c - s0 : IO_TILE;
                    for (int64_t u = 0; u < m; u += IO_CHUNK) {
                        const int64_t w = m - u < IO_CHUNK ? m - u : IO_CHUNK;
                        for (int a = 0; a < n_tx; a++)
                            mn_complex_row_split(xin + (size_t)2 * a * IO_CHUNK, xin + (size_t)(2 * a + 1) * IO_CHUNK,
                                                 tx + n_tx * p + a * c + s0 + u, w, 0.5f);
                    }
                    for (int j = 0; j < n_rx; j++)
                        mn_complex_row_join_sub(out + n_rx * p + j * c + s0, rx + n_rx * p + j * c + s0,
                                                yo + (size_t)2 * j * IO_TILE, yo + (size_t)(2 * j + 1) * IO_TILE, m, 2.0f);
                }
                continue;
            }
            if (mn_pim_canceller_process(q, tx + n_tx * p, rx + n_rx * p, out + n_rx * p, c) != MN_OK) {
                fprintf(stderr, "bench_light: %s\n", mn_error_msg());
                rc = 1;
            }
        }
        if (r >= 0) sec[r] = mn_time_sec() - t0;
        sink += (double)crealf(out[n_rx * n - 1]);
    }
    if (rc == 0 && o->io) {
        const double med = bench_median(sec, o->reps), sps = (double)n / med, gbs = sps * 8.0 * (n_tx + 2 * n_rx) / 1e9;
        if (o->json)
            printf("{\"engine\":\"mimonet\",\"version\":\"%s\",\"mode\":\"io\",\"threads\":%d,\"samples\":%lld,"
                   "\"block\":%lld,\"reps\":%d,\"seconds_median\":%.9g,\"samples_per_s\":%.9g,\"gb_per_s\":%.9g}\n",
                   MN_VERSION_STRING, nthr, (long long)n, (long long)blk, o->reps, med, sps, gbs);
        else
            printf("mimonet %s stream I/O alone (%d x %d complex) threads=%d: %.3f Msamples/s, %.2f GB/s (median of %d, "
                   "%lld samples in %lld-sample blocks)\n",
                   MN_VERSION_STRING, n_tx, n_rx, nthr, sps / 1e6, gbs, o->reps, (long long)n, (long long)blk);
        if (sink != sink) fprintf(stderr, "bench_light: the output became NaN\n");
    } else if (rc == 0) {
        const double med = bench_median(sec, o->reps), sps = (double)n / med;
        const char *prec = mn_precision_name(mn_pim_canceller_precision(q));
        if (o->json)
            printf("{\"engine\":\"mimonet\",\"version\":\"%s\",\"model\":\"%s\",\"sources\":%d,\"mode\":\"stream\","
                   "\"threads\":%d,\"threads_effective\":%d,\"samples\":%lld,\"block\":%lld,\"reps\":%d,"
                   "\"precision\":\"%s\",\"macs_per_sample\":%lld,\"seconds_median\":%.9g,\"seconds_min\":%.9g,"
                   "\"samples_per_s\":%.9g}\n",
                   MN_VERSION_STRING, o->model, o->sources, o->threads, mn_threads_get(), (long long)n, (long long)blk, o->reps, prec,
                   (long long)mn_model_macs_per_sample(&net.model), med, sec[0], sps);
        else
            printf("mimonet %s %s stream (%s) threads=%d: %.3f Msamples/s (median of %d, %lld samples in "
                   "%lld-sample blocks)\n",
                   MN_VERSION_STRING, o->model, prec, mn_threads_get(), sps / 1e6, o->reps, (long long)n, (long long)blk);
        if (sink != sink) fprintf(stderr, "bench_light: the output became NaN\n");
    }
done:
    mn_free(tx);
    mn_free(rx);
    mn_free(out);
    mn_free(sec);
    mn_free(scr);
    mn_pim_canceller_free(q);
    if (!o->io) mn_pim_net_free(&net);
    return rc;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv)) {
        usage(stderr);
        return 2;
    }
    mn_threads_set(o.threads);
    const int n_tx = 32, n_rx = 16;
    if ((!o.stream || o.io) && (strcmp(o.model, "light") || o.sources)) {
        fprintf(stderr, "bench_light: --model and --sources apply to --mode stream only\n");
        return 2;
    }
    if (o.io && o.precision != MN_PRECISION_FP32) {
        fprintf(stderr, "bench_light: --precision does not apply to --mode io\n");
        return 2;
    }
    if (o.stream) {
        if (o.naive) {
            fprintf(stderr, "bench_light: --naive applies to --mode infer and train only\n");
            return 2;
        }
        return run_stream(&o, n_tx, n_rx);
    }

    mn_model m;
    mn_model_init(&m);
    mn_rng rng;
    mn_rng_seed(&rng, 1);
    if (mn_pim_model_light(&m, n_tx, n_rx) < 0 || mn_model_build(&m, o.batch, o.T, &rng) != MN_OK) {
        fprintf(stderr, "bench_light: building the model: %s\n", mn_error_msg());
        mn_model_free(&m);
        return 1;
    }
    mn_model_set_fused(&m, !o.naive);
    mn_model_set_input_grad(&m, false); /* as PyTorch, whose input does not require grad */
    if (o.train && !o.naive && mn_model_set_sample_split(&m, true) != MN_OK) {
        fprintf(stderr, "bench_light: %s\n", mn_error_msg());
        mn_model_free(&m);
        return 1;
    }
    if (o.precision != MN_PRECISION_FP32 && (o.naive || o.train)) {
        fprintf(stderr, "bench_light: --precision %s applies to fused inference only (not --naive or --mode train)\n",
                mn_precision_name(o.precision));
        mn_model_free(&m);
        return 2;
    }
    if (mn_model_set_precision(&m, o.precision) != MN_OK) {
        fprintf(stderr, "bench_light: %s\n", mn_error_msg());
        mn_model_free(&m);
        return 1;
    }
    int left = 0, right = 0;
    mn_model_receptive_field(&m, &left, &right);
    const int border = left > right ? left : right;
    if (2 * border >= o.T) {
        fprintf(stderr, "bench_light: --T %d is shorter than two borders of %d\n", o.T, border);
        mn_model_free(&m);
        return 2;
    }
    const int cin = mn_model_in_channels(&m), cout = mn_model_out_channels(&m);
    const size_t n_in = (size_t)o.batch * cin * o.T, n_out = (size_t)o.batch * cout * o.T;
    /* mn_calloc zero-fills (touches) every page up front. */
    float *x = mn_calloc(n_in, sizeof(float));
    float *y = mn_calloc(n_out, sizeof(float));
    float *dpred = mn_calloc(n_out, sizeof(float));
    double *sec = mn_calloc((size_t)o.reps, sizeof(double));
    if (!x || !y || !dpred || !sec) {
        fprintf(stderr, "bench_light: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n_in; i++) x[i] = (float)mn_rng_normal(&rng);
    for (size_t i = 0; i < n_out; i++) y[i] = (float)mn_rng_normal(&rng);
    /* Training reads its batch from the model's input buffer, where a training loop assembles
     * it (as `pim train` does; mn_model_forward then copies nothing), as PyTorch's loop reads
     * its input tensor in place. */
    const float *xin = x;
    if (o.train) {
        memcpy(m.nodes[0].y, x, n_in * sizeof *x);
        xin = m.nodes[0].y;
    }

    const mn_adam_cfg adam = mn_adam_default(); /* AdamW, wd 0.01 */
    const float lr = 1e-3f;
    long step = 0;
    double sink = 0; /* keeps the loss live */
    int rc = 0;
    for (int r = -o.warmup; r < o.reps; r++) {
        double t0 = mn_time_sec();
        mn_status st;
        if (!o.train) {
            st = mn_model_forward(&m, x, o.batch, o.T, false);
        } else {
            mn_params_zero_grad(&m.params);
            st = mn_model_forward(&m, xin, o.batch, o.T, true);
            if (st == MN_OK) {
                sink += mn_loss_mse(dpred, mn_model_output(&m, NULL, NULL), y, o.batch, cout, o.T, border);
                st = mn_model_backward(&m, dpred);
            }
            if (st == MN_OK) {
                mn_clip_grad_norm(&m.params, 1.0);
                mn_adam_step(&m.params, &adam, lr, ++step);
            }
        }
        double dt = mn_time_sec() - t0;
        if (st != MN_OK) {
            fprintf(stderr, "bench_light: %s\n", mn_error_msg());
            rc = 1;
            break;
        }
        if (r >= 0) sec[r] = dt;
    }
    if (rc == 0) {
        double med = bench_median(sec, o.reps);
        double sps = (double)o.batch * o.T / med;
        const char *mode = o.train ? "train" : "infer";
        /* which forward ran: the fused executor or layer by layer (training always is) */
        const char *path = m.fused_ran ? "fused" : "layers";
        if (o.json) {
            printf("{\"engine\":\"mimonet\",\"version\":\"%s\",\"model\":\"light\",\"mode\":\"%s\","
                   "\"threads\":%d,\"threads_effective\":%d,\"batch\":%d,\"T\":%d,\"reps\":%d,"
                   "\"path\":\"%s\",\"precision\":\"%s\",\"params\":%zu,\"macs_per_sample\":%ld,\"seconds_median\":%.9g,"
                   "\"seconds_min\":%.9g,\"samples_per_s\":%.9g}\n",
                   MN_VERSION_STRING, mode, o.threads, mn_threads_get(), o.batch, o.T, o.reps, path,
                   mn_precision_name(mn_model_precision(&m)),
                   mn_params_count_trainable(&m.params), mn_model_macs_per_sample(&m), med, sec[0], sps);
        } else {
            printf("mimonet %s light %s (%s, %s) threads=%d: %.3f Msamples/s (median of %d, %.2f ms/rep)\n",
                   MN_VERSION_STRING, mode, path, mn_precision_name(mn_model_precision(&m)), mn_threads_get(),
                   sps / 1e6, o.reps, med * 1e3);
        }
        if (sink != sink) fprintf(stderr, "bench_light: the loss became NaN\n");
    }
    mn_free(x);
    mn_free(y);
    mn_free(dpred);
    mn_free(sec);
    mn_model_free(&m);
    return rc;
}
