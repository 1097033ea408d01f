/*
 * nn/conv1d.c — 1-D convolution with PyTorch Conv1d semantics (stride 1, dilation, groups,
 * 'valid' or 'same' zero padding), forward and backward.
 *
 * Math (see mimonet/nn.h for the conventions):
 *     T_out = T_in + pad_left + pad_right - dil*(K-1)
 *     out[b,o,t] = bias[o] + sum_{ii<Cin/G} sum_{k<K} w[o,ii,k] * in[b, g0(o)+ii, t + s_k],
 *     s_k = k*dil - pad_left,  g0(o) = (o / (Cout/G)) * (Cin/G),  in = 0 outside [0, T_in).
 * Backward (chain rule on the same sum):
 *     dinp[b,i,u] += sum_{o in group(i)} sum_k w[o,i-g0,k] * dout[b,o,u - s_k]
 *     dw[o,ii,k]  += sum_b sum_t dout[b,o,t] * in[b,g0+ii,t + s_k]
 *     db[o]       += sum_b sum_t dout[b,o,t]
 *
 * Kernel selection (inside forward/backward):
 *   - pointwise (K == 1, groups == 1): one GEMM per (batch item, fixed time chunk):
 *         out_b[Cout, chunk] = W[Cout, Cin] · in_b[Cin, chunk]
 *     through the fused executor's packed SIMD kernel where the CPU has one (nn/fused.h pw; dW
 *     by its wgrad), else, and for the leftover rows and columns, mn_sgemm (see "pointwise
 *     products" below);
 *   - depthwise and general (several input channels per group), one (output row, input row)
 *     pair at a time: an interior where every tap is in range, four taps per vectorized pass
 *     (`omp simd`, no bounds checks), and at the edges one pass per tap over the samples that
 *     tap reaches (tap_range).  Every sample adds its taps in ascending k, inputs ascending.
 *
 * Threads: every output element (of out, dinp, dw, db) is written by exactly one task, and the
 * task decomposition depends only on the shapes, never on the thread count, so results are
 * bit-identical for any number of threads.  Reductions (dw, db) run inside one task, over a
 * fixed order (batch items ascending), with float partial sums in 16 fixed lanes per row and
 * a double accumulator across rows (pointwise dw: accumulated in float, b ascending, then time in
 * blocks of PW_WG_COLS).
 * The depthwise and reduction row kernels are multiversioned (SSE2 / AVX2 / AVX-512, chosen
 * at load time) and round identically on every CPU; only the pointwise products round
 * differently from one CPU to another (the kernel set, or OpenBLAS's).
 */
#include "mimonet/nn.h"

#include "act_epi.h"
#include "fused.h" /* the SIMD kernels of the pointwise products */
#include "grad_into.h"
#include "lanes.h"

#include <string.h>

#include "pragma.h"

/* Time columns per pointwise GEMM task; fixed so the decomposition is thread-independent. */
#define PW_CHUNK 512
/* Output rows of dw per pointwise weight-gradient task. */
#define PW_ROWS 16
/* Taps whose weight-gradient sums are kept at once (longer kernels go in chunks of it). */
#define WT_TAPS 128
/* Below this many multiply-adds a kernel runs on the calling thread only. */
#define PAR_MIN_WORK 32768L

typedef struct {
    int cin, cout, K, dil, cpg_in, cpg_out; /* cpg: channels per group */
    int t_in, t_out, pl;                    /* pl: left padding */
} geom;

static bool geom_make(geom *g, const mn_conv1d_cfg *c, int t_in)
{
    if (!c || c->k < 1 || c->dil < 1 || c->groups < 1 || c->cin < 1 || c->cout < 1 ||
        c->cin % c->groups || c->cout % c->groups || t_in < 0)
        return false;
    int pr;
    g->cin = c->cin;
    g->cout = c->cout;
    g->K = c->k;
    g->dil = c->dil;
    g->cpg_in = c->cin / c->groups;
    g->cpg_out = c->cout / c->groups;
    g->t_in = t_in;
    g->t_out = mn_conv1d_out_len(c, t_in, &g->pl, &pr);
    return g->t_out > 0;
}

