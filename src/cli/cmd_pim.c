/* cli/cmd_pim.c — `mimonet pim train | eval | cancel` (DESIGN.md's command-line contract).
 *
 *   pim train  (--data DIR | --tx SRC --rx SRC) --out MODEL.safetensors [--model KIND] ...
 *   pim eval   --model MODEL (--data DIR | --tx SRC --rx SRC) [--split ...] [--precision P] [--json]
 *   pim cancel --model MODEL --tx SRC --rx SRC --out DST.npy [--precision P]  (writes rx - prediction)
 *
 * --precision fp32 | bf16: the arithmetic of a neural model's inference (mn_pim_net_set_precision:
 * the fused executor's pointwise layers, or junction's post filter and maps); bf16 needs a CPU with
 * AVX512_BF16 and a model with a bf16 path, and is refused (exit 2) otherwise.
 *
 * A model file is either a neural canceller (mimonet.format "pim-canceller") or a classical
 * one (mimonet.format "pim-gmp"); eval and cancel accept both. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "mimonet/io.h"
#include "mimonet/pim.h"
#include "progress.h"

/* ------------------------------------------------------------------ data */

typedef struct {
    mn_signal tx, rx;
    double noise_power; /* from DIR/meta.json; NAN when unknown */
    double fs;          /* sample rate [Hz]: DIR/meta.json's, or the tx file's (SigMF); 0 when unknown */
    char tx_path[4096], rx_path[4096];
} pim_data;

/* A positive number from a simulator's meta.json (DIR/meta.json), NAN when absent. */
static double read_meta_number(const char *dir, const char *key)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *txt = NULL;
    size_t len = 0;
    if (mn_file_read_all(path, 1 << 20, &txt, &len) != MN_OK) return (double)NAN;
    cJSON *j = cJSON_Parse(txt);
    mn_free(txt);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, key);
    double p = cJSON_IsNumber(v) ? v->valuedouble : (double)NAN;
    cJSON_Delete(j);
    return p > 0 ? p : (double)NAN;
}

/* Load tx/rx from --data DIR or --tx/--rx; 0 or an exit code (message printed). */
static int load_data(const char *cmd, pim_data *d, const char *dir, const char *tx, const char *rx)
{
    memset(d, 0, sizeof *d);
    d->noise_power = (double)NAN;
    if (dir && (tx || rx)) return mn_cli_fail(MN_EXIT_USAGE, cmd, "give either --data DIR or --tx SRC --rx SRC, not both");
    if (!dir && (!tx || !rx)) return mn_cli_fail(MN_EXIT_USAGE, cmd, "give --data DIR (from 'mimonet pim simulate') or both --tx SRC and --rx SRC");
    if (dir) {
        snprintf(d->tx_path, sizeof d->tx_path, "%s/tx.npy", dir);
        snprintf(d->rx_path, sizeof d->rx_path, "%s/rx.npy", dir);
        d->noise_power = read_meta_number(dir, "noise_power");
        d->fs = read_meta_number(dir, "sample_rate_hz");
    } else {
        snprintf(d->tx_path, sizeof d->tx_path, "%s", tx);
        snprintf(d->rx_path, sizeof d->rx_path, "%s", rx);
    }
    mn_status st = mn_source_read(&d->tx, d->tx_path);
    if (st == MN_OK) st = mn_source_read(&d->rx, d->rx_path);
    if (st != MN_OK) {
        mn_signal_free(&d->tx);
        mn_signal_free(&d->rx);
        return mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
    }
    if (!(d->fs > 0)) d->fs = d->tx.sample_rate > 0 ? d->tx.sample_rate : 0;
    if (d->tx.n != d->rx.n) {
        int code = mn_cli_fail(MN_EXIT_USAGE, cmd, "tx has %lld samples but rx has %lld: they must share one time base",
                               (long long)d->tx.n, (long long)d->rx.n);
        mn_signal_free(&d->tx);
        mn_signal_free(&d->rx);
        return code;
    }
    return 0;
}

static void free_data(pim_data *d)
{
    mn_signal_free(&d->tx);
    mn_signal_free(&d->rx);
}

static int parse_split(const char *cmd, const char *s, double frac[3])
{
    char *end;
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        frac[i] = strtod(p, &end);
        if (end == p || (i < 2 && *end != ',') || (i == 2 && *end)) {
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "--split expects three fractions TRAIN,VAL,TEST such as 0.7,0.1,0.2; got '%s'", s);
        }
        p = end + 1;
    }
    return 0;
}

/* True when a and b name the same file: the same string, or the same device and inode (so
 * "d/./rx.npy", "../x/rx.npy" and links are caught too). */
static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (!strcmp(a, b)) return true;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Before any work: refuse to write over an input (even with --force), over an existing file
 * without --force, or into a folder that is missing or not writable. */
static int check_output(const char *cmd, const char *out, bool force, const char *in1, const char *in2)
{
    if ((in1 && same_file(out, in1)) || (in2 && same_file(out, in2)))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out '%s' is also an input; choose another file", out);
    if (!mn_cli_out_dir_ok(cmd, out)) return MN_EXIT_USAGE;
    if (!force && mn_cli_exists(out))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "'%s' exists; pass --force to replace it", out);
    return 0;
}

/* ------------------------------------------------------------------ cancellers */

typedef struct {
    bool neural;
    mn_pim_net net;
    mn_pim_gmp gmp;
    int n_tx, n_rx, border;
    long params, macs;
    char kind[16];
    mn_precision precision;
} canceller;

static void canceller_free(canceller *c)
{
    if (c->neural) mn_pim_net_free(&c->net);
    else mn_pim_gmp_free(&c->gmp);
}

static mn_status canceller_predict(canceller *c, float complex *out, const float complex *tx, int64_t n)
{
    return c->neural ? mn_pim_net_predict(&c->net, out, tx, n) : mn_pim_gmp_predict(&c->gmp, out, tx, n);
}

/* Scoring border, real parameters and MACs of a GMP (alone, or as a cascade's base). */
static int gmp_border(const mn_pim_gmp *g)
{
    /* The first samples lack history (memory depth), the last ones a lead's future. */
    return g->cfg.M + g->cfg.L > g->cfg.lead ? g->cfg.M + g->cfg.L : g->cfg.lead;
}
static long gmp_params(const mn_pim_gmp *g) { return 2L * g->ncols * g->cfg.n_rx; }

static void fill_from_net(canceller *c)
{
    c->neural = true;
    c->n_tx = c->net.n_tx;
    c->n_rx = c->net.n_rx;
    c->border = c->net.border;
    c->params = (long)mn_params_count_trainable(&c->net.model.params);
    c->macs = mn_model_macs_per_sample(&c->net.model);
    mn_pim_net_label(&c->net, c->kind, sizeof c->kind);
    const mn_pim_gmp *b = mn_pim_net_base(&c->net);
    if (b) { /* a cascade */
        if (gmp_border(b) > c->border) c->border = gmp_border(b);
        c->params += gmp_params(b);
        c->macs += mn_pim_gmp_macs_per_sample(&b->cfg);
    }
}

static void fill_from_gmp(canceller *c)
{
    c->neural = false;
    c->n_tx = c->gmp.cfg.n_tx;
    c->n_rx = c->gmp.cfg.n_rx;
    c->border = gmp_border(&c->gmp);
    c->params = gmp_params(&c->gmp);
    c->macs = mn_pim_gmp_macs_per_sample(&c->gmp.cfg);
    snprintf(c->kind, sizeof c->kind, "%s", mn_pim_gmp_kind(&c->gmp.cfg));
}

/* --precision NAME: 0, or a usage error (message printed). */
static int parse_precision(const char *cmd, const char *name, mn_precision *p)
{
    if (mn_precision_parse(name, p) != MN_OK)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown --precision '%s' (fp32 or bf16)", name);
    return 0;
}

/* Set a loaded canceller's precision: bf16 needs a neural model and AVX512_BF16. */
static mn_status canceller_set_precision(canceller *c, mn_precision p)
{
    if (p == MN_PRECISION_FP32) return MN_OK;
    if (!c->neural)
        return mn_error(MN_ERR_UNSUPPORTED, "--precision %s: the %s model runs in fp32 only", mn_precision_name(p), c->kind);
    mn_status st = mn_pim_net_set_precision(&c->net, p);
    if (st == MN_OK) c->precision = p;
    return st;
}

static mn_status canceller_load(canceller *c, const char *path, int window)
{
    memset(c, 0, sizeof *c);
    bool gmp;
    mn_status st = mn_pim_model_is_gmp(path, &gmp);
    if (st != MN_OK) return st;
    if (gmp) {
        st = mn_pim_gmp_load(&c->gmp, path);
        if (st == MN_OK) fill_from_gmp(c);
    } else {
        st = mn_pim_net_load(&c->net, path, 8, window);
        if (st == MN_OK) fill_from_net(c);
    }
    return st;
}

