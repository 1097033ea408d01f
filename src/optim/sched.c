/*
 * optim/sched.c — learning-rate schedules: constant, cyclical (triangular, triangular2,
 * exp_range), one-cycle, and cosine with linear warm-up.
 *
 * `step` is 0-based (the lr used for the (step+1)-th optimizer step), like PyTorch's
 * scheduler.last_epoch.  Everything is computed in double and rounded to float once.
 *
 * Cyclical (Smith 2017, "Cyclical learning rates for training neural networks", Sec. 3.1;
 * PyTorch CyclicLR with step_size_up == step_size_down == step_size):
 *     cycle = floor(1 + step / (2 step_size))
 *     x     = | step / step_size - 2 cycle + 1 |
 *     lr    = base + (max - base) * max(0, 1 - x) * scale
 *   triangular: scale = 1;  triangular2: scale = 1 / 2^(cycle-1);  exp_range: scale = gamma^step.
 *
 * One-cycle (Smith & Topin 2019, "Super-convergence"; PyTorch OneCycleLR with
 * anneal_strategy='cos', three_phase=False):
 *     initial = max / div_factor,  min = initial / final_div
 *     phase 1: steps 0 .. e1 = pct_start*total - 1, initial -> max
 *     phase 2: steps e1 .. e2 = total - 1,          max -> min
 *     within a phase from a to b over [s0, s1]:  pct = (step - s0) / (s1 - s0),
 *         lr = b + (a - b)/2 * (cos(pi pct) + 1)
 *   pct_start, div_factor, final_div default to 0.3, 25, 1e4 when 0.  PyTorch raises beyond
 *   total_steps; here steps past total-1 stay at min.  pct_start is a float field, so its
 *   conversion to double can move the phase boundary by ~1e-8 relative to Python's 0.3.
 *
 * Cosine with linear warm-up (Loshchilov & Hutter 2017, SGDR, without restarts; warm-up as in
 * Goyal et al. 2017):
 *     step < warmup:           lr = max * step / warmup          (0 at step 0, max at warmup)
 *     warmup <= step < total:  lr = base + (max - base) * (1 + cos(pi (step-warmup)/(total-warmup)))/2
 *     step >= total:           lr = base
 */
#include "mimonet/optim.h"

#include <math.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

static double cyclic_lr(const mn_sched_cfg *c, double s)
{
    const double base = (double)c->base_lr, mx = (double)c->max_lr;
    if (c->step_size <= 0) return base; /* degenerate configuration: no cycle */
    const double ss = (double)c->step_size;
    const double cycle = floor(1.0 + s / (2.0 * ss));
    const double x = fabs(s / ss - 2.0 * cycle + 1.0);
    double scale = 1.0;
    if (c->kind == MN_SCHED_TRIANGULAR2) scale = 1.0 / pow(2.0, cycle - 1.0);
    else if (c->kind == MN_SCHED_EXP_RANGE) scale = pow((double)c->gamma, s);
    return base + (mx - base) * fmax(0.0, 1.0 - x) * scale;
}

/* PyTorch's _annealing_cos: from `start` (pct 0) to `end` (pct 1). */
static double anneal_cos(double start, double end, double pct)
{
    return end + (start - end) / 2.0 * (cos(PI * pct) + 1.0);
}

static double one_cycle_lr(const mn_sched_cfg *c, double s)
{
    const double mx = (double)c->max_lr;
    const double pct_start = c->pct_start > 0 ? (double)c->pct_start : 0.3;
    const double div = c->div_factor > 0 ? (double)c->div_factor : 25.0;
    const double fdiv = c->final_div > 0 ? (double)c->final_div : 1e4;
    const double initial = mx / div, min_lr = initial / fdiv;
    if (c->total_steps < 2) return mx; /* degenerate: no room for two phases */
    const double e1 = pct_start * (double)c->total_steps - 1.0;
    const double e2 = (double)c->total_steps - 1.0;
    if (s > e2) s = e2;
    if (e1 > 0 && s <= e1) return anneal_cos(initial, mx, s / e1);
    const double s0 = e1 > 0 ? e1 : 0.0; /* an empty rising phase starts the fall at step 0 */
    if (e2 <= s0) return min_lr;
    return anneal_cos(mx, min_lr, (s - s0) / (e2 - s0));
}

static double cosine_lr(const mn_sched_cfg *c, double s)
{
    const double base = (double)c->base_lr, mx = (double)c->max_lr;
    const long warm = c->warmup > 0 ? c->warmup : 0;
    if (s < (double)warm) return mx * s / (double)warm;
    if (s >= (double)c->total_steps) return base;
    const double prog = (s - (double)warm) / (double)(c->total_steps - warm);
    return base + (mx - base) * 0.5 * (1.0 + cos(PI * prog));
}

float mn_sched_lr(const mn_sched_cfg *c, long step)
{
    const double s = step > 0 ? (double)step : 0.0;
    switch (c->kind) {
    case MN_SCHED_CONSTANT: return c->base_lr;
    case MN_SCHED_TRIANGULAR:
    case MN_SCHED_TRIANGULAR2:
    case MN_SCHED_EXP_RANGE: return (float)cyclic_lr(c, s);
    case MN_SCHED_ONE_CYCLE: return (float)one_cycle_lr(c, s);
    case MN_SCHED_COSINE: return (float)cosine_lr(c, s);
    }
    return c->base_lr;
}

static const char *const sched_names[] = {
    [MN_SCHED_CONSTANT] = "constant",       [MN_SCHED_TRIANGULAR] = "triangular",
    [MN_SCHED_TRIANGULAR2] = "triangular2", [MN_SCHED_EXP_RANGE] = "exp_range",
    [MN_SCHED_ONE_CYCLE] = "one_cycle",     [MN_SCHED_COSINE] = "cosine",
};
#define N_SCHED ((int)(sizeof sched_names / sizeof sched_names[0]))

const char *mn_sched_name(mn_sched_kind k)
{
    if ((int)k < 0 || (int)k >= N_SCHED) return "unknown";
    return sched_names[k];
}

int mn_sched_from_name(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < N_SCHED; i++)
        if (strcmp(sched_names[i], name) == 0) return i;
    return -1;
}