int mn_conv1d_out_len(const mn_conv1d_cfg *c, int t_in, int *pad_left, int *pad_right)
{
    int span = c->dil * (c->k - 1);
    int pl = 0, pr = 0;
    if (c->pad == MN_PAD_SAME) {
        pl = span / 2;  /* PyTorch: the odd extra sample of padding goes on the right */
        pr = span - pl;
    }
    if (pad_left) *pad_left = pl;
    if (pad_right) *pad_right = pr;
    return t_in + pl + pr - span;
}

/* Outputs t in [*lo, *hi) read input t + s inside [0, t_in). */
static inline void tap_range(int s, int t_in, int t_out, int *lo, int *hi)
{
    int a = s < 0 ? -s : 0;
    int b = t_in - s < t_out ? t_in - s : t_out;
    *lo = a;
    *hi = b > a ? b : a;
}

/* sum_i a[i] b[i] */
MN_MULTIVERSION
static float dotf(const float *restrict a, const float *restrict b, int n)
{
    float acc[16];
    int i = 0;
#ifdef MN_V16
    v16f va, vb, vs = {0};
    for (; i + 16 <= n; i += 16) {
        memcpy(&va, a + i, sizeof va);
        memcpy(&vb, b + i, sizeof vb);
        vs += va * vb;
    }
    memcpy(acc, &vs, sizeof acc);
#else
    for (int j = 0; j < 16; j++) acc[j] = 0.0f;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += a[i + j] * b[i + j];
#endif
    for (int j = 0; i < n; i++, j++) acc[j] += a[i] * b[i];
    return lanes_reduce(acc);
}

/* ---------------------------------------------------------------- forward */

static void row_forward(float *restrict y, const float *restrict x, const float *restrict wr, float b0,
                        bool init, const geom *g);

static void fwd_general(float *out, const float *inp, const float *w, const float *bias, int B,
                        const geom *g, mn_act_epi epi)
{
    const long rows = (long)B * g->cout;
    const long work = rows * g->t_out * g->cpg_in * g->K;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        const int bi = (int)(r / g->cout), o = (int)(r % g->cout);
        const int i0 = (o / g->cpg_out) * g->cpg_in;
        const float b0 = bias ? bias[o] : 0.0f;
        for (int ii = 0; ii < g->cpg_in; ii++)
            row_forward(out + (size_t)r * g->t_out, inp + ((size_t)bi * g->cin + i0 + ii) * g->t_in,
                        w + ((size_t)o * g->cpg_in + ii) * g->K, b0, ii == 0, g);
        mn_act_inplace(out + (size_t)r * g->t_out, (size_t)g->t_out, epi);
    }
}

/* Output samples [t0, t1) of y, where some taps fall outside x: one vectorized pass per tap, in
 * ascending k over the samples that tap reaches (the order of the interior's sums). */
static inline void edge_forward(float *restrict y, const float *restrict x, const float *restrict wr, float b0,
                                bool init, const geom *g, int t0, int t1)
{
    if (t1 <= t0) return;
    if (init)
        for (int t = t0; t < t1; t++) y[t] = b0;
    for (int k = 0; k < g->K; k++) {
        const int s = k * g->dil - g->pl;
        int lo, hi;
        tap_range(s, g->t_in, g->t_out, &lo, &hi);
        if (lo < t0) lo = t0;
        if (hi > t1) hi = t1;
        const float wk = wr[k];
        OMP(simd)
        for (int t = lo; t < hi; t++) y[t] += wk * x[t + s];
    }
}

/* One output row y[t_out] from one input row x[t_in] and taps wr[K]: y = b0 + the taps (init),
 * or y += the taps.  For every sample the taps are added in ascending k, so the depthwise and
 * the general (several inputs per output) kernels sum as the one-tap-per-pass definition does. */
