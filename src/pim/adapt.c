/* pim/adapt.c — online adaptation: a trained canceller that keeps learning while it cancels.
 *
 * PIM couplings drift (temperature, wind, connector load), so a model fitted once meets
 * coupling states it never saw.  The received signal is the adaptation target, as in every
 * adaptive canceller (LMS, RLS): the interference is the part of rx that the Tx baseband
 * explains, and the uplink signal and noise are uncorrelated with it, so they only add
 * gradient noise.  The signal is processed in blocks; block k is predicted by the weights that
 * have seen samples before it only, and then a few Adam steps on windows of the latest
 * `history` received samples move the weights on.  Everything is allocated once per call. */
#include "mimonet/optim.h"
#include "mimonet/pim.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

mn_pim_adapt_cfg mn_pim_adapt_default(void)
{
    return (mn_pim_adapt_cfg){.block = 1024, .steps = 8, .batch = 4, .window = 2048, .history = 16384,
                              .lr = 3e-3f, .clip = 1.0f, .seed = 1};
}

/* Scaled I/Q window [s, s + T) of the rows of z (n_ch rows, stride n) into dst[2 n_ch][T]. */
static void gather_window(float *dst, const float complex *z, int nch, int64_t n, int64_t s, int T, float scale)
{
    for (int c = 0; c < nch; c++)
        mn_complex_row_split(dst + (size_t)(2 * c) * T, dst + (size_t)(2 * c + 1) * T, z + (int64_t)c * n + s, T, scale);
}

mn_status mn_pim_adapt(mn_pim_net *q, float complex *out, const float complex *tx, const float complex *rx, int64_t n,
                       int64_t lo, int64_t hi, const mn_pim_adapt_cfg *c, mn_pim_adapt_result *res)
{
    const int T = c->window, B = c->batch, bd = q->border;
    const int cin = 2 * q->n_tx, cout = 2 * q->n_rx;
    if (res) memset(res, 0, sizeof *res);
    if (lo < 0 || hi > n || hi <= lo) return mn_error(MN_ERR_INVALID, "adapt: outputs [%lld, %lld) of %lld samples",
                                                      (long long)lo, (long long)hi, (long long)n);
    if (c->block < 1 || c->steps < 0 || B < 1 || B > q->max_B || T <= 2 * bd || T > q->window ||
        c->history < T || !(c->lr > 0) || !(c->clip > 0))
        return mn_error(MN_ERR_INVALID,
                        "adapt: block %d, steps %d, batch %d (<= %d), window %d (%d < window <= %d), history %lld "
                        "(>= window), lr %g, clip %g",
                        c->block, c->steps, B, q->max_B, T, 2 * bd, q->window, (long long)c->history, (double)c->lr,
                        (double)c->clip);
    float *xb = mn_malloc((size_t)B * cin * T * sizeof *xb), *yb = mn_malloc((size_t)B * cout * T * sizeof *yb);
    float *dy = mn_malloc((size_t)B * cout * T * sizeof *dy);
    mn_status st = MN_OK;
    if (!xb || !yb || !dy) {
        st = mn_error(MN_ERR_NOMEM, "adapt: batch buffers");
        goto done;
    }
    mn_params *p = &q->model.params;
    memset(p->m, 0, p->total * sizeof *p->m); /* the adaptation's own moments */
    memset(p->v, 0, p->total * sizeof *p->v);
    mn_adam_cfg adam = mn_adam_default();
    adam.weight_decay = 0; /* decay would pull the weights off the fit between blocks */
    mn_rng rng;
    mn_rng_seed(&rng, c->seed ^ 0x6164617074ULL);
    const int64_t len = hi - lo;
    long t = 0;
    double t0 = mn_time_sec();
    for (int64_t s = lo; s < hi; s += c->block) {
        const int64_t e = s + c->block < hi ? s + c->block : hi;
        /* Predict [s, e) with the receptive field around it (tx is known ahead: that is the
         * canceller's latency, not a look at rx). */
        unsigned edges = (s - bd <= 0 ? MN_PIM_EDGE_START : 0) | (e + bd >= n ? MN_PIM_EDGE_END : 0);
        if ((st = mn_pim_net_predict_range(q, out + (s - lo), len, tx, n, 0, n, s, e, edges)) != MN_OK) goto done;
        /* Learn from the received samples up to e. */
        const int64_t a = e - c->history > 0 ? e - c->history : 0;
        if (e - a < T) continue;
        for (int k = 0; k < c->steps; k++) {
            for (int b = 0; b < B; b++) {
                int64_t w = a + (int64_t)mn_rng_below(&rng, (uint64_t)(e - a - T + 1));
                gather_window(xb + (size_t)b * cin * T, tx, q->n_tx, n, w, T, q->in_scale);
                gather_window(yb + (size_t)b * cout * T, rx, q->n_rx, n, w, T, q->out_scale);
            }
            double loss, g;
            if ((st = pim_batch_grad(q, xb, yb, dy, B, T, c->clip, &loss, &g)) != MN_OK) goto done;
            if (!isfinite(loss)) {
                st = mn_error(MN_ERR_NUMERIC, "adapt: the loss is %g at sample %lld; lower the adaptation rate", loss,
                              (long long)e);
                goto done;
            }
            if (!isfinite(g)) {
                st = mn_error(MN_ERR_NUMERIC, "adapt: the gradient norm is %g at sample %lld", g, (long long)e);
                goto done;
            }
            mn_adam_step(p, &adam, c->lr, ++t);
            if (res) res->last_loss = loss;
        }
    }
    if (res) {
        res->updates = t;
        res->seconds = mn_time_sec() - t0;
    }
done:
    mn_free(xb);
    mn_free(yb);
    mn_free(dy);
    return st;
}
