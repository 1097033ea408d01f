/* pim/jx.c — the junction model's fused inference (see jx.h and models.c for the layout).
 *
 * One forward of a window of complex Tx rows (pim_io, net_internal.h), per time tile of JX_TILE
 * outputs (the tiles shared by the threads, each whole on one thread):
 *   - w = drive x over the tile's reach (the tile, the post filter's P - 1 samples of context
 *     and the split filters' K - 1), one GEMM per JX_DCOL columns converted from the complex rows
 *     first, into rows padded with the split filters' zeros outside the window, so the taps need
 *     no bounds checks;
 *   - z, the junction outputs, over the tile plus the post filter's context (zero outside the
 *     window, as 'same' padding makes them), in chunks of JX_CHUNK samples: the four split
 *     filters, the six cubic monomials, the "pre"/"pim" maps, the envelope gain G (GEMM, tanh,
 *     GEMM) and the products;
 *   - the post filter (P taps, two outputs per z row) into f [4J, tile];
 *   - y = out f + bias, into the thread's scratch, then as complex prediction, or rx minus it,
 *     to the caller.
 * A tile recomputes the drive and z of its context (3 % at 2,048 outputs); no thread waits on
 * another's, and everything stays in the thread's scratch (about 900 kB), where the
 * layer-by-layer executor writes and rereads ~40 full-window activations.  The GEMMs are small
 * (4 to 48 rows, 12 to 64 inner) and run through the fused executor's packed kernel (nn/fused.h
 * pw), their rows padded to blocks of 8 where they are not (gemm): OpenBLAS's speed at these
 * sizes hangs on its core type, and the one this machine presets (Haswell) made them half the
 * stream's time (docs/pim.md).  In bf16 (mn_pim_jx_infer_io's flag) the post
 * filter runs on packed bf16 pairs (below) and the products of JX_BF16 through pw_bf16.
 *
 * The arithmetic is the model's, in another order inside the GEMMs and the taps, so outputs
 * match mn_model_forward to float rounding (tests/pim/test_jx.c), not bit for bit. */
#include "jx.h"

#include "../nn/fused.h"  /* the packed kernel, bf16 rounding and the CPU check, MN_FUSED_X86 */
#include "../nn/lanes.h"  /* MN_MULTIVERSION: the row kernels also in AVX2 and AVX-512 */
#include "../nn/pragma.h" /* OMP(): nothing without OpenMP */

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef MN_FUSED_X86
#include <immintrin.h>
#endif

#define JX_TILE MN_PIM_JX_TILE /* outputs per tile */
#define JX_DCOL MN_PIM_JX_DCOL /* columns per chunk of the drive map */
#define JX_CHUNK 64 /* z samples per pass of the memoryless part (~170 rows; 64 ran faster than 32 or 128) */
_Static_assert(JX_DCOL <= JX_TILE && JX_TILE % 16 == 0 && JX_DCOL % 16 == 0 && JX_CHUNK % 16 == 0,
               "jx: tiles and chunks in whole units of 16 columns, drive chunks within a tile's row block");
#define JX_TMPS (JX_TILE + MN_FUSED_UNIT) /* row stride of a partial row block (gemm) */

/* uint32 of a packed z row: the tile's z (JX_TILE + P - 1 <= JX_TILE + 2 P2), zeros up to 16
 * past the last block's reach */
#define JX_ZP(P2) ((size_t)JX_TILE + 2 * (size_t)(P2) + 32)

/* junction's six small products (rows x inner size) */
enum { G_DRIVE, G_PRE, G_PIM, G_G1, G_G2, G_OUT, G_N };

struct mn_pim_jx {
    int n_tx, n_rx, J, K, H, P, T, nthr;
    int kl, pl;  /* left padding of the split and post filters */
    int ds;      /* row stride of a tile's drive rows: JX_TILE + P + K - 2, and 16 for the packed kernel's overrun */
    size_t dp;   /* where a thread's drive rows [2J, ds] start in its scratch */
    size_t per;  /* scratch floats per thread */
    size_t io;   /* where a thread's complex-I/O buffers start in its scratch */
    float *scr;  /* [nthr, per] */
    /* bf16 post filter (mn_pim_jx_infer_io with bf16) */
    int P2;          /* weight pairs per post filter: ceil(P / 2) */
    size_t zp;       /* where a thread's packed z row starts in its scratch (JX_ZP(P2) uint32) */
    uint32_t *wpost; /* [4J, P2] the post weights as bf16 pairs, packed on each bf16 call */
    jx_post_pack_fn post_pack; /* the kernels this CPU runs */
    jx_post_bf16_fn post_bf16;
    /* the small products: through the fused executor's packed kernel (its pw: rows in blocks
     * of 8, no dependence on OpenBLAS's core type), the rows padded with zero weights to a
     * multiple of 8; a last block of fewer rows is written to the thread's scratch at tmp and
     * its rows copied out (gemm) */
    const mn_fused_kernels *kern;
    int gM[G_N], gK[G_N], gMp[G_N]; /* rows, inner size, rows padded to a multiple of 8 */
    size_t goff[G_N];  /* where product g's packed weights start in wpk */
    float *wpk;        /* the packed weights, refreshed on each call */
    size_t boff[G_N];  /* where product g's bias, zero-padded to gMp rows, starts in bpk */
    float *bpk;
    size_t tmp;        /* where a thread's partial row block starts in its scratch */
    float *zeros;      /* zeros: a bias of the largest padded row count, the bf16 kernel's input offsets */
    /* bf16 (mn_pim_jx_infer_io with bf16): the products of JX_BF16 in bf16 too, through the
     * fused executor's pw_bf16, their weights packed in pairs */
    size_t goffb[G_N]; /* where product g's bf16 pairs start in wpkb (SIZE_MAX: fp32) */
    uint32_t *wpkb;
    size_t pan;        /* where a thread's pw_bf16 panel starts in its scratch */
    mn_fused_pw_bf16_fn pwb;
};

