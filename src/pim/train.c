/* pim/train.c — the paper's training recipe (arXiv 2509.19382, sections 2.4-2.8):
 * AdamW with weight decay 0.01, a cyclical learning rate, global-norm gradient clipping, a loss
 * that excludes the receptive-field border of each window (boundary truncation), random windows
 * longer than the 1024-point FFT, plus early stopping on the validation APE.
 *
 * Everything is allocated once before the first step: the whole training and validation signal
 * as scaled I/Q channels, one batch of target windows (the input windows go straight into the
 * model's input buffer), a copy of the best weights and, with a checkpoint file, the staging
 * buffer of the training state (train_ckpt.c). */
#include "mimonet/optim.h"
#include "net_internal.h" /* PIM_MAX_BATCH */
#include "train_internal.h"

#include "../nn/pragma.h" /* OMP(): nothing without OpenMP */

#include <math.h>
#include <stdio.h>
#include <string.h>

mn_pim_train_cfg mn_pim_train_default(void)
{
    return (mn_pim_train_cfg){.steps = 3000,
                              .batch = 16,
                              .window = 2048,
                              .lr_min = 1e-3f,
                              .lr_max = 1e-2f,
                              .clr_half = 0,
                              .sched = MN_SCHED_TRIANGULAR2,
                              .weight_decay = 0.01f,
                              .clip = 1.0f,
                              .eval_every = 100,
                              .patience = -1,
                              .seed = 1,
                              .checkpoint_every = 100};
}

/* RMS of |z| over rows [0, nch) and samples [b, e) of a [nch, n] signal. */
static double rms(const float complex *z, int nch, int64_t n, mn_span s)
{
    double acc = 0;
    for (int c = 0; c < nch; c++)
        for (int64_t i = s.begin; i < s.end; i++) {
            double re = (double)crealf(z[(int64_t)c * n + i]), im = (double)cimagf(z[(int64_t)c * n + i]);
            acc += re * re + im * im;
        }
    return sqrt(acc / ((double)nch * (double)(s.end - s.begin)));
}

/* Validation APE (dB, pooled) of q's prediction over span v. */
static double validate(mn_pim_net *q, float complex *pred, const float complex *tx, const float complex *rx,
                       int64_t n, mn_span v, float complex *txv, float complex *rxv)
{
    int64_t len = v.end - v.begin;
    for (int a = 0; a < q->n_tx; a++) memcpy(txv + a * len, tx + a * n + v.begin, (size_t)len * sizeof *txv);
    for (int r = 0; r < q->n_rx; r++) memcpy(rxv + r * len, rx + r * n + v.begin, (size_t)len * sizeof *rxv);
    if (mn_pim_net_predict(q, pred, txv, len) != MN_OK) return (double)NAN;
    mn_pim_metrics mt;
    if (mn_pim_metrics_compute(&mt, NULL, rxv, pred, q->n_rx, len, len, q->border) != MN_OK) return (double)NAN;
    return mt.ape_db;
}

/* A non-finite loss, gradient norm or weight at `step`: back to the best weights, and say why and
 * what is kept on disk (the checkpoint there was written from a finite state, and stays). */
static mn_status diverged(mn_pim_net *q, const float *best, const mn_pim_train_cfg *c, const mn_pim_train_result *res,
                          long step, const char *what, double value)
{
    memcpy(q->model.params.w, best, q->model.params.total * sizeof *best);
    char kept[300] = "the best weights so far were kept; restart with a lower --lr-max or stronger clipping";
    if (c->checkpoint && res->checkpoint_step >= 0)
        snprintf(kept, sizeof kept, "the last good checkpoint (step %ld) is kept in '%s'; resume from it with "
                 "--resume and a lower --lr-max", res->checkpoint_step, c->checkpoint);
    return mn_error(MN_ERR_NUMERIC, "training diverged at step %ld (%s is %g); %s", step, what, value, kept);
}

