/* tests/pim/test_train_resume.c — issue 7 §4-5: crash-safe training.
 *   - library: a run stopped at random steps and resumed from its checkpoint ends bit-identical
 *     to an uninterrupted one (weights, best validation APE), even when the resuming process
 *     starts from other initial weights;
 *   - a checkpoint of another run (seed, data) is refused and leaves the model untouched; a
 *     damaged one is an error;
 *   - divergence stops training with the last good checkpoint left on disk, loadable;
 *   - CLI: `pim train` killed with SIGKILL at random moments, then --resume'd, writes the same
 *     model file byte for byte as an uninterrupted run; every checkpoint left behind loads;
 *     SIGINT saves a checkpoint and exits 130;
 *   - CLI: --restarts keeps the seed with the best probe and equals its plain run, also when
 *     killed and resumed.
 * The CLI test needs the binary: MN_CLI (set by `make test`), else build/mimonet. */
#include "mn_test.h"

#include <cjson/cJSON.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mimonet/io.h"
#include "mimonet/optim.h"
#include "mimonet/pim.h"

/* ------------------------------------------------------------------ library */

enum { NTX = 2, NRX = 1, NS = 16000, STEPS = 90 };

/* rx = a memoryless cross-antenna cubic of tx plus a little linear leakage. */
static void make_task(float complex *tx, float complex *rx, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    for (int64_t i = 0; i < (int64_t)NTX * NS; i++)
        tx[i] = CMPLXF((float)(0.6 * mn_rng_normal(&r)), (float)(0.6 * mn_rng_normal(&r)));
    for (int64_t i = 0; i < NS; i++) {
        float complex a = tx[i], b = tx[NS + i];
        rx[i] = a * (crealf(b) * crealf(b) + cimagf(b) * cimagf(b)) + 0.05f * b;
    }
}

static mn_pim_train_cfg base_cfg(void)
{
    mn_pim_train_cfg c = mn_pim_train_default();
    c.steps = STEPS;
    c.batch = 2;
    c.window = 1100;
    c.eval_every = 10;
    c.clr_half = 15;
    c.seed = 5;
    c.patience = 0;
    return c;
}

typedef struct {
    long stop_at;
} stopper;

static int stop_at(const mn_pim_progress *p, void *user)
{
    return p->step == ((stopper *)user)->stop_at;
}

typedef struct {
    mn_pim_net q;
    mn_span sp[3];
} run;

static mn_status start_kind(run *r, uint64_t init_seed, const char *kind)
{
    mn_rng g;
    mn_rng_seed(&g, init_seed);
    mn_status st = mn_pim_split(r->sp, NS, (const double[3]){0.75, 0.25, 0}, 1100);
    return st == MN_OK ? mn_pim_net_create(&r->q, kind, NTX, NRX, 2, 1100, &g) : st;
}

static mn_status start(run *r, uint64_t init_seed) { return start_kind(r, init_seed, "light"); }

