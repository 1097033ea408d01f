/* src/csi/e2e_train.c — the three-stage training schedule of the end-to-end CSI system
 * (docs/csi_e2e.md, section 4).
 *
 *   stage 1  branches: proj + enc + fb on -SE(W_fb) and srs on -SE(W_srs), side by side (their
 *            tables are disjoint, so the summed loss trains each on its own objective);
 *   stage 2  fusion: only the fus table is stepped; the branch tables are frozen — they run
 *            forward (in training mode, noise included) but no backward reaches them;
 *   stage 3  joint fine-tuning of every table on -SE(W).
 * Freezing is by separate parameter tables: each network owns one, and a stage steps a subset.
 * Each stage starts a fresh AdamW (moments zeroed), a cosine schedule with linear warm-up, and
 * clips the global gradient norm over the tables it steps (clipping each table by
 * tau * n_i / n, n = sqrt(sum n_i^2), scales every gradient by the same tau / n).
 * A step samples `batch` drops uniformly (with replacement) from the training set with the
 * caller's RNG, then draws fresh SRS and CSI-RS noise from it. */
#include "mimonet/csi_e2e.h"
#include "mimonet/optim.h"

#include <math.h>
#include <string.h>

void mn_e2e_train_cfg_default(mn_e2e_train_cfg *c)
{
    memset(c, 0, sizeof *c);
    c->steps[0] = 600;
    c->steps[1] = 300;
    c->steps[2] = 300;
    c->batch = 32;
    c->lr[0] = 2e-3f;
    c->lr[1] = 2e-3f;
    c->lr[2] = 5e-4f;
    c->weight_decay = 1e-4f;
    c->clip = 1.0f;
    c->warmup = 50;
    c->eval_every = 100;
}

/* Copy drops idx[0..n) of src into dst (allocated for >= n drops). */
static void gather(mn_e2e_data *dst, const mn_e2e_data *src, const int *idx, int n)
{
    const size_t per = (size_t)src->K * src->M * src->F;
    for (int i = 0; i < n; i++) {
        memcpy(dst->ul + i * per, src->ul + (size_t)idx[i] * per, per * sizeof *dst->ul);
        memcpy(dst->csi + i * per, src->csi + (size_t)idx[i] * per, per * sizeof *dst->csi);
        memcpy(dst->dat + i * per, src->dat + (size_t)idx[i] * per, per * sizeof *dst->dat);
    }
    dst->n = n;
}

/* Global-norm clipping over the tables in mask; returns the pre-clip norm. */
static double clip_tables(mn_e2e *e, unsigned mask, double tau)
{
    double n2 = 0.0, ni[MN_E2E_NETS] = {0};
    for (int i = 0; i < MN_E2E_NETS; i++)
        if (mask & (1u << i)) {
            ni[i] = mn_grad_norm(&mn_e2e_net(e, i, NULL)->params);
            n2 += ni[i] * ni[i];
        }
    double n = sqrt(n2);
    if (!(n > tau) || !isfinite(n)) return n;
    for (int i = 0; i < MN_E2E_NETS; i++)
        if ((mask & (1u << i)) && ni[i] > 0) mn_clip_grad_norm(&mn_e2e_net(e, i, NULL)->params, ni[i] * tau / n);
    return n;
}

/* One stage: run it?, score both branches?, the tables it steps, the scheme to forward. */
typedef struct {
    bool run, both;
    unsigned mask;
    mn_e2e_scheme fwd;
} stage_def;

static void reset_moments(mn_params *p)
{
    if (p->total == 0) return;
    memset(p->m, 0, p->total * sizeof *p->m);
    memset(p->v, 0, p->total * sizeof *p->v);
}

