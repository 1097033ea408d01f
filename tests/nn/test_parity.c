/*
 * tests/nn/test_parity.c — PyTorch parity for the light PIM model of DESIGN.md.
 *
 * The reference tests/data/light_ref.safetensors is written by the committed generator
 * tools/gen_torch_ref.py (Debian's python3-torch 1.13, float32, one thread, seeded; its
 * docstring lists every tensor).  This test needs no Python: it loads the file with
 * mn_safetensors_load_new, builds the model with mn_pim_model_light(32, 16), copies the
 * reference's initial weights in by name, and checks
 *   1. the training-mode forward output, the border-masked MSE, every parameter gradient and
 *      the input gradient;
 *   2. that the comparison can fail: a perturbed weight breaks the forward check;
 *   3. the 10-step AdamW + triangular CLR + global-norm clipping trace, step by step: each step
 *      starts from torch's state (weights and BN running stats; mimonet keeps its OWN Adam
 *      moments across the steps) and must reproduce torch's loss, pre-clip gradient norm, lr,
 *      and the state after the step — the last one being the final weights and running stats;
 *   4. the same 10 steps free-running (mimonet's own state throughout): the loss trace.
 *
 * Why step 3 restarts from torch's state.  Some gradients of this model are pure rounding
 * noise: the pointwise biases l1/l2/l3.pw.bias feed a training-mode batch norm, which removes
 * any per-channel shift, so their true gradient is exactly 0; and l3's input is a sigmoid
 * output that is nearly constant per channel, so most channels of l3.dw.bias only shift the
 * pointwise output as well.  AdamW normalizes each gradient by its own running RMS (its gain
 * at g = 0 is lr/eps = 1e6), so it turns that noise into steps of up to ~lr whose sign is
 * decided by rounding.  Once such a bias has drifted, a few depthwise outputs of l3 cross the
 * LeakyReLU kink, which changes other gradients by several percent (measured: 8% at step 2)
 * while the loss moves by 1e-7.  A free-running float32 trajectory is therefore determined
 * only to a few percent after 2-3 steps, whoever computes it (torch's own float32 and float64
 * runs drift apart too: for this reference by 0.4% rms in the weights after 10 steps, for a
 * target of scale 1 instead of 8 by 3%), and comparing free-running weights would need
 * tolerances that hide real bugs (mimonet vs torch free-running: up to 5% rms).
 * Restarting every step from torch's state removes the accumulation; then every element whose
 * gradient is above noise (|g| > 1e-5 max|g|, not one of the four biases above: 96-98% of
 * them) must match to 1e-3 lr, and the rest, whose update may be decided by rounding, must
 * stay within the largest step Adam can take.
 *
 * Tolerances (measured mimonet-vs-torch in parentheses; `tools/gen_torch_ref.py --check-fp64`
 * prints torch's own float32-vs-float64 spread, which is of the same size):
 *   forward output        max|d| / max|out|          1e-4   (7.8e-7)
 *   loss                  relative                   1e-5   (3e-8)
 *   gradients             max|d| / max|g| per tensor 1e-3   (7.1e-6, l4.dw.weight)
 *   step loss             relative                   1e-5   (6.8e-8)
 *   step gradient norm    relative                   1e-4   (3.4e-6)
 *   step lr               relative                   1e-6   (0)
 *   step weights, |g| > 1e-5 max|g|:  |d| <= 1e-3 lr_s       (1.2e-4 lr_s)
 *   step weights, the rest:           |d| <= 2 B_t lr_s + 2 lr_s wd |w|, B_t the bound on
 *                                     |m_hat / sqrt(v_hat)| below (1 to 1.04)    (1.92 lr_s,
 *                                     at step 0 where the bound is 2 lr_s)
 *   step running stats    max|d| / max|stat|         1e-4   (1.1e-5)
 *   free-running loss     relative, every step       1e-3   (6.8e-5)
 * The test can fail: each of these deliberate mistakes, made once in this file's trainer and
 * then reverted, fails parity_light_train_steps (200 to 520 failed checks): Adam + L2 instead
 * of AdamW, no weight decay, the lr schedule one step early, clipping at 0.9, the bias
 * correction frozen at t = 1, beta2 = 0.99, an eval-mode forward, a loss window one sample
 * short.  The looser free-running loss check alone catches five of the eight.
 * torch's clip_grad_norm_ scales by max_norm / (norm + 1e-6) where mimonet scales by
 * max_norm / norm: a relative difference of 1e-6 per clipped step, far below all of these.
 */