/* ------------------------------------------------------------------ evaluation and reporting */

/* pim train --restarts: seeds seed0 .. seed0 + n - 1 were trained to step `probe`; chosen kept on. */
struct restarts {
    int n;
    uint64_t seed0, chosen;
    long probe;
    double probe_db[64]; /* best validation APE of each by step `probe`; NAN: not known (resumed later, diverged) */
};

typedef struct {
    mn_pim_metrics m;
    double *per_ch;
    double ceiling_db; /* NAN when unknown */
    double seconds;
    const mn_pim_adapt_cfg *adapt; /* the online adaptation used, or NULL */
    const struct restarts *restarts; /* pim train --restarts: the probes, or NULL */
} eval_result;

/* Predict over span s of the data and score it (border = the canceller's).  With ad, the
 * neural canceller adapts online over s (mn_pim_adapt) and its weights change.  With keep,
 * keep[0] and keep[1] receive the span's rx and the predictions [n_rx, len] (the caller frees
 * them). */
static mn_status evaluate(eval_result *r, canceller *c, const pim_data *d, mn_span s, const mn_pim_adapt_cfg *ad,
                          float complex **keep)
{
    const int64_t n = d->tx.n, len = s.end - s.begin;
    /* adaptation reads the whole signal in place; plain prediction takes a copy of the span */
    float complex *tx = ad ? NULL : mn_malloc((size_t)c->n_tx * len * sizeof *tx);
    float complex *y = mn_malloc((size_t)c->n_rx * len * sizeof *y);
    float complex *p = mn_malloc((size_t)c->n_rx * len * sizeof *p);
    r->per_ch = mn_malloc((size_t)c->n_rx * sizeof *r->per_ch);
    mn_status st = MN_OK;
    if ((!ad && !tx) || !y || !p || !r->per_ch) st = mn_error(MN_ERR_NOMEM, "evaluation of %lld samples", (long long)len);
    r->adapt = ad;
    if (st == MN_OK) {
        for (int a = 0; a < c->n_tx && tx; a++) memcpy(tx + a * len, d->tx.x + a * n + s.begin, (size_t)len * sizeof *tx);
        for (int q = 0; q < c->n_rx; q++) memcpy(y + q * len, d->rx.x + q * n + s.begin, (size_t)len * sizeof *y);
        double t0 = mn_time_sec();
        st = ad ? mn_pim_adapt(&c->net, p, d->tx.x, d->rx.x, n, s.begin, s.end, ad, NULL) : canceller_predict(c, p, tx, len);
        r->seconds = mn_time_sec() - t0;
    }
    if (st == MN_OK) st = mn_pim_metrics_compute(&r->m, r->per_ch, y, p, c->n_rx, len, len, c->border);
    r->ceiling_db = isfinite(d->noise_power) ? mn_pim_noise_ceiling_db(r->m.power_y, d->noise_power) : (double)NAN;
    mn_free(tx);
    if (keep && st == MN_OK) {
        keep[0] = y;
        keep[1] = p;
    } else {
        mn_free(y);
        mn_free(p);
    }
    return st;
}

/* A float setting for JSON as it prints (3e-3 as 0.003, not its binary expansion). */
static double as_printed(float f)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%g", (double)f);
    return strtod(buf, NULL);
}

static void print_result(const canceller *c, const eval_result *r, double train_seconds, bool json)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", c->kind);
        cJSON_AddStringToObject(o, "precision", mn_precision_name(c->precision));
        cJSON_AddNumberToObject(o, "ape_db", r->m.ape_db);
        cJSON_AddNumberToObject(o, "ape_mean_db", r->m.ape_mean_db);
        cJSON_AddNumberToObject(o, "nmse_db", r->m.nmse_db);
        cJSON *pc = cJSON_AddArrayToObject(o, "per_channel_db");
        for (int q = 0; q < c->n_rx; q++) cJSON_AddItemToArray(pc, cJSON_CreateNumber(r->per_ch[q]));
        cJSON_AddNumberToObject(o, "params", (double)c->params);
        cJSON_AddNumberToObject(o, "macs_per_sample", (double)c->macs);
        if (isfinite(r->ceiling_db)) cJSON_AddNumberToObject(o, "noise_ceiling_db", r->ceiling_db);
        cJSON_AddNumberToObject(o, "samples_test", (double)r->m.samples);
        if (r->adapt) {
            cJSON *a = cJSON_AddObjectToObject(o, "adapt");
            const bool ls = r->adapt->method == MN_PIM_ADAPT_LS;
            cJSON_AddStringToObject(a, "method", ls ? "ls" : "adam");
            if (!ls) cJSON_AddNumberToObject(a, "lr", as_printed(r->adapt->lr));
            if (!ls) cJSON_AddNumberToObject(a, "steps", r->adapt->steps);
            if (!ls) cJSON_AddNumberToObject(a, "window", r->adapt->window);
            if (!ls) cJSON_AddNumberToObject(a, "batch", r->adapt->batch);
            if (!ls) cJSON_AddNumberToObject(a, "anchor", as_printed(r->adapt->anchor));
            cJSON_AddNumberToObject(a, "block", r->adapt->block);
            cJSON_AddNumberToObject(a, "history", (double)r->adapt->history);
        }
        if (r->restarts) {
            const struct restarts *x = r->restarts;
            cJSON *a = cJSON_AddObjectToObject(o, "restarts");
            cJSON_AddNumberToObject(a, "probe_steps", (double)x->probe);
            cJSON_AddNumberToObject(a, "chosen_seed", (double)x->chosen);
            cJSON *sd = cJSON_AddArrayToObject(a, "seeds"), *v = cJSON_AddArrayToObject(a, "probe_val_ape_db");
            for (int i = 0; i < x->n; i++) {
                cJSON_AddItemToArray(sd, cJSON_CreateNumber((double)(x->seed0 + (uint64_t)i)));
                cJSON_AddItemToArray(v, isfinite(x->probe_db[i]) ? cJSON_CreateNumber(x->probe_db[i]) : cJSON_CreateNull());
            }
        }
        cJSON_AddNumberToObject(o, "seconds", train_seconds + r->seconds);
        char *txt = cJSON_PrintUnformatted(o);
        if (txt) puts(txt);
        cJSON_free(txt);
        cJSON_Delete(o);
        return;
    }
    printf("model %-8s %ld params, %ld MAC/sample%s\n", c->kind, c->params, c->macs,
           c->precision == MN_PRECISION_BF16 ? ", bf16 inference" : "");
    if (r->adapt && r->adapt->method == MN_PIM_ADAPT_LS)
        printf("adapting online: the output layer refitted by least squares after every %d samples, memory %lld\n",
               r->adapt->block, (long long)r->adapt->history);
    else if (r->adapt)
        printf("adapting online: %d Adam steps at lr %g after every %d samples, on %d windows of %d from the last %lld%s\n",
               r->adapt->steps, (double)r->adapt->lr, r->adapt->block, r->adapt->batch, r->adapt->window,
               (long long)r->adapt->history, r->adapt->anchor > 0 ? ", anchored to the trained weights" : "");
    if (r->restarts)
        printf("restarts: %d seeds from %" PRIu64 " probed for %ld steps; kept seed %" PRIu64 "\n", r->restarts->n,
               r->restarts->seed0, r->restarts->probe, r->restarts->chosen);
    printf("test  %lld samples/channel: APE %.2f dB pooled, %.2f dB mean, NMSE %.2f dB", (long long)r->m.samples,
           r->m.ape_db, r->m.ape_mean_db, r->m.nmse_db);
    if (isfinite(r->ceiling_db)) printf(", noise ceiling %.2f dB", r->ceiling_db);
    printf("\nper channel (dB):");
    for (int q = 0; q < c->n_rx; q++) printf(" %.1f", r->per_ch[q]);
    printf("\n");
}

/* ------------------------------------------------------------------ pim train */

/* The checkpoint must not be an input or --out.  A fresh run refuses to overwrite a checkpoint
 * (it holds an unfinished run) unless --force; --resume needs one. */
static void remove_candidates(const char *ckpt, const char *curve, uint64_t seed0, int n, int keep);
static void cand_path(char *buf, size_t size, const char *path, uint64_t seed);

/* With --restarts N the run's state may also be in the candidates' "<ckpt>.seed<S>" files: a
 * fresh run (--force) removes them, --resume needs one of them or ckpt. */
