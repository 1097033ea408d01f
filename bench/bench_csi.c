/*
 * bench/bench_csi.c — training-step throughput of the end-to-end CSI system (issue 5; the
 * workload bench/torch_csi.py runs in PyTorch; bench/compare.sh runs the two alternately and
 * prints the ratio), and a dump of one training step for the parity check of that peer.
 *
 *     bench_csi [--threads N] [--reps R] [--warmup W] [--steps S] [--batch B] [--drops N]
 *               [--K 2] [--M 32] [--F 48] [--pilots 8] [--bits 8] [--q 1] [--subbands 1]
 *               [--width 16] [--blocks 2] [--hidden 256] [--seed 1] [--json]
 *     bench_csi --dump DIR [the same options; the defaults become a small system]
 *
 * Timing: one step is what mn_e2e_train does in stage 3 (joint fine-tuning of the fusion
 * scheme, all five networks): draw B drops, zero the gradients, forward in training mode with
 * fresh SRS and UE noise, -mean sum SE on the data-time channel, backward through every
 * network, global-norm clipping to 1, AdamW.  Each repetition is one mn_e2e_train call of
 * S stage-3 steps (the library's own loop; its per-call batch buffer is a few MB, which S
 * steps amortize), timed alone after W warm-up repetitions; the result is the median seconds
 * per step.  The drops are i.i.d. CN(0, 1) channels: the arithmetic does not depend on them.
 * The defaults are the CDL setting of docs/csi_e2e.md: K 2, M 32 (8x4 UPA), F 48, L 8, B 8,
 * d 16, 2 blocks, hidden 256, batch 32.
 *
 * --dump DIR writes one training-mode forward + backward of the fusion scheme (stage 3) of a
 * small system (K 2, M 8, F 12, L 4, B 4, d 8, 1 block, hidden 32, batch 4 unless given):
 *   model.safetensors  the system (mn_e2e_save), grad.safetensors  every parameter's gradient
 *   of -mean SE under the same names; h_ul.npy, h_csi.npy, h_dat.npy  complex64 [B, K, 1, M, F];
 *   float32: S.npy [B, 2K, M F] (SRS with noise), y.npy [B K, 2 L Nc] (UE observation with
 *   noise), praw.npy [B, proj_len], feat.npy [B K, nfeat], Wfb.npy, Wsrs.npy, W.npy
 *   [B, 2K, M F], fus_in.npy [B, fus_ch, M F], se.npy [B].
 * bench/torch_csi.py --check DIR rebuilds the same networks from model.safetensors and checks
 * every stage and every gradient against these files.
 * Exit status: 0 ok, 1 runtime failure, 2 bad usage.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"

#include "bench_util.h"

typedef struct {
    int threads, reps, warmup, steps, batch, drops, json;
    int K, M, F, pilots, bits, q, subbands, width, blocks, hidden;
    unsigned long long seed;
    const char *dump;
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_csi [--threads N] [--reps R] [--warmup W] [--steps S] [--batch B] [--drops N]\n"
               "                 [--K 2] [--M 32] [--F 48] [--pilots 8] [--bits 8] [--q 1] [--subbands 1]\n"
               "                 [--width 16] [--blocks 2] [--hidden 256] [--seed 1] [--json] [--dump DIR]\n");
}

/* -1: not given (the mode's default applies) */
static int parse(opts *o, int argc, char **argv)
{
    *o = (opts){.threads = 1, .reps = 5, .warmup = 2, .steps = 5, .batch = -1, .drops = 256, .K = 2, .M = -1,
                .F = -1, .pilots = -1, .bits = -1, .q = 1, .subbands = 1, .width = -1, .blocks = -1,
                .hidden = -1, .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--json")) { o->json = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!v) { fprintf(stderr, "bench_csi: %s needs a value\n", a); return -1; }
        int seed = 0;
        if (!strcmp(a, "--threads")) bad = bench_parse_int(v, 1, &o->threads);
        else if (!strcmp(a, "--reps")) bad = bench_parse_int(v, 1, &o->reps);
        else if (!strcmp(a, "--warmup")) bad = bench_parse_int(v, 0, &o->warmup);
        else if (!strcmp(a, "--steps")) bad = bench_parse_int(v, 1, &o->steps);
        else if (!strcmp(a, "--batch")) bad = bench_parse_int(v, 1, &o->batch);
        else if (!strcmp(a, "--drops")) bad = bench_parse_int(v, 1, &o->drops);
        else if (!strcmp(a, "--K")) bad = bench_parse_int(v, 1, &o->K);
        else if (!strcmp(a, "--M")) bad = bench_parse_int(v, 1, &o->M);
        else if (!strcmp(a, "--F")) bad = bench_parse_int(v, 1, &o->F);
        else if (!strcmp(a, "--pilots")) bad = bench_parse_int(v, 1, &o->pilots);
        else if (!strcmp(a, "--bits")) bad = bench_parse_int(v, 1, &o->bits);
        else if (!strcmp(a, "--q")) bad = bench_parse_int(v, 0, &o->q);
        else if (!strcmp(a, "--subbands")) bad = bench_parse_int(v, 1, &o->subbands);
        else if (!strcmp(a, "--width")) bad = bench_parse_int(v, 2, &o->width);
        else if (!strcmp(a, "--blocks")) bad = bench_parse_int(v, 1, &o->blocks);
        else if (!strcmp(a, "--hidden")) bad = bench_parse_int(v, 1, &o->hidden);
        else if (!strcmp(a, "--seed")) {
            bad = bench_parse_int(v, 0, &seed);
            o->seed = (unsigned long long)seed;
        } else if (!strcmp(a, "--dump")) o->dump = v;
        else { fprintf(stderr, "bench_csi: unknown option %s\n", a); return -1; }
        if (bad) { fprintf(stderr, "bench_csi: bad value '%s' for %s\n", v, a); return -1; }
        i++;
    }
    /* the mode's defaults: the CDL setting for timing, a small system for the dump */
    const bool small = o->dump != NULL;
#define DEF(f, big, little) if (o->f < 0) o->f = small ? (little) : (big)
    DEF(batch, 32, 4);
    DEF(M, 32, 8);
    DEF(F, 48, 12);
    DEF(pilots, 8, 4);
    DEF(bits, 8, 4);
    DEF(width, 16, 8);
    DEF(blocks, 2, 1);
    DEF(hidden, 256, 32);
#undef DEF
    if (small) o->drops = o->batch;
    return 0;
}