mn_status mn_e2e_train(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *train, const mn_e2e_data *val,
                       const mn_e2e_train_cfg *tc, mn_e2e_progress_fn fn, void *user, mn_rng *rng)
{
    if (!train || train->n < 1) return mn_error(MN_ERR_INVALID, "csi e2e train: no training drops");
    if ((int)s < 0 || s >= MN_E2E_SCHEME_COUNT) return mn_error(MN_ERR_INVALID, "csi e2e train: scheme %d", (int)s);
    if (tc->batch < 1 || tc->batch > e->max_batch)
        return mn_error(MN_ERR_INVALID, "csi e2e train: batch %d (1..max batch %d)", tc->batch, e->max_batch);
    for (int i = 0; i < 3; i++)
        if (tc->steps[i] < 0 || !(tc->lr[i] > 0))
            return mn_error(MN_ERR_INVALID, "csi e2e train: stage %d needs steps >= 0 and lr > 0", i + 1);
    if (train->K != e->cfg.K || train->M != e->cfg.M || train->F != e->cfg.F)
        return mn_error(MN_ERR_SHAPE, "csi e2e train: drops of %d x %d x %d, system built for %d x %d x %d", train->K,
                        train->M, train->F, e->cfg.K, e->cfg.M, e->cfg.F);
    mn_e2e_data batch;
    mn_status st = mn_e2e_data_alloc(&batch, tc->batch, train->K, train->M, train->F);
    if (st != MN_OK) return st;
    int *idx = mn_malloc((size_t)tc->batch * sizeof *idx);
    if (!idx) {
        mn_e2e_data_free(&batch);
        return mn_error(MN_ERR_NOMEM, "csi e2e train: batch indices");
    }
    /* validation noise: the same stream every time, forked from the caller's RNG once */
    mn_rng vrng = *rng;
    mn_rng_jump(&vrng);
    mn_adam_cfg adam = mn_adam_default();
    adam.weight_decay = tc->weight_decay;

    /* stage table: which scheme forward, both-branch scoring, which tables step */
    stage_def stage[3] = {{0}};
    const unsigned FB = 1u | 2u | 4u, SRS = 8u, FUS = 16u;
    if (s == MN_E2E_FEEDBACK) stage[0] = (stage_def){true, false, FB, MN_E2E_FEEDBACK};
    else if (s == MN_E2E_SRS) stage[0] = (stage_def){true, false, SRS, MN_E2E_SRS};
    else {
        stage[0] = (stage_def){true, true, FB | SRS, MN_E2E_FUSION};
        stage[1] = (stage_def){true, false, FUS, MN_E2E_FUSION};
        stage[2] = (stage_def){true, false, FB | SRS | FUS, MN_E2E_FUSION};
    }
    mn_e2e_progress pr = {.val_se = (double)NAN};
    for (int si = 0; si < 3 && st == MN_OK; si++) {
        if (!stage[si].run || tc->steps[si] == 0) continue;
        const unsigned mask = stage[si].mask;
        for (int i = 0; i < MN_E2E_NETS; i++)
            if (mask & (1u << i)) reset_moments(&mn_e2e_net(e, i, NULL)->params);
        mn_sched_cfg sched = {.kind = MN_SCHED_COSINE, .base_lr = tc->lr[si] * 0.05f, .max_lr = tc->lr[si],
                              .total_steps = tc->steps[si],
                              .warmup = tc->warmup < tc->steps[si] ? tc->warmup : tc->steps[si] / 10};
        pr.stage = si + 1;
        pr.steps = tc->steps[si];
        for (long step = 0; step < tc->steps[si]; step++) {
            for (int i = 0; i < tc->batch; i++) idx[i] = (int)mn_rng_below(rng, (uint64_t)train->n);
            gather(&batch, train, idx, tc->batch);
            for (int i = 0; i < MN_E2E_NETS; i++)
                if (mask & (1u << i)) mn_params_zero_grad(&mn_e2e_net(e, i, NULL)->params);
            double se = mn_e2e_forward(e, stage[si].fwd, &batch, stage[si].both, true, rng, NULL, NULL);
            if (!isfinite(se)) {
                st = mn_error(MN_ERR_NUMERIC, "csi e2e train: stage %d step %ld: non-finite SE", si + 1, step);
                break;
            }
            st = mn_e2e_backward(e, mask);
            if (st != MN_OK) break;
            double gn = clip_tables(e, mask, (double)tc->clip);
            if (!isfinite(gn)) {
                st = mn_error(MN_ERR_NUMERIC, "csi e2e train: stage %d step %ld: non-finite gradient", si + 1, step);
                break;
            }
            float lr = mn_sched_lr(&sched, step);
            for (int i = 0; i < MN_E2E_NETS; i++)
                if (mask & (1u << i)) mn_adam_step(&mn_e2e_net(e, i, NULL)->params, &adam, lr, step + 1);
            pr.step = step + 1;
            pr.se = se;
            pr.lr = lr;
            pr.grad_norm = gn;
            bool last = step + 1 == tc->steps[si];
            if (val && tc->eval_every > 0 && ((step + 1) % tc->eval_every == 0 || last)) {
                mn_rng r = vrng;
                mn_e2e_scheme es = stage[si].both ? MN_E2E_FEEDBACK : stage[si].fwd;
                st = mn_e2e_eval(e, es, val, &r, &pr.val_se, NULL);
                if (st != MN_OK) break;
            }
            if (fn && fn(&pr, user)) {
                st = mn_error(MN_ERR_INTERRUPTED, "csi e2e train: stopped at stage %d step %ld", si + 1, step + 1);
                break;
            }
        }
    }
    mn_free(idx);
    mn_e2e_data_free(&batch);
    return st;
}