#include <math.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mn_test.h"
#include "mimonet/io.h"
#include "mimonet/nn.h"
#include "mimonet/optim.h"
#include "mimonet/pim.h"

/* The generator's settings (checked against the file's metadata). */
enum { REF_B = 2, REF_T = 48, REF_NTX = 32, REF_NRX = 16, REF_BORDER = 8, REF_STEPS = 10 };
#define REF_CIN (2 * REF_NTX)
#define REF_COUT (2 * REF_NRX)

#define TOL_OUT 1e-4          /* forward: max|d| / max|out| */
#define TOL_LOSS 1e-5         /* loss: relative */
#define TOL_GRAD 1e-3         /* gradients: max|d| / max|g| of each tensor */
#define TOL_STEP_LOSS 1e-5    /* per-step loss: relative */
#define TOL_STEP_GNORM 1e-4   /* per-step pre-clip gradient norm: relative */
#define TOL_STEP_LR 1e-6      /* per-step learning rate: relative */
#define TOL_STEP_W 1e-3       /* per-step weights above noise: |d| / lr */
#define NOISE_G 1e-5          /* |g| <= NOISE_G * max|g|: a gradient at rounding-noise level
                               * (the biases feeding a BN are classed by name: l3.pw.bias,
                               * true value 0, computes to 2e-5 max|g|) */
#define TOL_STEP_STAT 1e-4    /* per-step BN running stats: max|d| / max|stat| */
#define TOL_FREE_LOSS 1e-3    /* free-running loss: relative */

/* ---------------------------------------------------------------- helpers */

typedef struct {
    mn_params ref;   /* every tensor of the reference file */
    char *meta;      /* its __metadata__ as JSON text */
    mn_model m;      /* the light model, built for REF_B x REF_T */
    bool ok;
} parity;

/* The reference tensor `name`, checking its element count; NULL (and a failure) if absent. */
static const float *ref_get(mn_test_ctx *t, const parity *P, const char *name, size_t numel)
{
    int i = mn_params_find(&P->ref, name);
    MN_CHECK_MSG(t, i >= 0, "reference tensor '%s' missing", name);
    if (i < 0) return NULL;
    MN_CHECK_MSG(t, P->ref.defs[i].numel == numel, "reference tensor '%s' has %zu elements, want %zu",
                 name, P->ref.defs[i].numel, numel);
    return P->ref.defs[i].numel == numel ? mn_params_w(&P->ref, i) : NULL;
}

static double max_abs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i]));
    return m;
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* Numeric setting `key` of the metadata's "settings" JSON object (-1 if absent). */
static double setting(const char *meta, const char *key)
{
    double v = -1;
    cJSON *root = cJSON_Parse(meta);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "settings");
    cJSON *set = cJSON_IsString(s) ? cJSON_Parse(s->valuestring) : NULL;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(set, key);
    if (cJSON_IsNumber(it)) v = it->valuedouble;
    cJSON_Delete(set);
    cJSON_Delete(root);
    return v;
}

/* Copy "init.<name>" of every model tensor (weights and BN running stats) into the model. */
static void load_init(mn_test_ctx *t, parity *P)
{
    const mn_params *p = &P->m.params;
    for (int i = 0; i < p->n; i++) {
        char key[MN_NAME_MAX + 8];
        snprintf(key, sizeof key, "init.%s", p->defs[i].name);
        const float *src = ref_get(t, P, key, p->defs[i].numel);
        if (!src) {
            P->ok = false;
            continue;
        }
        memcpy(mn_params_w(p, i), src, p->defs[i].numel * sizeof(float));
    }
}

