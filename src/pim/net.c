/* pim/net.c — the neural canceller object: a declared model plus the scaling learned from the
 * training split; checkpoints (safetensors + JSON metadata) and whole-signal prediction by
 * overlapping windows that equals a single pass over the whole signal. */
#include "mimonet/io.h"
#include "mimonet/pim.h"

#include "../nn/pragma.h" /* OMP(): nothing without OpenMP */

#include "jx.h"
#include "net_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shared tail of create and load: everything that follows a declared model. */
static mn_status net_finish(mn_pim_net *q, int max_B, int window, mn_rng *rng)
{
    int l, r;
    mn_model_receptive_field(&q->model, &l, &r);
    q->border = l > r ? l : r;
    if (window <= 2 * q->border)
        return mn_error(MN_ERR_INVALID, "window of %d samples is too short for a receptive field of %d each side",
                        window, q->border);
    mn_status st = mn_model_build(&q->model, max_B, window, rng);
    if (st != MN_OK) return st;
    q->max_B = max_B;
    q->window = window;
    q->xbuf = mn_malloc((size_t)max_B * 2 * q->n_tx * window * sizeof(float));
    if (!q->xbuf) return mn_error(MN_ERR_NOMEM, "prediction buffer");
    return MN_OK;
}

mn_status mn_pim_net_create(mn_pim_net *q, const char *kind, int n_tx, int n_rx, int max_B,
                            int window, mn_rng *rng)
{
    return mn_pim_net_create_opts(q, kind, NULL, n_tx, n_rx, max_B, window, rng);
}

mn_status mn_pim_net_create_opts(mn_pim_net *q, const char *kind, const mn_pim_model_opts *opts, int n_tx, int n_rx,
                                 int max_B, int window, mn_rng *rng)
{
    memset(q, 0, sizeof *q);
    mn_model_init(&q->model);
    if (n_tx < 1 || n_rx < 1 || max_B < 1 || max_B > PIM_MAX_BATCH)
        return mn_error(MN_ERR_INVALID, "canceller: %d Tx, %d Rx, batch %d", n_tx, n_rx, max_B);
    if (strlen(kind) >= sizeof q->kind) return mn_error(MN_ERR_INVALID, "unknown model '%s'", kind);
    strcpy(q->kind, kind);
    q->n_tx = n_tx;
    q->n_rx = n_rx;
    q->in_scale = q->out_scale = 1.0f;
    if (mn_pim_model_declare_opts(&q->model, kind, n_tx, n_rx, opts) < 0) {
        mn_status st = q->model.status;
        mn_model_free(&q->model);
        return st;
    }
    mn_status st = net_finish(q, max_B, window, rng);
    if (st == MN_OK) mn_pim_model_prior(&q->model, kind);
    if (st != MN_OK) {
        mn_status keep = st;
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mn_error_msg());
        mn_pim_net_free(q);
        return mn_error(keep, "%s", msg);
    }
    return MN_OK;
}

/* The model's tensors, then a base's "base.coef.hi" and "base.coef.lo" [n_rx, ncols, 2] (the
 * layout of a GMP file), as one table for a cascade's file; *ih indexes base.coef.hi. */
