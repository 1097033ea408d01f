/*
 * optim/clip.c — global-norm gradient clipping over the trainable tensors of a table.
 *
 *     norm = sqrt( sum over trainable tensors, sum over elements g^2 )      (double accumulation)
 *     if norm > max_norm:  g <- g * (max_norm / norm)
 *
 * (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training RNNs", Alg. 1.)  Unlike
 * PyTorch's clip_grad_norm_, which scales by max_norm / (norm + 1e-6), the factor here is
 * exactly max_norm / norm, so the norm afterwards equals max_norm to float rounding.  A NaN or
 * infinite norm is returned as is and nothing is scaled (the caller decides to skip the step);
 * a negative or NaN max_norm scales nothing.
 */
#include "mimonet/optim.h"

#include <math.h>

double mn_grad_norm(const mn_params *p)
{
    if (!p->g) return 0.0;
    double ss = 0.0;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        if (!d->trainable) continue;
        const float *g = p->g + d->offset;
        for (size_t j = 0; j < d->numel; j++) ss += (double)g[j] * (double)g[j];
    }
    return sqrt(ss);
}

double mn_clip_grad_norm(mn_params *p, double max_norm)
{
    const double norm = mn_grad_norm(p);
    if (!isfinite(norm) || !(max_norm >= 0.0) || norm <= max_norm) return norm;
    const double scale = max_norm / norm;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        if (!d->trainable) continue;
        float *g = p->g + d->offset;
        for (size_t j = 0; j < d->numel; j++) g[j] = (float)((double)g[j] * scale);
    }
    return norm;
}