/* The small products that run in bf16 with the post filter (bits by enum); the drive map,
 * whose error the cube in the junction product triples, stays fp32 (docs/pim.md). */
#ifndef JX_BF16
#define JX_BF16 ((1u << G_PRE) | (1u << G_PIM) | (1u << G_G1) | (1u << G_G2) | (1u << G_OUT))
#endif

typedef struct {
    const float *drive, *split[4], *pre, *pim, *g1, *g1b, *g2, *g2b, *post, *out, *outb;
} jx_weights;

static const mn_param_def *def_of(const mn_model *m, const char *name)
{
    int i = mn_params_find(&m->params, name);
    return i < 0 ? NULL : &m->params.defs[i];
}

static bool sizes_of(const mn_model *m, int *J, int *K, int *H, int *P)
{
    const mn_param_def *s = def_of(m, "u1re.weight"), *g = def_of(m, "g1.weight"), *p = def_of(m, "post.weight");
    if (!s || !g || !p || s->ndim != 3 || g->ndim != 3 || p->ndim != 3) return false;
    *J = (int)s->shape[0];
    *K = (int)s->shape[2];
    *H = (int)g->shape[0];
    *P = (int)p->shape[2];
    return *J > 0 && *K > 0 && *H > 0 && *P > 0;
}

mn_status mn_pim_jx_matches(const mn_model *m, int n_tx, int n_rx, bool *match)
{
    int J, K, H, P;
    *match = false;
    if (!sizes_of(m, &J, &K, &H, &P) || n_tx < 1 || n_rx < 1) return MN_OK;
    mn_model ref;
    mn_model_init(&ref);
    mn_status st = MN_OK;
    if (mn_pim_model_junction(&ref, n_tx, n_rx, J, K, H, P) < 0 || ref.status != MN_OK) {
        st = ref.status == MN_ERR_NOMEM ? mn_error(MN_ERR_NOMEM, "jx: declaring the reference layout") : MN_OK;
    } else {
        char *a = mn_model_to_json(m), *b = mn_model_to_json(&ref);
        if (!a || !b) st = mn_error(MN_ERR_NOMEM, "jx: comparing layouts");
        else *match = !strcmp(a, b);
        mn_free(a);
        mn_free(b);
    }
    mn_model_free(&ref);
    return st;
}

static bool weights_of(const mn_model *m, jx_weights *w)
{
    static const char *const names[] = {"drive.weight", "u1re.weight", "u1im.weight", "u2re.weight",
                                        "u2im.weight",  "pre.weight",  "pim.weight",  "g1.weight",
                                        "g1.bias",      "g2.weight",   "g2.bias",     "post.weight",
                                        "out.weight",   "out.bias"};
    const float *p[14];
    if (!m->params.w) return false;
    for (int i = 0; i < 14; i++) {
        int k = mn_params_find(&m->params, names[i]);
        if (k < 0) return false;
        p[i] = mn_params_w(&m->params, k);
    }
    *w = (jx_weights){.drive = p[0], .split = {p[1], p[2], p[3], p[4]}, .pre = p[5], .pim = p[6], .g1 = p[7],
                      .g1b = p[8], .g2 = p[9], .g2b = p[10], .post = p[11], .out = p[12], .outb = p[13]};
    return true;
}

static size_t scratch_tile(const mn_pim_jx *x)
{
    const size_t J = (size_t)x->J;
    return 2 * J * (JX_TILE + (size_t)x->P - 1) /* z */ + 4 * J * JX_TILE /* f */ +
           (size_t)JX_CHUNK * (4 * J + 6 * J + 2 * J + 2 * J + (size_t)x->H + J) /* u q pr,pi e h g */;
}