/* Whether a run's training state is on disk: ckpt, or (--restarts) a candidate's. */
static bool run_state_exists(const char *ckpt, int restarts, uint64_t seed)
{
    bool exists = mn_cli_exists(ckpt);
    for (int i = 0; i < restarts && restarts > 1 && !exists; i++) {
        char path[4300];
        cand_path(path, sizeof path, ckpt, seed + (uint64_t)i);
        exists = mn_cli_exists(path);
    }
    return exists;
}

static int check_checkpoint(const char *cmd, const char *ckpt, const char *out, bool resume, bool force,
                            const pim_data *d, int restarts, uint64_t seed, const char *curve)
{
    if (same_file(ckpt, d->tx_path) || same_file(ckpt, d->rx_path) || same_file(ckpt, out))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--checkpoint '%s' is also an input or --out; choose another file", ckpt);
    if (!mn_cli_out_dir_ok(cmd, ckpt)) return MN_EXIT_USAGE;
    const bool exists = run_state_exists(ckpt, restarts, seed);
    if (!resume && exists && force && restarts > 1) {
        (void)unlink(ckpt);
        remove_candidates(ckpt, curve, seed, restarts, restarts);
    }
    if (resume && !exists)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "no checkpoint '%s' to resume; run without --resume to start", ckpt);
    if (!resume && exists && !force)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "'%s' holds an unfinished run: pass --resume to continue it or --force "
                           "to start over", ckpt);
    return 0;
}

/* Keep the header and the rows of steps <= step of a --curve CSV (rewritten atomically). */
static mn_status trim_curve(const char *path, long step)
{
    char *text = NULL;
    size_t len = 0;
    mn_status st = mn_file_read_all(path, (size_t)1 << 30, &text, &len);
    if (st != MN_OK) return st;
    size_t keep = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && text[e] != '\n') e++;
        char *end;
        long s = strtol(text + i, &end, 10);
        bool header = i == 0, row = end != text + i && *end == ',';
        if (e == len || (!header && (!row || s > step))) break; /* a row cut short by a kill ends it too */
        keep = i = e + 1;
    }
    st = mn_file_write_atomic(path, text, keep);
    mn_free(text);
    return st;
}

/* A kill during an atomic write (io/atomic.c) can leave "<path>.tmp.XXXXXX" beside the
 * checkpoint, the trimmed --curve or the model; the run that owns those paths clears them. */
static void remove_stale_temporaries(const char *ckpt)
{
    const char *slash = strrchr(ckpt, '/');
    char dirname[4200];
    const char *base = slash ? slash + 1 : ckpt;
    if (slash) snprintf(dirname, sizeof dirname, "%.*s", (int)(slash - ckpt) + (slash == ckpt), ckpt);
    else snprintf(dirname, sizeof dirname, ".");
    DIR *dp = opendir(dirname);
    if (!dp) return;
    size_t bl = strlen(base);
    struct dirent *e;
    while ((e = readdir(dp)) != NULL)
        if (!strncmp(e->d_name, base, bl) && !strncmp(e->d_name + bl, ".tmp.", 5) && strlen(e->d_name + bl) == 11) {
            char path[8400];
            snprintf(path, sizeof path, "%s/%s", dirname, e->d_name);
            (void)unlink(path);
        }
    closedir(dp);
}

/* What every leg of a neural pim train run shares. */
typedef struct {
    const char *cmd, *kind;
    mn_pim_model_opts mo; /* the kind's sizes (--sources) */
    const pim_data *d;
    const mn_span *sp;   /* train, val, test */
    mn_pim_train_cfg tc; /* steps, batch, window, rates, patience, checkpoint_every */
    bool quiet;
} train_ctx;

typedef struct {
    mn_cli_progress_state ps;
    long stop_at;     /* > 0: ask to stop after this step */
    bool probe_done;  /* the stop was stop_at's, not Ctrl-C's */
} leg_progress;

static int leg_progress_fn(const mn_pim_progress *p, void *user)
{
    leg_progress *lp = user;
    if (mn_cli_progress(p, &lp->ps)) return 1;
    if (lp->stop_at > 0 && p->step >= lp->stop_at) lp->probe_done = true;
    return lp->probe_done;
}

/* One leg: c->net created from `seed` and trained (or resumed from ckpt) to the end, or with
 * stop_at > 0 to that step, whose state is then checkpointed (*probe_done set, status
 * MN_ERR_INTERRUPTED).  curve (may be NULL) gets the rows, continued on resume. */
static mn_status train_leg(canceller *c, const train_ctx *x, uint64_t seed, const char *ckpt, const char *curve,
                           bool resume, long stop_at, mn_pim_train_result *res, bool *probe_done)
{
    memset(res, 0, sizeof *res);
    res->best_val_ape_db = (double)NAN;
    mn_rng rng;
    mn_rng_seed(&rng, seed);
    mn_status st =
        mn_pim_net_create_opts(&c->net, x->kind, &x->mo, x->d->tx.nch, x->d->rx.nch, x->tc.batch, x->tc.window, &rng);
    if (st != MN_OK) return st;
    fill_from_net(c);
    mn_pim_train_cfg tc = x->tc;
    tc.seed = seed;
    tc.checkpoint = ckpt;
    tc.resume = resume;
    mn_pim_ckpt_info info;
    if (resume && (st = mn_pim_train_ckpt_info(ckpt, &info)) != MN_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mn_error_msg());
        return mn_error(st, "%s; to start over instead, drop --resume and pass --force", msg);
    }
    if (resume && !x->quiet)
        fprintf(stderr, "%s: resuming '%s' at step %ld of %ld\n", x->cmd, ckpt, info.step, info.steps);
    leg_progress lp = {.stop_at = stop_at};
    mn_cli_progress_init(&lp.ps, x->quiet);
    if (curve) {
        /* On --resume the curve goes on from the checkpoint: rows past it (written before
         * the interruption) are dropped, so every step appears once. */
        bool append = resume && mn_cli_exists(curve);
        if (append) st = trim_curve(curve, info.step);
        lp.ps.curve = st == MN_OK ? fopen(curve, append ? "a" : "w") : NULL;
        if (st == MN_OK && !lp.ps.curve) st = mn_error(MN_ERR_IO, "cannot write --curve '%s': %s", curve, strerror(errno));
        if (lp.ps.curve) setvbuf(lp.ps.curve, NULL, _IOLBF, 0); /* whole rows on disk, whenever a kill comes */
        if (lp.ps.curve && !append) fprintf(lp.ps.curve, "step,loss,lr,grad_norm,val_ape_db\n");
    }
    tc.progress = leg_progress_fn;
    tc.progress_user = &lp;
    if (st == MN_OK) {
        remove_stale_temporaries(ckpt);
        if (curve) remove_stale_temporaries(curve);
        st = mn_pim_train(&c->net, x->d->tx.x, x->d->rx.x, x->d->tx.n, x->sp[0], x->sp[1], &tc, res);
    }
    if (lp.ps.curve && fclose(lp.ps.curve) != 0 && st == MN_OK) st = mn_error(MN_ERR_IO, "writing --curve '%s'", curve);
    if (lp.probe_done && lp.ps.tty && !x->quiet) fputc('\n', stderr); /* the bar stopped mid-line */
    if (probe_done) *probe_done = lp.probe_done && st == MN_ERR_INTERRUPTED;
    if (res->resume_note[0] && !x->quiet)
        fprintf(stderr, "%s: note: resumed with other settings than the checkpoint's (%s); the result will differ "
                "from an uninterrupted run\n", x->cmd, res->resume_note);
    return st;
}

/* The exit code of a run's last leg: 0, or the message printed (an interruption says how to
 * continue). */
static int leg_exit(const train_ctx *x, mn_status st, const char *ckpt, const mn_pim_train_result *res)
{
    if (st == MN_ERR_INTERRUPTED)
        return mn_cli_fail(MN_EXIT_INTERRUPTED, x->cmd, "interrupted at step %ld; the training state is saved in '%s': "
                           "run the same command with --resume to continue", res->steps_done, ckpt);
    if (st != MN_OK) return mn_cli_fail(mn_cli_exit_code(st), x->cmd, "%s", mn_error_msg());
    return 0;
}

/* The files of restart candidate `seed`: "<path>.seed<S>". */
static void cand_path(char *buf, size_t size, const char *path, uint64_t seed)
{
    snprintf(buf, size, "%s.seed%" PRIu64, path, seed);
}

/* Remove the candidates' checkpoints and curves, except the one of seed `keep` (none: n). */
static void remove_candidates(const char *ckpt, const char *curve, uint64_t seed0, int n, int keep)
{
    char path[4300];
    for (int i = 0; i < n; i++) {
        if (i == keep) continue;
        cand_path(path, sizeof path, ckpt, seed0 + (uint64_t)i);
        (void)unlink(path);
        if (curve) {
            cand_path(path, sizeof path, curve, seed0 + (uint64_t)i);
            (void)unlink(path);
        }
    }
}

