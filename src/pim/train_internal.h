/* pim/train_internal.h — the training-state checkpoint behind mn_pim_train's crash safety. */
#ifndef MIMONET_PIM_TRAIN_INTERNAL_H
#define MIMONET_PIM_TRAIN_INTERNAL_H

#include "mimonet/pim.h"

/* Where a run stands after `step` optimizer steps: everything the next step depends on,
 * besides the weights and moments. */
typedef struct {
    long step;
    mn_rng rng;        /* the window draws: the data position */
    double best_ape;   /* best validation APE (-INFINITY before the first validation) */
    long best_step;
    int since_best;
    double val_ape;    /* latest validation APE (NAN before the first) */
    double loss;       /* latest training loss */
} pim_train_pos;

/* The run a checkpoint belongs to.  The first group must match to resume; the second may
 * change (the run then differs from an uninterrupted one, and the note says how). */
typedef struct {
    int batch, window;
    uint64_t seed;
    int64_t n;
    mn_span train, val;
    uint64_t data_hash;
    /* may change on resume */
    long steps, clr_half, eval_every;
    int patience, sched;
    float lr_min, lr_max, weight_decay, clip;
} pim_run_id;

/* The checkpoint's tensors: model/<name>, adam_m/<name>, adam_v/<name> and best/<name> for every
 * tensor of the model, staged in one buffer (tab.w) so the safetensors reader and writer can do
 * all validation and I/O. */
typedef struct {
    mn_params tab;
    int n; /* tensors per group */
} pim_state;

mn_status pim_state_init(pim_state *s, const mn_params *p);
void pim_state_free(pim_state *s);
/* Write atomically.  MN_ERR_NUMERIC (nothing written) when the weights are not all finite. */
mn_status pim_state_save(pim_state *s, const char *path, const mn_pim_net *q, const float *best,
                         const pim_train_pos *pos, const pim_run_id *id);
/* Read and check against q and id; only on success are q's weights and moments, best and pos
 * replaced.  note receives the soft differences ("" when none). */
mn_status pim_state_load(pim_state *s, const char *path, mn_pim_net *q, float *best, pim_train_pos *pos,
                         const pim_run_id *id, char *note, size_t note_size);

/* The gradients of one batch, as training and online adaptation take them: zero them, a
 * training forward of xb [B, 2 n_tx, T] (which may be the model's input buffer, nodes[0].y:
 * then it is not copied), the MSE against yb [B, 2 n_rx, T] without q->border samples at either
 * end (its gradient straight into the output node's gradient buffer, which the backward then
 * does not copy), a backward for the weights only, and global-norm clipping to `clip`.  *loss
 * is the MSE; *gnorm the norm before clipping, NAN when the loss is not finite (then no
 * backward runs). */
mn_status pim_batch_grad(mn_pim_net *q, const float *xb, const float *yb, int B, int T, float clip, double *loss,
                         double *gnorm);

/* 64-bit hash of rows [0, nch) x [0, n) of a complex signal (the run's data fingerprint). */
uint64_t pim_signal_hash(uint64_t h, const float complex *x, int nch, int64_t n);

#endif