MN_MULTIVERSION
static void row_forward(float *restrict y, const float *restrict x, const float *restrict wr, float b0,
                        bool init, const geom *g)
{
    const int K = g->K, dil = g->dil, pl = g->pl, span = dil * (K - 1);
    /* interior: every tap t + k*dil - pl lies in [0, t_in) */
    int lo = pl < g->t_out ? pl : g->t_out;
    int hi = g->t_in - span + pl < g->t_out ? g->t_in - span + pl : g->t_out;
    if (hi < lo) hi = lo;
    const int n = hi - lo;
    float *restrict ys = y + lo;
    const float *restrict xs = x + (n > 0 ? lo - pl : 0); /* tap k reads xs[t + k*dil] */
    if (n <= 0) {
        /* no interior: every sample is an edge sample */
    } else if (K == 3) {
        const float w0 = wr[0], w1 = wr[1], w2 = wr[2];
        const int d2 = 2 * dil;
        if (init) {
            OMP(simd)
            for (int t = 0; t < n; t++) ys[t] = b0 + w0 * xs[t] + w1 * xs[t + dil] + w2 * xs[t + d2];
        } else {
            OMP(simd)
            for (int t = 0; t < n; t++) ys[t] = ys[t] + w0 * xs[t] + w1 * xs[t + dil] + w2 * xs[t + d2];
        }
    } else {
        /* four taps per pass over the row (the same additions in the same order as one tap
         * per pass: fewer loads and stores of y) */
        if (init)
            for (int t = 0; t < n; t++) ys[t] = b0;
        int k = 0;
        for (; k + 4 <= K; k += 4) {
            const float wa = wr[k], wb = wr[k + 1], wc = wr[k + 2], wd = wr[k + 3];
            const float *restrict xa = xs + k * dil, *restrict xb = xa + dil, *restrict xc = xb + dil,
                        *restrict xd = xc + dil;
            OMP(simd)
            for (int t = 0; t < n; t++) ys[t] = ys[t] + wa * xa[t] + wb * xb[t] + wc * xc[t] + wd * xd[t];
        }
        for (; k < K; k++) {
            const float wk = wr[k];
            const float *restrict xk = xs + k * dil;
            OMP(simd)
            for (int t = 0; t < n; t++) ys[t] += wk * xk[t];
        }
    }
    /* edges: [0, lo) and [hi, t_out) */
    edge_forward(y, x, wr, b0, init, g, 0, n > 0 ? lo : g->t_out);
    if (n > 0) edge_forward(y, x, wr, b0, init, g, hi, g->t_out);
}

static void fwd_depthwise(float *out, const float *inp, const float *w, const float *bias, int B,
                          const geom *g, mn_act_epi epi)
{
    const long rows = (long)B * g->cout;
    const long work = rows * g->t_out * g->K;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        const int bi = (int)(r / g->cout), o = (int)(r % g->cout);
        const int i = o / g->cpg_out;
        row_forward(out + (size_t)r * g->t_out, inp + ((size_t)bi * g->cin + i) * g->t_in,
                    w + (size_t)o * g->K, bias ? bias[o] : 0.0f, true, g);
        mn_act_inplace(out + (size_t)r * g->t_out, (size_t)g->t_out, epi);
    }
}

/* ---------------------------------------------------------------- pointwise products */

/* Where the CPU has the fused executor's SIMD kernels (nn/fused.h: AVX-512, or AVX2 with FMA),
 * the pointwise products run through them: pw for out = W in + b and for a written dinp =
 * W^T dout, the weights packed in blocks of 8 rows on the caller's stack once per call, and
 * wgrad for dW.  Rows past the last block of 8, columns past the last unit of 16, an
 * accumulated dinp, and weights over PW_PACK floats go through mn_sgemm.  Through OpenBLAS
 * alone, its packing of the long operand took a fifth of a training step, its speed at these
 * shapes hangs on its core type (DESIGN.md), and the bias had a pass of its own. */
#define PW_PACK 8192    /* packed weight floats on the stack (32 kB; the large PIM model's 6,144 fit) */
#define PW_BIAS 256     /* rows whose bias (or zeros) the kernel reads from the stack */
#define PW_WG_COLS 1024 /* columns per wgrad call: a task's rows of them stay in L2 */

static const mn_fused_kernels *pw_kernels(void)
{
    const mn_fused_kernels *k = mn_fused_kernels_best();
    return k == &mn_fused_kernels_c ? NULL : k;
}

/* Rows [0, M8) of the M x K matrix A packed for pw (A[r][k] = w[r K + k], or w[k M + r] when
 * trans), and their bias (zeros without one) into bz; M8 is M rounded down to 8, or 0 when the
 * kernel does not take this product. */