/* pim train --restarts: train each seed to step x->probe, keep the best validation APE, and train
 * it on to the end from its checkpoint, so that the model equals a plain run with that seed.
 * Resumable at every point: the probes' states sit in "<ckpt>.seed<S>" until one is chosen, and
 * the chosen one moves to ckpt.  0 or an exit code (message printed). */
static int train_restarts(canceller *c, const train_ctx *x, struct restarts *r, const char *ckpt, const char *curve,
                          bool resume, mn_pim_train_result *res)
{
    char ck[4300], cv[4300];
    double seconds = 0;
    bool finished = false; /* the chosen one ended (early stop) before the probe step */
    mn_status st;
    mn_pim_ckpt_info info;
    for (int i = 0; i < r->n; i++) r->probe_db[i] = (double)NAN;
    bool have_main = resume && mn_cli_exists(ckpt);
    if (have_main) {
        /* Interrupted after the choice: the checkpoint names the chosen seed. */
        if ((st = mn_pim_train_ckpt_info(ckpt, &info)) != MN_OK)
            return mn_cli_fail(mn_cli_exit_code(st), x->cmd, "%s; to start over instead, drop --resume and pass --force",
                               mn_error_msg());
        if (info.seed - r->seed0 >= (uint64_t)r->n)
            return mn_cli_fail(MN_EXIT_USAGE, x->cmd, "'%s' holds a run of seed %" PRIu64 ", not one of --seed %" PRIu64
                               " .. %" PRIu64 " (--restarts %d)", ckpt, info.seed, r->seed0, r->seed0 + (uint64_t)r->n - 1, r->n);
        r->chosen = info.seed;
        /* A kill between the choice's two renames leaves the chosen curve under its candidate
         * name: it is the run's curve. */
        if (curve) {
            cand_path(cv, sizeof cv, curve, r->chosen);
            if (mn_cli_exists(cv) && rename(cv, curve) != 0)
                return mn_cli_fail(MN_EXIT_RUNTIME, x->cmd, "cannot move '%s' to '%s': %s", cv, curve, strerror(errno));
        }
        remove_candidates(ckpt, curve, r->seed0, r->n, r->n); /* left if a kill came between choice and clean-up */
    } else {
        int best = -1;
        bool ended[64] = {false};
        for (int i = 0; i < r->n; i++) {
            uint64_t seed = r->seed0 + (uint64_t)i;
            cand_path(ck, sizeof ck, ckpt, seed);
            if (curve) cand_path(cv, sizeof cv, curve, seed);
            bool have = resume && mn_cli_exists(ck);
            if (have && (st = mn_pim_train_ckpt_info(ck, &info)) == MN_OK && info.step >= r->probe) {
                r->probe_db[i] = info.best_val_ape_db;
                if (!x->quiet) fprintf(stderr, "%s: seed %" PRIu64 " was probed before: best validation APE %.2f dB\n",
                                       x->cmd, seed, r->probe_db[i]);
            } else {
                if (!x->quiet)
                    fprintf(stderr, "%s: restart %d of %d, seed %" PRIu64 ": %s to step %ld\n", x->cmd, i + 1, r->n, seed,
                            have ? "resuming" : "training", r->probe);
                mn_pim_train_result rr;
                bool probed = false;
                st = train_leg(c, x, seed, ck, curve ? cv : NULL, have, r->probe, &rr, &probed);
                mn_pim_net_free(&c->net);
                c->neural = false;
                seconds += rr.seconds;
                if (st == MN_ERR_INTERRUPTED && !probed)
                    return mn_cli_fail(MN_EXIT_INTERRUPTED, x->cmd, "interrupted at step %ld of seed %" PRIu64 "; the "
                                       "states are saved beside '%s': run the same command with --resume to continue",
                                       rr.steps_done, seed, ckpt);
                if (st == MN_ERR_NUMERIC) { /* a diverged seed is dropped; the others go on */
                    if (!x->quiet) fprintf(stderr, "%s: seed %" PRIu64 " dropped: %s\n", x->cmd, seed, mn_error_msg());
                    (void)unlink(ck);
                    continue;
                }
                if (st != MN_OK && st != MN_ERR_INTERRUPTED)
                    return mn_cli_fail(mn_cli_exit_code(st), x->cmd, "%s", mn_error_msg());
                ended[i] = st == MN_OK;
                r->probe_db[i] = rr.best_val_ape_db;
                if (!x->quiet)
                    fprintf(stderr, "%s: seed %" PRIu64 ": best validation APE %.2f dB by step %ld%s\n", x->cmd, seed,
                            r->probe_db[i], rr.steps_done, ended[i] ? " (stopped early)" : "");
            }
            if (isfinite(r->probe_db[i]) && (best < 0 || r->probe_db[i] > r->probe_db[best])) best = i;
        }
        if (best < 0) return mn_cli_fail(MN_EXIT_RUNTIME, x->cmd, "every restart diverged; lower --lr-max");
        r->chosen = r->seed0 + (uint64_t)best;
        finished = ended[best];
        if (!finished) { /* its state becomes the run's checkpoint, its curve the run's */
            cand_path(ck, sizeof ck, ckpt, r->chosen);
            if (rename(ck, ckpt) != 0)
                return mn_cli_fail(MN_EXIT_RUNTIME, x->cmd, "cannot move '%s' to '%s': %s", ck, ckpt, strerror(errno));
            if (curve) {
                cand_path(cv, sizeof cv, curve, r->chosen);
                if (rename(cv, curve) != 0)
                    return mn_cli_fail(MN_EXIT_RUNTIME, x->cmd, "cannot move '%s' to '%s': %s", cv, curve, strerror(errno));
            }
        }
        remove_candidates(ckpt, curve, r->seed0, r->n, finished ? r->n : best);
        if (!x->quiet)
            fprintf(stderr, "%s: keeping seed %" PRIu64 " (%.2f dB); %s to step %ld\n", x->cmd, r->chosen, r->probe_db[best],
                    finished ? "it stopped early, so it is trained again from the start" : "training on", x->tc.steps);
    }
    /* A seed that stopped early is trained again from scratch: the same run, to its end. */
    st = train_leg(c, x, r->chosen, ckpt, curve, !finished, 0, res, NULL);
    res->seconds += seconds;
    return leg_exit(x, st, ckpt, res);
}