mn_status mn_pim_jx_create(mn_pim_jx **out, const mn_model *m, int n_tx, int n_rx, int T, int threads)
{
    *out = NULL;
    bool match;
    mn_status st = mn_pim_jx_matches(m, n_tx, n_rx, &match);
    if (st != MN_OK) return st;
    if (!match) return mn_error(MN_ERR_INVALID, "jx: the model is not the junction layout");
    if (T < 1 || threads < 1) return mn_error(MN_ERR_INVALID, "jx: window %d, threads %d", T, threads);
    mn_pim_jx *x = mn_calloc(1, sizeof *x);
    if (!x) return mn_error(MN_ERR_NOMEM, "jx");
    x->n_tx = n_tx;
    x->n_rx = n_rx;
    sizes_of(m, &x->J, &x->K, &x->H, &x->P);
    x->T = T;
    x->nthr = threads;
    x->kl = (x->K - 1) / 2; /* 'same': the odd extra sample of padding goes on the right */
    x->pl = (x->P - 1) / 2;
    x->ds = JX_TILE + x->P + x->K - 2 + MN_FUSED_UNIT; /* + the packed kernel's overrun past a chunk (gemm) */
    x->P2 = (x->P + 1) / 2;
    x->dp = scratch_tile(x);
    x->io = x->dp + (size_t)2 * x->J * x->ds;
    {
        const size_t a = (size_t)2 * n_tx * JX_DCOL, b = (size_t)2 * n_rx * JX_TILE;
        x->zp = x->io + (a > b ? a : b); /* a drive chunk's input, or (later) a tile's output */
    }
    x->pan = x->zp + JX_ZP(x->P2);
    int kmax = 2 * n_tx > 6 * x->J ? 2 * n_tx : 6 * x->J; /* the products' largest inner size */
    if (x->H > kmax) kmax = x->H;
    x->tmp = x->pan + (size_t)((kmax + 1) / 2) * MN_FUSED_BF16_PANEL;
    x->per = x->tmp + (size_t)MN_FUSED_MR * JX_TMPS;
    x->per = (x->per + 15) & ~(size_t)15; /* each thread's scratch on its own cache lines */
    x->scr = mn_malloc((size_t)threads * x->per * sizeof(float));
    x->wpost = mn_malloc((size_t)4 * x->J * x->P2 * sizeof(uint32_t));
    mn_pim_jx_post_kernels(false, &x->post_pack, &x->post_bf16);
    x->kern = mn_fused_kernels_best();
    const int J = x->J, gM[G_N] = {2 * J, J, J, x->H, J, 2 * n_rx}, gK[G_N] = {2 * n_tx, 6 * J, 6 * J, 2 * J, x->H, 4 * J};
    size_t npk = 0, npb = 0, nb = 0;
    int kmx = 1;
    for (int g = 0; g < G_N; g++) {
        x->gM[g] = gM[g];
        x->gK[g] = gK[g];
        x->gMp[g] = (gM[g] + MN_FUSED_MR - 1) / MN_FUSED_MR * MN_FUSED_MR;
        x->goff[g] = npk;
        npk += (size_t)x->gMp[g] * gK[g];
        x->boff[g] = nb;
        nb += (size_t)x->gMp[g];
        x->goffb[g] = JX_BF16 >> g & 1u ? npb : SIZE_MAX;
        if (x->goffb[g] != SIZE_MAX) npb += (size_t)x->gMp[g] * ((gK[g] + 1) / 2);
        if (gK[g] > kmx) kmx = gK[g];
        if (x->gMp[g] > kmx) kmx = x->gMp[g];
    }
    x->wpk = mn_malloc(npk * sizeof(float));
    x->wpkb = mn_malloc((npb > 0 ? npb : 1) * sizeof(uint32_t));
    x->bpk = mn_calloc(nb, sizeof(float));
    x->zeros = mn_calloc((size_t)kmx, sizeof(float));
    /* pw_bf16: the CPU's, or the portable one with the same bits (tests on other CPUs) */
    x->pwb = mn_fused_kernels_c.pw_bf16;
#ifdef MN_FUSED_X86
    if (mn_fused_cpu_bf16()) x->pwb = mn_fused_kernels_avx512.pw_bf16;
#endif
    if (!x->scr || !x->wpost || !x->wpk || !x->wpkb || !x->bpk || !x->zeros) {
        mn_pim_jx_free(x);
        return mn_error(MN_ERR_NOMEM, "jx: buffers for windows of %d samples", T);
    }
    /* touch the pages once (fresh pages are slow; DESIGN.md) */
    memset(x->scr, 0, (size_t)threads * x->per * sizeof(float));
    *out = x;
    return MN_OK;
}

void mn_pim_jx_free(mn_pim_jx *x)
{
    if (!x) return;
    mn_free(x->scr);
    mn_free(x->wpost);
    mn_free(x->wpk);
    mn_free(x->wpkb);
    mn_free(x->bpk);
    mn_free(x->zeros);
    mn_free(x);
}

/* y[t] (= or +=) sum_k w[k] x[t + k] for t < n: four taps per pass. */
MN_MULTIVERSION
static void corr_row(float *restrict y, const float *restrict x, const float *restrict w, int K, int n, bool init)
{
    if (init)
        for (int t = 0; t < n; t++) y[t] = 0.0f;
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const float wa = w[k], wb = w[k + 1], wc = w[k + 2], wd = w[k + 3];
        const float *restrict xa = x + k, *restrict xb = xa + 1, *restrict xc = xa + 2, *restrict xd = xa + 3;
OMP(simd)
        for (int t = 0; t < n; t++) y[t] = y[t] + wa * xa[t] + wb * xb[t] + wc * xc[t] + wd * xd[t];
    }
    for (; k < K; k++) {
        const float wk = w[k];
        const float *restrict xk = x + k;
OMP(simd)
        for (int t = 0; t < n; t++) y[t] += wk * xk[t];
    }
}