MN_TEST(pim_train_resume_is_bit_identical)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    make_task(tx, rx, 21);
    const char *ck = mn_test_path(t, "state.ckpt");

    /* Uninterrupted. */
    run a;
    MN_CHECK_OK(t, start(&a, 1));
    mn_pim_train_cfg c = base_cfg();
    mn_pim_train_result ra;
    MN_CHECK_OK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &ra));
    MN_CHECK(t, ra.steps_done == STEPS && ra.resumed_from == 0 && ra.checkpoint_step == -1);

    /* Stopped at two random steps, each time resumed by a fresh model with other initial weights. */
    mn_rng g;
    mn_rng_seed(&g, t->seed ^ 0x5eedULL);
    long k1 = 1 + (long)mn_rng_below(&g, STEPS - 2);
    long k2 = k1 + 1 + (long)mn_rng_below(&g, (uint64_t)(STEPS - 1 - k1));
    long stops[2] = {k1, k2};
    c.checkpoint = ck;
    c.checkpoint_every = 7;
    c.progress = stop_at;
    run b = {0};
    mn_pim_train_result rb;
    for (int leg = 0; leg < 3; leg++) {
        MN_CHECK_OK(t, start(&b, leg == 0 ? 1 : 100 + (uint64_t)leg)); /* resumes start from other weights */
        stopper s = {.stop_at = leg < 2 ? stops[leg] : -1};
        c.progress_user = &s;
        c.resume = leg > 0;
        mn_status st = mn_pim_train(&b.q, tx, rx, NS, b.sp[0], b.sp[1], &c, &rb);
        if (leg < 2) {
            MN_CHECK_MSG(t, st == MN_ERR_INTERRUPTED, "leg %d: %s", leg, mn_error_msg());
            MN_CHECK(t, rb.checkpoint_step == stops[leg] && rb.steps_done == stops[leg]);
            mn_pim_ckpt_info info;
            MN_CHECK_OK(t, mn_pim_train_ckpt_info(ck, &info));
            MN_CHECK(t, info.step == stops[leg] && info.steps == STEPS && !strcmp(info.kind, "light") &&
                            info.n_tx == NTX && info.n_rx == NRX);
            mn_pim_net_free(&b.q);
        } else {
            MN_CHECK_OK(t, st);
            MN_CHECK(t, rb.resumed_from == k2 && rb.steps_done == STEPS && rb.resume_note[0] == '\0');
        }
    }
    MN_CHECK_MSG(t, a.q.model.params.total == b.q.model.params.total &&
                        memcmp(a.q.model.params.w, b.q.model.params.w, a.q.model.params.total * sizeof(float)) == 0,
                 "weights differ after stops at %ld and %ld", k1, k2);
    MN_CHECK(t, ra.best_val_ape_db == rb.best_val_ape_db && ra.best_step == rb.best_step &&
                    ra.final_loss == rb.final_loss);
    mn_pim_net_free(&a.q);
    mn_pim_net_free(&b.q);
    mn_free(tx);
    mn_free(rx);
}

/* Early stopping counts validations without improvement.  With a learning rate of 1e-30 the
 * weights of junction (no batch norm, whose running statistics would move) never change, so
 * the validation APE never beats the first one (step E): a patience of P stops at step
 * (1 + P) E.  The automatic patience (-1) is one LR cycle plus two validations: a half cycle
 * of 50 steps validated every 10 gives 100 / 10 + 2 = 12, so step 130, not the fixed 8
 * (step 90) that stopped long runs at a peak of the cyclical LR. */
MN_TEST(pim_train_early_stop_patience)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    make_task(tx, rx, 23);
    const struct {
        int patience;
        long clr_half, stop;
    } cases[] = {{3, 50, 40}, {0, 50, 300}, {-1, 50, 130}, {-1, 15, 60}, {-1, 0, 90}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        MN_CHECK_OK(t, start_kind(&r, 1, "junction"));
        mn_pim_train_cfg c = base_cfg();
        c.steps = 300;
        c.lr_min = 0;
        c.lr_max = 1e-30f;
        c.patience = cases[i].patience;
        c.clr_half = cases[i].clr_half; /* 0: steps / 10 = 30, so 60 / 10 + 2 = 8 */
        mn_pim_train_result res;
        MN_CHECK_OK(t, mn_pim_train(&r.q, tx, rx, NS, r.sp[0], r.sp[1], &c, &res));
        MN_CHECK_MSG(t, res.steps_done == cases[i].stop && res.stopped_early == (cases[i].stop < c.steps),
                     "patience %d, half cycle %ld: stopped at step %ld (early %d), want %ld", cases[i].patience,
                     cases[i].clr_half, res.steps_done, res.stopped_early, cases[i].stop);
        MN_CHECK(t, res.best_step == 10);
        mn_pim_net_free(&r.q);
    }
    mn_free(tx);
    mn_free(rx);
}

/* Train q on the task until step 12, checkpointing to ck (MN_ERR_INTERRUPTED then), and leave
 * *c set to resume that run. */
static mn_status run_to_step_12(mn_pim_net *q, const float complex *tx, const float complex *rx, const mn_span *sp,
                                const char *ck, mn_pim_train_cfg *c)
{
    *c = base_cfg();
    c->checkpoint = ck;
    stopper s = {.stop_at = 12};
    c->progress = stop_at;
    c->progress_user = &s;
    mn_pim_train_result r;
    mn_status st = mn_pim_train(q, tx, rx, NS, sp[0], sp[1], c, &r);
    c->progress = NULL;
    c->progress_user = NULL;
    c->resume = true;
    return st;
}

