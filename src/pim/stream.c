/* pim/stream.c — streaming cancellation: blocks of any size in, rx - predicted PIM out, with the
 * receptive-field history carried between calls (see mn_pim_canceller in pim.h).
 *
 * Time bookkeeping, in absolute samples of the stream: p samples have been received; the
 * history buffer H holds tx samples [h0, p) (at most hist of them) and R rx samples [p - D, p).
 * A chunk of c <= C new samples is read where the caller holds it: the model sees H and the
 * chunk as one signal in two pieces (pim_src), so each sample is converted once, straight into
 * the model's input, and each output is rx minus the prediction as the prediction is written;
 * then the tails of the two pieces become the new H and R.  Output number o of the stream is
 * sample t = o - D of the cleaned signal (D the latency).
 *
 * Neural model (two-sided receptive field bd, D = bd).  A chunk of c new samples advances p to
 * p' and emits t in [p - D, p' - D); those predictions need tx up to p' - D + bd = p' and back to
 * p - D - bd = p - 2 bd, which is exactly what H keeps (2 bd samples of history), or the
 * signal's first sample (then the model pads the edge as a whole-signal pass does).
 * pim_net_predict_src (pim/net.c) does the windowing.
 *
 * A cascade (a neural model over a GMP base, mn_pim_net_set_base) is a neural model whose
 * history also covers the base's M - 1 + L samples before the oldest output.
 *
 * GMP (memory M - 1 + L, lead D).  The basis of sample t looks back M - 1 + L samples and ahead
 * D (0 for a causal GMP); H keeps M - 1 + L + D, and samples before the stream's start (and after
 * its end, at flush) are zeros in both the stream and a whole-signal pass.
 *
 * Everything is allocated by open; process/flush only copy and compute. */
#include "mimonet/io.h"
#include "mimonet/pim.h"

#include "jx.h"
#include "net_internal.h"

#include <cjson/cJSON.h>
#include <string.h>

struct mn_pim_canceller {
    bool neural;
    mn_pim_net *net;
    mn_pim_gmp *gmp;
    mn_pim_net net_own; /* when opened from a file */
    mn_pim_gmp gmp_own;
    bool owns;
    int n_tx, n_rx;
    char kind[16];
    int64_t D;      /* latency */
    int64_t hist;   /* tx history kept */
    int64_t C;      /* new samples per internal chunk */
    float complex *H;    /* [n_tx, hist]: tx samples [h0, p) */
    float complex *R;    /* [n_rx, D]: rx samples [p - D, p) */
    float complex *pred; /* GMP: [n_rx, hist + C], a chunk's predictions (a neural model's go straight to out) */
    float complex *G;    /* GMP: [n_tx, hist + C], tx [h0, p) of the chunk as one row each */
    double complex *rows; /* GMP: the predict workspace for nth threads (pim_gmp_predict_ws) */
    int nth;
    int64_t h0, p;
    bool have_rx; /* the stream's blocks came with rx (flush then subtracts too) */
};