#ifdef MN_V16 /* unaligned 16-float loads and stores (macros: a v16f return would change the ABI) */
#define LD16(v, p) memcpy(&(v), (p), sizeof(v16f))
#define ST16(p, v) memcpy((p), &(v), sizeof(v16f))
#endif

/* The post filter's two outputs of one z row: y0[t] = sum_k w0[k] x[t + k], y1 likewise with w1,
 * t < n.  Blocks of 64 outputs keep 2 x 4 vectors of sums in registers for all K taps, and each
 * load of x feeds both filters (corr_row loads and stores y every 4 taps, per filter).  The
 * rest goes through corr_row. */
MN_MULTIVERSION
static void corr_pair(float *restrict y0, float *restrict y1, const float *restrict x, const float *restrict w0,
                      const float *restrict w1, int K, int n)
{
    int t = 0;
#ifdef MN_V16
    for (; t + 64 <= n; t += 64) {
        v16f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
        for (int k = 0; k < K; k++) {
            const float *xk = x + t + k;
            v16f x0, x1, x2, x3;
            LD16(x0, xk);
            LD16(x1, xk + 16);
            LD16(x2, xk + 32);
            LD16(x3, xk + 48);
            const float p = w0[k], q = w1[k];
            a0 += p * x0;
            a1 += p * x1;
            a2 += p * x2;
            a3 += p * x3;
            b0 += q * x0;
            b1 += q * x1;
            b2 += q * x2;
            b3 += q * x3;
        }
        ST16(y0 + t, a0);
        ST16(y0 + t + 16, a1);
        ST16(y0 + t + 32, a2);
        ST16(y0 + t + 48, a3);
        ST16(y1 + t, b0);
        ST16(y1 + t + 16, b1);
        ST16(y1 + t + 32, b2);
        ST16(y1 + t + 48, b3);
    }
#endif
    if (t < n) {
        corr_row(y0 + t, x + t, w0, K, n - t, true);
        corr_row(y1 + t, x + t, w1, K, n - t, true);
    }
}

/* ---------------------------------------------------------------- the bf16 post filter
 *
 * With bf16 (mn_pim_jx_infer_io), each z row is rounded to bfloat16 and packed in pairs,
 * zp[t] = bf16(z[t]) | bf16(z[t + 1]) << 16, and each post filter's taps likewise,
 * w[j] = bf16(w[2j]) | bf16(w[2j + 1]) << 16 (0 for the odd tap of an odd P, whose z is taken
 * as 0 too).  Output t is then sum_j of the pair products of zp[t + 2j] and w[j]: one VDPBF16PS
 * lane per output, twice the multiply-adds of an FMA per instruction.  The sums stay float; each
 * step rounds once as the instruction does (odd element first, subnormal results flushed):
 *     a = ftz(a + zhi whi);  a = ftz(a + zlo wlo)
 * so the AVX-512 kernel and the portable reference below give the same bits (tests/pim/test_jx.c).
 * The small maps of JX_BF16 go through the fused executor's pw_bf16 instead; the drive map and
 * the split filters stay fp32, since their errors are cubed in the junction product (docs/pim.md
 * "bf16 for junction"). */

static inline float jx_ftz(float a) { return fabsf(a) < FLT_MIN ? a * 0.0f : a; }

static void post_pack_c(uint32_t *zp, const float *z, int zl, int npad)
{
    for (int t = 0; t < zl; t++) {
        const uint32_t hi = t + 1 < zl ? mn_bf16_round(z[t + 1]) : 0u;
        zp[t] = mn_bf16_round(z[t]) | hi << 16;
    }
    for (int t = zl; t < npad; t++) zp[t] = 0u;
}

static void post_bf16_c(float *y0, float *y1, const uint32_t *zp, const uint32_t *w0, const uint32_t *w1, int P2,
                        int n)
{
    for (int t = 0; t < n; t++) {
        float a = 0.0f, b = 0.0f;
        for (int j = 0; j < P2; j++) {
            const uint32_t v = zp[t + 2 * j];
            const float lo = mn_bf16_to_float((uint16_t)v), hi = mn_bf16_to_float((uint16_t)(v >> 16));
            a = jx_ftz(a + hi * mn_bf16_to_float((uint16_t)(w0[j] >> 16)));
            a = jx_ftz(a + lo * mn_bf16_to_float((uint16_t)w0[j]));
            b = jx_ftz(b + hi * mn_bf16_to_float((uint16_t)(w1[j] >> 16)));
            b = jx_ftz(b + lo * mn_bf16_to_float((uint16_t)w1[j]));
        }
        y0[t] = a;
        y1[t] = b;
    }
}

#ifdef MN_FUSED_X86
#define JX_BF __attribute__((target("avx2,fma,avx512f,avx512bf16,avx512bw,avx512vl")))