static int pw_pack(float *wp, float *bz, const float *w, const float *bias, int M, int K, bool trans)
{
    const int M8 = M / MN_FUSED_MR * MN_FUSED_MR;
    if (M8 == 0 || M > PW_BIAS || (size_t)M8 * (size_t)K > PW_PACK) return 0;
    for (int o = 0; o < M8; o++) {
        bz[o] = bias ? bias[o] : 0.0f;
        for (int k = 0; k < K; k++)
            wp[((size_t)(o / MN_FUSED_MR) * K + k) * MN_FUSED_MR + o % MN_FUSED_MR] =
                trans ? w[(size_t)k * M + o] : w[(size_t)o * K + k];
    }
    return M8;
}

/* y[r][c] = bias[r] + sum_k A[r][k] x[k][c] over rows [r0, r1), columns [c0, c1), by mn_sgemm
 * (A as in pw_pack; bias NULL: 0). */
static void pw_blas(float *y, size_t ys, const float *x, size_t xs, const float *w, const float *bias, bool trans,
                    int M, int K, int r0, int r1, int c0, int c1)
{
    if (r1 <= r0 || c1 <= c0) return;
    if (bias)
        for (int o = r0; o < r1; o++) {
            float *yo = y + (size_t)o * ys;
            for (int c = c0; c < c1; c++) yo[c] = bias[o];
        }
    const float *a = trans ? w + r0 : w + (size_t)r0 * K;
    mn_sgemm(trans, false, r1 - r0, c1 - c0, K, 1.0f, a, trans ? M : K, x + c0, xs, bias ? 1.0f : 0.0f,
             y + (size_t)r0 * ys + c0, ys);
}

/* The same over all M rows and n columns: rows [0, M8) and whole units of 16 columns by the
 * kernel from the packed wp and bz, the rest by mn_sgemm. */
static void pw_product(const mn_fused_kernels *kern, float *y, size_t ys, const float *x, size_t xs, const float *w,
                       const float *bias, bool trans, int M, int K, const float *wp, const float *bz, int M8, int n)
{
    const int n16 = n / MN_FUSED_UNIT, c16 = n16 * MN_FUSED_UNIT;
    if (n16 > 0) kern->pw(y, ys, x, xs, wp, bz, M8, K, 0, n16, (mn_fused_act){MN_ACT_NONE, 0.0f});
    pw_blas(y, ys, x, xs, w, bias, trans, M, K, 0, M8, c16, n);
    pw_blas(y, ys, x, xs, w, bias, trans, M, K, M8, M, 0, n);
}

static void fwd_pointwise(float *out, const float *inp, const float *w, const float *bias, int B,
                          const geom *g, mn_act_epi epi)
{
    const int T = g->t_in, nch = (T + PW_CHUNK - 1) / PW_CHUNK;
    const long tasks = (long)B * nch;
    const long work = (long)B * T * g->cin * g->cout;
    (void)work;
    const mn_fused_kernels *kern = pw_kernels();
    float wp[PW_PACK], bz[PW_BIAS];
    const int M8 = kern ? pw_pack(wp, bz, w, bias, g->cout, g->cin, false) : 0;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long task = 0; task < tasks; task++) {
        const int bi = (int)(task / nch), t0 = (int)(task % nch) * PW_CHUNK;
        const int n = T - t0 < PW_CHUNK ? T - t0 : PW_CHUNK;
        float *y = out + (size_t)bi * g->cout * T + t0;
        const float *x = inp + (size_t)bi * g->cin * T + t0;
        if (M8)
            pw_product(kern, y, (size_t)T, x, (size_t)T, w, bias, false, g->cout, g->cin, wp, bz, M8, n);
        else
            pw_blas(y, (size_t)T, x, (size_t)T, w, bias, false, g->cout, g->cin, 0, g->cout, 0, n);
        if (epi.kind != MN_ACT_NONE)
            for (int o = 0; o < g->cout; o++) mn_act_inplace(y + (size_t)o * T, (size_t)n, epi);
    }
}

void mn_conv1d_forward_epi(float *out, const float *inp, const float *w, const float *b, int B, int t_in,
                           const mn_conv1d_cfg *c, mn_act_epi epi)
{
    geom g;
    if (B <= 0 || !geom_make(&g, c, t_in)) return;
    if (g.K == 1 && g.cpg_in == g.cin && g.cpg_out == g.cout)
        fwd_pointwise(out, inp, w, b, B, &g, epi);
    else if (g.cpg_in == 1)
        fwd_depthwise(out, inp, w, b, B, &g, epi);
    else
        fwd_general(out, inp, w, b, B, &g, epi);
}