static int cmd_train(int argc, char **argv)
{
    const char *cmd = "pim train";
    const char *dir = NULL, *txs = NULL, *rxs = NULL, *out = NULL, *kind = "light", *split = "0.7,0.1,0.2";
    const char *curve = NULL, *ckpt = NULL, *base_path = NULL;
    bool json = false, force = false, quiet = false, help = false, resume = false;
    int threads = 0, batch = 0, window = 2048, memory = 4, order = 2, cross = 1, lag = 0, patience = -1, restarts = 1;
    int sources = 0, lead = -1;
    int64_t steps = 0, eval_every = 100, ckpt_every = 100, probe = 0;
    struct restarts rs = {0};
    char model_help[160];
    snprintf(model_help, sizeof model_help, "%s, gmp, fir (default light)", mn_pim_model_kinds());
    char ckpt_default[4200];
    uint64_t seed = 1;
    double lr_max = 1e-2, lr_min = 1e-3, ridge = 1e-7;
    mn_opt opts[] = {
        {"--data", MN_OPT_STR, &dir, 0, -1, "folder with tx.npy, rx.npy (and meta.json) from 'pim simulate'", false},
        {"--tx", MN_OPT_STR, &txs, 0, -1, "transmitted baseband SRC (npy, file.mat:VAR, csv, sigmf-meta)", false},
        {"--rx", MN_OPT_STR, &rxs, 0, -1, "received interference SRC, same time base as --tx", false},
        {"--out", MN_OPT_STR, &out, 0, -1, "model file to write (.safetensors)", false},
        {"--model", MN_OPT_STR, &kind, 0, -1, model_help, false},
        {"--steps", MN_OPT_I64, &steps, 1, 1e9, "training steps (default 3000; 6000 for junction, 8000 for pa)", false},
        {"--batch", MN_OPT_INT, &batch, 1, 64, "windows per step (default 16; 8 for junction and pa)", false},
        {"--window", MN_OPT_INT, &window, 1025, 1 << 20, "samples per window, > 1024 (default 2048)", false},
        {"--lr-max", MN_OPT_DOUBLE, &lr_max, 1e-8, 1, "cyclical LR upper bound (default 1e-2)", false},
        {"--lr-min", MN_OPT_DOUBLE, &lr_min, 0, 1, "cyclical LR lower bound (default 1e-3)", false},
        {"--patience", MN_OPT_INT, &patience, 0, 1000000, "validations without improvement before stopping (default: one LR cycle + 2, 8 at 3000 steps; 0 off)", false},
        {"--base", MN_OPT_STR, &base_path, 0, -1, "neural models: a gmp/fir model file; the model learns what it leaves, and --out holds both (docs/pim.md \"Cascades\")", false},
        {"--sources", MN_OPT_INT, &sources, 1, 64, "junction: PIM sources the model looks for (default 8; docs/pim.md \"Other sites\")", false},
        {"--memory", MN_OPT_INT, &memory, 1, 64, "gmp/fir: memory taps per antenna (default 4)", false},
        {"--order", MN_OPT_INT, &order, 1, 8, "gmp: odd orders 3..2K+1 (default K = 2)", false},
        {"--cross", MN_OPT_INT, &cross, 0, 64, "gmp: neighbouring-antenna cross terms (default 1)", false},
        {"--lag", MN_OPT_INT, &lag, 0, 16, "gmp: lagging envelope terms (default 0)", false},
        {"--lead", MN_OPT_INT, &lead, 0, MN_PIM_GMP_MAX_LEAD, "gmp/fir: taps ahead of the sample, for output aligned early; delays pim cancel by as many samples (default 0)", false},
        {"--ridge", MN_OPT_DOUBLE, &ridge, 0, 1, "gmp/fir: ridge on normalized columns (default 1e-7)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "random seed (default 1)", false},
        {"--restarts", MN_OPT_INT, &restarts, 1, 64, "train seeds SEED.. SEED+N-1 to --probe, keep the best on validation (default 1)", false},
        {"--probe", MN_OPT_I64, &probe, 1, 1e9, "--restarts: steps each seed trains before the choice (default 2/5 of --steps)", false},
        {"--split", MN_OPT_STR, &split, 0, -1, "TRAIN,VAL,TEST fractions, contiguous, test last (default 0.7,0.1,0.2)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all cores)", false},
        {"--eval-every", MN_OPT_I64, &eval_every, 1, 1e9, "steps between validations (default 100)", false},
        {"--checkpoint", MN_OPT_STR, &ckpt, 0, -1, "training-state file (default OUT.ckpt; removed when training ends)", false},
        {"--checkpoint-every", MN_OPT_I64, &ckpt_every, 0, 1e9, "steps between checkpoints (default 100; 0: only on Ctrl-C)", false},
        {"--resume", MN_OPT_FLAG, &resume, 0, -1, "continue the run saved in --checkpoint (same data and settings)", false},
        {"--curve", MN_OPT_STR, &curve, 0, -1, "write the training curve as CSV (appended to on --resume)", false},
        {"--json", MN_OPT_FLAG, &json, 0, -1, "print one JSON object with the test metrics", false},
        {"--force", MN_OPT_FLAG, &force, 0, -1, "replace an existing --out, or start over a run left in --checkpoint", false},
        {"--quiet", MN_OPT_FLAG, &quiet, 0, -1, "no progress bar", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "(--data DIR | --tx SRC --rx SRC) --out MODEL.safetensors [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!out) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out MODEL.safetensors is required");
    bool classical = !strcmp(kind, "gmp") || !strcmp(kind, "fir");
    if (!classical && !mn_pim_model_known(kind))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown --model '%s' (%s, gmp, fir)", kind, mn_pim_model_kinds());
    if (classical && (resume || ckpt))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--resume and --checkpoint apply to neural models; a %s fit is "
                           "closed-form and has no training state", kind);
    if (classical && restarts > 1)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--restarts applies to neural models; a %s fit is closed-form", kind);
    if (probe && restarts < 2) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--probe sets --restarts' probe: add --restarts N");
    if (base_path && classical)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--base puts a neural model on a gmp/fir model; --model %s is not neural",
                           kind);
    if (lead >= 0 && !classical)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--lead sets a gmp/fir basis; the %s model's receptive field is "
                           "two-sided already", kind);
    if (lead < 0) lead = 0;
    if (sources && strcmp(kind, "junction"))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--sources sizes the junction model; the %s model has none", kind);
    if (!batch) batch = mn_pim_model_default_batch(kind);
    if (!steps) steps = mn_pim_model_default_steps(kind);
    if (restarts > 1) {
        if (!probe) probe = 2 * steps / 5;
        if (probe >= steps || probe < eval_every)
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "--probe %lld must lie in [--eval-every %lld, --steps %lld): the choice "
                               "needs a validation, and steps after it", (long long)probe, (long long)eval_every, (long long)steps);
    }
    if (!classical && !ckpt) {
        if (snprintf(ckpt_default, sizeof ckpt_default, "%s.ckpt", out) >= (int)sizeof ckpt_default)
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out path is too long");
        ckpt = ckpt_default;
    }
    double frac[3];
    if (parse_split(cmd, split, frac)) return MN_EXIT_USAGE;
    if (threads > 0) mn_threads_set(threads);
    pim_data d;
    int code = load_data(cmd, &d, dir, txs, rxs);
    if (code) return code;
    /* --resume with no training state left but --out written: that run has finished (e.g. it
     * was killed during the held-out evaluation), which says more than "--out exists". */
    if (resume && ckpt && mn_cli_exists(out) && !run_state_exists(ckpt, restarts, seed)) {
        free_data(&d);
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "no checkpoint '%s' to resume, and '%s' exists: that run has finished "
                           "(score it with 'mimonet pim eval --model %s')", ckpt, out, out);
    }
    if (check_output(cmd, out, force, d.tx_path, d.rx_path) ||
        (ckpt && check_checkpoint(cmd, ckpt, out, resume, force, &d, restarts, seed, curve))) {
        free_data(&d);
        return MN_EXIT_USAGE;
    }
    const int64_t n = d.tx.n;
    canceller c;
    memset(&c, 0, sizeof c);
    mn_span sp[3];
    double train_s = 0;
    mn_status st;
    /* --base: the model trains on rx - base(tx); the recording's rx comes back for the test. */
    mn_pim_gmp base = {0};
    float complex *rx_orig = NULL;
    if (base_path) {
        bool is_gmp = false;
        st = mn_pim_model_is_gmp(base_path, &is_gmp);
        if (st == MN_OK && !is_gmp) st = mn_error(MN_ERR_FORMAT, "not a gmp/fir model file");
        if (st == MN_OK) st = mn_pim_gmp_load(&base, base_path);
        if (st == MN_OK && (base.cfg.n_tx != d.tx.nch || base.cfg.n_rx != d.rx.nch))
            st = mn_error(MN_ERR_SHAPE, "a %d x %d model for %d x %d data", base.cfg.n_tx, base.cfg.n_rx, d.tx.nch,
                          d.rx.nch);
        if (st == MN_OK && same_file(base_path, out)) st = mn_error(MN_ERR_INVALID, "it is also --out; choose another file");
        if (st == MN_OK) { /* the model's look-ahead must cover the base's lead: known before training */
            mn_pim_net probe_net;
            mn_rng r0;
            mn_rng_seed(&r0, 0);
            const mn_pim_model_opts mo = {.sources = sources};
            st = mn_pim_net_create_opts(&probe_net, kind, &mo, d.tx.nch, d.rx.nch, 1, window, &r0);
            if (st == MN_OK) {
                if (base.cfg.lead > probe_net.border)
                    st = mn_error(MN_ERR_INVALID, "its lead of %d samples exceeds the %s model's look-ahead of %d",
                                  base.cfg.lead, kind, probe_net.border);
                mn_pim_net_free(&probe_net);
            }
        }
        float complex *res = st == MN_OK ? mn_malloc((size_t)d.rx.nch * n * sizeof *res) : NULL;
        if (st == MN_OK && !res) st = mn_error(MN_ERR_NOMEM, "the residual of %lld samples", (long long)n);
        if (st == MN_OK) st = mn_pim_gmp_predict(&base, res, d.tx.x, n);
        if (st != MN_OK) {
            code = mn_cli_fail(mn_cli_input_exit_code(st), cmd, "--base '%s': %s", base_path, mn_error_msg());
            mn_free(res);
            mn_pim_gmp_free(&base);
            free_data(&d);
            return code;
        }
        for (int64_t i = 0; i < (int64_t)d.rx.nch * n; i++) res[i] = d.rx.x[i] - res[i];
        rx_orig = d.rx.x;
        d.rx.x = res;
    }
    if (classical) {
        mn_pim_gmp_cfg gc = {.n_tx = d.tx.nch, .n_rx = d.rx.nch, .M = memory, .K = !strcmp(kind, "fir") ? 0 : order,
                             .L = !strcmp(kind, "fir") ? 0 : lag, .P = !strcmp(kind, "fir") ? 0 : (cross < d.tx.nch ? cross : d.tx.nch - 1),
                             .lead = lead, .linear = true, .ridge = ridge};
        st = mn_pim_split(sp, n, frac, 2L * (memory + lag + lead) + 2);
        if (st == MN_OK) {
            if (!quiet) fprintf(stderr, "%s: fitting %s with %d columns on %lld samples\n", cmd, kind,
                                mn_pim_gmp_columns(&gc), (long long)(sp[0].end - sp[0].begin));
            double t0 = mn_time_sec();
            /* Validation is not needed by a closed-form fit: it joins the training span. */
            st = mn_pim_gmp_fit(&c.gmp, &gc, d.tx.x, d.rx.x, n, (mn_span){sp[0].begin, sp[1].end});
            train_s = mn_time_sec() - t0;
        }
        if (st == MN_OK) fill_from_gmp(&c);
    } else {
        st = mn_pim_split(sp, n, frac, window);
        if (st == MN_OK && restarts > 1 && sp[1].end <= sp[1].begin) {
            code = mn_cli_fail(MN_EXIT_USAGE, cmd, "--restarts keeps the best validation APE: --split %s has no VAL part", split);
            goto done;
        }
        if (st == MN_OK) {
            train_ctx x = {.cmd = cmd, .kind = kind, .mo = {.sources = sources}, .d = &d, .sp = sp,
                           .tc = mn_pim_train_default(), .quiet = quiet};
            x.tc.steps = steps;
            x.tc.batch = batch;
            x.tc.window = window;
            x.tc.lr_max = (float)lr_max;
            x.tc.lr_min = (float)lr_min;
            x.tc.patience = patience;
            x.tc.eval_every = eval_every;
            x.tc.checkpoint_every = ckpt_every;
            mn_cli_catch_sigint();
            mn_pim_train_result res;
            remove_stale_temporaries(out);
            if (restarts > 1) {
                rs.n = restarts;
                rs.seed0 = seed;
                rs.probe = probe;
                if ((code = train_restarts(&c, &x, &rs, ckpt, curve, resume, &res)) != 0) goto done;
            } else {
                st = train_leg(&c, &x, seed, ckpt, curve, resume, 0, &res, NULL);
                if ((code = leg_exit(&x, st, ckpt, &res)) != 0) goto done;
            }
            train_s = res.seconds;
            if (st == MN_OK && !quiet)
                fprintf(stderr, "%s: %ld steps in %.1f s, best validation APE %.2f dB at step %ld%s\n", cmd,
                        res.steps_done, res.seconds, res.best_val_ape_db, res.best_step,
                        res.stopped_early ? " (early stop)" : "");
        }
    }
    if (st != MN_OK) {
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        goto done;
    }
    if (rx_orig) { /* the cascade: the base under the trained model, scored on the recording's rx */
        mn_free(d.rx.x);
        d.rx.x = rx_orig;
        rx_orig = NULL;
        st = mn_pim_net_set_base(&c.net, &base);
        if (st != MN_OK) {
            code = mn_cli_fail(MN_EXIT_USAGE, cmd, "--base '%s': %s", base_path, mn_error_msg());
            goto done;
        }
        fill_from_net(&c);
    }
    st = c.neural ? mn_pim_net_save(&c.net, out, NULL, NULL, 0) : mn_pim_gmp_save(&c.gmp, out);
    if (st != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "%s", mn_error_msg());
        goto done;
    }
    /* The model is on disk: the run is complete and its training state is no longer needed. */
    if (ckpt && unlink(ckpt) != 0 && errno != ENOENT && !quiet)
        fprintf(stderr, "%s: note: could not remove the checkpoint '%s': %s\n", cmd, ckpt, strerror(errno));
    eval_result r = {0};
    if (sp[2].end - sp[2].begin > 2 * c.border) {
        st = evaluate(&r, &c, &d, sp[2], NULL, NULL);
        r.restarts = restarts > 1 ? &rs : NULL;
        if (st != MN_OK) code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        else print_result(&c, &r, train_s, json);
    } else if (!quiet)
        fprintf(stderr, "%s: no test split (--split %s): wrote %s without test metrics\n", cmd, split, out);
    mn_free(r.per_ch);
    if (!quiet && code == 0) fprintf(stderr, "%s: wrote %s\n", cmd, out);