/* the first r of 16 lanes (r clamped to 0..16) */
static inline JX_BF __mmask16 first_lanes(int r)
{
    return r >= 16 ? (__mmask16)0xFFFF : r <= 0 ? (__mmask16)0 : (__mmask16)((1u << r) - 1);
}

/* post_pack_c's result with masked loads (nothing past z[zl - 1] is read), 16 pairs a step;
 * npad a multiple of 16. */
static JX_BF void post_pack_avx512(uint32_t *zp, const float *z, int zl, int npad)
{
    for (int t = 0; t < npad; t += 16) {
        const __m512 lo = _mm512_maskz_loadu_ps(first_lanes(zl - t), z + t);
        const __m512 hi = _mm512_maskz_loadu_ps(first_lanes(zl - t - 1), z + t + 1);
        const __m512i l = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
        const __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));
        _mm512_storeu_si512(zp + t, _mm512_or_si512(l, _mm512_slli_epi32(h, 16)));
    }
}

/* Blocks of 64 outputs: 2 filters x 4 vectors of sums in registers for all pairs, each load of
 * zp feeding both filters; then 16 at a time, the last one masked. */
static JX_BF void post_bf16_avx512(float *y0, float *y1, const uint32_t *zp, const uint32_t *w0, const uint32_t *w1,
                                   int P2, int n)
{
    int t = 0;
    for (; t + 64 <= n; t += 64) {
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        for (int j = 0; j < P2; j++) {
            const uint32_t *x = zp + t + 2 * j;
            const __m512bh x0 = (__m512bh)_mm512_loadu_si512(x), x1 = (__m512bh)_mm512_loadu_si512(x + 16);
            const __m512bh x2 = (__m512bh)_mm512_loadu_si512(x + 32), x3 = (__m512bh)_mm512_loadu_si512(x + 48);
            const __m512bh p = (__m512bh)_mm512_set1_epi32((int)w0[j]), q = (__m512bh)_mm512_set1_epi32((int)w1[j]);
            a0 = _mm512_dpbf16_ps(a0, x0, p);
            a1 = _mm512_dpbf16_ps(a1, x1, p);
            a2 = _mm512_dpbf16_ps(a2, x2, p);
            a3 = _mm512_dpbf16_ps(a3, x3, p);
            b0 = _mm512_dpbf16_ps(b0, x0, q);
            b1 = _mm512_dpbf16_ps(b1, x1, q);
            b2 = _mm512_dpbf16_ps(b2, x2, q);
            b3 = _mm512_dpbf16_ps(b3, x3, q);
        }
        _mm512_storeu_ps(y0 + t, a0);
        _mm512_storeu_ps(y0 + t + 16, a1);
        _mm512_storeu_ps(y0 + t + 32, a2);
        _mm512_storeu_ps(y0 + t + 48, a3);
        _mm512_storeu_ps(y1 + t, b0);
        _mm512_storeu_ps(y1 + t + 16, b1);
        _mm512_storeu_ps(y1 + t + 32, b2);
        _mm512_storeu_ps(y1 + t + 48, b3);
    }
    for (; t < n; t += 16) {
        __m512 a = _mm512_setzero_ps(), b = a;
        for (int j = 0; j < P2; j++) {
            const __m512bh x = (__m512bh)_mm512_loadu_si512(zp + t + 2 * j);
            a = _mm512_dpbf16_ps(a, x, (__m512bh)_mm512_set1_epi32((int)w0[j]));
            b = _mm512_dpbf16_ps(b, x, (__m512bh)_mm512_set1_epi32((int)w1[j]));
        }
        _mm512_mask_storeu_ps(y0 + t, first_lanes(n - t), a);
        _mm512_mask_storeu_ps(y1 + t, first_lanes(n - t), b);
    }
}
#endif

bool mn_pim_jx_cpu_bf16(void) { return mn_fused_cpu_bf16(); }

void mn_pim_jx_post_kernels(bool ref, jx_post_pack_fn *pack, jx_post_bf16_fn *post)
{
    *pack = post_pack_c;
    *post = post_bf16_c;
#ifdef MN_FUSED_X86
    if (!ref && mn_fused_cpu_bf16()) {
        *pack = post_pack_avx512;
        *post = post_bf16_avx512;
    }
#endif
}

/* A junction's four split filters (u1re, u1im, u2re, u2im), each from its two drive rows x0, x1:
 * y[f][t] = sum_k w[f][k] x0[t + k] + w[f][K + k] x1[t + k] (rows of y ys apart), t < n.  Blocks of
 * 32 outputs: 4 x 2 vectors of sums, each pair of loads feeding all four filters. */
