/* pim/adapt.c — online adaptation: a trained canceller that keeps learning while it cancels.
 *
 * PIM couplings drift (temperature, wind, connector load), so a model fitted once meets
 * coupling states it never saw.  The received signal is the adaptation target, as in every
 * adaptive canceller (LMS, RLS): the interference is the part of rx that the Tx baseband
 * explains, and the uplink signal and noise are uncorrelated with it, so they only add
 * gradient noise.  The signal is processed in blocks; block k is predicted by the weights that
 * have seen samples before it only, and then a few Adam steps on windows of the latest
 * `history` received samples move the weights on.  The newest window's loss reaches the
 * block's last received sample: its Tx side runs `border` samples further, which a canceller
 * knows (its latency), and the received samples there are zeroed and masked by the loss.
 * Everything is allocated once per call. */
#include "mimonet/optim.h"
#include "mimonet/pim.h"
#include "train_internal.h"

#include <math.h>
#include <string.h>

#ifdef MN_HAVE_LAPACKE
#include <lapacke.h>
#endif

mn_pim_adapt_cfg mn_pim_adapt_default(void)
{
    return (mn_pim_adapt_cfg){.method = MN_PIM_ADAPT_ADAM, .block = 1024, .steps = 8, .batch = 4, .window = 2048,
                              .history = 16384, .lr = 3e-3f, .clip = 1.0f, .anchor = 0.0f, .seed = 1};
}

/* Scaled I/Q window [s, s + T) of the rows of z (n_ch rows, stride n) into dst[2 n_ch][T]. */
static void gather_window(float *dst, const float complex *z, int nch, int64_t n, int64_t s, int T, float scale)
{
    for (int c = 0; c < nch; c++)
        mn_complex_row_split(dst + (size_t)(2 * c) * T, dst + (size_t)(2 * c + 1) * T, z + (int64_t)c * n + s, T, scale);
}

/* Ridge toward the trained output layer, relative to the mean diagonal of the weighted Gram
 * matrix: small enough that the data decide, large enough that a feature the recent samples do
 * not excite keeps its trained weight. */
#define LS_RIDGE 1e-4

/* MN_PIM_ADAPT_LS (see pim.h).  Per block [s, e): one forward over [s - border, e + border)
 * gives the predictions (the current output layer) and the features x_t (the last layer's
 * input, plus 1 for its bias); then G = l G + sum x x^T and C = l C + sum x y^T, l =
 * e^{-(e - s) / history}, y the scaled rx, and the layer becomes the solution of
 * (G + d I) W = C + d W0, W0 the trained layer, d = LS_RIDGE tr(G) / P. */