MN_TEST(pim_train_resume_refuses_another_run)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    make_task(tx, rx, 22);
    const char *ck = mn_test_path(t, "state.ckpt");
    run a;
    MN_CHECK_OK(t, start(&a, 1));
    mn_pim_train_cfg c;
    mn_pim_train_result r;
    MN_CHECK(t, run_to_step_12(&a.q, tx, rx, a.sp, ck, &c) == MN_ERR_INTERRUPTED);
    float *before = mn_malloc(a.q.model.params.total * sizeof(float));
    memcpy(before, a.q.model.params.w, a.q.model.params.total * sizeof(float));
    size_t nw = a.q.model.params.total;

    /* Another seed, other data, another split: refused, model untouched. */
    c.seed = 6;
    MN_CHECK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r) == MN_ERR_INVALID);
    MN_CHECK(t, strstr(mn_error_msg(), "--seed") != NULL);
    c.seed = 5;
    rx[777] += 1e-3f;
    MN_CHECK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r) == MN_ERR_INVALID);
    MN_CHECK(t, strstr(mn_error_msg(), "other data") != NULL);
    rx[777] -= 1e-3f;
    mn_span v2 = {a.sp[1].begin + 1, a.sp[1].end};
    MN_CHECK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], v2, &c, &r) == MN_ERR_INVALID);
    MN_CHECK(t, memcmp(before, a.q.model.params.w, nw * sizeof(float)) == 0);

    /* Other learning rates are allowed and reported. */
    c.lr_max = 5e-3f;
    c.steps = 14;
    MN_CHECK_OK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r));
    MN_CHECK_MSG(t, strstr(r.resume_note, "lr_max") && strstr(r.resume_note, "steps"), "note: '%s'", r.resume_note);

    /* Damaged: truncated, or not a training state at all. */
    size_t len = 0;
    unsigned char *bytes = mn_test_read_bytes(ck, &len);
    MN_CHECK(t, bytes && len > 100);
    const char *cut = mn_test_path(t, "cut.ckpt");
    MN_CHECK(t, bytes && mn_test_write_bytes(cut, bytes, len - 9) == 0);
    free(bytes);
    c.checkpoint = cut;
    c.lr_max = 1e-2f;
    MN_CHECK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r) == MN_ERR_FORMAT);
    mn_pim_ckpt_info info;
    MN_CHECK(t, mn_pim_train_ckpt_info(cut, &info) == MN_ERR_FORMAT);
    const char *model = mn_test_path(t, "model.safetensors");
    MN_CHECK_OK(t, mn_pim_net_save(&a.q, model, NULL, NULL, 0));
    MN_CHECK(t, mn_pim_train_ckpt_info(model, &info) == MN_ERR_FORMAT);
    MN_CHECK(t, strstr(mn_error_msg(), "not a mimonet training checkpoint") != NULL);
    c.checkpoint = NULL;
    MN_CHECK(t, mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r) == MN_ERR_INVALID); /* resume, no file */
    mn_free(before);
    mn_pim_net_free(&a.q);
    mn_free(tx);
    mn_free(rx);
}

/* A junction run with 3 sources, resumed by a net with 2: refused as another layout, the
 * message naming --sources, and the net untouched. */