static int fail(const char *what)
{
    fprintf(stderr, "bench_csi: %s: %s\n", what, mn_error_msg());
    return 1;
}

/* i.i.d. CN(0, 1) channels in every drop (UL, CSI-time DL, data-time DL) */
static void random_drops(mn_e2e_data *d, mn_rng *rng)
{
    const size_t n = (size_t)d->n * d->K * d->M * d->F;
    float complex *all[3] = {d->ul, d->csi, d->dat};
    const double s = sqrt(0.5);
    for (int j = 0; j < 3; j++)
        for (size_t i = 0; i < n; i++)
            all[j][i] = CMPLXF((float)(s * mn_rng_normal(rng)), (float)(s * mn_rng_normal(rng)));
}

/* ---------------------------------------------------------------- --dump */

static mn_status dump_f32(const char *dir, const char *name, const float *x, int ndim, const int64_t *shape)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return mn_npy_write_f32(path, x, ndim, shape);
}

/* Exchange every network's weight and gradient buffers. */
static void swap_weights_grads(mn_e2e *e)
{
    for (int i = 0; i < MN_E2E_NETS; i++) {
        mn_params *p = &mn_e2e_net(e, i, NULL)->params;
        float *t = p->w;
        p->w = p->g;
        p->g = t;
    }
}

/* Every network's gradient table saved as the system: swap w and g, save, swap back. */
static mn_status save_grads(mn_e2e *e, const char *path)
{
    swap_weights_grads(e);
    mn_status st = mn_e2e_save(e, MN_E2E_FUSION, path, NULL, NULL, 0);
    swap_weights_grads(e);
    return st;
}