void mn_conv1d_forward(float *out, const float *inp, const float *w, const float *b, int B,
                       int t_in, const mn_conv1d_cfg *c)
{
    mn_conv1d_forward_epi(out, inp, w, b, B, t_in, c, MN_ACT_EPI_NONE);
}

/* ---------------------------------------------------------------- backward */

static void row_backward(float *restrict dx, const float *restrict dy, const float *restrict wr, const geom *g);

/* dinp for the general and depthwise cases: one task per input row (b, i). */
static void bwd_input_general(float *dinp, const float *dout, const float *w, const float *inp, int B,
                              const geom *g, bool overwrite, mn_act_epi epi)
{
    const long rows = (long)B * g->cin;
    const long work = rows * g->cpg_out * g->t_out * g->K;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        const int bi = (int)(r / g->cin), i = (int)(r % g->cin);
        const int grp = i / g->cpg_in, ii = i % g->cpg_in;
        float *dx = dinp + (size_t)r * g->t_in;
        if (overwrite) memset(dx, 0, (size_t)g->t_in * sizeof *dx); /* in cache, before the adds */
        for (int oo = 0; oo < g->cpg_out; oo++) {
            const int o = grp * g->cpg_out + oo;
            row_backward(dx, dout + ((size_t)bi * g->cout + o) * g->t_out, w + ((size_t)o * g->cpg_in + ii) * g->K, g);
        }
        mn_act_backward_inplace(dx, inp + (size_t)r * g->t_in, (size_t)g->t_in, epi);
    }
}

/* Input samples [u0, u1) of dx, where some taps reach outside dy: one vectorized pass per tap,
 * in ascending k (the order of the interior's sums). */
static inline void edge_backward(float *restrict dx, const float *restrict dy, const float *restrict wr, const geom *g,
                                 int u0, int u1)
{
    for (int k = 0; k < g->K; k++) {
        const int s = k * g->dil - g->pl; /* dx[t + s] += wr[k] dy[t] */
        int lo, hi;
        tap_range(s, g->t_in, g->t_out, &lo, &hi);
        if (hi <= lo) continue;
        int a = lo + s, b = hi + s;
        if (a < u0) a = u0;
        if (b > u1) b = u1;
        const float wk = wr[k];
        OMP(simd)
        for (int u = a; u < b; u++) dx[u] += wk * dy[u - s];
    }
}

/* dx[u] += sum_k wr[k] dy[u - s_k] for one (input row, output row) pair, taps added in
 * ascending k for every sample (depthwise and general). */
MN_MULTIVERSION
static void row_backward(float *restrict dx, const float *restrict dy, const float *restrict wr,
                         const geom *g)
{
    const int K = g->K, dil = g->dil, pl = g->pl, span = dil * (K - 1);
    /* interior: u - s_k in [0, t_out) for every k */
    int lo = span - pl > 0 ? span - pl : 0;
    int hi = g->t_out - pl < g->t_in ? g->t_out - pl : g->t_in;
    if (lo > g->t_in) lo = g->t_in;
    if (hi < lo) hi = lo;
    const int n = hi - lo;
    float *restrict dxs = dx + lo;
    const float *restrict dys = dy + (n > 0 ? lo + pl - span : 0); /* tap k: dys[u + (K-1-k)*dil] */
    if (n <= 0) {
        /* no interior: every sample is an edge sample */
    } else if (K == 3) {
        const float w0 = wr[0], w1 = wr[1], w2 = wr[2];
        const int d2 = 2 * dil;
        OMP(simd)
        for (int t = 0; t < n; t++) dxs[t] = dxs[t] + w0 * dys[t + d2] + w1 * dys[t + dil] + w2 * dys[t];
    } else {
        int k = 0;
        for (; k + 4 <= K; k += 4) { /* four taps per pass, as in row_forward */
            const float wa = wr[k], wb = wr[k + 1], wc = wr[k + 2], wd = wr[k + 3];
            const float *restrict da = dys + (K - 1 - k) * dil, *restrict db = da - dil, *restrict dc = db - dil,
                        *restrict dd = dc - dil;
            OMP(simd)
            for (int t = 0; t < n; t++) dxs[t] = dxs[t] + wa * da[t] + wb * db[t] + wc * dc[t] + wd * dd[t];
        }
        for (; k < K; k++) {
            const float wk = wr[k];
            const float *restrict dk = dys + (K - 1 - k) * dil;
            OMP(simd)
            for (int t = 0; t < n; t++) dxs[t] += wk * dk[t];
        }
    }
    edge_backward(dx, dy, wr, g, 0, n > 0 ? lo : g->t_in);
    if (n > 0) edge_backward(dx, dy, wr, g, hi, g->t_in);
}

