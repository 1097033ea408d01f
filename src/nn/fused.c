/*
 * nn/fused.c — the eval-mode fused executor: a model that is a chain of depthwise and pointwise
 * convolutions, linears, eval-mode batch norms and activations runs one time tile at a time
 * through every layer, instead of one layer at a time over the whole batch.
 *
 * Why.  Layer by layer, every node's output [B, C, T] goes out to DRAM and comes back: for the
 * light PIM model 22 nodes with 886 channels in all, ~7 kB per output sample written and read,
 * which alone caps it at a few Msps on a 45 GB/s machine.  Tiled, a tile's activations stay in
 * L2 and DRAM sees only the input and the output (384 B per sample for the light model).
 *
 * What runs (mn_fused_plan, once at build).  The node list is compiled to a list of ops:
 *   DW    depthwise conv (groups = cin = cout, 'same' padding, any k and dilation),
 *   PW    pointwise conv (k = 1, groups = 1) or linear: a small GEMM per tile,
 *   ELEM  y = act(s x + t), for a batch norm or activation that has nothing to fold into.
 * An eval-mode batch norm right after a DW or PW op is folded into its weights,
 *     w' = w g,  b' = (b - running_mean) g + beta,   g = gamma / sqrt(running_var + eps),
 * and an activation (none, ReLU, LeakyReLU, sigmoid) right after is applied in the op's
 * epilogue.  Anything else (other node kinds, branches, valid or grouped convs, tanh) leaves
 * m->fused NULL and the model runs layer by layer.  The folded, padded weights are rebuilt from
 * the parameter table at every fused forward (~12 k values for the light model: microseconds),
 * so weights and running statistics changed by training are never stale.
 *
 * Tiles.  The output window [0, T) of each batch item is cut into tiles of `tile` samples
 * [t0, t0 + n).  Op i must produce its output on [t0 - L_i, t0 + n + R_i), where L_i, R_i are
 * the sums of the depthwise reaches (pad_left, span - pad_left) of the ops after it; the input
 * is needed on [t0 - HL, t0 + n + HR), HL = L_-1, HR = R_-1 (8 and 8 for the light model).
 * Every tensor of a tile lives in a "frame" (fused.h): row r, column c holds time
 * t0 - HL + c.  'same' zero padding is exact: an op computes only columns inside the window
 * [0, T), and before a DW op reads its input, that input's columns outside the window are set to
 * zero, which is what the layer-by-layer path reads there.  So outputs near the window edges
 * match too.  Pointwise output rows are padded to a multiple of 8 with zero weights; the padded
 * rows are never read (the next PW sums over the true channels only).
 *
 * Threads: OpenMP over (batch item, tile) tasks, each with its own scratch frames; a task writes
 * only its own output columns and its arithmetic does not depend on which thread runs it, so
 * results are identical for any thread count.  Results differ from the layer-by-layer path by
 * float rounding only (folding, FMA, summation order): see tests/nn/test_fused.c.
 *
 * Kernels: AVX-512 or AVX2+FMA (nn/fused_x86.c) when the CPU has them (checked at plan time,
 * __builtin_cpu_supports).  The portable C kernels below are the reference and run on request
 * (mn_fused_set_isa); on a CPU with neither, eval forwards stay layer by layer, which is faster
 * there (see mn_fused_usable).  TODO: a NEON set for aarch64 (untested there).
 *
 * bf16 (mn_model_set_precision).  PW ops then run the kernels' pw_bf16 (fused.h): weights
 * folded as above, then rounded to bfloat16 and packed in pairs (refresh_weights_bf16), inputs
 * less a per-tile, per-channel offset (bf16_offsets, which says why) rounded to bfloat16 inside
 * the kernel, sums in float.  DW and ELEM ops, which are ~4% of the
 * light model's multiply-adds and bound by loads rather than arithmetic, stay float, so only
 * PW inputs are rounded.  The kernel's arithmetic is fixed by VDPBF16PS's definition, and the
 * portable reference (pw_bf16_c) reproduces it bit for bit (tests/nn/test_fused_bf16.c); a
 * request for bf16 is refused where no kernel set in use has it (a CPU without AVX512_BF16),
 * rather than silently running float or the slow reference.
 */
#include "fused.h"

#include "lanes.h" /* v16f */

#include <float.h>
#include <math.h>
#include <string.h>
#ifdef MN_FUSED_X86
#include <cpuid.h>
#endif
#ifdef _OPENMP
#include <omp.h>
#endif

#include "pragma.h"

/* Target frame width (columns): the tile is this minus the halos, so a tile's widest op spans
 * 32 units of 16.  The light model's frames then take ~0.6 MB per thread (L2: 1 MB on Zen 5). */
#define FRAME_COLS 512
#define TILE_MIN 256
/* Halos beyond this (HL + HR) are left to the layer-by-layer path. */
#define HALO_MAX 1024
/* Windows shorter than this run layer by layer: an op computes whole units of 16 columns, so a
 * batch of very short windows (T = 1 MLPs) would be mostly padding. */
#define FUSED_MIN_T 16
/* Below this many multiply-adds a forward runs on the calling thread only. */
#define PAR_MIN_WORK (1L << 20)
#define MAX_SLOTS 256
/* A depthwise op reading the model input in place prefetches this many rows ahead: a row takes
 * ~40 ns to filter, DRAM ~100+ ns to answer. */
#define DW_PREFETCH_ROWS 4

typedef enum { OP_DW, OP_PW, OP_ELEM } op_kind;