static int run_dump(mn_e2e *e, const mn_e2e_data *d, mn_rng *rng, const char *dir)
{
    if (mkdir(dir, 0777) != 0) {
        struct stat sb;
        if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            fprintf(stderr, "bench_csi: cannot create the directory %s\n", dir);
            return 1;
        }
    }
    for (int i = 0; i < MN_E2E_NETS; i++) mn_params_zero_grad(&mn_e2e_net(e, i, NULL)->params);
    double se = mn_e2e_forward(e, MN_E2E_FUSION, d, false, true, rng, NULL, NULL);
    if (!isfinite(se)) return fail("forward");
    if (mn_e2e_backward(e, 31u) != MN_OK) return fail("backward");
    const int B = d->n, K = e->cfg.K, MF = e->cfg.M * e->cfg.F;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mn_status st = mn_e2e_save(e, MN_E2E_FUSION, path, NULL, NULL, 0);
    snprintf(path, sizeof path, "%s/grad.safetensors", dir);
    if (st == MN_OK) st = save_grads(e, path);
    const int64_t h5[5] = {B, K, 1, e->cfg.M, e->cfg.F};
    const char *hn[3] = {"h_ul.npy", "h_csi.npy", "h_dat.npy"};
    const float complex *hv[3] = {d->ul, d->csi, d->dat};
    for (int j = 0; j < 3 && st == MN_OK; j++) {
        snprintf(path, sizeof path, "%s/%s", dir, hn[j]);
        st = mn_csi_npy_write(path, hv[j], h5);
    }
    float *se_f = mn_malloc((size_t)B * sizeof *se_f);
    if (!se_f && st == MN_OK) st = mn_error(MN_ERR_NOMEM, "bench_csi: %d floats", B);
    for (int b = 0; se_f && b < B; b++) se_f[b] = (float)e->se_drop[b];
    const int64_t sW[3] = {B, 2 * K, MF}, sy[2] = {(int64_t)B * K, e->ny}, sp[2] = {B, e->proj_len};
    const int64_t sf[2] = {(int64_t)B * K, e->nfeat}, sfi[3] = {B, e->fus_ch, MF}, ss[1] = {B};
    if (st == MN_OK) st = dump_f32(dir, "S.npy", e->srs_in, 3, sW);
    if (st == MN_OK) st = dump_f32(dir, "y.npy", e->y, 2, sy);
    if (st == MN_OK) st = dump_f32(dir, "praw.npy", mn_model_output(&e->proj, NULL, NULL), 2, sp);
    if (st == MN_OK) st = dump_f32(dir, "feat.npy", mn_model_output(&e->enc, NULL, NULL), 2, sf);
    if (st == MN_OK) st = dump_f32(dir, "Wfb.npy", mn_model_output(&e->fb, NULL, NULL), 3, sW);
    if (st == MN_OK) st = dump_f32(dir, "Wsrs.npy", mn_model_output(&e->srs, NULL, NULL), 3, sW);
    if (st == MN_OK) st = dump_f32(dir, "W.npy", e->w_out, 3, sW);
    if (st == MN_OK) st = dump_f32(dir, "fus_in.npy", e->fus_in, 3, sfi);
    if (st == MN_OK) st = dump_f32(dir, "se.npy", se_f, 1, ss);
    mn_free(se_f);
    if (st != MN_OK) return fail("writing the dump");
    printf("bench_csi: one fusion training step of a K %d, M %d, F %d system (batch %d, mean SE %.6f) written to %s\n",
           K, e->cfg.M, e->cfg.F, B, se, dir);
    return 0;
}

/* ---------------------------------------------------------------- timing */

/* Multiply-accumulates of one forward of one sample through m: every linear and conv node at
 * the window it ran at in the last forward (the windows change at the permutes). */
static double model_macs(const mn_model *m)
{
    double macs = 0.0;
    for (int i = 0; i < m->n_nodes; i++) {
        const mn_node *n = &m->nodes[i];
        if (n->kind == MN_NODE_LINEAR) macs += (double)n->u.lin.nin * n->u.lin.nout * n->T;
        else if (n->kind == MN_NODE_CONV1D)
            macs += (double)n->u.conv.cout * (n->u.conv.cin / n->u.conv.groups) * n->u.conv.k * n->T;
    }
    return macs;
}