MN_MULTIVERSION
static void corr_quad(float *restrict y, size_t ys, const float *restrict x0, const float *restrict x1,
                      const float *const w[4], int K, int n)
{
    int t = 0;
#ifdef MN_V16
    const float *restrict w0 = w[0], *restrict w1 = w[1], *restrict w2 = w[2], *restrict w3 = w[3];
    for (; t + 32 <= n; t += 32) {
        v16f a0 = {0}, a1 = {0}, b0 = {0}, b1 = {0}, c0 = {0}, c1 = {0}, d0 = {0}, d1 = {0};
        for (int i = 0; i < 2; i++) {
            const float *xi = (i ? x1 : x0) + t;
            const int o = i * K;
            for (int k = 0; k < K; k++) {
                v16f p, q;
                LD16(p, xi + k);
                LD16(q, xi + k + 16);
                a0 += w0[o + k] * p;
                a1 += w0[o + k] * q;
                b0 += w1[o + k] * p;
                b1 += w1[o + k] * q;
                c0 += w2[o + k] * p;
                c1 += w2[o + k] * q;
                d0 += w3[o + k] * p;
                d1 += w3[o + k] * q;
            }
        }
        ST16(y + t, a0);
        ST16(y + t + 16, a1);
        ST16(y + ys + t, b0);
        ST16(y + ys + t + 16, b1);
        ST16(y + 2 * ys + t, c0);
        ST16(y + 2 * ys + t + 16, c1);
        ST16(y + 3 * ys + t, d0);
        ST16(y + 3 * ys + t + 16, d1);
    }
#endif
    if (t < n)
        for (int f = 0; f < 4; f++) {
            corr_row(y + f * ys + t, x0 + t, w[f], K, n - t, true);
            corr_row(y + f * ys + t, x1 + t, w[f] + K, K, n - t, false);
        }
}

/* y[o][c] = bias[o] + sum_k W[o][k] in[k][c] for o < M, c < n (bias NULL: 0), for product g
 * (its weights and bias packed from the model's on each call).  The packed kernel computes
 * whole units of 16 columns, so it reads and writes up to 15 columns past n: every caller's
 * rows have that room (JX_CHUNK and JX_TILE are multiples of 16, and the drive rows carry 16
 * spare floats).  Rows come in blocks of 8: a last block of fewer (M not a multiple of 8, as
 * with --sources 6) is computed into tmp, the thread's 8 rows of JX_TMPS, and its M mod 8 real
 * rows copied to y. */
static void gemm(const mn_pim_jx *x, int g, float *y, size_t ys, const float *in, size_t xs, bool bias, int n,
                 uint32_t *panel, float *tmp)
{
    const int M = x->gM[g], K = x->gK[g], Mf = M / MN_FUSED_MR * MN_FUSED_MR;
    const int n16 = (n + MN_FUSED_UNIT - 1) / MN_FUSED_UNIT;
    const float *b = bias ? x->bpk + x->boff[g] : x->zeros;
    const mn_fused_act none = {MN_ACT_NONE, 0.0f};
    const bool b16 = panel && x->goffb[g] != SIZE_MAX;
    const uint32_t *wb = b16 ? x->wpkb + x->goffb[g] : NULL;
    const float *wf = x->wpk + x->goff[g];
    const size_t kb = (size_t)(K + 1) / 2; /* bf16 pairs a row */
    if (Mf > 0) {
        if (b16)
            x->pwb(y, ys, in, xs, x->zeros, wb, b, Mf, K, 0, n16, none, panel);
        else
            x->kern->pw(y, ys, in, xs, wf, b, Mf, K, 0, n16, none);
    }
    if (M > Mf) {
        if (b16)
            x->pwb(tmp, JX_TMPS, in, xs, x->zeros, wb + (size_t)Mf * kb, b + Mf, MN_FUSED_MR, K, 0, n16, none, panel);
        else
            x->kern->pw(tmp, JX_TMPS, in, xs, wf + (size_t)Mf * K, b + Mf, MN_FUSED_MR, K, 0, n16, none);
        for (int r = Mf; r < M; r++)
            memcpy(y + (size_t)r * ys, tmp + (size_t)(r - Mf) * JX_TMPS, (size_t)n * sizeof *y);
    }
}

/* The six cubic monomials q of (a, b, c, d) = (Re u1, Im u1, Re u2, Im u2) in the model's order
 * and association (models.c), and the envelopes e = (|u1|^2, |u2|^2); rows of JX_CHUNK. */
MN_MULTIVERSION
static void monomials(const float *u, float *q, float *e, int J, int n)
{
    const int C = JX_CHUNK;
    for (int j = 0; j < J; j++) {
        const float *restrict a = u + (size_t)j * C, *restrict b = u + (size_t)(J + j) * C;
        const float *restrict c = u + (size_t)(2 * J + j) * C, *restrict d = u + (size_t)(3 * J + j) * C;
        float *restrict q0 = q + (size_t)j * C, *restrict q1 = q0 + (size_t)J * C, *restrict q2 = q1 + (size_t)J * C;
        float *restrict q3 = q2 + (size_t)J * C, *restrict q4 = q3 + (size_t)J * C, *restrict q5 = q4 + (size_t)J * C;
        float *restrict e1 = e + (size_t)j * C, *restrict e2 = e + (size_t)(J + j) * C;
OMP(simd)
        for (int i = 0; i < n; i++) {
            const float rr = a[i] * a[i], bb = b[i] * b[i], ri = a[i] * b[i];
            q0[i] = rr * c[i]; /* the model's six products, in its order (models.c) */
            q1[i] = bb * c[i];
            q2[i] = ri * d[i];
            q3[i] = ri * c[i];
            q4[i] = rr * d[i];
            q5[i] = bb * d[i];
            e1[i] = rr + bb;
            e2[i] = c[i] * c[i] + d[i] * d[i];
        }
    }
}