static void bwd_input_depthwise(float *dinp, const float *dout, const float *w, const float *inp, int B,
                                const geom *g, bool overwrite, mn_act_epi epi)
{
    const long rows = (long)B * g->cin;
    const long work = rows * g->cpg_out * g->t_out * g->K;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        const int bi = (int)(r / g->cin), i = (int)(r % g->cin);
        if (overwrite) memset(dinp + (size_t)r * g->t_in, 0, (size_t)g->t_in * sizeof *dinp);
        for (int oo = 0; oo < g->cpg_out; oo++) {
            const int o = i * g->cpg_out + oo;
            row_backward(dinp + (size_t)r * g->t_in,
                            dout + ((size_t)bi * g->cout + o) * g->t_out,
                            w + (size_t)o * g->K, g);
        }
        mn_act_backward_inplace(dinp + (size_t)r * g->t_in, inp + (size_t)r * g->t_in, (size_t)g->t_in, epi);
    }
}

/* dw and db (general and depthwise): one task per output channel o. */
static void bwd_weight_general(float *dw, float *db, const float *dout, const float *inp, int B,
                               const geom *g)
{
    const long work = (long)B * g->cout * g->t_out * (g->cpg_in * g->K + 1);
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (int o = 0; o < g->cout; o++) {
        const int i0 = (o / g->cpg_out) * g->cpg_in;
        if (dw) {
            /* Every tap of one (dy, x) row pair before the next pair, so both rows stay in L1
             * (up to WT_TAPS taps at a time); each tap sums its batch items in ascending order. */
            double acc[WT_TAPS];
            for (int ii = 0; ii < g->cpg_in; ii++) {
                for (int k0 = 0; k0 < g->K; k0 += WT_TAPS) {
                    const int nk = g->K - k0 < WT_TAPS ? g->K - k0 : WT_TAPS;
                    for (int k = 0; k < nk; k++) acc[k] = 0.0;
                    for (int bi = 0; bi < B; bi++) {
                        const float *dy = dout + ((size_t)bi * g->cout + o) * g->t_out;
                        const float *x = inp + ((size_t)bi * g->cin + i0 + ii) * g->t_in;
                        for (int k = 0; k < nk; k++) {
                            const int s = (k0 + k) * g->dil - g->pl;
                            int lo, hi;
                            tap_range(s, g->t_in, g->t_out, &lo, &hi);
                            if (hi > lo) acc[k] += (double)dotf(dy + lo, x + lo + s, hi - lo);
                        }
                    }
                    for (int k = 0; k < nk; k++) dw[((size_t)o * g->cpg_in + ii) * g->K + k0 + k] += (float)acc[k];
                }
            }
        }
        if (db) {
            double acc = 0.0;
            for (int bi = 0; bi < B; bi++)
                acc += (double)mn_nn_row_sum(dout + ((size_t)bi * g->cout + o) * g->t_out, g->t_out);
            db[o] += (float)acc;
        }
    }
}