static int run_timing(mn_e2e *e, const mn_e2e_data *d, mn_rng *rng, const opts *o)
{
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.steps[0] = tc.steps[1] = 0; /* stage 3 only: every network, joint */
    tc.steps[2] = o->steps;
    tc.batch = o->batch;
    tc.eval_every = 0;
    tc.warmup = 0;
    double *sec = mn_calloc((size_t)o->reps, sizeof *sec);
    if (!sec) return fprintf(stderr, "bench_csi: out of memory\n"), 1;
    for (int r = -o->warmup; r < o->reps; r++) {
        const double t0 = mn_time_sec();
        if (mn_e2e_train(e, MN_E2E_FUSION, d, NULL, &tc, NULL, NULL, rng) != MN_OK) {
            mn_free(sec);
            return fail("training");
        }
        if (r >= 0) sec[r] = (mn_time_sec() - t0) / o->steps;
    }
    size_t np[MN_E2E_NETS], total = 0;
    double macs = 0.0; /* per drop: the encoder runs once per user */
    for (int i = 0; i < MN_E2E_NETS; i++) {
        const mn_model *m = mn_e2e_net(e, i, NULL);
        total += np[i] = mn_params_count_trainable(&m->params);
        macs += model_macs(m) * (m == &e->enc ? e->cfg.K : 1);
    }
    double lo = sec[0];
    for (int r = 0; r < o->reps; r++) lo = sec[r] < lo ? sec[r] : lo;
    const double med = bench_median(sec, o->reps);
    if (o->json)
        printf("{\"engine\":\"mimonet\",\"version\":\"%s\",\"workload\":\"csi_fusion_train\",\"threads\":%d,"
               "\"threads_effective\":%d,\"batch\":%d,\"K\":%d,\"M\":%d,\"F\":%d,\"params\":%zu,"
               "\"params_by_net\":{\"proj\":%zu,\"enc\":%zu,\"fb\":%zu,\"srs\":%zu,\"fus\":%zu},"
               "\"macs_per_drop\":%.0f,\"steps_per_rep\":%d,\"reps\":%d,\"seconds_per_step_median\":%.9g,\"seconds_per_step_min\":%.9g,"
               "\"drops_per_s\":%.9g}\n",
               MN_VERSION_STRING, o->threads, mn_threads_get(), o->batch, o->K, o->M, o->F, total, np[0], np[1],
               np[2], np[3], np[4], macs, o->steps, o->reps, med, lo, o->batch / med);
    else
        printf("mimonet %s csi fusion training step, threads=%d: %.2f ms/step, %.0f drops/s (median of %d x %d steps, "
               "batch %d, %zu params)\n",
               MN_VERSION_STRING, mn_threads_get(), 1e3 * med, o->batch / med, o->reps, o->steps, o->batch, total);
    mn_free(sec);
    return 0;
}

int main(int argc, char **argv)
{
    opts o;
    if (parse(&o, argc, argv)) {
        usage(stderr);
        return 2;
    }
    mn_threads_set(o.threads);
    mn_e2e_cfg c;
    mn_e2e_cfg_default(&c, o.K, o.M, o.F);
    c.pilots = o.pilots;
    c.bits = o.bits;
    c.q = o.q;
    c.subbands = o.subbands;
    c.width = o.width;
    c.blocks = o.blocks;
    c.hidden = o.hidden;
    if (mn_e2e_cfg_check(&c) != MN_OK) {
        fprintf(stderr, "bench_csi: %s\n", mn_error_msg());
        return 2;
    }
    mn_rng rng;
    mn_rng_seed(&rng, o.seed);
    mn_e2e e;
    mn_e2e_data d;
    if (mn_e2e_init(&e, &c, o.batch, &rng) != MN_OK) return fail("building the system");
    if (mn_e2e_data_alloc(&d, o.drops, c.K, c.M, c.F) != MN_OK) {
        mn_e2e_free(&e);
        return fail("allocating drops");
    }
    random_drops(&d, &rng);
    int rc = o.dump ? run_dump(&e, &d, &rng, o.dump) : run_timing(&e, &d, &rng, &o);
    mn_e2e_data_free(&d);
    mn_e2e_free(&e);
    return rc;
}
