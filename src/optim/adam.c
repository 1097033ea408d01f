/*
 * optim/adam.c — Adam with decoupled weight decay (AdamW) and Adam with L2 in the gradient.
 *
 * The formulas and the order of operations follow PyTorch 1.13's single-tensor code paths
 * (torch/optim/adamw.py `_single_tensor_adamw`, torch/optim/adam.py `_single_tensor_adam`):
 *
 *   AdamW (Loshchilov & Hutter 2019, "Decoupled weight decay regularization", Alg. 2):
 *       w  <- w * (1 - lr*wd)
 *   Adam + L2 (Kingma & Ba 2015, with g <- g + wd*w):
 *       g' <- g + wd*w
 *   then, for both (g' = g for AdamW):
 *       m  <- b1*m + (1-b1)*g'
 *       v  <- b2*v + (1-b2)*g'^2
 *       bc1 = 1 - b1^t,  bc2 = 1 - b2^t
 *       w  <- w - (lr/bc1) * m / (sqrt(v)/sqrt(bc2) + eps)
 *
 * eps is added AFTER the bias-corrected square root (PyTorch's placement; the paper's
 * Algorithm 1 writes the same thing as m_hat / (sqrt(v_hat) + eps)).  Scalars (bias
 * corrections, step size, decay factor) are formed in double, as Python does, then rounded to
 * float; the per-element arithmetic is float, in PyTorch's operand order, with no FMA
 * contraction (C11 mode compiles with -ffp-contract=off).
 */
#include "mimonet/optim.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

mn_adam_cfg mn_adam_default(void)
{
    return (mn_adam_cfg){
        .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.01f, .decoupled = true};
}

/* The shortest decimal (at most 9 significant digits always round-trip a float) that rounds
 * to f, as a double.  NaN and infinities come back unchanged. */
static double as_decimal(float f)
{
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return (double)f;
}

/* w, g, m, v: n floats each, same layout.  t >= 1 is the 1-based step count (values below 1
 * are treated as 1, since bias correction 1 - b^0 = 0 would divide by zero). */
void mn_adam_update(float *w, const float *g, float *m, float *v, size_t n, const mn_adam_cfg *c,
                    float lr, long t)
{
    if (t < 1) t = 1;
    const double b1 = as_decimal(c->beta1), b2 = as_decimal(c->beta2);
    const double wd = as_decimal(c->weight_decay);
    const double bc1 = 1.0 - pow(b1, (double)t);
    const double bc2 = 1.0 - pow(b2, (double)t);
    const float step_size = (float)((double)lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay = (float)(1.0 - (double)lr * wd); /* AdamW */
    const float l2 = c->weight_decay;                   /* Adam + L2 ((float)wd is the same) */
    const float fb1 = (float)b1, fb2 = (float)b2;
    const float a1 = (float)(1.0 - b1), a2 = (float)(1.0 - b2);
    const float eps = c->eps;

    if (c->decoupled) {
        for (size_t i = 0; i < n; i++) {
            const float gi = g[i];
            const float wi = w[i] * decay;
            const float mi = fmaf(gi, a1, m[i] * fb1);
            const float vi = fmaf(a2 * gi, gi, v[i] * fb2);
            const float denom = sqrtf(vi) / bc2_sqrt + eps;
            m[i] = mi;
            v[i] = vi;
            w[i] = wi + -step_size * mi / denom;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            const float gi = fmaf(w[i], l2, g[i]);
            const float mi = fmaf(gi, a1, m[i] * fb1);
            const float vi = fmaf(a2 * gi, gi, v[i] * fb2);
            const float denom = sqrtf(vi) / bc2_sqrt + eps;
            m[i] = mi;
            v[i] = vi;
            w[i] = w[i] + -step_size * mi / denom;
        }
    }
}

/* One step over every trainable tensor of the table; buffers (trainable == false) and an
 * unallocated table are left alone. */
void mn_adam_step(mn_params *p, const mn_adam_cfg *c, float lr, long t)
{
    if (!p->w || !p->g || !p->m || !p->v) return;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        if (!d->trainable) continue;
        mn_adam_update(p->w + d->offset, p->g + d->offset, p->m + d->offset, p->v + d->offset,
                       d->numel, c, lr, t);
    }
}
