/* pim/stream.c — streaming cancellation: blocks of any size in, rx - predicted PIM out, with the
 * receptive-field history carried between calls (see mn_pim_canceller in pim.h).
 *
 * Time bookkeeping, in absolute samples of the stream: p samples have been received; the
 * history buffer H holds tx samples [h0, p) followed by room for one chunk of C new samples.
 * Output number o of the stream is sample t = o - D of the cleaned signal (D the latency).
 *
 * Neural model (two-sided receptive field bd, D = bd).  A chunk of c new samples advances p to
 * p' and emits t in [p - D, p' - D); those predictions need tx up to p' - D + bd = p' and back to
 * p - D - bd = p - 2 bd, which is exactly what H keeps (2 bd samples of history), or the
 * signal's first sample (then the model pads the edge as a whole-signal pass does).
 * mn_pim_net_predict_range does the windowing.
 *
 * GMP (causal, memory M - 1 + L, D = 0).  The basis of sample t looks back M - 1 + L samples;
 * H keeps that many, and samples before the stream's start are zeros in both the stream and a
 * whole-signal pass.
 *
 * Everything is allocated by open; process/flush only copy and compute. */
#include "mimonet/io.h"
#include "mimonet/pim.h"

#include "../nn/pragma.h" /* OMP(): nothing without OpenMP */

#include "jx.h"

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
    int64_t ps;     /* row stride of pred: a chunk's predictions, or flush's D (neural) */
    int64_t stride; /* row stride of H: hist + C */
    float complex *H;    /* [n_tx, stride]: tx samples [h0, p), then the chunk */
    float complex *R;    /* [n_rx, D + C]: rx samples [p - D, p), then the chunk */
    float complex *pred; /* [n_rx, C] (neural) or [n_rx, stride] (GMP) */
    float complex *G;    /* GMP: [n_tx, stride] contiguous copy of H's live samples */
    int64_t h0, p;
    bool have_rx; /* the stream's blocks came with rx (flush then subtracts too) */
};

/* Samples per long window of a neural stream (see setup): long enough that a forward keeps 2
 * threads busy (8192 gave 6.4 Msps on 2 threads, 16384 6.8), at about 15 MB of buffers for
 * 32 Tx and 16 Rx with the history. */
#define STREAM_LONG_T 16384
/* Rows x samples below which a chunk's copies stay on one thread. */
#define PAR_MIN_SAMPLES (1 << 16)

static mn_status setup(mn_pim_canceller *q)
{
    if (q->neural) {
        mn_pim_net *m = q->net;
        q->n_tx = m->n_tx;
        q->n_rx = m->n_rx;
        q->D = m->border;
        q->hist = 2 * (int64_t)m->border;
        q->C = (int64_t)m->max_B * (m->window - 2 * m->border); /* one batched forward per chunk */
        /* Where the fused executor runs the model, or junction's (pim/jx.c): one long window a
         * chunk instead, through mn_model_infer or jx (mn_pim_net_long_windows; a borrowed net
         * keeps the buffers until it is freed).  Short forwards leave the second thread idle:
         * with passive OpenMP waits 4 windows of 1024 samples ran at 6 Msps on 2 threads, one
         * of 8192 at 11. */
        const int lt = m->border < STREAM_LONG_T / 8 ? STREAM_LONG_T : 8 * m->border;
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
        snprintf(q->kind, sizeof q->kind, "%s", m->kind);
    } else {
        mn_pim_gmp *g = q->gmp;
        if (!g->coef) return mn_error(MN_ERR_INVALID, "streaming canceller: GMP model not fitted");
        q->n_tx = g->cfg.n_tx;
        q->n_rx = g->cfg.n_rx;
        q->D = 0;
        q->hist = (int64_t)g->cfg.M - 1 + g->cfg.L;
        q->C = 8192;
        snprintf(q->kind, sizeof q->kind, "%s", g->cfg.K == 0 ? "fir" : "gmp");
    }
    if (q->C < 1) return mn_error(MN_ERR_INVALID, "streaming canceller: window too short for the receptive field");
    q->stride = q->hist + q->C;
    q->H = mn_malloc((size_t)q->n_tx * q->stride * sizeof *q->H);
    q->R = mn_malloc((size_t)q->n_rx * (q->D + q->C) * sizeof *q->R);
    /* A flush predicts the last D samples at once, which can exceed a chunk when the window is
     * short for the receptive field (window < 3 border at batch 1). */
    q->ps = q->neural ? (q->C > q->D ? q->C : q->D) : q->stride;
    q->pred = mn_malloc((size_t)q->n_rx * q->ps * sizeof *q->pred);
    q->G = q->neural ? NULL : mn_malloc((size_t)q->n_tx * q->stride * sizeof *q->G);
    if (!q->H || !q->R || !q->pred || (!q->neural && !q->G))
        return mn_error(MN_ERR_NOMEM, "streaming canceller: %lld-sample buffers", (long long)q->stride);
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
                               mn_model_fused_usable(&probe, STREAM_LONG_T));
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
    if (q->neural) return mn_model_set_precision(&q->net->model, p);
    if (p == MN_PRECISION_FP32) return MN_OK;
    return mn_error(p == MN_PRECISION_BF16 ? MN_ERR_UNSUPPORTED : MN_ERR_INVALID,
                    "streaming canceller: the %s model runs in fp32 only", q->kind);
}