typedef struct {
    op_kind kind;
    int c_in, c_out;      /* true channels read and written (DW, ELEM: equal) */
    int rows_out;         /* frame rows written: c_out, or c_out rounded up to MN_FUSED_MR (PW) */
    int k, dil, pl;       /* DW: taps, dilation, left padding */
    int halo_l, halo_r;   /* L_i, R_i: columns of this op's output needed beyond the tile */
    mn_fused_act act;     /* applied last */
    int node;             /* the conv / linear node; -1 for ELEM */
    int bn;               /* the batch-norm node folded in (DW, PW) or applied (ELEM); -1: none */
    size_t w_off, b_off;  /* into plan->wts: weights and bias (ELEM: s and t) */
    size_t wb_off;        /* PW: into plan->wbf, the bf16 weight pairs */
} fop;

struct mn_fused {
    fop *ops;
    int n_ops;
    int c_in, c_out;       /* model input and output channels */
    int halo_l, halo_r;    /* HL, HR */
    int tile;              /* output samples per tile (a multiple of 16) */
    int width;             /* HL + tile + HR: frame columns in use */
    int stride;            /* frame row stride: width + 16 of slack, rounded up to 16 */
    int rows_max;          /* rows of the two ping-pong frames */
    long macs;             /* per output sample */
    float *wts;            /* folded weights, refreshed every forward */
    size_t n_wts;
    uint32_t *wbf;         /* PW weights as bf16 pairs (fused.h), refreshed by bf16 forwards */
    size_t n_wbf;
    uint32_t *panels;      /* per-thread pw_bf16 scratch, n_slots * panel_words */
    size_t panel_words;
    float *bf_tmp;         /* per-thread bf16 offsets and biases, n_slots * bf_floats */
    size_t bf_floats;      /* k_max + rows_max, each rounded up to 16 */
    int k_max;             /* largest PW input count */
    int n_slots;           /* per-thread scratch: input frame + two ping-pong frames */
    size_t slot_floats;
    float *scratch;        /* n_slots * slot_floats, touched by its thread on first use */
    unsigned char *slot_ready;
    const mn_fused_kernels *kern;
    bool forced;           /* kern chosen by mn_fused_set_isa */
};

/* ------------------------------------------------------------------ portable kernels */

/* The portable kernels work on units of 16 columns.  With GCC or Clang a unit is one v16f
 * (nn/lanes.h: a 64-byte vector the compiler keeps in registers and maps to whatever SIMD the
 * target has); otherwise plain loops of 16.  Activations follow, row by row (sigmoid with libm's
 * expf: accurate, scalar). */

/* act over rows [0, C) of y, columns [c0, c0 + n) */
static void act_rows_c(float *y, size_t ys, int C, int c0, int n, mn_fused_act act)
{
    if (act.kind == MN_ACT_NONE) return;
    for (int r = 0; r < C; r++) {
        float *restrict yr = y + (size_t)r * ys + c0;
        switch (act.kind) {
        case MN_ACT_RELU:
            for (int c = 0; c < n; c++) yr[c] = yr[c] > 0.0f ? yr[c] : 0.0f;
            break;
        case MN_ACT_LEAKY:
            for (int c = 0; c < n; c++) {
                const float v = yr[c], pos = v > 0.0f ? v : 0.0f, neg = v > 0.0f ? 0.0f : v;
                yr[c] = pos + act.alpha * neg;
            }
            break;
        case MN_ACT_SIGMOID:
            for (int c = 0; c < n; c++) yr[c] = 1.0f / (1.0f + expf(-yr[c]));
            break;
        default: break;
        }
    }
}

#ifdef MN_V16
#define V16_LOAD(v, p) memcpy(&(v), (p), sizeof(v16f)) /* unaligned */
#endif

static void pw_c(float *y, size_t ys, const float *x, size_t xs, const float *wp, const float *b, int M, int K,
                 int c0, int n16, mn_fused_act act)
{
    for (int u = 0; u < n16; u++) {
        const int c = c0 + MN_FUSED_UNIT * u;
        for (int o = 0; o < M; o += 4) { /* 4 rows x 16 columns of accumulators */
            const float *wo = wp + (size_t)(o / MN_FUSED_MR) * K * MN_FUSED_MR + o % MN_FUSED_MR;
#ifdef MN_V16
            v16f a0 = (v16f){0} + b[o], a1 = (v16f){0} + b[o + 1], a2 = (v16f){0} + b[o + 2], a3 = (v16f){0} + b[o + 3];
            for (int k = 0; k < K; k++) {
                v16f xk;
                V16_LOAD(xk, x + (size_t)k * xs + c);
                const float *wk = wo + (size_t)k * MN_FUSED_MR;
                a0 += wk[0] * xk;
                a1 += wk[1] * xk;
                a2 += wk[2] * xk;
                a3 += wk[3] * xk;
            }
            memcpy(y + (size_t)o * ys + c, &a0, sizeof a0);
            memcpy(y + (size_t)(o + 1) * ys + c, &a1, sizeof a1);
            memcpy(y + (size_t)(o + 2) * ys + c, &a2, sizeof a2);
            memcpy(y + (size_t)(o + 3) * ys + c, &a3, sizeof a3);
#else
            float acc[4][MN_FUSED_UNIT];
            for (int r = 0; r < 4; r++)
                for (int j = 0; j < MN_FUSED_UNIT; j++) acc[r][j] = b[o + r];
            for (int k = 0; k < K; k++) {
                const float *xk = x + (size_t)k * xs + c, *wk = wo + (size_t)k * MN_FUSED_MR;
                for (int r = 0; r < 4; r++)
                    for (int j = 0; j < MN_FUSED_UNIT; j++) acc[r][j] += wk[r] * xk[j];
            }
            for (int r = 0; r < 4; r++) memcpy(y + (size_t)(o + r) * ys + c, acc[r], sizeof acc[r]);
#endif
        }
    }
    act_rows_c(y, ys, M, c0, MN_FUSED_UNIT * n16, act);
}

/* Flush a subnormal to a zero of its sign, as VDPBF16PS does with its results. */
static inline float ftz(float a) { return fabsf(a) < FLT_MIN ? a * 0.0f : a; }