/* z = (pr g, pi g): rows j and J + j of z (stride zs). */
MN_MULTIVERSION
static void gate(float *z, int zs, const float *pr, const float *pi, const float *g, int J, int n)
{
    const int C = JX_CHUNK;
    for (int j = 0; j < J; j++) {
        const float *restrict gj = g + (size_t)j * C, *restrict pj = pr + (size_t)j * C, *restrict ij = pi + (size_t)j * C;
        float *restrict zr = z + (size_t)j * zs, *restrict zi = z + (size_t)(J + j) * zs;
OMP(simd)
        for (int i = 0; i < n; i++) {
            zr[i] = pj[i] * gj[i];
            zi[i] = ij[i] * gj[i];
        }
    }
}

/* z of n <= JX_CHUNK samples into z (row stride zs), from the drive rows d (stride x->ds; d[c][i + k]
 * is the drive at the first sample's time + k - kl). */
static void junction_chunk(const mn_pim_jx *x, const jx_weights *W, float *s, const float *d, int n, float *z, int zs,
                           uint32_t *panel, float *tmp)
{
    const int J = x->J, K = x->K, H = x->H, C = JX_CHUNK;
    float *u = s, *q = u + (size_t)4 * J * C, *pr = q + (size_t)6 * J * C, *pi = pr + (size_t)J * C;
    float *e = pi + (size_t)J * C, *h = e + (size_t)2 * J * C, *g = h + (size_t)H * C;
    /* the split filters: u[f J + j] from drive rows 2j, 2j + 1 */
    for (int j = 0; j < J; j++) {
        const float *const w[4] = {W->split[0] + (size_t)j * 2 * K, W->split[1] + (size_t)j * 2 * K,
                                   W->split[2] + (size_t)j * 2 * K, W->split[3] + (size_t)j * 2 * K};
        const float *x0 = d + (size_t)2 * j * x->ds;
        corr_quad(u + (size_t)j * C, (size_t)J * C, x0, x0 + x->ds, w, K, n);
    }
    monomials(u, q, e, J, n);
    gemm(x, G_PRE, pr, C, q, C, false, n, panel, tmp);
    gemm(x, G_PIM, pi, C, q, C, false, n, panel, tmp);
    gemm(x, G_G1, h, C, e, C, true, n, panel, tmp);
    if (n == C)
        mn_act_tanh_fast(h, h, (size_t)H * C);
    else
        for (int o = 0; o < H; o++) mn_act_tanh_fast(h + (size_t)o * C, h + (size_t)o * C, (size_t)n);
    gemm(x, G_G2, g, C, h, C, true, n, panel, tmp);
    gate(z, zs, pr, pi, g, J, n);
}

/* Outputs [t0, t0 + n) of the window into io->out, through the thread's complex-I/O buffer xy
 * (the drive map's input, then the tile's output); zp and panel (bf16 only, else NULL) the
 * thread's packed z row and pw_bf16 panel. */
static void tile(const mn_pim_jx *x, const jx_weights *W, float *s, int T, int t0, int n, const pim_io *io,
                 float *xy, uint32_t *zp, uint32_t *panel, float *tmp)
{
    const int J = x->J, P = x->P, zl = n + P - 1, zs = JX_TILE + P - 1;
    float *z = s, *f = z + (size_t)2 * J * zs, *cs = f + (size_t)4 * J * JX_TILE, *d = s + x->dp;
    /* the drive map over the tile's reach: d index i is window time t0 - pl - kl + i, i < dl,
     * zero outside [0, T) ('same' padding of the split filters) */
    const int dl = zl + x->K - 1, d0 = t0 - x->pl - x->kl;
    const int da = -d0 > 0 ? -d0 : 0, db = T - d0 < dl ? T - d0 : dl;
    for (int c = da; c < db; c += JX_DCOL) {
        const int m = db - c < JX_DCOL ? db - c : JX_DCOL;
        pim_io_load(io, xy, JX_DCOL, d0 + c, m); /* the columns as the model's input, from the complex rows */
        gemm(x, G_DRIVE, d + c, (size_t)x->ds, xy, JX_DCOL, false, m, panel, tmp);
    }
    for (int r = 0; r < 2 * J; r++) { /* after the GEMMs: the last one writes up to 15 columns past db */
        float *dr = d + (size_t)r * x->ds;
        for (int i = 0; i < da; i++) dr[i] = 0.0f;
        for (int i = db > da ? db : da; i < dl; i++) dr[i] = 0.0f;
    }
    /* z index i is window time t0 - pl + i; zero outside [0, T) ('same' padding of post) */
    const int a = x->pl - t0 > 0 ? x->pl - t0 : 0;
    const int b = T - (t0 - x->pl) < zl ? T - (t0 - x->pl) : zl;
    for (int r = 0; r < 2 * J; r++) {
        float *zr = z + (size_t)r * zs;
        for (int i = 0; i < a; i++) zr[i] = 0.0f;
        for (int i = b > a ? b : a; i < zl; i++) zr[i] = 0.0f;
    }
    for (int i = a; i < b; i += JX_CHUNK) {
        const int c = b - i < JX_CHUNK ? b - i : JX_CHUNK;
        junction_chunk(x, W, cs, d + i, c, z + i, zs, panel, tmp);
    }
    /* post: 2 filters per z row (groups 2J, 4J outputs) */
    if (zp) {
        const int P2 = x->P2, npad = (int)(JX_ZP(P2) & ~(size_t)15);
        for (int r = 0; r < 2 * J; r++) {
            x->post_pack(zp, z + (size_t)r * zs, zl, npad);
            x->post_bf16(f + (size_t)2 * r * JX_TILE, f + (size_t)(2 * r + 1) * JX_TILE, zp, x->wpost + (size_t)2 * r * P2,
                         x->wpost + (size_t)(2 * r + 1) * P2, P2, n);
        }
    } else
        for (int r = 0; r < 2 * J; r++)
            corr_pair(f + (size_t)2 * r * JX_TILE, f + (size_t)(2 * r + 1) * JX_TILE, z + (size_t)r * zs,
                      W->post + (size_t)2 * r * P, W->post + (size_t)(2 * r + 1) * P, P, n);
    gemm(x, G_OUT, xy, JX_TILE, f, JX_TILE, true, n, panel, tmp);
    pim_io_store(io, xy, JX_TILE, t0, n);
}