mn_precision mn_pim_canceller_precision(const mn_pim_canceller *q)
{
    return q->neural ? mn_model_precision(&q->net->model) : MN_PRECISION_FP32;
}

void mn_pim_canceller_reset(mn_pim_canceller *q)
{
    q->h0 = q->p = 0;
    q->have_rx = true;
    /* rx "before the stream" is never read (those outputs are zeros), but keep it defined. */
    memset(q->R, 0, (size_t)q->n_rx * (q->D + q->C) * sizeof *q->R);
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
    mn_free(q);
}

/* Predictions for t in [lo, hi) (within [h0, p)) into q->pred (row stride q->ps, starting at
 * lo).  `end`: p is the signal's end. */
static mn_status predict(mn_pim_canceller *q, int64_t lo, int64_t hi, bool end)
{
    if (hi <= lo) return MN_OK;
    if (q->neural) {
        unsigned edges = (q->h0 == 0 ? MN_PIM_EDGE_START : 0) | (end ? MN_PIM_EDGE_END : 0);
        return mn_pim_net_predict_range(q->net, q->pred, q->ps, q->H, q->stride, q->h0, q->p, lo, hi, edges);
    }
    /* GMP: the live samples [h0, p) as one contiguous signal (zeros before h0 are right: h0 is
     * either the stream's start or hist samples before lo). */
    const int64_t len = q->p - q->h0;
    for (int a = 0; a < q->n_tx; a++) memcpy(q->G + a * len, q->H + a * q->stride, (size_t)len * sizeof *q->G);
    mn_status st = mn_pim_gmp_predict(q->gmp, q->pred, q->G, len);
    if (st != MN_OK) return st;
    /* Row r holds samples [h0, p) at stride len; move [lo, hi) to the front of row r (stride q->stride). */
    for (int r = q->n_rx - 1; r >= 0; r--) /* downwards: a row's target never holds a lower row's source */
        memmove(q->pred + r * q->stride, q->pred + r * len + (lo - q->h0), (size_t)(hi - lo) * sizeof *q->pred);
    return MN_OK;
}

/* Emit outputs for t in [t0, t0 + c): rx (from R, which starts at sample p_prev - D) minus the
 * predictions for [lo, t0 + c) (t < lo only when t < 0: the stream's leading zeros). */