static mn_status adapt_ls(mn_pim_net *q, float complex *out, const float complex *tx, const float complex *rx, int64_t n,
                          int64_t lo, int64_t hi, const mn_pim_adapt_cfg *c, mn_pim_adapt_result *res)
{
    mn_model *m = &q->model;
    const mn_node *on = &m->nodes[m->output];
    if (on->kind != MN_NODE_CONV1D || on->u.conv.k != 1 || on->u.conv.groups != 1 || on->in0 < 0)
        return mn_error(MN_ERR_INVALID, "adapt: the least-squares method refits a last 1x1 convolution; the %s model "
                        "ends in another layer (use the Adam method)", q->kind);
    const int bd = q->border;
    if (c->block < 1 || c->history < 1 || c->block + 2 * bd > q->window)
        return mn_error(MN_ERR_INVALID, "adapt: block %d (1 .. %d for this model's window), history %lld (>= 1)", c->block,
                        q->window - 2 * bd, (long long)c->history);
#ifndef MN_HAVE_LAPACKE
    (void)out, (void)tx, (void)rx, (void)n, (void)lo, (void)hi, (void)res;
    return mn_error(MN_ERR_UNSUPPORTED,
                    "adapt: the least-squares method needs LAPACKE; rebuild with liblapacke-dev installed");
#else
    const int F = on->u.conv.cin, R = on->C, nb = on->p_b >= 0 ? 1 : 0, P = F + nb, cin = 2 * q->n_tx;
    float *W = mn_params_w(&m->params, on->p_w), *bias = nb ? mn_params_w(&m->params, on->p_b) : NULL;
    const int Lmax = c->block + 2 * bd;
    float *xb = mn_malloc((size_t)cin * Lmax * sizeof *xb);
    double *G = mn_calloc((size_t)P * P, sizeof *G), *C = mn_calloc((size_t)P * R, sizeof *C);
    double *A = mn_malloc((size_t)P * P * sizeof *A), *X = mn_malloc((size_t)P * R * sizeof *X);
    double *W0 = mn_malloc((size_t)P * R * sizeof *W0), *phi = mn_malloc((size_t)P * sizeof *phi);
    double *y = mn_malloc((size_t)R * sizeof *y);
    const bool fused = !m->fused_off;
    mn_status st = MN_OK;
    if (!xb || !G || !C || !A || !X || !W0 || !phi || !y) {
        st = mn_error(MN_ERR_NOMEM, "adapt: least-squares buffers");
        goto done;
    }
    for (int r = 0; r < R; r++) { /* column-major [P, R], as LAPACK takes it */
        for (int f = 0; f < F; f++) W0[f + (size_t)r * P] = (double)W[(size_t)r * F + f];
        if (nb) W0[F + (size_t)r * P] = (double)bias[r];
    }
    mn_model_set_fused(m, false); /* the features are an inner node's output */
    const float inv = 1.0f / q->out_scale;
    long updates = 0;
    double t0 = mn_time_sec(), last = 0;
    for (int64_t s = lo; s < hi; s += c->block) {
        const int64_t e = s + c->block < hi ? s + c->block : hi;
        const int64_t a = s - bd > 0 ? s - bd : 0, b = e + bd < n ? e + bd : n;
        const int L = (int)(b - a);
        gather_window(xb, tx, q->n_tx, n, a, L, q->in_scale);
        if ((st = mn_model_forward(m, xb, 1, L, false)) != MN_OK) goto done;
        const float *feat = m->nodes[on->in0].y, *pred = on->y; /* [F, L], [R, L] */
        /* the block as the current layer predicts it */
        for (int r = 0; r < R / 2; r++)
            for (int64_t t = s; t < e; t++)
                out[(int64_t)r * (hi - lo) + (t - lo)] =
                    CMPLXF(pred[(size_t)(2 * r) * L + (t - a)] * inv, pred[(size_t)(2 * r + 1) * L + (t - a)] * inv);
        /* then the block joins the weighted normal equations */
        const double l = exp(-(double)(e - s) / (double)c->history);
        for (size_t i = 0; i < (size_t)P * P; i++) G[i] *= l;
        for (size_t i = 0; i < (size_t)P * R; i++) C[i] *= l;
        double se = 0;
        for (int64_t t = s; t < e; t++) {
            for (int f = 0; f < F; f++) phi[f] = (double)feat[(size_t)f * L + (t - a)];
            if (nb) phi[F] = 1.0;
            for (int r = 0; r < R / 2; r++) {
                const float complex v = rx[(int64_t)r * n + t] * q->out_scale;
                y[2 * r] = (double)crealf(v);
                y[2 * r + 1] = (double)cimagf(v);
            }
            for (int r = 0; r < R; r++) {
                const double d = y[r] - (double)pred[(size_t)r * L + (t - a)];
                se += d * d;
            }
            for (int j = 0; j < P; j++) { /* lower triangle */
                const double pj = phi[j];
                for (int i = j; i < P; i++) G[i + (size_t)j * P] += phi[i] * pj;
            }
            for (int r = 0; r < R; r++)
                for (int i = 0; i < P; i++) C[i + (size_t)r * P] += phi[i] * y[r];
        }
        last = se / ((double)(e - s) * R);
        double tr = 0;
        for (int i = 0; i < P; i++) tr += G[i + (size_t)i * P];
        const double d = LS_RIDGE * tr / P + 1e-30;
        memcpy(A, G, (size_t)P * P * sizeof *A);
        for (int i = 0; i < P; i++) A[i + (size_t)i * P] += d;
        for (size_t i = 0; i < (size_t)P * R; i++) X[i] = C[i] + d * W0[i];
        lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'L', P, R, A, P, X, P);
        if (info != 0) {
            st = mn_error(MN_ERR_NUMERIC, "adapt: the output layer's normal equations are singular at sample %lld "
                          "(LAPACK info %d)", (long long)e, (int)info);
            goto done;
        }
        for (int r = 0; r < R; r++) {
            for (int f = 0; f < F; f++) W[(size_t)r * F + f] = (float)X[f + (size_t)r * P];
            if (nb) bias[r] = (float)X[F + (size_t)r * P];
        }
        updates++;
    }
    if (res) {
        res->updates = updates;
        res->last_loss = last;
        res->seconds = mn_time_sec() - t0;
    }
done:
    mn_model_set_fused(m, fused);
    mn_free(xb);
    mn_free(G);
    mn_free(C);
    mn_free(A);
    mn_free(X);
    mn_free(W0);
    mn_free(phi);
    mn_free(y);
    return st;