/* The bf16 reference (the pw_bf16 contract of fused.h, scalar and plain): each unit's inputs
 * are rounded and paired into the panel, then every output is the contract's sequence of
 * steps.  A bf16 x bf16 product is exact in float (8 x 8 significant bits), so `a + x1 * w1`
 * rounds once, like the instruction's fused step; C11 evaluates it in float here
 * (FLT_EVAL_METHOD 0 on x86-64 and aarch64). */
static void pw_bf16_c(float *y, size_t ys, const float *x, size_t xs, const float *xoff, const uint32_t *wp,
                      const float *b, int M, int K, int c0, int n16, mn_fused_act act, uint32_t *panel)
{
    const int K2 = (K + 1) / 2;
    for (int u = 0; u < n16; u++) {
        const int c = c0 + MN_FUSED_UNIT * u;
        for (int j = 0; j < K2; j++) {
            const float *x0 = x + (size_t)(2 * j) * xs + c;
            for (int i = 0; i < MN_FUSED_UNIT; i++) {
                const uint32_t hi = 2 * j + 1 < K ? mn_bf16_round(x0[xs + (size_t)i] - xoff[2 * j + 1]) : 0;
                panel[(size_t)j * MN_FUSED_UNIT + i] = mn_bf16_round(x0[i] - xoff[2 * j]) | hi << 16;
            }
        }
        for (int o = 0; o < M; o++) {
            const uint32_t *wo = wp + (size_t)(o / MN_FUSED_MR) * K2 * MN_FUSED_MR + o % MN_FUSED_MR;
            float *yo = y + (size_t)o * ys + c;
            for (int i = 0; i < MN_FUSED_UNIT; i++) {
                float a = b[o];
                for (int j = 0; j < K2; j++) {
                    const uint32_t w = wo[(size_t)j * MN_FUSED_MR], xv = panel[(size_t)j * MN_FUSED_UNIT + i];
                    a = ftz(a + mn_bf16_to_float((uint16_t)(xv >> 16)) * mn_bf16_to_float((uint16_t)(w >> 16)));
                    a = ftz(a + mn_bf16_to_float((uint16_t)xv) * mn_bf16_to_float((uint16_t)w));
                }
                yo[i] = a;
            }
        }
    }
    act_rows_c(y, ys, M, c0, MN_FUSED_UNIT * n16, act);
}

static void dw_c(float *y, size_t ys, const float *x, size_t xs, const float *w, const float *b, int C, int K,
                 int dil, int pl, int c0, int n16, mn_fused_act act, int pf)
{
    (void)pf;
    for (int r = 0; r < C; r++) {
        const float *wr = w + (size_t)r * K;
        for (int u = 0; u < n16; u++) {
            const int c = c0 + MN_FUSED_UNIT * u;
            const float *xr = x + (size_t)r * xs + c - pl;
            float *yr = y + (size_t)r * ys + c;
#ifdef MN_V16
            v16f acc = (v16f){0} + b[r];
            for (int k = 0; k < K; k++) {
                v16f xk;
                V16_LOAD(xk, xr + k * dil);
                acc += wr[k] * xk;
            }
            memcpy(yr, &acc, sizeof acc);
#else
            float acc[MN_FUSED_UNIT];
            for (int j = 0; j < MN_FUSED_UNIT; j++) acc[j] = b[r];
            for (int k = 0; k < K; k++)
                for (int j = 0; j < MN_FUSED_UNIT; j++) acc[j] += wr[k] * xr[k * dil + j];
            memcpy(yr, acc, sizeof acc);
#endif
        }
    }
    act_rows_c(y, ys, C, c0, MN_FUSED_UNIT * n16, act);
}

static void elem_c(float *y, size_t ys, const float *x, size_t xs, const float *s, const float *t, int C, int c0,
                   int n16, mn_fused_act act)
{
    const int n = MN_FUSED_UNIT * n16;
    for (int r = 0; r < C; r++) {
        float *restrict yr = y + (size_t)r * ys + c0;
        const float *restrict xr = x + (size_t)r * xs + c0;
        if (s)
            for (int c = 0; c < n; c++) yr[c] = s[r] * xr[c] + t[r];
        else
            memcpy(yr, xr, (size_t)n * sizeof *yr);
    }
    act_rows_c(y, ys, C, c0, n, act);
}

static void put_c(float *y, size_t ys, const float *x, size_t xs, int C, int n)
{
    for (int r = 0; r < C; r++) memcpy(y + (size_t)r * ys, x + (size_t)r * xs, (size_t)n * sizeof(float));
}

static void wgrad_c(float *dw, size_t ldw, const float *dy, size_t dys, const float *x, size_t xs, int M, int N,
                    int n16)
{
    const int n = MN_FUSED_UNIT * n16;
    for (int o = 0; o < M; o++)
        for (int i = 0; i < N; i++) {
            const float *yo = dy + (size_t)o * dys, *xi = x + (size_t)i * xs;
            float s = 0.0f;
            for (int c = 0; c < n; c++) s += yo[c] * xi[c];
            dw[(size_t)o * ldw + i] += s;
        }
}

const mn_fused_kernels mn_fused_kernels_c = {"c", pw_c, dw_c, elem_c, put_c, pw_bf16_c, wgrad_c};

bool mn_fused_cpu_bf16(void)
{
#ifdef MN_FUSED_X86
    /* avx512f also tells that the OS saves the ZMM state.  AVX512_BF16 is CPUID leaf 7, subleaf
     * 1, EAX bit 5 (read directly: older compilers' __builtin_cpu_supports lacks the name). */
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl"))
        return false;
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a >> 5 & 1u);
#else
    return false;
#endif
}

