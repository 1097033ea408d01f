/*
 * mimonet/optim.h — Adam/AdamW, learning-rate schedules, global-norm gradient clipping.
 *
 * One training step reads:
 *
 *     mn_params_zero_grad(&m.params);
 *     ... forward, loss, backward ...
 *     double gnorm = mn_clip_grad_norm(&m.params, 1.0);        // pre-clip norm
 *     float lr = mn_sched_lr(&sched, step);
 *     mn_adam_step(&m.params, &adam, lr, step + 1);
 *
 * The optimizer walks the parameter table: weights, gradients and moments share one layout,
 * and only tensors marked trainable are updated or clipped.
 */
#ifndef MIMONET_OPTIM_H
#define MIMONET_OPTIM_H

#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float beta1, beta2;  /* default 0.9, 0.999 */
    float eps;           /* default 1e-8 */
    float weight_decay;  /* e.g. 0.01 */
    bool decoupled;      /* true: AdamW (Loshchilov & Hutter); false: Adam with L2 in the gradient */
} mn_adam_cfg;

/* Defaults: beta 0.9/0.999, eps 1e-8, weight_decay 0.01, decoupled (PyTorch's AdamW). */
mn_adam_cfg mn_adam_default(void);

/* One update at step t >= 1 (bias correction uses t), learning rate lr.  Bit-identical to
 * torch 1.13's AdamW / Adam(weight_decay) on CPU (see optim/adam.c); the float hyper-parameters
 * are read as the decimals they print as (0.999f -> 0.999), like PyTorch's Python floats.
 *   AdamW:  w -= lr*wd*w;  m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *           w -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
 *   Adam+L2: g += wd*w first, then the same moment update without the decoupled decay. */
void mn_adam_step(mn_params *p, const mn_adam_cfg *c, float lr, long t);
/* The same on raw arrays (the table version calls it per trainable tensor). */
void mn_adam_update(float *w, const float *g, float *m, float *v, size_t n, const mn_adam_cfg *c,
                    float lr, long t);

typedef enum {
    MN_SCHED_CONSTANT = 0,
    MN_SCHED_TRIANGULAR,  /* Smith 2017 CLR */
    MN_SCHED_TRIANGULAR2, /* amplitude halves each cycle */
    MN_SCHED_EXP_RANGE,   /* amplitude scaled by gamma^step */
    MN_SCHED_ONE_CYCLE,   /* Smith & Topin 2019, cosine annealing, PyTorch OneCycleLR */
    MN_SCHED_COSINE       /* linear warm-up then cosine decay to min_lr */
} mn_sched_kind;

typedef struct {
    mn_sched_kind kind;
    float base_lr;    /* constant lr; CLR lower bound; cosine floor (min_lr) */
    float max_lr;     /* CLR upper bound; one-cycle / cosine peak */
    long step_size;   /* CLR half-cycle length in steps */
    float gamma;      /* exp_range decay per step */
    long total_steps; /* one-cycle and cosine */
    long warmup;      /* cosine: linear warm-up steps from 0 to max_lr */
    float pct_start;  /* one-cycle: fraction of steps rising (default 0.3) */
    float div_factor; /* one-cycle: initial lr = max_lr / div_factor (default 25) */
    float final_div;  /* one-cycle: final lr = initial / final_div (default 1e4) */
} mn_sched_cfg;

/* Learning rate at step (0-based), matching PyTorch's CyclicLR / OneCycleLR formulas.
 * one-cycle: pct_start/div_factor/final_div default to 0.3/25/1e4 when 0; steps past
 * total_steps-1 stay at the final lr.  cosine: lr = max_lr*step/warmup while step < warmup,
 * then cosine from max_lr (at step == warmup) to base_lr (at step == total_steps), base_lr after. */
float mn_sched_lr(const mn_sched_cfg *c, long step);
const char *mn_sched_name(mn_sched_kind k);
int mn_sched_from_name(const char *name); /* -1 if unknown */

/* Global L2 norm of all trainable gradients (accumulated in double).  If it exceeds max_norm,
 * scale every gradient by max_norm / norm, so the norm afterwards equals max_norm.  Returns
 * the norm before clipping (NAN/INF pass through unchanged, and nothing is scaled then).
 * The factor is exactly max_norm / norm (PyTorch's clip_grad_norm_ uses max_norm/(norm+1e-6)). */
double mn_clip_grad_norm(mn_params *p, double max_norm);
double mn_grad_norm(const mn_params *p);

#ifdef __cplusplus
}
#endif
#endif