MN_TEST(pim_train_resume_refuses_other_sources)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    MN_CHECK(t, tx && rx);
    if (!tx || !rx) {
        mn_free(tx);
        mn_free(rx);
        return;
    }
    make_task(tx, rx, 23);
    const char *ck = mn_test_path(t, "state.ckpt");
    mn_span sp[3];
    MN_CHECK_OK(t, mn_pim_split(sp, NS, (const double[3]){0.75, 0.25, 0}, 1100));
    mn_rng g;
    mn_rng_seed(&g, 1);
    mn_pim_net a, b;
    MN_CHECK_OK(t, mn_pim_net_create_opts(&a, "junction", &(mn_pim_model_opts){.sources = 3}, NTX, NRX, 2, 1100, &g));
    mn_pim_train_cfg c;
    mn_pim_train_result r;
    MN_CHECK(t, run_to_step_12(&a, tx, rx, sp, ck, &c) == MN_ERR_INTERRUPTED);
    MN_CHECK_OK(t, mn_pim_net_create_opts(&b, "junction", &(mn_pim_model_opts){.sources = 2}, NTX, NRX, 2, 1100, &g));
    float *before = mn_malloc(b.model.params.total * sizeof(float));
    MN_CHECK(t, before != NULL);
    if (before) memcpy(before, b.model.params.w, b.model.params.total * sizeof(float));
    MN_CHECK(t, mn_pim_train(&b, tx, rx, NS, sp[0], sp[1], &c, &r) == MN_ERR_INVALID);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "--sources") != NULL, "'%s'", mn_error_msg());
    MN_CHECK(t, before && memcmp(before, b.model.params.w, b.model.params.total * sizeof(float)) == 0);
    /* the same sources resume */
    MN_CHECK_OK(t, mn_pim_train(&a, tx, rx, NS, sp[0], sp[1], &c, &r));
    mn_free(before);
    mn_pim_net_free(&a);
    mn_pim_net_free(&b);
    mn_free(tx);
    mn_free(rx);
}

MN_TEST(pim_train_divergence_keeps_last_good_checkpoint)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    make_task(tx, rx, 23);
    const char *ck = mn_test_path(t, "state.ckpt");
    run a;
    MN_CHECK_OK(t, start(&a, 1));
    mn_pim_train_cfg c = base_cfg();
    /* A learning rate climbing linearly to 1e30 over 60 steps blows the weights up. */
    c.steps = 200;
    c.lr_max = 1e30f;
    c.clr_half = 60;
    c.sched = MN_SCHED_TRIANGULAR;
    c.checkpoint = ck;
    c.checkpoint_every = 2;
    mn_pim_train_result r;
    mn_status st = mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r);
    MN_CHECK_MSG(t, st == MN_ERR_NUMERIC, "status %d: %s", (int)st, mn_error_msg());
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "diverged") && strstr(mn_error_msg(), "last good checkpoint"), "%s",
                 mn_error_msg());
    MN_CHECK(t, r.checkpoint_step >= 2);
    mn_pim_ckpt_info info;
    MN_CHECK_OK(t, mn_pim_train_ckpt_info(ck, &info));
    MN_CHECK(t, info.step == r.checkpoint_step);
    /* The model holds finite weights (the best so far), usable as they are. */
    bool finite = true;
    for (size_t i = 0; i < a.q.model.params.total; i++) finite = finite && isfinite(a.q.model.params.w[i]);
    MN_CHECK(t, finite);
    mn_pim_net_free(&a.q);
    mn_free(tx);
    mn_free(rx);
}

/* ------------------------------------------------------------------ CLI */