/* k's bf16 pointwise kernel if this CPU runs it, else NULL. */
static mn_fused_pw_bf16_fn pw_bf16_of(const mn_fused_kernels *k)
{
    if (!k->pw_bf16) return NULL;
#ifdef MN_FUSED_X86
    if (k == &mn_fused_kernels_avx512 && !mn_fused_cpu_bf16()) return NULL;
#endif
    return k->pw_bf16;
}

const mn_fused_kernels *mn_fused_kernels_best(void)
{
#ifdef MN_FUSED_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return &mn_fused_kernels_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &mn_fused_kernels_avx2;
#endif
    return &mn_fused_kernels_c;
}

/* ------------------------------------------------------------------ plan */

static int round_up(int v, int m) { return (v + m - 1) / m * m; }

static bool conv_is_pw(const mn_conv1d_cfg *c) { return c->k == 1 && c->groups == 1; }
static bool conv_is_dw(const mn_conv1d_cfg *c)
{
    return c->groups == c->cin && c->cout == c->cin && (c->pad == MN_PAD_SAME || c->k == 1);
}

/* Compile nodes 1..n-1 into ops (at most one per node); false when some node is unsupported. */
static bool compile_ops(const mn_model *m, fop *ops, int *n_ops)
{
    int n = 0, ch = m->nodes[0].C;
    if (m->output != m->n_nodes - 1) return false;
    for (int i = 1; i < m->n_nodes; i++) {
        const mn_node *nd = &m->nodes[i];
        fop *last = n > 0 ? &ops[n - 1] : NULL;
        if (nd->in0 != i - 1 || nd->in1 != -1) return false; /* a chain only */
        fop op = {.node = i, .bn = -1, .act = {MN_ACT_NONE, 0.0f}};
        switch (nd->kind) {
        case MN_NODE_CONV1D:
        case MN_NODE_LINEAR:
            if (nd->kind == MN_NODE_LINEAR || conv_is_pw(&nd->u.conv)) {
                op.kind = OP_PW;
                op.c_in = ch;
                op.c_out = nd->C;
                op.rows_out = round_up(nd->C, MN_FUSED_MR);
            } else if (conv_is_dw(&nd->u.conv)) {
                op.kind = OP_DW;
                op.c_in = op.c_out = op.rows_out = ch;
                op.k = nd->u.conv.k;
                op.dil = nd->u.conv.dil;
                int pr;
                mn_conv1d_out_len(&nd->u.conv, 1, &op.pl, &pr);
            } else {
                return false;
            }
            ops[n++] = op;
            ch = nd->C;
            break;
        case MN_NODE_BATCHNORM:
            if (last && last->kind != OP_ELEM && last->bn < 0 && last->act.kind == MN_ACT_NONE) {
                last->bn = i; /* folded into the conv / linear before it */
            } else {
                op.kind = OP_ELEM;
                op.node = -1;
                op.bn = i;
                op.c_in = op.c_out = op.rows_out = ch;
                ops[n++] = op;
            }
            break;
        case MN_NODE_ACT: {
            const mn_act a = nd->u.act.kind;
            if (a == MN_ACT_NONE) break;
            if (a != MN_ACT_RELU && a != MN_ACT_LEAKY && a != MN_ACT_SIGMOID) return false;
            if (last && last->act.kind == MN_ACT_NONE) {
                last->act = (mn_fused_act){(int)a, nd->u.act.alpha};
            } else {
                op.kind = OP_ELEM;
                op.node = -1;
                op.c_in = op.c_out = op.rows_out = ch;
                op.act = (mn_fused_act){(int)a, nd->u.act.alpha};
                ops[n++] = op;
            }
            break;
        }
        default: return false;
        }
    }
    *n_ops = n;
    return n > 0;
}