/* Load the reference and build the model with the reference's initial weights. */
static bool parity_open(mn_test_ctx *t, parity *P)
{
    memset(P, 0, sizeof *P);
    mn_model_init(&P->m);
    mn_status st = mn_safetensors_load_new(&P->ref, mn_test_data_path("light_ref.safetensors"), &P->meta);
    MN_CHECK_OK(t, st);
    if (st != MN_OK) return false;
    MN_CHECK_MSG(t, P->meta != NULL, "reference has no metadata");
    if (!P->meta) return false;
    MN_CHECK(t, strstr(P->meta, "gen_torch_ref.py") != NULL);
    /* The constants of this test are the generator's settings. */
    MN_CHECK(t, setting(P->meta, "batch") == REF_B && setting(P->meta, "T") == REF_T);
    MN_CHECK(t, setting(P->meta, "n_tx") == REF_NTX && setting(P->meta, "n_rx") == REF_NRX);
    MN_CHECK(t, setting(P->meta, "border") == REF_BORDER && setting(P->meta, "steps") == REF_STEPS);

    int out = mn_pim_model_light(&P->m, REF_NTX, REF_NRX);
    MN_CHECK_MSG(t, out >= 0, "mn_pim_model_light: %s", mn_error_msg());
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    st = mn_model_build(&P->m, REF_B, REF_T, &rng);
    MN_CHECK_OK(t, st);
    if (out < 0 || st != MN_OK) return false;
    /* DESIGN.md's sizes, counted independently of torch. */
    MN_CHECK(t, mn_params_count_trainable(&P->m.params) == 11835);
    MN_CHECK(t, mn_model_macs_per_sample(&P->m) == 11424);
    int left = -1, right = -1;
    mn_model_receptive_field(&P->m, &left, &right);
    MN_CHECK(t, left == REF_BORDER && right == REF_BORDER);
    P->ok = true;
    load_init(t, P);
    return P->ok;
}

static void parity_close(parity *P)
{
    mn_model_free(&P->m);
    mn_params_free(&P->ref);
    mn_free(P->meta);
}

/* Training-mode forward of the reference input; returns max|out - ref| / max|ref|, or INFINITY
 * when it cannot run. */
static double forward_error(mn_test_ctx *t, parity *P)
{
    const float *x = ref_get(t, P, "x", (size_t)REF_B * REF_CIN * REF_T);
    const float *want = ref_get(t, P, "out", (size_t)REF_B * REF_COUT * REF_T);
    if (!x || !want) return (double)INFINITY;
    mn_status st = mn_model_forward(&P->m, x, REF_B, REF_T, true);
    MN_CHECK_OK(t, st);
    int C = 0, T = 0;
    const float *got = mn_model_output(&P->m, &C, &T);
    MN_CHECK(t, C == REF_COUT && T == REF_T);
    if (st != MN_OK || !got || C != REF_COUT || T != REF_T) return (double)INFINITY;
    size_t n = (size_t)REF_B * REF_COUT * REF_T;
    return max_abs_diff(got, want, n) / max_abs(want, n);
}

/* Is `name` a pointwise bias that feeds a training-mode batch norm (true gradient exactly 0)? */
static bool feeds_batchnorm(const char *name)
{
    return !strcmp(name, "l1.pw.bias") || !strcmp(name, "l2.pw.bias") || !strcmp(name, "l3.pw.bias");
}

/* Whose Adam steps rounding may decide, whatever |g|: the biases above, and l3.dw.bias, most of
 * whose channels only shift l3's pointwise output ahead of its batch norm (the top comment).
 * Their gradients sit near 1e-5 max|g|, on either side of NOISE_G as the pointwise products'
 * rounding changes: with the fused executor's kernels in training, 4 of its 32 elements went
 * over it (1.0-1.3e-5 max|g|) and took steps ~1 lr off torch's, at steps 7-9. */
static bool rounding_decided(const char *name)
{
    return feeds_batchnorm(name) || !strcmp(name, "l3.dw.bias");
}

/* ---------------------------------------------------------------- 1. forward and gradients */