mn_status mn_pim_jx_infer_io(mn_pim_jx *x, const mn_model *m, const pim_io *io, int T, bool bf16)
{
    jx_weights W;
    if (T < 1 || T > x->T) return mn_error(MN_ERR_INVALID, "jx: window of %d samples (buffers for %d)", T, x->T);
    if (!weights_of(m, &W)) return mn_error(MN_ERR_INVALID, "jx: the model's weights are missing");
    /* the small products' weights and biases, packed for the kernel (read from the model on
     * every call), the rows past M zero */
    const float *const gw[G_N] = {W.drive, W.pre, W.pim, W.g1, W.g2, W.out};
    const float *const gb[G_N] = {NULL, NULL, NULL, W.g1b, W.g2b, W.outb};
    for (int g = 0; g < G_N; g++) {
        const int M = x->gM[g], Mp = x->gMp[g], K = x->gK[g];
        float *wp = x->wpk + x->goff[g];
        for (int o = 0; o < Mp; o++)
            for (int k = 0; k < K; k++)
                wp[((size_t)(o / MN_FUSED_MR) * K + k) * MN_FUSED_MR + o % MN_FUSED_MR] =
                    o < M ? gw[g][(size_t)o * K + k] : 0.0f;
        for (int o = 0; o < Mp; o++) x->bpk[x->boff[g] + (size_t)o] = gb[g] && o < M ? gb[g][o] : 0.0f;
    }
    if (bf16) /* the products of JX_BF16 as bf16 pairs in blocks of 8 rows (fused.h pw_bf16) */
        for (int g = 0; g < G_N; g++) {
            if (x->goffb[g] == SIZE_MAX) continue;
            const int M = x->gM[g], Mp = x->gMp[g], K = x->gK[g], K2 = (K + 1) / 2;
            uint32_t *wp = x->wpkb + x->goffb[g];
            for (int o = 0; o < Mp; o++)
                for (int j = 0; j < K2; j++) {
                    const float *w = gw[g] + (size_t)o * K + 2 * j;
                    wp[((size_t)(o / MN_FUSED_MR) * K2 + j) * MN_FUSED_MR + o % MN_FUSED_MR] =
                        o >= M ? 0u
                               : mn_bf16_round(w[0]) | (uint32_t)(2 * j + 1 < K ? mn_bf16_round(w[1]) : 0u) << 16;
                }
        }
    if (bf16) /* the post taps as bf16 pairs (read from the model on every call, as the rest) */
        for (int f = 0; f < 4 * x->J; f++) {
            const float *w = W.post + (size_t)f * x->P;
            for (int j = 0; j < x->P2; j++)
                x->wpost[(size_t)f * x->P2 + j] =
                    mn_bf16_round(w[2 * j]) | (uint32_t)(2 * j + 1 < x->P ? mn_bf16_round(w[2 * j + 1]) : 0u) << 16;
        }
    int nthr = mn_threads_get();
    if (nthr > x->nthr) nthr = x->nthr;
    const int nch = (T + JX_TILE - 1) / JX_TILE;
OMP(parallel for num_threads(nthr) schedule(static))
    for (int c = 0; c < nch; c++) {
        int me = 0;
#ifdef _OPENMP
        me = omp_get_thread_num();
#endif
        float *s = x->scr + (size_t)me * x->per;
        const int t0 = c * JX_TILE, n = T - t0 < JX_TILE ? T - t0 : JX_TILE;
        tile(x, &W, s, T, t0, n, io, s + x->io, bf16 ? (uint32_t *)(s + x->zp) : NULL,
             bf16 ? (uint32_t *)(s + x->pan) : NULL, s + x->tmp);
    }
    return MN_OK;
}