mn_status mn_fused_plan(mn_model *m)
{
    m->fused = NULL;
    fop *ops = mn_malloc((size_t)m->n_nodes * sizeof *ops);
    if (!ops) return mn_error(MN_ERR_NOMEM, "model: fused plan (%d nodes)", m->n_nodes);
    int n_ops = 0;
    if (!compile_ops(m, ops, &n_ops)) {
        mn_free(ops);
        return MN_OK; /* not a supported graph: layer by layer */
    }
    /* Halos, from the last op back; weight offsets; frame rows. */
    int L = 0, R = 0, rows_max = m->nodes[0].C, k_max = 0;
    size_t nw = 0, nwb = 0;
    long macs = 0;
    for (int i = n_ops - 1; i >= 0; i--) {
        fop *op = &ops[i];
        op->halo_l = L;
        op->halo_r = R;
        if (op->kind == OP_DW) {
            L += op->pl;
            R += op->dil * (op->k - 1) - op->pl;
        }
        if (L + R > HALO_MAX) {
            mn_free(ops);
            return MN_OK; /* receptive field far beyond a tile: layer by layer */
        }
    }
    for (int i = 0; i < n_ops; i++) {
        fop *op = &ops[i];
        size_t wn = op->kind == OP_PW ? (size_t)op->rows_out * op->c_in
                    : op->kind == OP_DW ? (size_t)op->c_out * op->k : (size_t)op->c_out;
        op->w_off = nw;
        nw += (wn + 15) & ~(size_t)15;
        op->b_off = nw;
        nw += ((size_t)op->rows_out + 15) & ~(size_t)15;
        if (op->rows_out > rows_max) rows_max = op->rows_out;
        if (op->kind == OP_PW) {
            op->wb_off = nwb;
            nwb += ((size_t)op->rows_out * (size_t)((op->c_in + 1) / 2) + 15) & ~(size_t)15;
            if (op->c_in > k_max) k_max = op->c_in;
        }
        macs += op->kind == OP_PW ? (long)op->c_in * op->c_out : op->kind == OP_DW ? (long)op->c_out * op->k : 0;
    }
    mn_fused *p = mn_calloc(1, sizeof *p);
    if (!p) {
        mn_free(ops);
        return mn_error(MN_ERR_NOMEM, "model: fused plan");
    }
    p->ops = ops;
    p->n_ops = n_ops;
    p->c_in = m->nodes[0].C;
    p->c_out = m->nodes[m->output].C;
    p->halo_l = L;
    p->halo_r = R;
    p->tile = (FRAME_COLS - L - R) / MN_FUSED_UNIT * MN_FUSED_UNIT;
    if (p->tile < TILE_MIN) p->tile = TILE_MIN;
    p->width = L + p->tile + R;
    p->stride = round_up(p->width + MN_FUSED_UNIT, MN_FUSED_UNIT);
    p->rows_max = rows_max;
    p->macs = macs;
    p->n_wts = nw;
    p->n_wbf = nwb;
    /* whole cache lines per thread: no two threads write one line */
    p->panel_words = ((size_t)((k_max + 1) / 2) * MN_FUSED_BF16_PANEL + 15) & ~(size_t)15;
    p->k_max = k_max;
    p->bf_floats = (((size_t)k_max + 15) & ~(size_t)15) + (((size_t)rows_max + 15) & ~(size_t)15);
    p->kern = mn_fused_kernels_best();
    int slots = mn_threads_get();
#ifdef _OPENMP
    if (omp_get_num_procs() > slots) slots = omp_get_num_procs();
#endif
    p->n_slots = slots < 1 ? 1 : slots > MAX_SLOTS ? MAX_SLOTS : slots;
    p->slot_floats = ((size_t)p->c_in + 2 * (size_t)rows_max) * (size_t)p->stride;
    p->wts = mn_calloc(nw ? nw : 1, sizeof(float));
    p->wbf = mn_calloc(nwb ? nwb : 1, sizeof(uint32_t));
    p->panels = mn_malloc((p->panel_words ? p->panel_words : 1) * (size_t)p->n_slots * sizeof(uint32_t));
    p->bf_tmp = mn_malloc(p->bf_floats * (size_t)p->n_slots * sizeof(float));
    p->slot_ready = mn_calloc((size_t)p->n_slots, 1);
    /* Not touched here: each slot is zeroed by the thread that first uses it. */
    p->scratch = mn_malloc((size_t)p->n_slots * p->slot_floats * sizeof(float));
    m->fused = p;
    if (!p->wts || !p->wbf || !p->panels || !p->bf_tmp || !p->slot_ready || !p->scratch) {
        const size_t per_slot = p->slot_floats;
        mn_fused_free(m);
        return mn_error(MN_ERR_NOMEM, "model: fused scratch (%d threads x %zu floats)", slots, per_slot);
    }
    return MN_OK;
}

void mn_fused_free(mn_model *m)
{
    mn_fused *p = m->fused;
    if (!p) return;
    mn_free(p->ops);
    mn_free(p->wts);
    mn_free(p->wbf);
    mn_free(p->panels);
    mn_free(p->bf_tmp);
    mn_free(p->slot_ready);
    mn_free(p->scratch);
    mn_free(p);
    m->fused = NULL;
}

void mn_model_set_fused(mn_model *m, bool on) { m->fused_off = !on; }

/* With only the portable kernels (no AVX2), the layer-by-layer path, whose GEMMs are OpenBLAS's,
 * is faster (measured here with SSE2 code: 0.5 against 1.8 Msps), so it stays the default;
 * mn_fused_set_isa(m, "c") still runs them (tests). */
bool mn_fused_usable(const mn_model *m, int T)
{
    return m->fused && !m->fused_off && T >= FUSED_MIN_T &&
           (m->fused->kern != &mn_fused_kernels_c || m->fused->forced);
}

/* Whether bf16 forwards of this plan run: its kernels have a bf16 kernel this CPU runs, and
 * they are the ones a forward uses (the portable set only when forced; see mn_fused_usable). */
static bool bf16_runs(const mn_fused_kernels *k, bool forced)
{
    return pw_bf16_of(k) && (k != &mn_fused_kernels_c || forced);
}