#endif
}

mn_status mn_pim_adapt(mn_pim_net *q, float complex *out, const float complex *tx, const float complex *rx, int64_t n,
                       int64_t lo, int64_t hi, const mn_pim_adapt_cfg *c, mn_pim_adapt_result *res)
{
    if (q->base) {
        if (res) memset(res, 0, sizeof *res);
        return mn_error(MN_ERR_UNSUPPORTED, "adapt: the %s model has a gmp/fir base; adapting a cascade is not "
                        "supported", q->kind);
    }
    if (c->method == MN_PIM_ADAPT_LS) {
        if (res) memset(res, 0, sizeof *res);
        if (lo < 0 || hi > n || hi <= lo)
            return mn_error(MN_ERR_INVALID, "adapt: outputs [%lld, %lld) of %lld samples", (long long)lo, (long long)hi,
                            (long long)n);
        return adapt_ls(q, out, tx, rx, n, lo, hi, c, res);
    }
    const int T = c->window, B = c->batch, bd = q->border;
    const int cin = 2 * q->n_tx, cout = 2 * q->n_rx;
    if (res) memset(res, 0, sizeof *res);
    if (lo < 0 || hi > n || hi <= lo) return mn_error(MN_ERR_INVALID, "adapt: outputs [%lld, %lld) of %lld samples",
                                                      (long long)lo, (long long)hi, (long long)n);
    if (c->block < 1 || c->steps < 0 || B < 1 || B > q->max_B || T <= 2 * bd || T > q->window ||
        c->history < T || !(c->lr > 0) || !(c->clip > 0) || !(c->anchor >= 0 && c->anchor <= 1 / c->lr))
        return mn_error(MN_ERR_INVALID,
                        "adapt: block %d, steps %d, batch %d (<= %d), window %d (%d < window <= %d), history %lld "
                        "(>= window), lr %g, clip %g, anchor %g (0 .. 1/lr)",
                        c->block, c->steps, B, q->max_B, T, 2 * bd, q->window, (long long)c->history, (double)c->lr,
                        (double)c->clip, (double)c->anchor);
    mn_params *p = &q->model.params;
    float *xb = mn_malloc((size_t)B * cin * T * sizeof *xb), *yb = mn_malloc((size_t)B * cout * T * sizeof *yb);
    float *w0 = c->anchor > 0 ? mn_malloc(p->total * sizeof *w0) : NULL; /* the trained weights */
    mn_status st = MN_OK;
    if (!xb || !yb || (c->anchor > 0 && !w0)) {
        st = mn_error(MN_ERR_NOMEM, "adapt: batch buffers");
        goto done;
    }
    if (w0) memcpy(w0, p->w, p->total * sizeof *w0);
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
        /* Learn from the received samples up to e: a window's loss covers [w + bd, w + T - bd), so
         * windows may end `lead` samples past e, over tx the canceller already has. */
        const int64_t lead = n - e < bd ? n - e : bd, end = e + lead;
        const int64_t a = end - c->history > 0 ? end - c->history : 0;
        if (end - a < T) continue;
        for (int k = 0; k < c->steps; k++) {
            for (int b = 0; b < B; b++) {
                int64_t w = a + (int64_t)mn_rng_below(&rng, (uint64_t)(end - a - T + 1));
                float *yw = yb + (size_t)b * cout * T;
                gather_window(xb + (size_t)b * cin * T, tx, q->n_tx, n, w, T, q->in_scale);
                gather_window(yw, rx, q->n_rx, n, w, T, q->out_scale);
                if (w + T > e) /* rx past the block (under the loss's border): not seen yet */
                    for (int r = 0; r < cout; r++)
                        memset(yw + (size_t)r * T + (e - w), 0, (size_t)(w + T - e) * sizeof *yw);
            }
            double loss, g;
            if ((st = pim_batch_grad(q, xb, yb, B, T, c->clip, &loss, &g)) != MN_OK) goto done;
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
            if (w0) { /* decoupled pull toward the trained weights, as AdamW's decay is toward 0 */
                const float pull = c->lr * c->anchor;
                for (int i = 0; i < p->n; i++) {
                    const mn_param_def *d = &p->defs[i];
                    if (!d->trainable) continue;
                    float *wi = p->w + d->offset;
                    const float *w0i = w0 + d->offset;
                    for (size_t j = 0; j < d->numel; j++) wi[j] -= pull * (wi[j] - w0i[j]);
                }
            }
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
    mn_free(w0);
    return st;
}