done:
    if (rx_orig) {
        mn_free(d.rx.x);
        d.rx.x = rx_orig;
    }
    mn_pim_gmp_free(&base);
    canceller_free(&c);
    free_data(&d);
    return code;
}

/* ------------------------------------------------------------------ pim eval */

/* "light (m.safetensors)": a model's kind and file name, for the report's table. */
static void report_name(char *buf, size_t n, const canceller *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    snprintf(buf, n, "%s (%.256s)", c->kind, slash ? slash + 1 : path);
}

enum { MAX_COMPARE = 16 };
typedef char compare_path[4096];

/* --compare A,B,...: the readable model files into paths (*nc of them); 0 or an exit code. */
static int parse_compare(const char *cmd, const char *compare, compare_path *paths, int *nc)
{
    *nc = 0;
    for (const char *p = compare; p && *p;) {
        const char *e = strchr(p, ',');
        const size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == 0 || l >= sizeof paths[0] || *nc == MAX_COMPARE)
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "--compare '%s': up to %d model files, comma-separated", compare,
                               MAX_COMPARE);
        memcpy(paths[*nc], p, l);
        paths[*nc][l] = '\0';
        if (access(paths[*nc], R_OK) != 0)
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "--compare: cannot read '%s': %s", paths[*nc], strerror(errno));
        ++*nc;
        p = e ? e + 1 : p + l;
    }
    return 0;
}

/* pim eval --report DIR [--compare A,B,...]: the figures of the evaluated model (kept: the test
 * part's rx and its predictions), and a table row for it and for each compared model, all
 * scored on the same samples (the largest border of them).  0 or an exit code. */
static int write_eval_report(const char *cmd, const char *dir, const char *model, compare_path *paths, int nc,
                             const canceller *c, const pim_data *d, const char *source, mn_span s, const char *split,
                             bool adapt, float complex *const *kept)
{
    const int64_t n = d->tx.n, len = s.end - s.begin;
    mn_pim_report_model rm[1 + MAX_COMPARE];
    char names[1 + MAX_COMPARE][320];
    float complex *pred[MAX_COMPARE] = {NULL}, *tx = NULL;
    int code = 0, border = c->border;
    report_name(names[0], sizeof names[0], c, model);
    rm[0] = (mn_pim_report_model){.name = names[0], .pred = kept[1], .params = c->params, .macs = c->macs,
                                  .train_seconds = (double)NAN};
    if (nc > 0) {
        tx = mn_malloc((size_t)d->tx.nch * len * sizeof *tx);
        if (!tx) code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "out of memory for the test part");
        for (int a = 0; a < d->tx.nch && tx; a++) memcpy(tx + a * len, d->tx.x + a * n + s.begin, (size_t)len * sizeof *tx);
    }
    for (int k = 0; k < nc && code == 0; k++) {
        canceller o;
        mn_status st = canceller_load(&o, paths[k], 4096);
        if (st != MN_OK) {
            code = mn_cli_fail(mn_cli_input_exit_code(st), cmd, "--compare: %s", mn_error_msg());
            break;
        }
        if (o.n_tx != c->n_tx || o.n_rx != c->n_rx)
            code = mn_cli_fail(MN_EXIT_USAGE, cmd, "--compare: '%s' maps %d Tx -> %d Rx channels, the data has %d -> %d",
                               paths[k], o.n_tx, o.n_rx, c->n_tx, c->n_rx);
        pred[k] = code ? NULL : mn_malloc((size_t)o.n_rx * len * sizeof *pred[k]);
        if (!code && !pred[k]) code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "out of memory for the test part");
        if (!code && (st = canceller_predict(&o, pred[k], tx, len)) != MN_OK)
            code = mn_cli_fail(mn_cli_exit_code(st), cmd, "--compare '%s': %s", paths[k], mn_error_msg());
        if (!code) {
            report_name(names[1 + k], sizeof names[1 + k], &o, paths[k]);
            rm[1 + k] = (mn_pim_report_model){.name = names[1 + k], .pred = pred[k], .params = o.params, .macs = o.macs,
                                              .train_seconds = (double)NAN};
            if (o.border > border) border = o.border;
        }
        canceller_free(&o);
    }
    if (code == 0 && !mn_cli_mkdirs(cmd, dir)) code = MN_EXIT_USAGE;
    if (code == 0) {
        char title[4400];
        snprintf(title, sizeof title, "%s%s on %.2048s, the test part of --split %.256s", names[0],
                 adapt ? ", adapting online" : "", source, split);
        const mn_pim_report rep = {.title = title, .y = kept[0], .n_rx = c->n_rx, .n = len, .border = border, .fs = d->fs,
                                   .noise_power = d->noise_power, .models = rm, .n_models = 1 + nc};
        mn_status st = mn_pim_report_write(dir, &rep);
        if (st != MN_OK) code = mn_cli_fail(mn_cli_exit_code(st), cmd, "--report %s: %s", dir, mn_error_msg());
        else fprintf(stderr, "%s: wrote %s/report.html\n", cmd, dir);
    }
    for (int k = 0; k < nc; k++) mn_free(pred[k]);
    mn_free(tx);
    return code;
}