static mn_status setup(mn_pim_canceller *q)
{
    if (q->neural) {
        mn_pim_net *m = q->net;
        q->n_tx = m->n_tx;
        q->n_rx = m->n_rx;
        q->D = m->border;
        q->hist = 2 * (int64_t)m->border;
        /* A cascade's base reaches M - 1 + L back from the oldest output (and its lead, at most
         * the border, ahead): pim_net_predict_src applies it. */
        if (m->base && m->border + m->base->hb > q->hist) q->hist = (int64_t)m->border + m->base->hb;
        q->C = (int64_t)m->max_B * (m->window - 2 * m->border); /* one batched forward per chunk */
        /* Where the fused executor runs the model, or junction's (pim/jx.c): one long window a
         * chunk instead, through mn_model_infer_io or jx (mn_pim_net_long_windows; a borrowed
         * net keeps jx's buffers until it is freed).  Short forwards leave the second thread idle:
         * with passive OpenMP waits 4 windows of 1024 samples ran at 6 Msps on 2 threads, one
         * of 8192 at 11. */
        const int lt = pim_long_T(m->border);
        bool jx;
        mn_status st = mn_pim_jx_matches(&m->model, m->n_tx, m->n_rx, &jx);
        if (st != MN_OK) return st;
        if (jx || mn_model_fused_usable(&m->model, lt)) {
            if (m->long_T < lt) {
                st = mn_pim_net_long_windows(m, lt);
                if (st != MN_OK) return st;
            }
            q->C = (int64_t)m->long_T - 2 * m->border;
        }
        mn_pim_net_label(m, q->kind, sizeof q->kind);
    } else {
        mn_pim_gmp *g = q->gmp;
        if (!g->coef) return mn_error(MN_ERR_INVALID, "streaming canceller: GMP model not fitted");
        q->n_tx = g->cfg.n_tx;
        q->n_rx = g->cfg.n_rx;
        q->D = g->cfg.lead;
        q->hist = (int64_t)g->cfg.M - 1 + g->cfg.L + g->cfg.lead;
        q->C = 8192;
        snprintf(q->kind, sizeof q->kind, "%s", mn_pim_gmp_kind(&g->cfg));
    }
    if (q->C < 1) return mn_error(MN_ERR_INVALID, "streaming canceller: window too short for the receptive field");
    q->H = mn_malloc((size_t)q->n_tx * (q->hist > 0 ? q->hist : 1) * sizeof *q->H);
    q->R = mn_malloc((size_t)q->n_rx * (q->D > 0 ? q->D : 1) * sizeof *q->R);
    if (!q->neural) {
        q->pred = mn_malloc((size_t)q->n_rx * (q->hist + q->C) * sizeof *q->pred);
        q->G = mn_malloc((size_t)q->n_tx * (q->hist + q->C) * sizeof *q->G);
        q->nth = mn_threads_get(); /* the threads at open: at most these run, whatever is set later */
        q->rows = mn_malloc(pim_gmp_predict_ws(q->gmp, q->nth) * sizeof *q->rows);
    }
    if (!q->H || !q->R || (!q->neural && (!q->pred || !q->G || !q->rows)))
        return mn_error(MN_ERR_NOMEM, "streaming canceller: %lld-sample buffers", (long long)(q->hist + q->C));
    mn_pim_canceller_reset(q);
    return MN_OK;
}

static mn_status make(mn_pim_canceller **out, bool neural, mn_pim_net *net, mn_pim_gmp *gmp)
{
    *out = NULL;
    mn_pim_canceller *q = mn_calloc(1, sizeof *q);
    if (!q) return mn_error(MN_ERR_NOMEM, "streaming canceller");
    q->neural = neural;
    q->net = net;
    q->gmp = gmp;
    mn_status st = setup(q);
    if (st != MN_OK) {
        mn_pim_canceller_free(q);
        return st;
    }
    *out = q;
    return MN_OK;
}

mn_status mn_pim_canceller_from_net(mn_pim_canceller **q, mn_pim_net *net) { return make(q, true, net, NULL); }
mn_status mn_pim_canceller_from_gmp(mn_pim_canceller **q, mn_pim_gmp *gmp) { return make(q, false, NULL, gmp); }

mn_status mn_pim_model_is_gmp(const char *path, bool *gmp)
{
    *gmp = false;
    char *meta = NULL;
    mn_status st = mn_safetensors_read_meta(path, &meta);
    if (st != MN_OK) return st;
    cJSON *j = meta ? cJSON_Parse(meta) : NULL;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "mimonet.format");
    *gmp = cJSON_IsString(fmt) && !strcmp(fmt->valuestring, "pim-gmp");
    bool nomem = meta && !j; /* the reader has checked the JSON: a failed parse is memory */
    cJSON_Delete(j);
    mn_free(meta);
    return nomem ? mn_error(MN_ERR_NOMEM, "%s: parsing the metadata", path) : MN_OK;
}