static void emit(mn_pim_canceller *q, float complex *out, int64_t out_stride, int64_t t0, int64_t c, int64_t r0,
                 int64_t lo, bool have_rx)
{
    const int64_t ps = q->ps;
    const int64_t z = lo - t0 <= 0 ? 0 : lo - t0 < c ? lo - t0 : c; /* leading zeros */
    const int64_t dr = t0 - r0, dp = t0 - lo; /* sample t0 + i is rr[i + dr], pp[i + dp] */
    const bool par = c * q->n_rx >= PAR_MIN_SAMPLES;
    (void)par;
OMP(parallel for schedule(static) num_threads(mn_threads_get()) if (par))
    for (int r = 0; r < q->n_rx; r++) {
        float complex *o = out + r * out_stride;
        const float complex *rr = q->R + r * (q->D + q->C), *pp = q->pred + r * ps;
        if (z > 0) memset(o, 0, (size_t)z * sizeof *o);
        if (have_rx)
            for (int64_t i = z; i < c; i++) o[i] = rr[i + dr] - pp[i + dp];
        else if (c > z)
            memcpy(o + z, pp + (z + dp), (size_t)(c - z) * sizeof *o);
    }
}

/* Keep the last `hist` tx samples and the last D rx samples for the next chunk. */
static void slide(mn_pim_canceller *q, int64_t r0)
{
    int64_t h0n = q->p - q->hist > 0 ? q->p - q->hist : 0;
    if (h0n > q->h0)
        for (int a = 0; a < q->n_tx; a++)
            memmove(q->H + a * q->stride, q->H + a * q->stride + (h0n - q->h0), (size_t)(q->p - h0n) * sizeof *q->H);
    q->h0 = h0n;
    const int64_t rs = q->D + q->C, keep_from = q->p - q->D; /* R holds [r0, p) */
    if (q->D > 0)
        for (int r = 0; r < q->n_rx; r++)
            memmove(q->R + r * rs, q->R + r * rs + (keep_from - r0), (size_t)q->D * sizeof *q->R);
}

mn_status mn_pim_canceller_process(mn_pim_canceller *q, const float complex *tx, const float complex *rx,
                                   float complex *out, int64_t n)
{
    if (n < 0 || (n > 0 && (!tx || !out))) return mn_error(MN_ERR_INVALID, "canceller: block of %lld samples", (long long)n);
    for (int64_t done = 0; done < n;) {
        const int64_t c = n - done < q->C ? n - done : q->C;
        /* Append the chunk: tx after [h0, p), rx after [p - D, p) (rows in parallel when long:
         * memory-bound copies). */
        const bool par = c * q->n_tx >= PAR_MIN_SAMPLES;
        (void)par;
OMP(parallel for schedule(static) num_threads(mn_threads_get()) if (par))
        for (int a = 0; a < q->n_tx; a++)
            memcpy(q->H + a * q->stride + (q->p - q->h0), tx + a * n + done, (size_t)c * sizeof *q->H);
        const int64_t r0 = q->p - q->D;
        if (rx)
            for (int r = 0; r < q->n_rx; r++)
                memcpy(q->R + r * (q->D + q->C) + q->D, rx + r * n + done, (size_t)c * sizeof *q->R);
        const int64_t t0 = q->p - q->D; /* first output of this chunk */
        q->p += c;
        const int64_t lo = t0 > 0 ? t0 : 0, hi = q->p - q->D;
        mn_status st = predict(q, lo, hi, false);
        if (st != MN_OK) return st;
        q->have_rx = rx != NULL;
        emit(q, out + done, n, t0, c, r0, lo, q->have_rx);
        slide(q, r0);
        done += c;
    }
    return MN_OK;
}

mn_status mn_pim_canceller_flush(mn_pim_canceller *q, float complex *out)
{
    if (q->D > 0) {
        const int64_t t0 = q->p - q->D, lo = t0 > 0 ? t0 : 0, r0 = t0;
        mn_status st = q->p > 0 ? predict(q, lo, q->p, true) : MN_OK;
        if (st != MN_OK) return st;
        emit(q, out, q->D, t0, q->D, r0, lo, q->have_rx);
    }
    mn_pim_canceller_reset(q);
    return MN_OK;
}