MN_TEST(parity_light_forward_backward)
{
    parity P;
    if (!parity_open(t, &P)) {
        parity_close(&P);
        return;
    }
    const size_t n_out = (size_t)REF_B * REF_COUT * REF_T;
    double err = forward_error(t, &P);
    if (t->verbose) printf("    forward: max|d|/max|out| = %.3g\n", err);
    MN_CHECK_MSG(t, err <= TOL_OUT, "forward output: max|d|/max|out| = %.3g > %g", err, TOL_OUT);

    /* Loss over t in [8, 40) of each (b, c), as torch's masked_mse. */
    const float *y = ref_get(t, &P, "y", n_out);
    const float *ref_loss = ref_get(t, &P, "loss", 1);
    float *dpred = mn_malloc(n_out * sizeof(float));
    MN_CHECK(t, dpred != NULL);
    if (!y || !ref_loss || !dpred || !isfinite(err)) goto out;
    const float *pred = mn_model_output(&P.m, NULL, NULL);
    double loss = mn_loss_mse(dpred, pred, y, REF_B, REF_COUT, REF_T, REF_BORDER);
    MN_CHECK_NEAR(t, loss, ref_loss[0], TOL_LOSS * fabs((double)ref_loss[0]));

    mn_params_zero_grad(&P.m.params);
    MN_CHECK_OK(t, mn_model_backward(&P.m, dpred));

    /* G: the largest reference gradient, the scale for the analytically-zero ones. */
    const mn_params *p = &P.m.params;
    double G = 0;
    for (int i = 0; i < p->n; i++) {
        if (!p->defs[i].trainable) continue;
        char key[MN_NAME_MAX + 8];
        snprintf(key, sizeof key, "grad.%s", p->defs[i].name);
        const float *g = ref_get(t, &P, key, p->defs[i].numel);
        if (g) G = fmax(G, max_abs(g, p->defs[i].numel));
    }
    MN_CHECK(t, G > 0);
    int n_checked = 0;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        if (!d->trainable) continue;
        char key[MN_NAME_MAX + 8];
        snprintf(key, sizeof key, "grad.%s", d->name);
        const float *want = ref_get(t, &P, key, d->numel);
        if (!want) continue;
        const float *got = mn_params_g(p, i);
        n_checked++;
        if (feeds_batchnorm(d->name)) {
            /* True gradient 0: both engines must show only rounding noise. */
            double gm = max_abs(got, d->numel), tm = max_abs(want, d->numel);
            if (t->verbose) printf("    %-14s |g| %.3g (torch %.3g), G %.3g\n", d->name, gm, tm, G);
            MN_CHECK_MSG(t, gm <= TOL_GRAD * G, "%s: gradient %.3g should be ~0 (G = %.3g)", d->name, gm, G);
            MN_CHECK_MSG(t, tm <= TOL_GRAD * G, "%s: torch gradient %.3g should be ~0", d->name, tm);
            continue;
        }
        double scale = max_abs(want, d->numel);
        double e = max_abs_diff(got, want, d->numel) / scale;
        if (t->verbose) printf("    %-14s max|d|/max|g| = %.3g\n", d->name, e);
        MN_CHECK_MSG(t, e <= TOL_GRAD, "gradient of %s: max|d|/max|g| = %.3g > %g", d->name, e, TOL_GRAD);
    }
    MN_CHECK(t, n_checked == 20);

    /* d loss / d x: the input node's gradient. */
    const size_t n_in = (size_t)REF_B * REF_CIN * REF_T;
    const float *gx = ref_get(t, &P, "grad.x", n_in);
    if (gx) {
        double e = max_abs_diff(P.m.nodes[0].dy, gx, n_in) / max_abs(gx, n_in);
        if (t->verbose) printf("    grad.x         max|d|/max|g| = %.3g\n", e);
        MN_CHECK_MSG(t, e <= TOL_GRAD, "gradient of x: max|d|/max|g| = %.3g > %g", e, TOL_GRAD);
    }
out:
    mn_free(dpred);
    parity_close(&P);
}

/* ---------------------------------------------------------------- 2. the comparison can fail */