mn_status mn_pim_canceller_open(mn_pim_canceller **out, const char *path, int max_batch)
{
    *out = NULL;
    /* Memory: the model's activation arena holds every node's output and gradient for
     * max_batch windows (about 2 x 900 channels x 4 bytes a sample for the light model: 30 MB
     * for 4 x 1024), so a streaming canceller keeps both small; 16 mostly-overlapping windows
     * recompute only 2 border samples each.  A model the fused executor runs streams through
     * long windows of its own (setup) and never uses the arena, so by default it gets one
     * window's (7.5 MB). */
    if (max_batch < 0 || max_batch > 64) return mn_error(MN_ERR_INVALID, "streaming canceller: batch %d (1..64)", max_batch);
    bool gmp;
    mn_status st = mn_pim_model_is_gmp(path, &gmp);
    if (st != MN_OK) return st;
    mn_pim_canceller *q = mn_calloc(1, sizeof *q);
    if (!q) return mn_error(MN_ERR_NOMEM, "streaming canceller");
    q->owns = true;
    q->neural = !gmp;
    if (gmp) {
        st = mn_pim_gmp_load(&q->gmp_own, path);
        q->gmp = &q->gmp_own;
    } else {
        /* Any window > 2 border gives the same outputs; 1024 keeps the recomputed overlap
         * (2 border per window) small for the paper's models.  A model with a wider receptive
         * field gets 8 borders. */
        char *m2 = NULL;
        int window = 1024;
        bool fused = false;
        if (mn_safetensors_read_meta(path, &m2) == MN_OK) {
            cJSON *j2 = m2 ? cJSON_Parse(m2) : NULL;
            const cJSON *arch = cJSON_GetObjectItemCaseSensitive(j2, "mimonet.architecture");
            mn_model probe;
            mn_model_init(&probe);
            if (cJSON_IsString(arch) && mn_model_from_json(&probe, arch->valuestring) == MN_OK) {
                int l, r;
                mn_model_receptive_field(&probe, &l, &r);
                int bd = l > r ? l : r;
                if (8 * bd > window) window = 8 * bd;
                /* built small, only to ask whether the fused executor (or jx) runs it; best effort:
                 * only the default batch depends on the answer */
                bool jx = false;
                (void)mn_pim_jx_matches(&probe, mn_model_in_channels(&probe) / 2, mn_model_out_channels(&probe) / 2, &jx);
                fused = jx || (mn_model_build(&probe, 1, 2 * bd + 16, NULL) == MN_OK &&
                               mn_model_fused_usable(&probe, PIM_LONG_T));
            }
            mn_model_free(&probe);
            cJSON_Delete(j2);
        }
        mn_free(m2);
        if (max_batch == 0) max_batch = fused ? 1 : 4;
        st = mn_pim_net_load(&q->net_own, path, max_batch, window);
        q->net = &q->net_own;
    }
    if (st != MN_OK) {
        q->owns = false; /* the loaders free what they built on failure */
        mn_pim_canceller_free(q);
        return st;
    }
    if ((st = setup(q)) != MN_OK) {
        mn_pim_canceller_free(q);
        return st;
    }
    *out = q;
    return MN_OK;
}

int mn_pim_canceller_n_tx(const mn_pim_canceller *q) { return q->n_tx; }
int mn_pim_canceller_n_rx(const mn_pim_canceller *q) { return q->n_rx; }
int64_t mn_pim_canceller_latency(const mn_pim_canceller *q) { return q->D; }
const char *mn_pim_canceller_kind(const mn_pim_canceller *q) { return q->kind; }

mn_status mn_pim_canceller_set_precision(mn_pim_canceller *q, mn_precision p)
{
    if (q->neural) return mn_pim_net_set_precision(q->net, p);
    if (p == MN_PRECISION_FP32) return MN_OK;
    return mn_error(p == MN_PRECISION_BF16 ? MN_ERR_UNSUPPORTED : MN_ERR_INVALID,
                    "streaming canceller: the %s model runs in fp32 only", q->kind);
}

mn_precision mn_pim_canceller_precision(const mn_pim_canceller *q)
{
    return q->neural ? mn_pim_net_precision(q->net) : MN_PRECISION_FP32;
}

void mn_pim_canceller_reset(mn_pim_canceller *q)
{
    q->h0 = q->p = 0;
    q->have_rx = true;
    /* rx "before the stream" is never read (those outputs are zeros), but keep it defined. */
    memset(q->R, 0, (size_t)q->n_rx * (q->D > 0 ? q->D : 1) * sizeof *q->R);
}

void mn_pim_canceller_free(mn_pim_canceller *q)
{
    if (!q) return;
    if (q->owns) {
        if (q->neural) mn_pim_net_free(&q->net_own);
        else mn_pim_gmp_free(&q->gmp_own);
    }
    mn_free(q->H);
    mn_free(q->R);
    mn_free(q->pred);
    mn_free(q->G);
    mn_free(q->rows);
    mn_free(q);
}

/* Outputs for t in [t0, t0 + c) (row stride os), t0 + c <= p - D: rx (y, samples from t0 on;
 * NULL: none) minus the predictions from the tx in x (h0 to p); zeros for t < 0, the stream's
 * leading zeros.  `end`: p is the signal's end. */