static int cmd_eval(int argc, char **argv)
{
    const char *cmd = "pim eval";
    const char *model = NULL, *dir = NULL, *txs = NULL, *rxs = NULL, *split = "0.7,0.1,0.2", *prec = "fp32";
    const char *report = NULL, *compare = NULL;
    bool json = false, help = false, adapt = false;
    int threads = 0;
    mn_pim_adapt_cfg ad = mn_pim_adapt_default();
    double ad_lr = (double)ad.lr, ad_anchor = 0;
    const char *ad_method = "adam";
    mn_opt opts[] = {
        {"--model", MN_OPT_STR, &model, 0, -1, "model file from 'pim train'", false},
        {"--data", MN_OPT_STR, &dir, 0, -1, "folder with tx.npy, rx.npy (and meta.json)", false},
        {"--adapt", MN_OPT_FLAG, &adapt, 0, -1, "keep learning while cancelling (neural models; docs/pim.md)", false},
        {"--adapt-method", MN_OPT_STR, &ad_method, 0, -1, "adam: Adam steps on every weight (default); ls: least-squares refit of the output layer", false},
        {"--adapt-lr", MN_OPT_DOUBLE, &ad_lr, 1e-8, 1, "adam: online learning rate (default 3e-3)", false},
        {"--adapt-steps", MN_OPT_INT, &ad.steps, 0, 64, "adam: optimizer steps per block (default 8)", false},
        {"--adapt-block", MN_OPT_INT, &ad.block, 1, 1 << 20, "samples per block (default 1024)", false},
        {"--adapt-window", MN_OPT_INT, &ad.window, 16, 4096, "adam: samples per training window, more than twice the receptive field (default 2048)", false},
        {"--adapt-batch", MN_OPT_INT, &ad.batch, 1, 8, "adam: windows per step (default 4; 1 suffices when the history is one window)", false},
        {"--adapt-anchor", MN_OPT_DOUBLE, &ad_anchor, 0, 1e4, "adam: pull toward the trained weights each step, w -= lr anchor (w - w0) (default 0: none)", false},
        {"--adapt-history", MN_OPT_I64, &ad.history, 256, 1 << 24, "adam: latest samples the windows are drawn from (>= the window); ls: memory, samples weighted e^(-age/history) (default 16384)", false},
        {"--tx", MN_OPT_STR, &txs, 0, -1, "transmitted baseband SRC", false},
        {"--rx", MN_OPT_STR, &rxs, 0, -1, "received interference SRC", false},
        {"--split", MN_OPT_STR, &split, 0, -1, "evaluate the TEST part of TRAIN,VAL,TEST (default 0.7,0.1,0.2; 0,0,1 = all)", false},
        {"--precision", MN_OPT_STR, &prec, 0, -1, "inference arithmetic: fp32 (default) or bf16 (neural models, CPUs with AVX512_BF16)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all cores)", false},
        {"--report", MN_OPT_STR, &report, 0, -1, "also write DIR/report.html: the paper's figures for the test part (docs/pim.md \"Report\")", false},
        {"--compare", MN_OPT_STR, &compare, 0, -1, "--report: more model files, comma-separated, scored on the same test part in its table", false},
        {"--json", MN_OPT_FLAG, &json, 0, -1, "print one JSON object", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--model MODEL (--data DIR | --tx SRC --rx SRC) [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!model) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--model MODEL is required");
    double frac[3];
    mn_precision precision;
    if (parse_split(cmd, split, frac) || parse_precision(cmd, prec, &precision)) return MN_EXIT_USAGE;
    if (threads > 0) mn_threads_set(threads);
    ad.lr = (float)ad_lr;
    ad.anchor = (float)ad_anchor;
    for (const mn_opt *o = opts; o->name && !adapt; o++)
        if (o->seen && !strncmp(o->name, "--adapt-", 8))
            return mn_cli_fail(MN_EXIT_USAGE, cmd, "%s tunes online adaptation: add --adapt", o->name);
    if (!strcmp(ad_method, "ls")) {
        ad.method = MN_PIM_ADAPT_LS;
        for (const mn_opt *o = opts; o->name; o++)
            if (o->seen && (!strcmp(o->name, "--adapt-lr") || !strcmp(o->name, "--adapt-steps") ||
                            !strcmp(o->name, "--adapt-window") || !strcmp(o->name, "--adapt-batch") ||
                            !strcmp(o->name, "--adapt-anchor")))
                return mn_cli_fail(MN_EXIT_USAGE, cmd, "%s tunes --adapt-method adam, not ls", o->name);
    } else if (strcmp(ad_method, "adam"))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--adapt-method '%s': adam or ls", ad_method);
    if (adapt && ad.method == MN_PIM_ADAPT_ADAM && ad.history < ad.window)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--adapt-history %lld is shorter than the training window (%d): the "
                           "windows are drawn from it", (long long)ad.history, ad.window);
    if (adapt && ad.method == MN_PIM_ADAPT_ADAM && ad_anchor * ad_lr > 1)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--adapt-anchor %g at --adapt-lr %g pulls past the trained weights: "
                           "lr x anchor must be at most 1", ad_anchor, ad_lr);
    if (adapt && precision != MN_PRECISION_FP32)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--adapt trains while it predicts, in fp32: drop --precision %s", prec);
    if (compare && !report) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--compare adds models to --report's table: add --report DIR");
    /* Before the evaluation: the folder (made only when the page is written) and the models to compare. */
    struct stat rst;
    if (report && stat(report, &rst) == 0 && !S_ISDIR(rst.st_mode))
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--report '%s' exists and is not a folder", report);
    static compare_path cmp_paths[MAX_COMPARE]; /* 64 KB: not on the stack */
    int n_cmp = 0;
    if (parse_compare(cmd, compare, cmp_paths, &n_cmp)) return MN_EXIT_USAGE;
    canceller c;
    mn_status st = canceller_load(&c, model, 4096);
    if (st != MN_OK) return mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
    if (adapt && !c.neural) {
        canceller_free(&c);
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--adapt needs a neural model; '%s' is a closed-form %s fit", model, c.kind);
    }
    if ((st = canceller_set_precision(&c, precision)) != MN_OK) {
        int code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        canceller_free(&c);
        return code;
    }
    pim_data d;
    int code = load_data(cmd, &d, dir, txs, rxs);
    if (code) {
        canceller_free(&c);
        return code;
    }
    mn_span sp[3];
    eval_result r = {0};
    float complex *kept[2] = {NULL, NULL}; /* --report: the test part's rx and predictions */
    if (d.tx.nch != c.n_tx || d.rx.nch != c.n_rx)
        code = mn_cli_fail(MN_EXIT_USAGE, cmd, "the model maps %d Tx -> %d Rx channels, the data has %d -> %d", c.n_tx,
                           c.n_rx, d.tx.nch, d.rx.nch);
    else if ((st = mn_pim_split(sp, d.tx.n, frac, 2L * c.border + 1)) != MN_OK ||
             (st = evaluate(&r, &c, &d, sp[2], adapt ? &ad : NULL, report ? kept : NULL)) != MN_OK)
        code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    else {
        print_result(&c, &r, 0, json);
        if (report)
            code = write_eval_report(cmd, report, model, cmp_paths, n_cmp, &c, &d, dir ? dir : d.rx_path, sp[2], split,
                                     adapt, kept);
    }
    mn_free(kept[0]);
    mn_free(kept[1]);
    mn_free(r.per_ch);
    canceller_free(&c);
    free_data(&d);
    return code;
}

/* ------------------------------------------------------------------ pim cancel */

/* A signal read block by block: straight from an npy file that allows it (mn_npy_reader), else
 * read whole (CSV, MAT, SigMF, other npy layouts) and served from memory. */
typedef struct {
    mn_npy_reader r;
    mn_signal s;
    bool mem;
    int nch;
    int64_t n;
} block_src;