/* Absolute, since the children run in the test folder. */
static const char *cli_path(void)
{
    static char abs[PATH_MAX];
    const char *c = getenv("MN_CLI");
    if (!c || !*c) c = "build/mimonet";
    return access(c, X_OK) == 0 && realpath(c, abs) ? abs : NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Start `cli pim train <common> --out out --curve out.csv [--resume] [extra...]` in dir, stdio to
 * /dev/null (stdout to `json` when given).  extra: NULL-terminated, or NULL. */
static pid_t spawn_x(const char *cli, const char *dir, const char *out, bool resume, const char *const *extra,
                     const char *json)
{
    char curve[512];
    snprintf(curve, sizeof curve, "%s.csv", out);
    const char *argv[40] = {cli, "pim", "train", "--data", "d", "--out", out, "--window", "1100", "--batch", "4",
                            "--steps", "200", "--eval-every", "10", "--checkpoint-every", "5", "--threads", "2",
                            "--curve", curve, "--quiet"};
    int argc = 22;
    if (resume) argv[argc++] = "--resume";
    for (int i = 0; extra && extra[i] && argc < 39; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid != 0) return pid;
    int nul = open("/dev/null", O_RDWR), js = json ? open(json, O_WRONLY | O_CREAT | O_TRUNC, 0644) : nul;
    if (nul < 0 || js < 0 || dup2(nul, 0) < 0 || dup2(js, 1) < 0 || dup2(nul, 2) < 0 || chdir(dir) != 0) _exit(127);
    alarm(120);
    execv(cli, (char *const *)argv);
    _exit(127);
}

static pid_t spawn(const char *cli, const char *dir, const char *out, bool resume)
{
    return spawn_x(cli, dir, out, resume, NULL, NULL);
}

/* Wait for pid; the exit code, or -signal. */
static int reap(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1000;
    return WIFSIGNALED(st) ? -WTERMSIG(st) : WEXITSTATUS(st);
}

/* A kill can land after a run has finished its work: the model written and the checkpoint
 * removed, while the process is still exiting (slow under sanitizers).  That run is complete,
 * and a rerun would rightly refuse to overwrite its model. */
static bool finished_before_kill(const char *dir, const char *out, const char *ckpt)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, out);
    return access(path, F_OK) == 0 && access(ckpt, F_OK) != 0;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static bool same_bytes(const char *a, const char *b)
{
    size_t na = 0, nb = 0;
    unsigned char *x = mn_test_read_bytes(a, &na), *y = mn_test_read_bytes(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

MN_TEST(pim_train_cli_survives_sigkill_and_sigint)
{
    const char *cli = cli_path();
    if (!cli) {
        MN_CHECK_MSG(t, 0, "no mimonet binary: build it (make) and set MN_CLI to its path");
        return;
    }
    const char *dir = mn_test_tmpdir(t);
    char cmd[8192], path[4400], ck[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' pim simulate --out d --samples 16000 --tx 2 --rx 1 --seed 4 --quiet --no-plot",
             dir, cli);
    MN_CHECK(t, system(cmd) == 0);

    double t0 = now();
    MN_CHECK(t, reap(spawn(cli, dir, "ref.safetensors", false)) == 0);
    double t_ref = now() - t0;
    snprintf(path, sizeof path, "%s/ref.safetensors", dir);
    snprintf(ck, sizeof ck, "%s/b.safetensors.ckpt", dir);
    MN_CHECK(t, access(path, R_OK) == 0);
    snprintf(path, sizeof path, "%s/ref.safetensors.ckpt", dir);
    MN_CHECK_MSG(t, access(path, F_OK) != 0, "the checkpoint of a finished run was left behind");

    /* SIGKILL at random moments; each time the checkpoint (if any yet) must load, and never move back.
     * The delays scale with the reference run's time; when the machine got faster since (a shared
     * machine), a run may end before three kills land: that attempt's files go and the next one
     * kills sooner. */
    mn_rng g;
    mn_rng_seed(&g, t->seed ^ 0xdeadULL);
    long last_step = 0;
    int kills = 0, resumed = 0, finished = 0;
    double scale = t_ref;
    for (int attempt = 0; attempt < 4 && (kills < 3 || resumed < 2); attempt++, scale /= 3) {
        const char *old_files[] = {"b.safetensors", "b.safetensors.csv"};
        for (int f = 0; f < 2; f++) {
            snprintf(path, sizeof path, "%s/%s", dir, old_files[f]);
            (void)unlink(path);
        }
        last_step = 0;
        kills = resumed = finished = 0;
        for (int i = 0; i < 6 && !finished; i++) {
            bool have = access(ck, F_OK) == 0;
            resumed += have;
            pid_t pid = spawn(cli, dir, "b.safetensors", have);
            sleep_s(scale * (0.1 + 0.6 * mn_rng_uniform(&g)) * (double)(200 - last_step) / 200.0);
            kill(pid, SIGKILL);
            int code = reap(pid);
            if (code == 0) {
                finished = 1; /* it completed before the kill landed */
                break;
            }
            MN_CHECK_MSG(t, code == -SIGKILL, "run %d ended with %d", i, code);
            kills++;
            if (finished_before_kill(dir, "b.safetensors", ck)) {
                finished = 1;
                break;
            }
            if (access(ck, F_OK) == 0) {
                mn_pim_ckpt_info info;
                mn_status st = mn_pim_train_ckpt_info(ck, &info);
                MN_CHECK_MSG(t, st == MN_OK, "checkpoint after kill %d does not load: %s", i, mn_error_msg());
                MN_CHECK_MSG(t, st != MN_OK || info.step >= last_step, "checkpoint went back from step %ld to %ld",
                             last_step, info.step);
                if (st == MN_OK) last_step = info.step;
            }
        }
        if (!finished) MN_CHECK(t, reap(spawn(cli, dir, "b.safetensors", access(ck, F_OK) == 0)) == 0);
    }
    MN_CHECK_MSG(t, kills >= 3 && resumed >= 2, "only %d kills, %d resumes landed", kills, resumed);
    char a[4400], b[4400];
    snprintf(a, sizeof a, "%s/ref.safetensors", dir);
    snprintf(b, sizeof b, "%s/b.safetensors", dir);
    MN_CHECK_MSG(t, same_bytes(a, b), "resumed model differs from the uninterrupted one (%d kills, last step %ld)", kills,
                 last_step);
    MN_CHECK(t, access(ck, F_OK) != 0);
    /* The training curve, cut at each checkpoint and continued, is the uninterrupted one. */
    snprintf(a, sizeof a, "%s/ref.safetensors.csv", dir);
    snprintf(b, sizeof b, "%s/b.safetensors.csv", dir);
    MN_CHECK_MSG(t, same_bytes(a, b), "the resumed --curve differs from the uninterrupted one");
    snprintf(a, sizeof a, "%s/ref.safetensors", dir);
    /* Nothing half-written left beside it: ref and b with their curves, no temporaries, no checkpoint. */
    int models = mn_test_count_files(dir, ".safetensors"), temps = mn_test_count_files(dir, ".tmp."),
        ckpts = mn_test_count_files(dir, ".ckpt");
    MN_CHECK_MSG(t, models == 4 && temps == 0 && ckpts == 0, "%d model and curve files, %d temporaries, %d checkpoints left",
                 models, temps, ckpts);

    /* SIGINT: a checkpoint, exit 130, and the resumed run again ends identical. */
    snprintf(ck, sizeof ck, "%s/c.safetensors.ckpt", dir);
    pid_t pid = spawn(cli, dir, "c.safetensors", false);
    for (double w = 0; access(ck, F_OK) != 0 && w < 60; w += 0.01) sleep_s(0.01);
    kill(pid, SIGINT);
    int code = reap(pid);
    if (code == 0) {
        MN_CHECK(t, 1); /* finished before the signal: nothing to resume */
    } else {
        MN_CHECK_MSG(t, code == 130, "SIGINT exit code %d", code);
        mn_pim_ckpt_info info;
        MN_CHECK_OK(t, mn_pim_train_ckpt_info(ck, &info));
        MN_CHECK(t, reap(spawn(cli, dir, "c.safetensors", true)) == 0);
    }
    snprintf(b, sizeof b, "%s/c.safetensors", dir);
    MN_CHECK(t, same_bytes(a, b));
}

/* The best validation APE by step `probe` in a --curve CSV (-INFINITY if none). */
static double curve_best(const char *path, long probe)
{
    size_t n = 0;
    char *txt = (char *)mn_test_read_bytes(path, &n);
    double best = -(double)INFINITY;
    char *l = txt ? strchr(txt, '\n') : NULL; /* past the header */
    while (l && *++l) {
        char *end = strchr(l, '\n');
        if (end) *end = '\0';
        long step = strtol(l, NULL, 10);
        const char *last = strrchr(l, ',');
        double a = last ? strtod(last + 1, NULL) : (double)NAN;
        if (step <= probe && isfinite(a) && a > best) best = a;
        l = end;
    }
    free(txt);
    return best;
}

/* pim train --restarts 3: every seed's probe figure is its plain run's best validation APE by the
 * probe step, the kept seed has the highest, and the model and curve are byte for byte a plain
 * run of that seed.  Killed at random moments (while probing or after the choice) and resumed,
 * it ends the same, with no candidate files left. */
MN_TEST(pim_train_cli_restarts_keep_the_best_seed)
{
    const char *cli = cli_path();
    if (!cli) {
        MN_CHECK_MSG(t, 0, "no mimonet binary: build it (make) and set MN_CLI to its path");
        return;
    }
    const char *dir = mn_test_tmpdir(t);
    char cmd[8192], a[4400], b[4400], js[4400];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' pim simulate --out d --samples 16000 --tx 2 --rx 1 --seed 4 --quiet --no-plot",
             dir, cli);
    MN_CHECK(t, system(cmd) == 0);
    enum { R = 3, PROBE = 70 };
    const uint64_t seed0 = 2 + t->seed % 5;
    char seed_s[32];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)seed0);
    const char *extra[] = {"--restarts", "3", "--probe", "70", "--seed", seed_s, "--json", NULL};
    snprintf(js, sizeof js, "%s/r.json", dir);
    double t0 = now();
    MN_CHECK(t, reap(spawn_x(cli, dir, "r.safetensors", false, extra, js)) == 0);
    double t_ref = now() - t0;
    size_t n = 0;
    char *txt = (char *)mn_test_read_bytes(js, &n);
    cJSON *o = txt ? cJSON_ParseWithLength(txt, n) : NULL;
    free(txt);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "restarts");
    const cJSON *chosen = cJSON_GetObjectItemCaseSensitive(rs, "chosen_seed"),
                *probes = cJSON_GetObjectItemCaseSensitive(rs, "probe_val_ape_db");
    MN_CHECK_MSG(t, cJSON_IsNumber(chosen) && cJSON_GetArraySize(probes) == R, "no restarts record in the JSON");
    if (!cJSON_IsNumber(chosen) || cJSON_GetArraySize(probes) != R) {
        cJSON_Delete(o);
        return;
    }
    uint64_t kept = (uint64_t)chosen->valuedouble;
    double top = -(double)INFINITY;
    for (int i = 0; i < R; i++) {
        /* the plain run of seed0 + i, whose curve gives the probe figure independently */
        char sd[32], out[64];
        snprintf(sd, sizeof sd, "%llu", (unsigned long long)(seed0 + (uint64_t)i));
        snprintf(out, sizeof out, "p%d.safetensors", i);
        const char *plain[] = {"--seed", sd, NULL};
        MN_CHECK(t, reap(spawn_x(cli, dir, out, false, plain, NULL)) == 0);
        snprintf(a, sizeof a, "%s/%s.csv", dir, out);
        double want = curve_best(a, PROBE), got = cJSON_GetArrayItem(probes, i)->valuedouble;
        MN_CHECK_MSG(t, fabs(want - got) < 1e-3, "seed %s: probe %.5f dB, its plain run's curve %.5f dB", sd, got, want);
        if (got > top) top = got;
        if (seed0 + (uint64_t)i == kept) {
            MN_CHECK_MSG(t, got == top, "kept seed %s is not the best so far", sd);
            snprintf(a, sizeof a, "%s/r.safetensors", dir);
            snprintf(b, sizeof b, "%s/%s", dir, out);
            MN_CHECK_MSG(t, same_bytes(a, b), "the --restarts model differs from seed %s's plain run", sd);
            snprintf(a, sizeof a, "%s/r.safetensors.csv", dir);
            snprintf(b, sizeof b, "%s/%s.csv", dir, out);
            MN_CHECK_MSG(t, same_bytes(a, b), "the --restarts curve differs from seed %s's plain run", sd);
        }
    }
    MN_CHECK(t, cJSON_GetArrayItem(probes, (int)(kept - seed0))->valuedouble == top);
    cJSON_Delete(o);
    MN_CHECK(t, mn_test_count_files(dir, ".seed") == 0 && mn_test_count_files(dir, ".ckpt") == 0);

    /* SIGKILL at random moments, then --resume: the same model and curve.  The delays scale with
     * the reference run's time; when the machine got faster since (a shared machine), a run may
     * end before two kills land: that attempt's files go and the next one kills sooner. */
    mn_rng g;
    mn_rng_seed(&g, t->seed ^ 0xbeefULL);
    int kills = 0, finished = 0;
    const char *again[] = {"--restarts", "3", "--probe", "70", "--seed", seed_s, NULL};
    double scale = t_ref;
    for (int attempt = 0; attempt < 4 && kills < 2; attempt++, scale /= 3) {
        const char *old_files[] = {"k.safetensors", "k.safetensors.csv"};
        for (int f = 0; f < 2; f++) {
            snprintf(a, sizeof a, "%s/%s", dir, old_files[f]);
            (void)unlink(a);
        }
        kills = finished = 0;
        for (int i = 0; i < 8 && !finished; i++) {
            bool have = mn_test_count_files(dir, "k.safetensors.ckpt") > 0;
            pid_t pid = spawn_x(cli, dir, "k.safetensors", have, again, NULL);
            sleep_s(scale * (0.05 + 0.4 * mn_rng_uniform(&g)));
            kill(pid, SIGKILL);
            int code = reap(pid);
            if (code == 0) finished = 1;
            else {
                MN_CHECK_MSG(t, code == -SIGKILL, "run %d ended with %d", i, code);
                kills++;
                char ck[4400];
                snprintf(ck, sizeof ck, "%s/k.safetensors.ckpt", dir);
                finished = finished_before_kill(dir, "k.safetensors", ck) && mn_test_count_files(dir, ".seed") == 0;
            }
        }
        if (!finished)
            MN_CHECK(t, reap(spawn_x(cli, dir, "k.safetensors", mn_test_count_files(dir, "k.safetensors.ckpt") > 0,
                                     again, NULL)) == 0);
    }
    MN_CHECK_MSG(t, kills >= 2, "only %d kills landed", kills);
    snprintf(a, sizeof a, "%s/r.safetensors", dir);
    snprintf(b, sizeof b, "%s/k.safetensors", dir);
    MN_CHECK_MSG(t, same_bytes(a, b), "the killed and resumed --restarts model differs (%d kills)", kills);
    snprintf(a, sizeof a, "%s/r.safetensors.csv", dir);
    snprintf(b, sizeof b, "%s/k.safetensors.csv", dir);
    MN_CHECK_MSG(t, same_bytes(a, b), "the killed and resumed --restarts curve differs (%d kills)", kills);
    MN_CHECK(t, mn_test_count_files(dir, ".seed") == 0 && mn_test_count_files(dir, ".ckpt") == 0 &&
                    mn_test_count_files(dir, ".tmp.") == 0);
}