bool mn_fused_set_isa(mn_model *m, const char *isa)
{
    if (!m->fused || !isa) return false;
    const mn_fused_kernels *k = NULL;
    if (!strcmp(isa, "c")) k = &mn_fused_kernels_c;
#ifdef MN_FUSED_X86
    __builtin_cpu_init();
    if (!strcmp(isa, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        k = &mn_fused_kernels_avx2;
    if (!strcmp(isa, "avx512") && __builtin_cpu_supports("avx512f")) k = &mn_fused_kernels_avx512;
#endif
    if (!k) return false;
    if (m->precision == MN_PRECISION_BF16 && !bf16_runs(k, true)) return false;
    m->fused->kern = k;
    m->fused->forced = true;
    return true;
}

const char *mn_fused_isa(const mn_model *m) { return m->fused ? m->fused->kern->name : NULL; }

mn_status mn_model_set_precision(mn_model *m, mn_precision prec)
{
    if (prec == MN_PRECISION_FP32) {
        m->precision = prec;
        return MN_OK;
    }
    if (prec != MN_PRECISION_BF16) return mn_error(MN_ERR_INVALID, "model: unknown precision %d", (int)prec);
    if (!m->fused)
        return mn_error(MN_ERR_UNSUPPORTED, "model: bf16 runs only in the fused eval executor, and this model has none (%s)",
                        m->built ? "its graph is not a chain of depthwise / pointwise convs, linears, batch norms and "
                                   "ReLU / LeakyReLU / sigmoid activations"
                                 : "set the precision after mn_model_build");
    if (!bf16_runs(m->fused->kern, m->fused->forced))
        return mn_error(MN_ERR_UNSUPPORTED, "model: bf16 inference needs an x86-64 CPU with AVX512_BF16 (and AVX512 "
                        "F/BW/VL), which this one lacks; use fp32");
    m->precision = prec;
    return MN_OK;
}

mn_precision mn_model_precision(const mn_model *m) { return m->precision; }

const char *mn_precision_name(mn_precision p)
{
    switch (p) {
    case MN_PRECISION_FP32: return "fp32";
    case MN_PRECISION_BF16: return "bf16";
    }
    return NULL;
}

mn_status mn_precision_parse(const char *name, mn_precision *p)
{
    if (name && !strcmp(name, "fp32")) *p = MN_PRECISION_FP32;
    else if (name && !strcmp(name, "bf16")) *p = MN_PRECISION_BF16;
    else return mn_error(MN_ERR_INVALID, "unknown precision '%s' (fp32 or bf16)", name ? name : "(null)");
    return MN_OK;
}

/* ------------------------------------------------------------------ weights */

static const float *param(const mn_model *m, int idx) { return idx >= 0 ? mn_params_w(&m->params, idx) : NULL; }

/* Fold each op's weights, bias and batch norm into plan->wts (pointwise weights packed in blocks
 * of MN_FUSED_MR rows, fused.h).  Padded rows and columns stay zero.  The products are formed in
 * double and rounded once. */
static void refresh_weights(mn_fused *p, const mn_model *m)
{
    for (int i = 0; i < p->n_ops; i++) {
        const fop *op = &p->ops[i];
        float *w = p->wts + op->w_off, *b = p->wts + op->b_off;
        const mn_node *bn = op->bn >= 0 ? &m->nodes[op->bn] : NULL;
        const float *gam = bn ? param(m, bn->p_w) : NULL, *bet = bn ? param(m, bn->p_b) : NULL;
        const float *rm = bn ? param(m, bn->p_rmean) : NULL, *rv = bn ? param(m, bn->p_rvar) : NULL;
        const mn_node *nd = op->node >= 0 ? &m->nodes[op->node] : NULL;
        const float *W = nd ? param(m, nd->p_w) : NULL, *bias = nd ? param(m, nd->p_b) : NULL;
        for (int o = 0; o < op->c_out; o++) {
            /* batch norm (eval) as g x + h applied after the op: g = gamma rstd, h = beta - mean g,
             * with rstd rounded to float as mn_batchnorm_forward does */
            double g = 1.0, mean = 0.0, beta = 0.0;
            if (bn) {
                const float rs = (float)(1.0 / sqrt((double)rv[o] + (double)bn->u.norm.eps));
                g = gam ? (double)(gam[o] * rs) : (double)rs;
                mean = (double)rm[o];
                beta = bet ? (double)bet[o] : 0.0;
            }
            const double b0 = bias ? (double)bias[o] : 0.0;
            switch (op->kind) {
            case OP_PW: {
                float *wo = w + (size_t)(o / MN_FUSED_MR) * op->c_in * MN_FUSED_MR + o % MN_FUSED_MR;
                for (int k = 0; k < op->c_in; k++)
                    wo[(size_t)k * MN_FUSED_MR] = (float)((double)W[(size_t)o * op->c_in + k] * g);
                b[o] = (float)((b0 - mean) * g + beta);
                break;
            }
            case OP_DW:
                for (int k = 0; k < op->k; k++) w[(size_t)o * op->k + k] = (float)((double)W[(size_t)o * op->k + k] * g);
                b[o] = (float)((b0 - mean) * g + beta);
                break;
            case OP_ELEM:
                w[o] = (float)g;
                b[o] = (float)(beta - mean * g);
                break;
            }
        }
    }
}

/* The folded PW weights (plan->wts) as bf16 pairs (plan->wbf, fused.h's packing); padded rows
 * and the odd input of an odd K are zero. */
static void refresh_weights_bf16(mn_fused *p)
{
    for (int i = 0; i < p->n_ops; i++) {
        const fop *op = &p->ops[i];
        if (op->kind != OP_PW) continue;
        const int K = op->c_in, K2 = (K + 1) / 2;
        const float *w = p->wts + op->w_off;
        uint32_t *wb = p->wbf + op->wb_off;
        for (int o = 0; o < op->rows_out; o++) {
            const float *wo = w + (size_t)(o / MN_FUSED_MR) * K * MN_FUSED_MR + o % MN_FUSED_MR;
            uint32_t *bo = wb + (size_t)(o / MN_FUSED_MR) * K2 * MN_FUSED_MR + o % MN_FUSED_MR;
            for (int j = 0; j < K2; j++) {
                const uint32_t lo = mn_bf16_round(wo[(size_t)(2 * j) * MN_FUSED_MR]);
                const uint32_t hi = 2 * j + 1 < K ? mn_bf16_round(wo[(size_t)(2 * j + 1) * MN_FUSED_MR]) : 0;
                bo[(size_t)j * MN_FUSED_MR] = lo | hi << 16;
            }
        }
    }
}

/* ------------------------------------------------------------------ tiles */

/* Zero columns [c0, c1) of rows [0, rows) of a frame. */
static void frame_zero(float *f, size_t stride, int rows, int c0, int c1)
{
    if (c1 <= c0) return;
    for (int r = 0; r < rows; r++) memset(f + (size_t)r * stride + c0, 0, (size_t)(c1 - c0) * sizeof(float));
}

/* Columns a bf16 offset is estimated from (see bf16_offsets). */
#define BF16_MEAN_COLS 64

/* b2[o] = b[o] + sum_k W[o][k] xoff[k] for o < M, W packed as fused.h says: 8 rows at a time,
 * one vector of 8 lanes, in a fixed order (multiversioned: the same bits on every CPU). */
MN_MULTIVERSION static void bias_shift(float *b2, const float *wp, const float *b, const float *xoff, int M, int K)
{
    for (int o = 0; o < M; o += MN_FUSED_MR) {
        const float *wo = wp + (size_t)(o / MN_FUSED_MR) * K * MN_FUSED_MR;
        float out[MN_FUSED_MR];
#ifdef MN_V16
        typedef float v8f __attribute__((vector_size(32)));
        v8f acc = {0}, wk;
        for (int k = 0; k < K; k++) {
            memcpy(&wk, wo + (size_t)k * MN_FUSED_MR, sizeof wk);
            acc += wk * xoff[k];
        }
        memcpy(out, &acc, sizeof out);
#else
        for (int r = 0; r < MN_FUSED_MR; r++) out[r] = 0.0f;
        for (int k = 0; k < K; k++)
            for (int r = 0; r < MN_FUSED_MR; r++) out[r] += wo[(size_t)k * MN_FUSED_MR + r] * xoff[k];
#endif
        for (int r = 0; r < MN_FUSED_MR; r++) b2[o + r] = b[o + r] + out[r];
    }
}

/* Offsets for a bf16 PW op whose columns are [lo, hi) of x (K rows): xoff[k] = the mean of row
 * k over the first BF16_MEAN_COLS of those columns, and the bias that gives them back, b2[o] = b[o] + sum_k W[o][k] xoff[k] with the
 * float weights (packed wp, fused.h).
 *
 * Why.  bf16 rounds each input by up to 2^-8 of its magnitude, so an input that is a large
 * constant plus a small signal (a sigmoid output near 0.5, a channel with a large mean) loses
 * the signal: measured on a trained light model, the bf16 prediction error was only 16 dB below
 * the prediction without offsets.  Rounding x - mean instead scales the error with the signal
 * (as zero points do in int8 quantization), and the weights' own rounding then multiplies only
 * x - mean too, since the constant part goes through b2 in float.  The offset only has to be
 * near the row's centre, so a short stretch of columns estimates it (averaging all of them cost
 * 15% of a bf16 forward); per tile and op this is 64 K adds and M K multiply-adds.  It depends
 * only on the tile's data (fixed lanes, fixed order), so results stay identical for any thread
 * count. */
static void bf16_offsets(float *xoff, float *b2, const float *x, size_t xs, int lo, int hi, const float *wp,
                         const float *b, int M, int K)
{
    const int n = hi - lo < BF16_MEAN_COLS ? hi - lo : BF16_MEAN_COLS;
    for (int k = 0; k < K; k++) {
        /* fixed lanes, multiversioned (nn/lanes.h): the same bits on every CPU */
        const float sum = mn_nn_row_sum(x + (size_t)k * xs + lo, n);
        /* a NaN or infinity in the row must not spread to its neighbours' outputs through the offset */
        xoff[k] = n > 0 && isfinite(sum) ? sum / (float)n : 0.0f;
    }
    bias_shift(b2, wp, b, xoff, M, K);
}

/* Output samples [t0, t0 + n) of batch item b: y [B, c_out, T], x [B, c_in, T]; or with io
 * (x, y unused, b 0) the caller's loads and stores. */
static void run_tile(const mn_fused *p, float *y, const float *x, int T, int b, int t0, int n, float *slot,
                     mn_fused_pw_bf16_fn pwb, uint32_t *panel, float *bf_tmp, const mn_infer_io *io)
{
    const int HL = p->halo_l, S = p->stride;
    const mn_fused_kernels *kn = p->kern;
    float *frame_x = slot;
    float *frame[2] = {slot + (size_t)p->c_in * S, slot + ((size_t)p->c_in + p->rows_max) * S};
    /* The window [0, T) in frame columns. */
    const int win_lo = HL - t0, win_hi = HL - t0 + T;
    const bool edge = win_lo > 0 || win_hi < p->width;
    const float *xb = io ? NULL : x + (size_t)b * p->c_in * T;
    const float *src;
    size_t ss;
    if (io) {
        /* the caller's samples, zero outside the window */
        const int lo = win_lo > 0 ? win_lo : 0, hi = win_hi < S ? win_hi : S;
        for (int r = 0; r < p->c_in; r++) {
            float *f = frame_x + (size_t)r * S;
            memset(f, 0, (size_t)(hi > lo ? lo : S) * sizeof(float));
            if (hi > lo) memset(f + hi, 0, (size_t)(S - hi) * sizeof(float));
        }
        if (hi > lo) io->load(io->user, frame_x + lo, (size_t)S, lo - HL + t0, hi - lo);
        src = frame_x;
        ss = (size_t)S;
    } else if (t0 - HL >= 0 && t0 - HL + S <= T) {
        src = xb + (t0 - HL); /* every column a kernel may read is inside the window: read x directly */
        ss = (size_t)T;
    } else {
        /* copy, zero outside the window (the 'same' padding of whatever reads it) */
        const int lo = win_lo > 0 ? win_lo : 0, hi = win_hi < S ? win_hi : S;
        for (int r = 0; r < p->c_in; r++) {
            float *f = frame_x + (size_t)r * S;
            if (hi > lo) {
                memset(f, 0, (size_t)lo * sizeof(float));
                memcpy(f + lo, xb + (size_t)r * T + (lo - HL + t0), (size_t)(hi - lo) * sizeof(float));
                memset(f + hi, 0, (size_t)(S - hi) * sizeof(float));
            } else {
                memset(f, 0, (size_t)S * sizeof(float));
            }
        }
        src = frame_x;
        ss = (size_t)S;
    }
    int which = 0; /* the frame the next op writes */
    for (int i = 0; i < p->n_ops; i++) {
        const fop *op = &p->ops[i];
        /* this op's columns: what later ops need, inside the window */
        const int need_lo = HL - op->halo_l, need_hi = HL + n + op->halo_r;
        const int lo = need_lo > win_lo ? need_lo : win_lo, hi = need_hi < win_hi ? need_hi : win_hi;
        const int n16 = (hi - lo + MN_FUSED_UNIT - 1) / MN_FUSED_UNIT;
        const bool in_place_x = !io && src == xb + (t0 - HL); /* reading the model input in DRAM */
        float *dst = frame[which];
        which ^= 1;
        const float *w = p->wts + op->w_off, *bb = p->wts + op->b_off;
        switch (op->kind) {
        case OP_PW:
            if (pwb) {
                float *xoff = bf_tmp, *b2 = bf_tmp + ((p->k_max + 15) & ~15);
                bf16_offsets(xoff, b2, src, ss, lo, hi, w, bb, op->rows_out, op->c_in);
                pwb(dst, (size_t)S, src, ss, xoff, p->wbf + op->wb_off, b2, op->rows_out, op->c_in, lo, n16, op->act,
                    panel);
            } else
                kn->pw(dst, (size_t)S, src, ss, w, bb, op->rows_out, op->c_in, lo, n16, op->act);
            break;
        case OP_DW:
            kn->dw(dst, (size_t)S, src, ss, w, bb, op->c_out, op->k, op->dil, op->pl, lo, n16, op->act,
                   in_place_x ? DW_PREFETCH_ROWS : 0);
            break;
        case OP_ELEM:
            kn->elem(dst, (size_t)S, src, ss, op->bn >= 0 ? w : NULL, op->bn >= 0 ? bb : NULL, op->c_out, lo, n16,
                     op->act);
            break;
        }
        /* the next op is depthwise: the columns it reads outside the window must be zero */
        if (edge && i + 1 < p->n_ops && p->ops[i + 1].kind == OP_DW) {
            frame_zero(dst, (size_t)S, op->c_out, need_lo, win_lo < need_hi ? win_lo : need_hi);
            frame_zero(dst, (size_t)S, op->c_out, win_hi > need_lo ? win_hi : need_lo, need_hi);
        }
        src = dst;
        ss = (size_t)S;
    }
    if (io)
        io->store(io->user, src + HL, (size_t)S, t0, n);
    else
        kn->put(y + (size_t)b * p->c_out * T + t0, (size_t)T, src + HL, (size_t)S, p->c_out, n);
}

/* The eval forward into y [B, c_out, T], or with io (B 1) through the caller's loads and
 * stores: model state is not touched. */
static mn_status fused_run(mn_model *m, const float *x, int B, int T, float *y, const mn_infer_io *io)
{
    mn_fused *p = m->fused;
    /* bf16: the kernel set's pw_bf16 (mn_model_set_precision and mn_fused_set_isa make sure
     * there is one; checked again rather than trusted) */
    const bool bf16 = m->precision == MN_PRECISION_BF16;
    const mn_fused_pw_bf16_fn pwb = bf16 ? pw_bf16_of(p->kern) : NULL;
    if (bf16 && !pwb) return mn_error(MN_ERR_UNSUPPORTED, "model: no bf16 kernel for the %s kernels", p->kern->name);
    refresh_weights(p, m);
    if (bf16) refresh_weights_bf16(p);
    const int ntile = (T + p->tile - 1) / p->tile;
    const long ntask = (long)B * ntile;
    const bool par = ntask > 1 && (double)B * T * (double)p->macs > (double)PAR_MIN_WORK;
    int nt = mn_threads_get();
    if (nt > p->n_slots) nt = p->n_slots;
    if (nt < 1) nt = 1;
    (void)par;
    OMP(parallel for schedule(dynamic, 1) num_threads(nt) if(par))
    for (long task = 0; task < ntask; task++) {
        int slot = 0;
#ifdef _OPENMP
        slot = omp_get_thread_num();
#endif
        float *s = p->scratch + (size_t)slot * p->slot_floats;
        if (!p->slot_ready[slot]) {
            /* first use by this thread: zero it (the slack columns are read, never written usefully) */
            memset(s, 0, p->slot_floats * sizeof(float));
            p->slot_ready[slot] = 1;
        }
        const int b = (int)(task / ntile), t0 = (int)(task % ntile) * p->tile;
        const int n = T - t0 < p->tile ? T - t0 : p->tile;
        run_tile(p, y, x, T, b, t0, n, s, pwb, p->panels + (size_t)slot * p->panel_words,
                 p->bf_tmp + (size_t)slot * p->bf_floats, io);
    }
    return MN_OK;
}

mn_status mn_fused_forward(mn_model *m, const float *x, int B, int T)
{
    mn_status st = fused_run(m, x, B, T, m->nodes[m->output].y, NULL);
    if (st != MN_OK) return st;
    m->B = B;
    for (int i = 0; i < m->n_nodes; i++) m->nodes[i].T = T;
    m->fused_ran = true;
    return MN_OK;
}

bool mn_model_fused_usable(const mn_model *m, int T) { return m->built && mn_fused_usable(m, T); }

static mn_status infer_check(const mn_model *m, int B, int T)
{
    if (!m->built) return mn_error(MN_ERR_INVALID, "model: inference before build");
    if (B < 1 || T < 1) return mn_error(MN_ERR_SHAPE, "model: inference of %d windows of %d samples", B, T);
    if (!mn_fused_usable(m, T))
        return mn_error(MN_ERR_UNSUPPORTED, "model: the fused executor does not run this model%s",
                        !m->fused        ? " (its graph is not one it supports)"
                        : m->fused_off   ? " (turned off by mn_model_set_fused)"
                        : T < FUSED_MIN_T ? " on windows this short"
                                          : " on this CPU (no AVX2)");
    return MN_OK;
}

mn_status mn_model_infer(mn_model *m, const float *x, int B, int T, float *y)
{
    mn_status st = infer_check(m, B, T);
    return st != MN_OK ? st : fused_run(m, x, B, T, y, NULL);
}

mn_status mn_model_infer_io(mn_model *m, int T, const mn_infer_io *io)
{
    if (!io || !io->load || !io->store) return mn_error(MN_ERR_INVALID, "model: inference I/O without load and store");
    mn_status st = infer_check(m, 1, T);
    return st != MN_OK ? st : fused_run(m, NULL, 1, T, NULL, io);
}