static mn_status cancel(mn_pim_canceller *q, float complex *out, int64_t os, int64_t t0, int64_t c, const pim_src *x,
                        const pim_src *y, bool end)
{
    const int64_t lo = t0 > 0 ? t0 : 0, hi = t0 + c, z = lo - t0 < c ? lo - t0 : c; /* z leading zeros */
    for (int r = 0; r < q->n_rx && z > 0; r++) memset(out + r * os, 0, (size_t)z * sizeof *out);
    if (hi <= lo) return MN_OK;
    if (q->neural) {
        unsigned edges = (q->h0 == 0 ? MN_PIM_EDGE_START : 0) | (end ? MN_PIM_EDGE_END : 0);
        return pim_net_predict_src(q->net, out + z, os, x, lo, hi, edges, y);
    }
    /* GMP: the live samples [h0, p) as one contiguous signal (zeros before h0 are right: h0 is
     * either the stream's start or hist samples before lo); row r of pred holds samples [h0, p)
     * at stride len. */
    const int64_t len = q->p - q->h0;
    pim_src_copy(q->G, len, x, q->n_tx, q->h0, len);
    mn_status st = pim_gmp_predict_rows(q->gmp, q->pred, q->G, len, q->rows, q->nth);
    if (st != MN_OK) return st;
    for (int r = 0; r < q->n_rx; r++) {
        float complex *o = out + r * os + z;
        const float complex *pp = q->pred + r * len + (lo - q->h0);
        if (!y) {
            memcpy(o, pp, (size_t)(hi - lo) * sizeof *o);
            continue;
        }
        /* rx [lo, m) from y's first piece, [m, hi) from its second */
        const int64_t m = pim_src_cut(y, lo, hi - lo);
        if (m > lo) {
            const float complex *ra = y->a + r * y->as + (lo - y->x0);
            for (int64_t i = 0; i < m - lo; i++) o[i] = ra[i] - pp[i];
        }
        if (hi > m) {
            const float complex *rb = y->b + r * y->bs + (m - y->xm);
            for (int64_t i = m - lo; i < hi - lo; i++) o[i] = rb[i - (m - lo)] - pp[i];
        }
    }
    return MN_OK;
}

/* Rewrite buf, x's first piece (row stride x->as), as samples [from, x->x1) of x. */
static void keep_tail(float complex *buf, const pim_src *x, int rows, int64_t from)
{
    const int64_t n = x->x1 - from, na = x->xm - from > 0 ? x->xm - from : 0;
    if (n <= 0) return;
    for (int r = 0; r < rows; r++) {
        float complex *d = buf + r * x->as;
        if (na > 0) memmove(d, d + (from - x->x0), (size_t)na * sizeof *d);
        memcpy(d + na, x->b + r * x->bs + (from + na - x->xm), (size_t)(n - na) * sizeof *d);
    }
}

mn_status mn_pim_canceller_process(mn_pim_canceller *q, const float complex *tx, const float complex *rx,
                                   float complex *out, int64_t n)
{
    if (n < 0 || (n > 0 && (!tx || !out))) return mn_error(MN_ERR_INVALID, "canceller: block of %lld samples", (long long)n);
    for (int64_t done = 0; done < n;) {
        const int64_t c = n - done < q->C ? n - done : q->C, p0 = q->p;
        /* The signal so far as two pieces: the history, then the caller's chunk. */
        const pim_src x = {.a = q->H, .as = q->hist, .x0 = q->h0, .xm = p0, .b = tx + done, .bs = n, .x1 = p0 + c};
        const pim_src y = {.a = q->R, .as = q->D, .x0 = p0 - q->D, .xm = p0, .b = rx ? rx + done : NULL, .bs = n,
                           .x1 = p0 + c};
        q->p += c;
        q->have_rx = rx != NULL;
        mn_status st = cancel(q, out + done, n, p0 - q->D, c, &x, rx ? &y : NULL, false);
        if (st != MN_OK) return st;
        /* Keep the last hist tx samples and the last D rx samples for the next chunk. */
        const int64_t h0n = q->p - q->hist > 0 ? q->p - q->hist : 0;
        keep_tail(q->H, &x, q->n_tx, h0n);
        q->h0 = h0n;
        if (rx) keep_tail(q->R, &y, q->n_rx, q->p - q->D);
        done += c;
    }
    return MN_OK;
}

mn_status mn_pim_canceller_flush(mn_pim_canceller *q, float complex *out)
{
    if (q->D > 0) {
        const int64_t t0 = q->p - q->D;
        const pim_src x = {.a = q->H, .as = q->hist, .x0 = q->h0, .xm = q->p, .x1 = q->p};
        const pim_src y = {.a = q->R, .as = q->D, .x0 = t0, .xm = q->p, .x1 = q->p};
        mn_status st = cancel(q, out, q->D, t0, q->D, &x, q->have_rx ? &y : NULL, true);
        if (st != MN_OK) return st;
    }
    mn_pim_canceller_reset(q);
    return MN_OK;
}