MN_TEST(parity_light_detects_perturbation)
{
    parity P;
    if (!parity_open(t, &P)) {
        parity_close(&P);
        return;
    }
    double base = forward_error(t, &P);
    MN_CHECK(t, base <= TOL_OUT);
    /* Nudge one depthwise tap of the first layer by 1% of that tensor's largest value: the
     * change must travel through batch norm, FC sigmoids and three more blocks and still be
     * seen.  Then a pointwise weight of the output layer, which moves one output channel. */
    static const char *const names[] = {"l1.dw.weight", "l4.pw.weight"};
    for (int k = 0; k < 2; k++) {
        int i = mn_params_find(&P.m.params, names[k]);
        MN_CHECK(t, i >= 0);
        if (i < 0) continue;
        float *w = mn_params_w(&P.m.params, i);
        size_t n = P.m.params.defs[i].numel;
        float old = w[5];
        w[5] += 0.01f * (float)max_abs(w, n);
        double err = forward_error(t, &P);
        if (t->verbose) printf("    %s[5] perturbed: max|d|/max|out| = %.3g\n", names[k], err);
        MN_CHECK_MSG(t, err > TOL_OUT, "perturbing %s[5] went unnoticed (error %.3g)", names[k], err);
        w[5] = old;
    }
    MN_CHECK(t, forward_error(t, &P) == base);
    parity_close(&P);
}

/* ---------------------------------------------------------------- 3. 10-step trace, per step */

/* The reference state (weights and running stats of every model tensor) at the START of step
 * s: init.* for s = 0, row s-1 of step.* after that; s = REF_STEPS gives final.*. */
static const float *ref_state(mn_test_ctx *t, const parity *P, int i, int s)
{
    const mn_param_def *d = &P->m.params.defs[i];
    char key[MN_NAME_MAX + 8];
    if (s == 0 || s == REF_STEPS) {
        snprintf(key, sizeof key, "%s.%s", s == 0 ? "init" : "final", d->name);
        return ref_get(t, P, key, d->numel);
    }
    snprintf(key, sizeof key, "step.%s", d->name);
    const float *all = ref_get(t, P, key, (size_t)(REF_STEPS - 1) * d->numel);
    return all ? all + (size_t)(s - 1) * d->numel : NULL;
}

/* The largest |m_hat_t / sqrt(v_hat_t)| Adam can produce at step t (Cauchy-Schwarz on the
 * moment sums m_t = (1-b1) sum_k b1^k g_{t-k}, v_t = (1-b2) sum_k b2^k g_{t-k}^2):
 *   B_t = (1-b1)/(1-b1^t) * sqrt((1-b2^t)/(1-b2)) * sqrt(sum_{k<t} (b1^2/b2)^k).
 * B_1 = 1 (the first step is lr * sign(g)); B_10 = 1.04 for b1 = 0.9, b2 = 0.999. */
static double adam_ratio_bound(double b1, double b2, long t)
{
    double sum = 0, r = b1 * b1 / b2, rk = 1;
    for (long k = 0; k < t; k++, rk *= r) sum += rk;
    return (1 - b1) / (1 - pow(b1, (double)t)) * sqrt((1 - pow(b2, (double)t)) / (1 - b2)) * sqrt(sum);
}

typedef struct {
    const float *x, *y;
    float *dpred;   /* [B, C_out, T] */
    float *g_pre;   /* a copy of the pre-clip gradients, p->total floats */
    mn_adam_cfg adam;
    mn_sched_cfg sched;
} trainer;

static bool trainer_open(mn_test_ctx *t, trainer *tr, parity *P)
{
    memset(tr, 0, sizeof *tr);
    tr->x = ref_get(t, P, "x", (size_t)REF_B * REF_CIN * REF_T);
    tr->y = ref_get(t, P, "y", (size_t)REF_B * REF_COUT * REF_T);
    tr->dpred = mn_malloc((size_t)REF_B * REF_COUT * REF_T * sizeof(float));
    tr->g_pre = mn_malloc(P->m.params.total * sizeof(float));
    MN_CHECK(t, tr->dpred && tr->g_pre);
    /* The generator's optimizer: AdamW(betas (0.9, 0.999), eps 1e-8, weight_decay 0.01) and
     * CyclicLR(triangular, base 1e-3, max 1e-2, step_size_up 3), lr of step s = CLR(s). */
    tr->adam = mn_adam_default();
    tr->adam.beta1 = 0.9f;
    tr->adam.beta2 = 0.999f;
    tr->adam.eps = 1e-8f;
    tr->adam.weight_decay = 0.01f;
    tr->adam.decoupled = true;
    tr->sched = (mn_sched_cfg){.kind = MN_SCHED_TRIANGULAR, .base_lr = 1e-3f, .max_lr = 1e-2f, .step_size = 3};
    return tr->x && tr->y && tr->dpred && tr->g_pre;
}