mn_status pim_batch_grad(mn_pim_net *q, const float *xb, const float *yb, int B, int T, float clip, double *loss,
                         double *gnorm)
{
    *loss = *gnorm = (double)NAN;
    /* One parallel region per pass, each thread carrying whole windows (allocated once). */
    mn_status st = mn_model_set_sample_split(&q->model, true);
    if (st != MN_OK) return st;
    mn_params_zero_grad(&q->model.params);
    st = mn_model_forward(&q->model, xb, B, T, true);
    if (st != MN_OK) return st;
    float *dy = q->model.nodes[q->model.output].dy; /* mn_model_backward copies nothing from there */
    *loss = mn_loss_mse(dy, mn_model_output(&q->model, NULL, NULL), yb, B, 2 * q->n_rx, T, q->border);
    if (!isfinite(*loss)) return MN_OK;
    mn_model_set_input_grad(&q->model, false); /* only the weights' gradients are used */
    st = mn_model_backward(&q->model, dy);
    mn_model_set_input_grad(&q->model, true);
    if (st == MN_OK) *gnorm = mn_clip_grad_norm(&q->model.params, (double)clip);
    return st;
}

mn_status mn_pim_train(mn_pim_net *q, const float complex *tx, const float complex *rx, int64_t n,
                       mn_span train, mn_span val, const mn_pim_train_cfg *c, mn_pim_train_result *res)
{
    const int T = c->window, B = c->batch, bd = q->border;
    const int cin = 2 * q->n_tx, cout = 2 * q->n_rx;
    const int64_t tlen = train.end - train.begin, vlen = val.end - val.begin;
    double t0 = mn_time_sec();
    memset(res, 0, sizeof *res);
    res->best_val_ape_db = (double)NAN;
    if (q->base)
        return mn_error(MN_ERR_INVALID, "train: the net has a base; train the model on what the base leaves, "
                        "then set the base (mn_pim_net_set_base)");
    res->checkpoint_step = -1;
    pim_state state = {0};
    mn_params_init_table(&state.tab);
    if (T <= 1024 || T > q->window || B < 1 || B > q->max_B)
        return mn_error(MN_ERR_INVALID,
                        "training windows of %d samples x %d: need 1024 < window <= %d and batch <= %d",
                        T, B, q->window, q->max_B);
    if (tlen < T)
        return mn_error(MN_ERR_SHAPE, "training split has %lld samples, fewer than one window of %d",
                        (long long)tlen, T);
    if (c->resume && !c->checkpoint) return mn_error(MN_ERR_INVALID, "training: resume without a checkpoint path");
    if (c->steps < 1 || !(c->lr_max > 0) || !(c->clip > 0) || c->checkpoint_every < 0)
        return mn_error(MN_ERR_INVALID, "training: steps %ld, lr_max %g, clip %g", c->steps,
                        (double)c->lr_max, (double)c->clip);
    if (vlen > 0 && vlen <= 2 * bd)
        return mn_error(MN_ERR_SHAPE, "validation split of %lld samples is shorter than the model's border",
                        (long long)vlen);

    /* Scaling from the training split: unit RMS in and out. */
    double rin = rms(tx, q->n_tx, n, train), rout = rms(rx, q->n_rx, n, train);
    if (!(rin > 0) || !(rout > 0) || !isfinite(rin) || !isfinite(rout))
        return mn_error(MN_ERR_NUMERIC, "training split: tx RMS %g, rx RMS %g (need finite, non-zero)", rin, rout);
    q->in_scale = (float)(1.0 / rin);
    q->out_scale = (float)(1.0 / rout);

    /* One-time buffers. */
    size_t nX = (size_t)cin * tlen, nY = (size_t)cout * tlen;
    float *X = mn_malloc(nX * sizeof *X), *Y = mn_malloc(nY * sizeof *Y);
    /* the batch's input is gathered straight into the model's input buffer (mn_model_forward
     * then copies nothing; built for q->max_B windows of q->window) */
    float *xb = q->model.nodes[0].y, *yb = mn_malloc((size_t)B * cout * T * sizeof *yb);
    float *best = mn_malloc(q->model.params.total * sizeof *best);
    float complex *pred = NULL, *txv = NULL, *rxv = NULL;
    if (vlen > 0) {
        pred = mn_malloc((size_t)q->n_rx * vlen * sizeof *pred);
        txv = mn_malloc((size_t)q->n_tx * vlen * sizeof *txv);
        rxv = mn_malloc((size_t)q->n_rx * vlen * sizeof *rxv);
    }
    mn_status st = MN_OK;
    if (!X || !Y || !yb || !best || (vlen > 0 && (!pred || !txv || !rxv))) {
        st = mn_error(MN_ERR_NOMEM, "training buffers (%zu MB)", (nX + nY) * sizeof(float) >> 20);
        goto done;
    }
    for (int a = 0; a < q->n_tx; a++)
        mn_complex_row_split(X + (size_t)(2 * a) * tlen, X + (size_t)(2 * a + 1) * tlen, tx + (int64_t)a * n + train.begin,
                             tlen, q->in_scale);
    for (int r = 0; r < q->n_rx; r++)
        mn_complex_row_split(Y + (size_t)(2 * r) * tlen, Y + (size_t)(2 * r + 1) * tlen, rx + (int64_t)r * n + train.begin,
                             tlen, q->out_scale);
    memcpy(best, q->model.params.w, q->model.params.total * sizeof *best);

    mn_adam_cfg adam = mn_adam_default();
    adam.weight_decay = c->weight_decay;
    mn_sched_cfg sched = {.kind = (mn_sched_kind)c->sched,
                          .base_lr = c->lr_min,
                          .max_lr = c->lr_max,
                          .step_size = c->clr_half > 0 ? c->clr_half : (c->steps / 10 > 0 ? c->steps / 10 : 1),
                          .gamma = 0.9995f,
                          .total_steps = c->steps,
                          .warmup = c->steps / 20};
    const long every = c->eval_every > 0 ? c->eval_every : 100;
    /* Automatic patience: one whole LR cycle plus two validations (8 at the default 3,000
     * steps).  Validation APE falls while the cyclical LR climbs, so a fixed count shorter than
     * a cycle stopped long runs at a peak of the LR: 6,000 steps stopped near step 3,300. */
    const double cycle_evals = ceil(2.0 * (double)sched.step_size / (double)every); /* capped: any clr_half */
    const int patience = c->patience >= 0 ? c->patience : (int)fmin(cycle_evals + 2, 1e6);
    pim_train_pos pos = {.step = 0, .best_ape = -(double)INFINITY, .val_ape = (double)NAN, .loss = (double)NAN};
    mn_rng_seed(&pos.rng, c->seed ^ 0x7472616e6ULL); /* a stream of its own, apart from init */
    pim_run_id id = {.batch = B,
                     .window = T,
                     .seed = c->seed,
                     .n = n,
                     .train = train,
                     .val = val,
                     .steps = c->steps,
                     .clr_half = c->clr_half,
                     .eval_every = c->eval_every,
                     .patience = patience,
                     .sched = c->sched,
                     .lr_min = c->lr_min,
                     .lr_max = c->lr_max,
                     .weight_decay = c->weight_decay,
                     .clip = c->clip};
    if (c->checkpoint) {
        id.data_hash = pim_signal_hash(pim_signal_hash(0, tx, q->n_tx, n), rx, q->n_rx, n);
        if ((st = pim_state_init(&state, &q->model.params)) != MN_OK) goto done;
        if (c->resume) {
            st = pim_state_load(&state, c->checkpoint, q, best, &pos, &id, res->resume_note, sizeof res->resume_note);
            if (st != MN_OK) goto done;
            res->resumed_from = res->checkpoint_step = pos.step;
            res->best_step = pos.best_step;
        }
    }
    long step;
    for (step = pos.step; step < c->steps; step++) {
        /* A batch of random windows from the training span: the starts drawn in order, the rows
         * copied by the threads (random reads from a span larger than the caches). */
        int64_t at[PIM_MAX_BATCH]; /* B <= q->max_B, checked at creation (net.c) */
        for (int b = 0; b < B; b++) at[b] = (int64_t)mn_rng_below(&pos.rng, (uint64_t)(tlen - T + 1));
        const int rows = B * (cin + cout);
        OMP(parallel for schedule(static) if(rows * (long)T > (1L << 16)))
        for (int r = 0; r < rows; r++) {
            const int b = r / (cin + cout), ch = r % (cin + cout);
            if (ch < cin)
                memcpy(xb + ((size_t)b * cin + ch) * T, X + (size_t)ch * tlen + at[b], (size_t)T * sizeof *xb);
            else
                memcpy(yb + ((size_t)b * cout + ch - cin) * T, Y + (size_t)(ch - cin) * tlen + at[b],
                       (size_t)T * sizeof *yb);
        }
        double loss, gnorm;
        if ((st = pim_batch_grad(q, xb, yb, B, T, c->clip, &loss, &gnorm)) != MN_OK) goto done;
        if (!isfinite(loss) || !isfinite(gnorm)) {
            st = diverged(q, best, c, res, step, isfinite(loss) ? "the gradient norm" : "the loss",
                          isfinite(loss) ? gnorm : loss);
            goto done;
        }
        float lr = mn_sched_lr(&sched, step);
        mn_adam_step(&q->model.params, &adam, lr, step + 1);
        pos.loss = res->final_loss = loss;
        pos.step = step + 1;

        bool last = step + 1 == c->steps;
        if (vlen > 0 && ((step + 1) % every == 0 || last)) {
            pos.val_ape = validate(q, pred, tx, rx, n, val, txv, rxv);
            if (pos.val_ape > pos.best_ape) {
                pos.best_ape = pos.val_ape;
                pos.best_step = res->best_step = step + 1;
                memcpy(best, q->model.params.w, q->model.params.total * sizeof *best);
                pos.since_best = 0;
            } else if (patience > 0 && ++pos.since_best >= patience) {
                res->stopped_early = true;
            }
        }
        bool stop = false;
        if (c->progress) {
            mn_pim_progress p = {.step = step + 1,
                                 .steps = c->steps,
                                 .first_step = res->resumed_from,
                                 .loss = loss,
                                 .lr = (double)lr,
                                 .grad_norm = gnorm,
                                 .val_ape_db = pos.val_ape,
                                 .best_val_ape_db = pos.best_ape,
                                 .seconds = mn_time_sec() - t0};
            stop = c->progress(&p, c->progress_user) != 0 && !last; /* the last step just finishes */
        }
        if (res->stopped_early) {
            step++;
            break;
        }
        if (c->checkpoint && (stop || (c->checkpoint_every > 0 && (step + 1) % c->checkpoint_every == 0 && !last))) {
            st = pim_state_save(&state, c->checkpoint, q, best, &pos, &id);
            if (st == MN_ERR_NUMERIC) {
                st = diverged(q, best, c, res, step + 1, "a weight", (double)NAN);
                goto done;
            }
            if (st != MN_OK) {
                char msg[400];
                snprintf(msg, sizeof msg, "%s", mn_error_msg());
                st = mn_error(st, "writing the checkpoint at step %ld: %s", step + 1, msg);
                goto done;
            }
            res->checkpoint_step = step + 1;
        }
        if (stop) {
            step++;
            res->steps_done = step;
            st = mn_error(MN_ERR_INTERRUPTED, "training stopped at step %ld on request", step);
            break;
        }
    }
    /* Finish on the best validated weights (or the last ones without validation). */
    if (vlen > 0 && isfinite(pos.best_ape)) {
        memcpy(q->model.params.w, best, q->model.params.total * sizeof *best);
        res->best_val_ape_db = pos.best_ape;
    }
    res->steps_done = step;
done:
    res->seconds = mn_time_sec() - t0;
    mn_free(X);
    mn_free(Y);
    mn_free(yb);
    mn_free(best);
    mn_free(pred);
    mn_free(txv);
    mn_free(rxv);
    pim_state_free(&state);
    return st;
}