static mn_status cascade_table(mn_params *t, const mn_params *own, const mn_pim_gmp_cfg *c, int *ih)
{
    mn_params_init_table(t);
    int k = 0;
    for (int i = 0; i < own->n && k >= 0; i++) {
        const mn_param_def *d = &own->defs[i];
        k = mn_params_add(t, d->name, d->ndim, d->shape, d->init, d->scale, d->fan_in, d->trainable);
    }
    const int64_t shape[3] = {c->n_rx, mn_pim_gmp_columns(c), 2};
    if (k >= 0) k = *ih = mn_params_add(t, "base.coef.hi", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    if (k >= 0) k = mn_params_add(t, "base.coef.lo", 3, shape, MN_INIT_ZEROS, 0, 1, false);
    mn_status st = k < 0 ? (mn_status)-k : mn_params_alloc(t);
    if (st != MN_OK) mn_params_free(t);
    return st;
}

/* Each of own's tensors between own and t (whose first tensors are own's). */
static void copy_own(mn_params *t, const mn_params *own, bool to_t)
{
    for (int i = 0; i < own->n; i++) {
        float *a = mn_params_w(t, i), *b = mn_params_w(own, i);
        memcpy(to_t ? a : b, to_t ? b : a, own->defs[i].numel * sizeof(float));
    }
}

mn_status mn_pim_net_save(const mn_pim_net *q, const char *path, const char *const *keys,
                          const char *const *values, int n_extra)
{
    enum { N_OWN = 9, MAX_META = 40 };
    if (n_extra < 0 || n_extra > MAX_META - N_OWN)
        return mn_error(MN_ERR_INVALID, "checkpoint: %d metadata pairs", n_extra);
    char *arch = mn_model_to_json(&q->model);
    if (!arch) return mn_error(MN_ERR_NOMEM, "checkpoint metadata");
    char ntx[16], nrx[16], isc[32], osc[32], basis[256];
    snprintf(ntx, sizeof ntx, "%d", q->n_tx);
    snprintf(nrx, sizeof nrx, "%d", q->n_rx);
    snprintf(isc, sizeof isc, "%.9g", (double)q->in_scale);
    snprintf(osc, sizeof osc, "%.9g", (double)q->out_scale);
    const char *k[MAX_META] = {"mimonet.format", "mimonet.version", "mimonet.kind", "mimonet.n_tx",
                               "mimonet.n_rx", "mimonet.in_scale", "mimonet.out_scale",
                               "mimonet.architecture", "mimonet.base"};
    const char *v[MAX_META] = {"pim-canceller", MN_VERSION_STRING, q->kind, ntx, nrx, isc, osc, arch, basis};
    const int own = q->base ? N_OWN : N_OWN - 1; /* mimonet.base only for a cascade */
    for (int i = 0; i < n_extra; i++) {
        k[own + i] = keys[i];
        v[own + i] = values[i];
    }
    mn_status st;
    if (!q->base) st = mn_safetensors_save(path, &q->model.params, k, v, own + n_extra);
    else {
        mn_params t;
        int ih = 0;
        pim_gmp_basis_json(&q->base->g.cfg, basis, sizeof basis);
        st = cascade_table(&t, &q->model.params, &q->base->g.cfg, &ih);
        if (st == MN_OK) {
            copy_own(&t, &q->model.params, true);
            pim_gmp_coef_to_f32(&q->base->g, mn_params_w(&t, ih), mn_params_w(&t, ih + 1));
            st = mn_safetensors_save(path, &t, k, v, own + n_extra);
            mn_params_free(&t);
        }
    }
    mn_free(arch);
    return st;
}

static const char *meta_str(const cJSON *meta, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

mn_status mn_pim_net_load(mn_pim_net *q, const char *path, int max_B, int window)
{
    memset(q, 0, sizeof *q);
    mn_model_init(&q->model);
    if (max_B < 1 || max_B > PIM_MAX_BATCH)
        return mn_error(MN_ERR_INVALID, "canceller: batch %d (1..%d)", max_B, PIM_MAX_BATCH);
    char *meta_txt = NULL;
    mn_status st = mn_safetensors_read_meta(path, &meta_txt);
    if (st != MN_OK) return st;
    cJSON *meta = meta_txt ? cJSON_Parse(meta_txt) : NULL;
    bool nomem = meta_txt && !meta; /* the reader has checked the JSON: a failed parse is memory */
    mn_free(meta_txt);
    if (nomem) return mn_error(MN_ERR_NOMEM, "%s: parsing the metadata", path);
    const char *fmt = meta_str(meta, "mimonet.format"), *kind = meta_str(meta, "mimonet.kind");
    const char *ntx = meta_str(meta, "mimonet.n_tx"), *nrx = meta_str(meta, "mimonet.n_rx");
    const char *isc = meta_str(meta, "mimonet.in_scale"), *osc = meta_str(meta, "mimonet.out_scale");
    const char *arch = meta_str(meta, "mimonet.architecture"), *base = meta_str(meta, "mimonet.base");
    mn_pim_gmp_cfg bc;
    if (base && pim_gmp_cfg_from_json(&bc, base) != MN_OK) {
        cJSON_Delete(meta);
        return mn_error(MN_ERR_FORMAT, "%s: the cascade's base: %s", path, mn_error_msg());
    }
    if (!fmt || strcmp(fmt, "pim-canceller") || !kind || !ntx || !nrx || !isc || !osc || !arch ||
        strlen(kind) >= sizeof q->kind) {
        cJSON_Delete(meta);
        return mn_error(MN_ERR_FORMAT, "%s: not a mimonet PIM canceller (metadata mimonet.* missing)", path);
    }
    strcpy(q->kind, kind);
    q->n_tx = atoi(ntx);
    q->n_rx = atoi(nrx);
    q->in_scale = strtof(isc, NULL);
    q->out_scale = strtof(osc, NULL);
    st = mn_model_from_json(&q->model, arch);
    const bool cascade = base != NULL;
    cJSON_Delete(meta); /* the strings above point into it */
    if (st == MN_OK && (q->n_tx < 1 || q->n_rx < 1 || mn_model_in_channels(&q->model) != 2 * q->n_tx ||
                        mn_model_out_channels(&q->model) != 2 * q->n_rx || !(q->in_scale > 0) ||
                        !(q->out_scale > 0)))
        st = mn_error(MN_ERR_FORMAT, "%s: metadata disagrees with the architecture", path);
    if (st == MN_OK) st = net_finish(q, max_B, window, NULL);
    if (st == MN_OK && !cascade) st = mn_safetensors_load(&q->model.params, path, NULL);
    if (st == MN_OK && cascade) {
        /* The model's tensors and the base's, read as one table, then each to its owner. */
        mn_params t;
        mn_pim_gmp g = {0};
        int ih = 0;
        st = cascade_table(&t, &q->model.params, &bc, &ih);
        if (st == MN_OK) {
            st = mn_safetensors_load(&t, path, NULL);
            if (st == MN_OK) copy_own(&t, &q->model.params, false);
            if (st == MN_OK) st = pim_gmp_coef_from_f32(&g, &bc, mn_params_w(&t, ih), mn_params_w(&t, ih + 1));
            mn_params_free(&t);
        }
        if (st == MN_OK) st = mn_pim_net_set_base(q, &g);
        mn_pim_gmp_free(&g);
    }
    if (st != MN_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mn_error_msg());
        mn_pim_net_free(q);
        return mn_error(st, "%s", msg);
    }
    return MN_OK;
}

mn_status mn_pim_net_long_windows(mn_pim_net *q, int T)
{
    if (T != 0 && T <= 2 * q->border)
        return mn_error(MN_ERR_INVALID, "long windows of %d samples: the receptive field needs more than %d", T,
                        2 * q->border);
    mn_pim_jx_free(q->jx);
    q->jx = NULL;
    q->long_T = 0;
    if (T == 0) return MN_OK;
    /* Both executors convert the complex rows inside their tiles (pim_io), so a long window
     * needs no buffer of its own; junction's needs its executor's. */
    bool jx;
    mn_status st = mn_pim_jx_matches(&q->model, q->n_tx, q->n_rx, &jx);
    if (st == MN_OK && jx) st = mn_pim_jx_create(&q->jx, &q->model, q->n_tx, q->n_rx, T, mn_threads_get());
    if (st != MN_OK) return st;
    q->long_T = T;
    return MN_OK;
}

mn_status mn_pim_net_set_precision(mn_pim_net *q, mn_precision p)
{
    bool jx;
    mn_status st = mn_pim_jx_matches(&q->model, q->n_tx, q->n_rx, &jx);
    if (st != MN_OK) return st;
    if (!jx) {
        st = mn_model_set_precision(&q->model, p);
        if (st == MN_ERR_UNSUPPORTED && p == MN_PRECISION_BF16 && !mn_model_fused_usable(&q->model, q->window))
            return mn_error(st, "pim net: bf16 runs in the fused executor (chains of convs, linears, norms and "
                            "activations: light, large, dynamic) and in junction's; the %s model is neither",
                            q->kind);
        return st;
    }
    if (p == MN_PRECISION_FP32) {
        q->jx_bf16 = false;
        return MN_OK;
    }
    if (p != MN_PRECISION_BF16) return mn_error(MN_ERR_INVALID, "pim net: unknown precision %d", (int)p);
    if (!mn_pim_jx_cpu_bf16())
        return mn_error(MN_ERR_UNSUPPORTED, "pim net: bf16 inference needs an x86-64 CPU with AVX512_BF16 (and AVX512 "
                        "F/BW/VL), which this one lacks; use fp32");
    if (!q->jx && (st = mn_pim_net_long_windows(q, pim_long_T(q->border))) != MN_OK) return st;
    q->jx_bf16 = true;
    return MN_OK;
}

mn_precision mn_pim_net_precision(const mn_pim_net *q)
{
    return q->jx_bf16 ? MN_PRECISION_BF16 : mn_model_precision(&q->model);
}

/* Rows x samples below which the conversions to and from a window stay on one thread. */
#define PAR_MIN_SAMPLES (1 << 16)

void pim_src_split(float *re, float *im, const pim_src *x, int r, int64_t s, int64_t n, float scale)
{
    /* [s, m) from the first piece, [m, s + n) from the second */
    const int64_t m = pim_src_cut(x, s, n);
    if (m > s) mn_complex_row_split(re, im, x->a + (int64_t)r * x->as + (s - x->x0), m - s, scale);
    if (s + n > m)
        mn_complex_row_split(re + (m - s), im + (m - s), x->b + (int64_t)r * x->bs + (m - x->xm), s + n - m, scale);
}

void pim_emit_row(float complex *o, const float *re, const float *im, int64_t n, float inv, const pim_src *sub, int r,
                  int64_t t)
{
    if (n <= 0) return;
    if (!sub) {
        mn_complex_row_join(o, re, im, n, inv);
        return;
    }
    /* [t, m) from sub's first piece, [m, t + n) from its second */
    const int64_t m = pim_src_cut(sub, t, n);
    if (m > t) mn_complex_row_join_sub(o, sub->a + r * sub->as + (t - sub->x0), re, im, m - t, inv);
    if (t + n > m)
        mn_complex_row_join_sub(o + (m - t), sub->b + r * sub->bs + (m - sub->xm), re + (m - t), im + (m - t),
                                t + n - m, inv);
}

/* Fill window b of xbuf [B, 2 n_tx, T] with scaled I/Q of samples [s, s + T) of x. */
void pim_io_load(const pim_io *io, float *dst, size_t ds, int t, int n)
{
    for (int a = 0; a < io->n_tx; a++)
        pim_src_split(dst + (size_t)(2 * a) * ds, dst + (size_t)(2 * a + 1) * ds, io->x, a, io->s + t, n, io->in_scale);
}

void pim_io_store(const pim_io *io, const float *src, size_t ss, int t, int n)
{
    /* the absolute samples [u, e) of [s + t, s + t + n) that are wanted */
    const int64_t a0 = io->s + t, u = a0 > io->klo ? a0 : io->klo, e = a0 + n < io->khi ? a0 + n : io->khi;
    for (int r = 0; r < io->n_rx && e > u; r++) {
        const float *re = src + (size_t)(2 * r) * ss + (u - a0);
        pim_emit_row(io->out + r * io->os + (u - io->lo), re, re + ss, e - u, io->out_inv, io->sub, r, u);
    }
}

static void io_load(void *user, float *dst, size_t ds, int t, int n) { pim_io_load(user, dst, ds, t, n); }
static void io_store(void *user, const float *src, size_t ss, int t, int n) { pim_io_store(user, src, ss, t, n); }

static void gather(const mn_pim_net *q, float *xbuf, int b, const pim_src *x, int64_t s, int T)
{
    float *xb = xbuf + (size_t)b * 2 * q->n_tx * T;
    /* rows in parallel for a long window: memory-bound copies the second core speeds up */
    const bool par = (int64_t)T * q->n_tx >= PAR_MIN_SAMPLES;
    (void)par;
OMP(parallel for schedule(static) num_threads(mn_threads_get()) if (par))
    for (int a = 0; a < q->n_tx; a++) {
        float *re = xb + (size_t)(2 * a) * T;
        pim_src_split(re, re + T, x, a, s, T, q->in_scale);
    }
}

void pim_src_copy(float complex *dst, int64_t ds, const pim_src *x, int rows, int64_t s, int64_t n)
{
    const int64_t m = pim_src_cut(x, s, n);
    for (int r = 0; r < rows; r++) {
        float complex *d = dst + (int64_t)r * ds;
        if (m > s) memcpy(d, x->a + (int64_t)r * x->as + (s - x->x0), (size_t)(m - s) * sizeof *d);
        if (s + n > m) memcpy(d + (m - s), x->b + (int64_t)r * x->bs + (m - x->xm), (size_t)(s + n - m) * sizeof *d);
    }
}

mn_status mn_pim_net_predict_range(mn_pim_net *q, float complex *out, int64_t out_stride, const float complex *x,
                                   int64_t x_stride, int64_t x0, int64_t x1, int64_t lo, int64_t hi, unsigned edges)
{
    const pim_src src = {.a = x, .as = x_stride, .x0 = x0, .xm = x1, .x1 = x1};
    return pim_net_predict_src(q, out, out_stride, &src, lo, hi, edges, NULL);
}

/* The model's part of pim_net_predict_src. */
static mn_status model_predict_src(mn_pim_net *q, float complex *out, int64_t out_stride, const pim_src *x, int64_t lo,
                                   int64_t hi, unsigned edges, const pim_src *sub)
{
    const int64_t x0 = x->x0, x1 = x->x1;
    if (x->xm < x0 || x->xm > x1) return mn_error(MN_ERR_INVALID, "predict: pieces [%lld, %lld) and [%lld, %lld)",
                                                  (long long)x0, (long long)x->xm, (long long)x->xm, (long long)x1);
    const int bd = q->border;
    const bool left = edges & MN_PIM_EDGE_START, right = edges & MN_PIM_EDGE_END;
    if (hi <= lo) return MN_OK;
    if (q->jx_bf16 && !q->jx)
        return mn_error(MN_ERR_INVALID, "predict: a bf16 junction runs only in its long windows, which were released");
    /* The samples the windows cover: from the signal's own edge, or the receptive field beyond
     * the outputs.  Both must lie inside what x holds. */
    const int64_t s_lo = left ? x0 : lo - bd, s_hi = right ? x1 : hi + bd;
    if (s_lo < x0 || s_hi > x1 || lo < s_lo || hi > s_hi)
        return mn_error(MN_ERR_INVALID, "predict: outputs [%lld, %lld) need samples [%lld, %lld); [%lld, %lld) given",
                        (long long)lo, (long long)hi, (long long)s_lo, (long long)s_hi, (long long)x0, (long long)x1);
    const int64_t len = s_hi - s_lo;
    /* Window length: the built one, or the whole span when shorter.  Long windows
     * (mn_pim_net_long_windows) go one at a time through the fused executor
     * (mn_model_infer_io), when it runs, or junction's (mn_pim_jx_infer_io). */
    const bool lng =
        q->long_T > 0 && (q->jx || mn_model_fused_usable(&q->model, len < q->long_T ? (int)len : q->long_T));
    const int W = lng ? q->long_T : q->window, max_B = lng ? 1 : q->max_B;
    const int T = len < W ? (int)len : W;
    float *xbuf = q->xbuf;
    const int64_t keep = T - 2 * bd; /* outputs with full context per interior window */
    if (len > T && keep < 1) return mn_error(MN_ERR_INVALID, "predict: window too short");
    /* Window starts: s_lo, then every `keep` so the kept ranges [s + bd, s + T - bd) tile, the
     * last window ending at s_hi.  A window at the signal's own edge also keeps its outer bd
     * samples (padded exactly as a whole-signal pass pads them). */
    const int64_t n_win = len <= T ? 1 : 1 + (len - T + keep - 1) / keep;
    const float inv = 1.0f / q->out_scale;
    for (int64_t w0 = 0; w0 < n_win; w0 += max_B) {
        int nb = (int)(n_win - w0 < max_B ? n_win - w0 : max_B);
        if (lng) { /* one window, its complex I/O converted inside the executor's tiles */
            int64_t s = s_lo + w0 * keep;
            if (s + T > s_hi) s = s_hi - T;
            int64_t klo = left && s == s_lo ? s : s + bd, khi = right && s + T == s_hi ? s_hi : s + T - bd;
            pim_io io = {.x = x, .n_tx = q->n_tx, .n_rx = q->n_rx, .s = s, .in_scale = q->in_scale, .out = out,
                         .os = out_stride, .lo = lo, .klo = klo > lo ? klo : lo, .khi = khi < hi ? khi : hi, .sub = sub,
                         .out_inv = inv};
            const mn_infer_io fio = {.load = io_load, .store = io_store, .user = &io};
            mn_status err = q->jx ? mn_pim_jx_infer_io(q->jx, &q->model, &io, T, q->jx_bf16) : mn_model_infer_io(&q->model, T, &fio);
            if (err != MN_OK) return err;
            continue;
        }
        int64_t st[PIM_MAX_BATCH]; /* max_B <= PIM_MAX_BATCH, checked at creation */
        for (int b = 0; b < nb; b++) {
            int64_t s = s_lo + (w0 + b) * keep;
            if (s + T > s_hi) s = s_hi - T;
            st[b] = s;
            gather(q, xbuf, b, x, s, T);
        }
        mn_status err = mn_model_forward(&q->model, xbuf, nb, T, false);
        if (err != MN_OK) return err;
        int C = 2 * q->n_rx, To;
        const float *y = mn_model_output(&q->model, &C, &To);
        for (int b = 0; b < nb; b++) {
            int64_t s = st[b];
            int64_t klo = left && s == s_lo ? s : s + bd, khi = right && s + T == s_hi ? s_hi : s + T - bd;
            if (klo < lo) klo = lo;
            if (khi > hi) khi = hi;
            /* Ranges of consecutive windows may overlap at the end; identical values, so the
             * overwrite is harmless. */
            const bool par = (khi - klo) * q->n_rx >= PAR_MIN_SAMPLES;
            (void)par;
OMP(parallel for schedule(static) num_threads(mn_threads_get()) if (par))
            for (int r = 0; r < q->n_rx; r++) {
                const float *re = y + ((size_t)b * C + 2 * r) * T + (klo - s);
                pim_emit_row(out + (int64_t)r * out_stride + (klo - lo), re, re + T, khi - klo, inv, sub, r, klo);
            }
        }
    }
    return MN_OK;
}

/* out (n_rx rows of stride os, from absolute sample lo) += the base's prediction of [lo, hi), or
 * -= it where out already holds sub minus the model's (the canceller's rx - PIM).  The base
 * reaches hb samples back and lead ahead: x must hold them, or the signal's edge (zeros
 * beyond, as a whole-signal pass has).  In chunks of PIM_BASE_CHUNK outputs through the
 * base's own buffers: no allocation. */
static mn_status base_apply(struct mn_pim_base *b, int n_tx, int n_rx, float complex *out, int64_t os, const pim_src *x,
                            int64_t lo, int64_t hi, unsigned edges, bool subtract)
{
    const bool left = edges & MN_PIM_EDGE_START, right = edges & MN_PIM_EDGE_END;
    if ((!left && lo - b->hb < x->x0) || (!right && hi + b->lead > x->x1))
        return mn_error(MN_ERR_INVALID, "predict: the base's outputs [%lld, %lld) need samples [%lld, %lld); [%lld, %lld) given",
                        (long long)lo, (long long)hi, (long long)(lo - b->hb), (long long)(hi + b->lead),
                        (long long)x->x0, (long long)x->x1);
    for (int64_t c0 = lo; c0 < hi; c0 += PIM_BASE_CHUNK) {
        const int64_t c1 = hi - c0 < PIM_BASE_CHUNK ? hi : c0 + PIM_BASE_CHUNK;
        const int64_t a0 = c0 - b->hb > x->x0 ? c0 - b->hb : x->x0, a1 = c1 + b->lead < x->x1 ? c1 + b->lead : x->x1;
        const int64_t len = a1 - a0;
        pim_src_copy(b->tx, len, x, n_tx, a0, len);
        mn_status st = pim_gmp_predict_rows(&b->g, b->pred, b->tx, len, b->rows, b->nth);
        if (st != MN_OK) return st;
        for (int r = 0; r < n_rx; r++) {
            float complex *o = out + (int64_t)r * os + (c0 - lo);
            const float complex *p = b->pred + (int64_t)r * len + (c0 - a0);
            if (subtract)
                for (int64_t i = 0; i < c1 - c0; i++) o[i] -= p[i];
            else
                for (int64_t i = 0; i < c1 - c0; i++) o[i] += p[i];
        }
    }
    return MN_OK;
}

mn_status pim_net_predict_src(mn_pim_net *q, float complex *out, int64_t out_stride, const pim_src *x, int64_t lo,
                              int64_t hi, unsigned edges, const pim_src *sub)
{
    mn_status st = model_predict_src(q, out, out_stride, x, lo, hi, edges, sub);
    if (st == MN_OK && q->base && hi > lo)
        st = base_apply(q->base, q->n_tx, q->n_rx, out, out_stride, x, lo, hi, edges, sub != NULL);
    return st;
}

mn_status mn_pim_net_set_base(mn_pim_net *q, const mn_pim_gmp *g)
{
    if (g && (!g->coef || g->cfg.n_tx != q->n_tx || g->cfg.n_rx != q->n_rx))
        return mn_error(MN_ERR_SHAPE, "base: a %d x %d %s for a %d x %d model", g->cfg.n_tx, g->cfg.n_rx,
                        g->coef ? "GMP" : "GMP that is not fitted", q->n_tx, q->n_rx);
    if (g && g->cfg.lead > q->border)
        return mn_error(MN_ERR_INVALID, "base: its lead of %d samples exceeds the %s model's look-ahead of %d", g->cfg.lead,
                        q->kind, q->border);
    struct mn_pim_base *b = q->base;
    if (b) {
        mn_pim_gmp_free(&b->g);
        mn_free(b->tx);
        mn_free(b->pred);
        mn_free(b->rows);
        mn_free(b);
        q->base = NULL;
    }
    if (!g) return MN_OK;
    b = mn_calloc(1, sizeof *b);
    if (!b) return mn_error(MN_ERR_NOMEM, "base");
    b->hb = g->cfg.M - 1 + g->cfg.L;
    b->lead = g->cfg.lead;
    b->nth = mn_threads_get(); /* the threads now: at most these run, whatever is set later */
    const size_t span = (size_t)PIM_BASE_CHUNK + b->hb + b->lead;
    mn_status st = pim_gmp_copy(&b->g, g);
    if (st == MN_OK) {
        b->tx = mn_malloc(span * q->n_tx * sizeof *b->tx);
        b->pred = mn_malloc(span * q->n_rx * sizeof *b->pred);
        b->rows = mn_malloc(pim_gmp_predict_ws(g, b->nth) * sizeof *b->rows);
        if (!b->tx || !b->pred || !b->rows) st = mn_error(MN_ERR_NOMEM, "base: buffers of %zu samples", span);
    }
    q->base = b;
    if (st != MN_OK) (void)mn_pim_net_set_base(q, NULL);
    return st;
}

const mn_pim_gmp *mn_pim_net_base(const mn_pim_net *q) { return q->base ? &q->base->g : NULL; }

void mn_pim_net_label(const mn_pim_net *q, char *buf, size_t n)
{
    if (q->base) snprintf(buf, n, "%s+%s", mn_pim_gmp_kind(&q->base->g.cfg), q->kind);
    else snprintf(buf, n, "%s", q->kind);
}

mn_status mn_pim_net_predict(mn_pim_net *q, float complex *out, const float complex *tx, int64_t n)
{
    if (n < 1) return mn_error(MN_ERR_INVALID, "predict: empty signal");
    return mn_pim_net_predict_range(q, out, n, tx, n, 0, n, 0, n, MN_PIM_EDGE_START | MN_PIM_EDGE_END);
}

void mn_pim_net_free(mn_pim_net *q)
{
    mn_model_free(&q->model);
    mn_free(q->xbuf);
    q->xbuf = NULL;
    mn_pim_jx_free(q->jx);
    q->jx = NULL;
    q->long_T = 0;
    (void)mn_pim_net_set_base(q, NULL);
}