static void trainer_close(trainer *tr)
{
    mn_free(tr->dpred);
    mn_free(tr->g_pre);
}

/* One training step s (0-based) on the model's current state: zero_grad, forward (training),
 * masked MSE, backward, clip to norm 1, AdamW at the lr of CLR(s).  Returns false on error. */
static bool train_step(mn_test_ctx *t, parity *P, trainer *tr, int s, double *loss, double *gnorm,
                       float *lr)
{
    mn_params *p = &P->m.params;
    mn_params_zero_grad(p);
    mn_status st = mn_model_forward(&P->m, tr->x, REF_B, REF_T, true);
    MN_CHECK_OK(t, st);
    if (st != MN_OK) return false;
    *loss = mn_loss_mse(tr->dpred, mn_model_output(&P->m, NULL, NULL), tr->y, REF_B, REF_COUT, REF_T,
                        REF_BORDER);
    st = mn_model_backward(&P->m, tr->dpred);
    MN_CHECK_OK(t, st);
    if (st != MN_OK) return false;
    memcpy(tr->g_pre, p->g, p->total * sizeof(float));
    *gnorm = mn_clip_grad_norm(p, 1.0);
    *lr = mn_sched_lr(&tr->sched, s);
    mn_adam_step(p, &tr->adam, *lr, s + 1);
    return true;
}

/* Compare step s's scalars with the reference trace. */
static void check_scalars(mn_test_ctx *t, const parity *P, int s, double loss, double gnorm, float lr,
                          double tol_loss, bool check_gnorm_lr)
{
    const float *tl = ref_get(t, P, "trace.loss", REF_STEPS);
    const float *tg = ref_get(t, P, "trace.gnorm", REF_STEPS);
    const float *tr = ref_get(t, P, "trace.lr", REF_STEPS);
    if (!tl || !tg || !tr) return;
    if (t->verbose)
        printf("    step %d: loss %.8g (torch %.8g)  gnorm %.7g (%.7g)  lr %.6g (%.6g)\n", s, loss,
               (double)tl[s], gnorm, (double)tg[s], (double)lr, (double)tr[s]);
    MN_CHECK_MSG(t, fabs(loss - (double)tl[s]) <= tol_loss * fabs((double)tl[s]),
                 "step %d: loss %.9g, torch %.9g", s, loss, (double)tl[s]);
    if (!check_gnorm_lr) return;
    MN_CHECK_MSG(t, fabs(gnorm - (double)tg[s]) <= TOL_STEP_GNORM * (double)tg[s],
                 "step %d: gradient norm %.9g, torch %.9g", s, gnorm, (double)tg[s]);
    MN_CHECK_MSG(t, fabs((double)lr - (double)tr[s]) <= TOL_STEP_LR * (double)tr[s],
                 "step %d: lr %.9g, torch %.9g", s, (double)lr, (double)tr[s]);
}