static void bwd_pointwise(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, int B, const geom *g, bool overwrite, mn_act_epi epi)
{
    const int T = g->t_in, cin = g->cin, cout = g->cout;
    const long work = (long)B * T * cin * cout;
    (void)work;
    const mn_fused_kernels *kern = pw_kernels();
    if (dinp) {
        /* dinp_b[Cin, chunk] (+)= W^T[Cin, Cout] · dout_b[Cout, chunk] */
        float wp[PW_PACK], bz[PW_BIAS];
        const int M8 = kern && overwrite ? pw_pack(wp, bz, w, NULL, cin, cout, true) : 0;
        const int nch = (T + PW_CHUNK - 1) / PW_CHUNK;
        const long tasks = (long)B * nch;
        OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
        for (long task = 0; task < tasks; task++) {
            const int bi = (int)(task / nch), t0 = (int)(task % nch) * PW_CHUNK;
            const int n = T - t0 < PW_CHUNK ? T - t0 : PW_CHUNK;
            float *y = dinp + (size_t)bi * cin * T + t0;
            const float *dy = dout + (size_t)bi * cout * T + t0;
            if (M8)
                pw_product(kern, y, (size_t)T, dy, (size_t)T, w, NULL, true, cin, cout, wp, bz, M8, n);
            else
                mn_sgemm(true, false, cin, n, cout, 1.0f, w, cin, dy, T, overwrite ? 0.0f : 1.0f, y, T);
            if (epi.kind != MN_ACT_NONE)
                for (int i = 0; i < cin; i++)
                    mn_act_backward_inplace(y + (size_t)i * T, inp + ((size_t)bi * cin + i) * T + t0, (size_t)n, epi);
        }
    }
    if (dw || db) {
        /* dW[rows, Cin] += sum_b dout_b[rows, T] · in_b[Cin, T]^T, b ascending in one task */
        const int ntask = (cout + PW_ROWS - 1) / PW_ROWS, T16 = T / MN_FUSED_UNIT * MN_FUSED_UNIT;
        OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
        for (int task = 0; task < ntask; task++) {
            const int o0 = task * PW_ROWS;
            const int m = cout - o0 < PW_ROWS ? cout - o0 : PW_ROWS;
            if (dw && kern)
                for (int bi = 0; bi < B; bi++) {
                    const float *dy = dout + ((size_t)bi * cout + o0) * T, *x = inp + (size_t)bi * cin * T;
                    float *d = dw + (size_t)o0 * cin;
                    for (int t0 = 0; t0 < T16; t0 += PW_WG_COLS) {
                        const int n = T16 - t0 < PW_WG_COLS ? T16 - t0 : PW_WG_COLS;
                        kern->wgrad(d, (size_t)cin, dy + t0, (size_t)T, x + t0, (size_t)T, m, cin, n / MN_FUSED_UNIT);
                    }
                    if (T16 < T) /* the last columns, past the kernel's units */
                        for (int o = 0; o < m; o++)
                            for (int i = 0; i < cin; i++) {
                                float s = 0.0f;
                                for (int c = T16; c < T; c++) s += dy[(size_t)o * T + c] * x[(size_t)i * T + c];
                                d[(size_t)o * cin + i] += s;
                            }
                }
            else if (dw)
                for (int bi = 0; bi < B; bi++)
                    mn_sgemm(false, true, m, cin, T, 1.0f, dout + ((size_t)bi * cout + o0) * T, T,
                             inp + (size_t)bi * cin * T, T, 1.0f, dw + (size_t)o0 * cin, cin);
            if (db)
                for (int o = o0; o < o0 + m; o++) {
                    double acc = 0.0;
                    for (int bi = 0; bi < B; bi++)
                        acc += (double)mn_nn_row_sum(dout + ((size_t)bi * cout + o) * T, T);
                    db[o] += (float)acc;
                }
        }
    }
}

void mn_conv1d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int t_in, const mn_conv1d_cfg *c)
{
    mn_conv1d_backward_into(dinp, dw, db, dout, inp, w, B, t_in, c, false);
}

void mn_conv1d_backward_epi(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            int B, int t_in, const mn_conv1d_cfg *c, bool overwrite, mn_act_epi in_act)
{
    geom g;
    if (B <= 0 || !geom_make(&g, c, t_in)) return;
    if (g.K == 1 && g.cpg_in == g.cin && g.cpg_out == g.cout) {
        bwd_pointwise(dinp, dw, db, dout, inp, w, B, &g, overwrite, in_act);
        return;
    }
    if (dinp) {
        if (g.cpg_in == 1)
            bwd_input_depthwise(dinp, dout, w, inp, B, &g, overwrite, in_act);
        else
            bwd_input_general(dinp, dout, w, inp, B, &g, overwrite, in_act);
    }
    if (dw || db) bwd_weight_general(dw, db, dout, inp, B, &g);
}

void mn_conv1d_backward_into(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                             int B, int t_in, const mn_conv1d_cfg *c, bool overwrite)
{
    mn_conv1d_backward_epi(dinp, dw, db, dout, inp, w, B, t_in, c, overwrite, MN_ACT_EPI_NONE);
}