static mn_status src_open(block_src *b, const char *path)
{
    memset(b, 0, sizeof *b);
    mn_status st = MN_ERR_UNSUPPORTED;
    size_t len = strlen(path);
    if (len > 4 && !strcmp(path + len - 4, ".npy")) st = mn_npy_reader_open(&b->r, path);
    if (st == MN_OK) {
        b->nch = b->r.nch;
        b->n = b->r.n;
        return MN_OK;
    }
    if (st != MN_ERR_UNSUPPORTED) return st;
    b->mem = true;
    if ((st = mn_source_read(&b->s, path)) != MN_OK) return st;
    b->nch = b->s.nch;
    b->n = b->s.n;
    return MN_OK;
}

static mn_status src_read(block_src *b, float complex *x, int64_t i0, int64_t len)
{
    if (!b->mem) return mn_npy_reader_read(&b->r, x, i0, len);
    for (int c = 0; c < b->nch; c++) memcpy(x + (int64_t)c * len, b->s.x + (int64_t)c * b->n + i0, (size_t)len * sizeof *x);
    return MN_OK;
}

static void src_close(block_src *b)
{
    if (b->mem) mn_signal_free(&b->s);
    else mn_npy_reader_close(&b->r);
}

static int cmd_cancel(int argc, char **argv)
{
    const char *cmd = "pim cancel";
    const char *model = NULL, *txs = NULL, *rxs = NULL, *out = NULL, *prec = "fp32";
    bool force = false, help = false, quiet = false;
    int threads = 0;
    int64_t block = 16384;
    mn_opt opts[] = {
        {"--model", MN_OPT_STR, &model, 0, -1, "model file from 'pim train'", false},
        {"--tx", MN_OPT_STR, &txs, 0, -1, "transmitted baseband SRC", false},
        {"--rx", MN_OPT_STR, &rxs, 0, -1, "received signal SRC (same time base)", false},
        {"--out", MN_OPT_STR, &out, 0, -1, "where to write rx - predicted PIM (.npy, complex64 [n_rx, n])", false},
        {"--block", MN_OPT_I64, &block, 1, 1 << 24, "samples per block streamed through the canceller (default 16384)", false},
        {"--precision", MN_OPT_STR, &prec, 0, -1, "inference arithmetic: fp32 (default) or bf16 (neural models, CPUs with AVX512_BF16)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all cores)", false},
        {"--force", MN_OPT_FLAG, &force, 0, -1, "replace an existing --out", false},
        {"--quiet", MN_OPT_FLAG, &quiet, 0, -1, "no progress or summary", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--model MODEL --tx SRC --rx SRC --out DST.npy", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!model || !txs || !rxs || !out) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--model, --tx, --rx and --out are all required");
    mn_precision precision;
    if (parse_precision(cmd, prec, &precision)) return MN_EXIT_USAGE;
    if (check_output(cmd, out, force, txs, rxs) || check_output(cmd, out, true, model, NULL)) return MN_EXIT_USAGE;
    if (threads > 0) mn_threads_set(threads);
    mn_pim_canceller *q = NULL;
    mn_status st = mn_pim_canceller_open(&q, model, 0);
    if (st != MN_OK) return mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
    if ((st = mn_pim_canceller_set_precision(q, precision)) != MN_OK) {
        int code = mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        mn_pim_canceller_free(q);
        return code;
    }
    block_src tx, rx;
    memset(&rx, 0, sizeof rx);
    rx.mem = true;
    if ((st = src_open(&tx, txs)) != MN_OK || (st = src_open(&rx, rxs)) != MN_OK) {
        int code = mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
        src_close(&tx);
        src_close(&rx);
        mn_pim_canceller_free(q);
        return code;
    }
    const int ntx = mn_pim_canceller_n_tx(q), nrx = mn_pim_canceller_n_rx(q);
    const int64_t n = tx.n, D = mn_pim_canceller_latency(q);
    int code = 0;
    float complex *bt = NULL, *br = NULL, *bo = NULL;
    mn_npy_writer w;
    memset(&w, 0, sizeof w);
    if (tx.nch != ntx || rx.nch != nrx) {
        code = mn_cli_fail(MN_EXIT_USAGE, cmd, "the model maps %d Tx -> %d Rx channels, the data has %d -> %d", ntx, nrx,
                           tx.nch, rx.nch);
        goto done;
    }
    if (tx.n != rx.n) {
        code = mn_cli_fail(MN_EXIT_USAGE, cmd, "tx has %lld samples but rx has %lld: they must share one time base",
                           (long long)tx.n, (long long)rx.n);
        goto done;
    }
    if (block > n && n > 0) block = n;
    bt = mn_malloc((size_t)ntx * block * sizeof *bt);
    br = mn_malloc((size_t)nrx * block * sizeof *br);
    bo = mn_malloc((size_t)nrx * (block > D ? block : D) * sizeof *bo);
    if (!bt || !br || !bo) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "out of memory for blocks of %lld samples; try a smaller --block",
                           (long long)block);
        goto done;
    }
    if ((st = mn_npy_writer_open(&w, out, nrx, n)) != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "%s", mn_error_msg());
        goto done;
    }
    mn_cli_catch_sigint();
    double t0 = mn_time_sec(), last = t0;
    bool tty = isatty(2) != 0;
    /* Stream output o is sample o - D: the first D outputs are the pipeline filling. */
    for (int64_t pos = 0; pos < n && st == MN_OK; pos += block) {
        int64_t b = n - pos < block ? n - pos : block;
        if ((st = src_read(&tx, bt, pos, b)) != MN_OK || (st = src_read(&rx, br, pos, b)) != MN_OK ||
            (st = mn_pim_canceller_process(q, bt, br, bo, b)) != MN_OK)
            break;
        int64_t first = pos > D ? pos : D;
        if (first < pos + b) st = mn_npy_writer_write(&w, bo + (first - pos), b, first - D, pos + b - first);
        if (mn_cli_interrupted()) {
            st = mn_error(MN_ERR_INTERRUPTED, "interrupted at sample %lld of %lld; '%s' was not written", (long long)(pos + b),
                          (long long)n, out);
            break;
        }
        double now = mn_time_sec();
        if (!quiet && now - last >= (tty ? 0.5 : 10.0)) {
            last = now;
            fprintf(stderr, "%s%s: %5.1f%%  %lld of %lld samples  %.2f Msps%s", tty ? "\r" : "", cmd,
                    100.0 * (double)(pos + b) / (double)n, (long long)(pos + b), (long long)n,
                    (double)(pos + b) / (now - t0) * 1e-6, tty ? "\033[K" : "\n");
        }
    }
    if (st == MN_OK && (st = mn_pim_canceller_flush(q, bo)) == MN_OK && D > 0) {
        int64_t from = n - D > 0 ? n - D : 0; /* the flushed samples [n - D, n), those that exist */
        st = mn_npy_writer_write(&w, bo + (from - (n - D)), D, from, n - from);
    }
    if (st != MN_OK) {
        code = mn_cli_fail(st == MN_ERR_INTERRUPTED ? MN_EXIT_INTERRUPTED : mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
        mn_npy_writer_abort(&w);
        goto done;
    }
    if ((st = mn_npy_writer_commit(&w)) != MN_OK) {
        code = mn_cli_fail(MN_EXIT_RUNTIME, cmd, "%s", mn_error_msg());
        goto done;
    }
    if (!quiet) {
        double sec = mn_time_sec() - t0;
        fprintf(stderr, "%s%s: %lld samples x %d Rx in %.2f s (%.2f Msps, %s model, %s, latency %lld samples); wrote %s\n",
                tty ? "\r\033[K" : "", cmd, (long long)n, nrx, sec, (double)n / (sec > 0 ? sec : 1e-9) * 1e-6,
                mn_pim_canceller_kind(q), mn_precision_name(mn_pim_canceller_precision(q)), (long long)D, out);
    }
done:
    mn_free(bt);
    mn_free(br);
    mn_free(bo);
    src_close(&tx);
    src_close(&rx);
    mn_pim_canceller_free(q);
    return code;
}

int mn_cli_pim(int argc, char **argv)
{
    static const char *const usage = "usage: mimonet pim (simulate | train | eval | cancel) [options]\n"
                                     "'mimonet pim SUBCOMMAND --help' describes its options.\n";
    if (argc < 2)
        return mn_cli_fail(MN_EXIT_USAGE, "pim", "give a subcommand: simulate, train, eval or cancel (see 'mimonet pim --help')");
    const char *s = argv[1];
    if (!strcmp(s, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(s, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(s, "cancel")) return cmd_cancel(argc - 1, argv + 1);
    if (!strcmp(s, "simulate")) return mn_cli_pim_simulate(argc - 1, argv + 1);
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
        fputs(usage, stdout);
        return MN_EXIT_OK;
    }
    return mn_cli_fail(MN_EXIT_USAGE, "pim", "unknown subcommand '%s' (simulate, train, eval, cancel; see 'mimonet pim --help')", s);
}