/* Every allocation of a checkpointed training run, of resuming it, and of reading a checkpoint's
 * description can fail: each failure is an error status, leaks nothing, and leaves the file on
 * disk loadable. */
MN_TEST(pim_train_checkpoint_alloc_failure_sweep)
{
    float complex *tx = mn_malloc(sizeof *tx * NTX * NS), *rx = mn_malloc(sizeof *rx * NRX * NS);
    make_task(tx, rx, 24);
    char ck[4400];
    snprintf(ck, sizeof ck, "%s", mn_test_path(t, "state.ckpt"));
    mn_pim_train_cfg c = base_cfg();
    c.eval_every = 2;
    c.checkpoint = ck;
    c.checkpoint_every = 1;
    for (int phase = 0; phase < 3; phase++) {
        c.resume = phase == 1;
        c.steps = phase == 1 ? 3 : 2; /* phase 0 checkpoints step 1; phase 1 resumes it, saves step 2 */
        int ok = 0;
        for (long k = 1; k < 20000 && !ok; k++) {
            long live0 = mn_alloc_live();
            run a;
            mn_status st;
            mn_pim_train_result r;
            mn_pim_ckpt_info info;
            if (phase < 2) {
                /* the model is built outside the sweep: training and checkpoint I/O are under test */
                if (start(&a, 1) != MN_OK) {
                    MN_CHECK(t, 0);
                    break;
                }
                mn_alloc_fail_at(k);
                st = mn_pim_train(&a.q, tx, rx, NS, a.sp[0], a.sp[1], &c, &r);
                mn_alloc_fail_at(0);
                mn_pim_net_free(&a.q);
            } else {
                mn_alloc_fail_at(k);
                st = mn_pim_train_ckpt_info(ck, &info);
                mn_alloc_fail_at(0);
            }
            if (st == MN_OK) ok = 1;
            else MN_CHECK_MSG(t, st == MN_ERR_NOMEM, "phase %d, allocation %ld: status %d (%s)", phase, k, (int)st,
                              mn_error_msg());
            MN_CHECK_MSG(t, mn_alloc_live() == live0, "phase %d: %ld bytes leaked after failing allocation %ld", phase,
                         mn_alloc_live() - live0, k);
            if (phase > 0 || ok) MN_CHECK_MSG(t, mn_pim_train_ckpt_info(ck, &info) == MN_OK, "phase %d, allocation %ld: "
                                                                                         "checkpoint unloadable", phase, k);
        }
        MN_CHECK_MSG(t, ok, "phase %d never succeeded", phase);
    }
    mn_free(tx);
    mn_free(rx);
}