MN_TEST(parity_light_train_steps)
{
    parity P;
    trainer tr;
    if (!parity_open(t, &P)) {
        parity_close(&P);
        return;
    }
    if (!trainer_open(t, &tr, &P)) goto out;
    mn_params *p = &P.m.params;
    const float *tg = ref_get(t, &P, "trace.gnorm", REF_STEPS);
    bool clipped = false, unclipped = false;
    for (int s = 0; s < REF_STEPS; s++) {
        /* Start from torch's state; the Adam moments stay mimonet's own. */
        for (int i = 0; i < p->n; i++) {
            const float *src = ref_state(t, &P, i, s);
            if (!src) goto out;
            memcpy(mn_params_w(p, i), src, p->defs[i].numel * sizeof(float));
        }
        double loss = 0, gnorm = 0;
        float lr = 0;
        if (!train_step(t, &P, &tr, s, &loss, &gnorm, &lr)) goto out;
        check_scalars(t, &P, s, loss, gnorm, lr, TOL_STEP_LOSS, true);
        if (tg) {
            if (tg[s] > 1.0f) clipped = true;
            else unclipped = true;
        }

        /* The state after the step. */
        double G = 0;
        for (size_t e = 0; e < p->total; e++) G = fmax(G, fabs((double)tr.g_pre[e]));
        const double bound = 2 * adam_ratio_bound((double)tr.adam.beta1, (double)tr.adam.beta2, s + 1);
        size_t n_above = 0, n_train = 0;
        double worst_above = 0, worst_noise = 0; /* |d| / lr */
        for (int i = 0; i < p->n; i++) {
            const mn_param_def *d = &p->defs[i];
            const float *want = ref_state(t, &P, i, s + 1);
            const float *got = mn_params_w(p, i);
            if (!want) goto out;
            if (!d->trainable) {
                double e = max_abs_diff(got, want, d->numel) / max_abs(want, d->numel);
                MN_CHECK_MSG(t, e <= TOL_STEP_STAT, "step %d: %s: max|d|/max = %.3g > %g", s, d->name, e,
                             TOL_STEP_STAT);
                continue;
            }
            const float *g = tr.g_pre + d->offset;
            const float *w0 = ref_state(t, &P, i, s);
            int bad = 0;
            for (size_t e = 0; e < d->numel; e++) {
                double diff = fabs((double)got[e] - (double)want[e]) / (double)lr;
                n_train++;
                if (!rounding_decided(d->name) && fabs((double)g[e]) > NOISE_G * G) {
                    n_above++;
                    worst_above = fmax(worst_above, diff);
                    if (diff > TOL_STEP_W && bad++ < 3)
                        mn_test_fail(t, __FILE__, __LINE__, "step %d: %s[%zu] = %.9g, torch %.9g (|d| = %.3g lr)",
                                     s, d->name, e, (double)got[e], (double)want[e], diff);
                } else {
                    /* Rounding decides this update: it may differ by at most two Adam steps. */
                    double lim = bound + 2 * (double)tr.adam.weight_decay * fabs((double)w0[e]) + 1e-3;
                    worst_noise = fmax(worst_noise, diff);
                    if (diff > lim && bad++ < 3)
                        mn_test_fail(t, __FILE__, __LINE__, "step %d: %s[%zu] (gradient at noise level) = %.9g, "
                                     "torch %.9g (|d| = %.3g lr > %.3g lr)", s, d->name, e, (double)got[e],
                                     (double)want[e], diff, lim);
                }
            }
            t->checks++;
        }
        if (t->verbose)
            printf("           weights: %zu of %zu above noise, worst |d| %.3g lr; the rest %.3g lr\n", n_above,
                   n_train, worst_above, worst_noise);
        /* The check is not vacuous: nearly every element (96-98%) has a gradient above noise. */
        MN_CHECK_MSG(t, n_above >= n_train * 95 / 100, "step %d: only %zu of %zu gradients above noise", s,
                     n_above, n_train);
    }
    /* The reference exercises both branches of the clipping. */
    MN_CHECK(t, clipped && unclipped);
out:
    trainer_close(&tr);
    parity_close(&P);
}

/* ---------------------------------------------------------------- 4. 10 steps free-running */

MN_TEST(parity_light_train_free)
{
    parity P;
    trainer tr;
    if (!parity_open(t, &P)) {
        parity_close(&P);
        return;
    }
    if (!trainer_open(t, &tr, &P)) goto out;
    /* mimonet's own state throughout.  Only the loss is compared: it is continuous in the
     * weights, whereas the weights themselves drift apart through the rounding-driven bias
     * updates described at the top of this file. */
    for (int s = 0; s < REF_STEPS; s++) {
        double loss = 0, gnorm = 0;
        float lr = 0;
        if (!train_step(t, &P, &tr, s, &loss, &gnorm, &lr)) goto out;
        check_scalars(t, &P, s, loss, gnorm, lr, TOL_FREE_LOSS, false);
    }
out:
    trainer_close(&tr);
    parity_close(&P);
}
