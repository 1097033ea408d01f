/* nn/fused.h — private to module nn: the eval-mode fused executor (nn/fused.c) and the kernel
 * table its instruction-set variants fill (nn/fused.c: portable C; nn/fused_x86.c: AVX2+FMA and
 * AVX-512, from the template nn/fused_kern.h).
 *
 * Frame layout.  A tile's tensors are [rows][S] float buffers ("frames"): row r, frame column c
 * holds the value at time t0 - halo_left + c of channel r.  Kernels work on whole units of
 * MN_FUSED_UNIT (16) columns starting at any column c0 (unaligned), so they may read up to 15
 * columns past the range they are asked for and write up to 15 past it: frames have that much
 * slack, and what lands there is never used.
 *
 * Kernel contract (every instruction set computes the same formulas; rounding differs only by
 * the use of FMA):
 *   pw:   y[o][c] = act(b[o] + sum_{k<K} W[o][k] x[k][c]),   o < M (M a multiple of 8),
 *         W packed in blocks of 8 rows: wp[((o/8) K + k) 8 + o%8]
 *   dw:   y[r][c] = act(b[r] + sum_{j<K} w[r][j] x[r][c + j dil - pl]),   r < C
 *   elem: y[r][c] = act(s[r] x[r][c] + t[r])  (s, t NULL: act(x[r][c])),   r < C
 * for c in [c0, c0 + 16 n16); x and y are frames with row strides xs, ys (floats); y != x.
 * dw with pf > 0 also prefetches input row r + pf while computing row r (for an input read
 * straight from the model's input in DRAM).
 *   put:  y[r][c] = x[r][c] for r < C, c < n exactly (the final copy to the output tensor; it
 *         may use non-temporal stores, and then fences them).
 *   pw_bf16 (reduced precision, mn_model_set_precision): pw's formula with the weights and the
 *         inputs, less a per-row offset, rounded to bfloat16 and the sums kept in float, exactly
 *         as AVX512_BF16's VDPBF16PS computes them, so every kernel set that has it gives the
 *         same bits:
 *           a = b[o];  for j < ceil(K/2):  a = ftz(a + X1 W1);  a = ftz(a + X0 W0)
 *           y[o][c] = act(a)
 *         where X0 = bf16(x[2j][c] - xoff[2j]), X1 = bf16(x[2j+1][c] - xoff[2j+1]) (0 when
 *         2j+1 = K), W0, W1 the packed weights of inputs 2j, 2j+1, bf16() is mn_bf16_round (the
 *         float subtraction first, then one rounding) and ftz() flushes a subnormal result to a
 *         zero of its sign.  A product of two bf16 values is exact in float, so each step is one
 *         correctly rounded add (an FMA); the exception, where the portable reference may
 *         differ from the instruction, is a product outside the normal float range (|X W| >
 *         3.4e38 or < 1.2e-38), far from any model's values.  Weights come packed in pairs,
 *         blocks of 8 rows: wp[((o/8) ceil(K/2) + j) 8 + o%8] = W0 | W1 << 16.  panel is
 *         scratch of at least ceil(K/2) MN_FUSED_BF16_PANEL uint32 (the AVX-512 kernel converts
 *         a panel of inputs there once and reuses it for every row block). */
#ifndef MN_NN_FUSED_H
#define MN_NN_FUSED_H

#include "mimonet/nn.h"

#include <stdint.h>
#include <string.h>

typedef struct mn_fused mn_fused; /* the plan (nn/fused.c); m->fused */

#define MN_FUSED_UNIT 16 /* columns per kernel unit */
#define MN_FUSED_MR 8    /* pointwise output rows are padded to a multiple of this */
#define MN_FUSED_BF16_PANEL 48 /* pw_bf16 scratch: uint32 per input pair (3 AVX-512 vectors) */

/* float -> bfloat16 (the top 16 bits of a float) as VCVTNE2PS2BF16 rounds: to nearest, ties to
 * even; a subnormal input becomes a zero of its sign (the instruction treats denormals as
 * zero); a NaN stays a NaN, made quiet; overflow gives infinity.  (Intel SDM,
 * convert_fp32_to_bfloat16; checked against the instruction in tests/nn/test_fused_bf16.c.) */
static inline uint16_t mn_bf16_round(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN: set the quiet bit */
    if ((u & 0x7f800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);       /* zero, subnormal */
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

static inline float mn_bf16_to_float(uint16_t h)
{
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* An activation as the kernels apply it: kind is MN_ACT_NONE, _RELU, _LEAKY or _SIGMOID. */
typedef struct {
    int kind;
    float alpha; /* LeakyReLU slope */
} mn_fused_act;

typedef void (*mn_fused_pw_bf16_fn)(float *y, size_t ys, const float *x, size_t xs, const float *xoff,
                                    const uint32_t *wp, const float *b, int M, int K, int c0, int n16,
                                    mn_fused_act act, uint32_t *panel);

typedef struct {
    const char *name; /* "avx512", "avx2", "c" */
    void (*pw)(float *y, size_t ys, const float *x, size_t xs, const float *wp, const float *b, int M, int K,
               int c0, int n16, mn_fused_act act);
    void (*dw)(float *y, size_t ys, const float *x, size_t xs, const float *w, const float *b, int C, int K,
               int dil, int pl, int c0, int n16, mn_fused_act act, int pf);
    void (*elem)(float *y, size_t ys, const float *x, size_t xs, const float *s, const float *t, int C, int c0,
                 int n16, mn_fused_act act);
    void (*put)(float *y, size_t ys, const float *x, size_t xs, int C, int n);
    /* NULL where the set has none (avx2); the avx512 one needs avx512bf16 + avx512bw + avx512vl
     * too (mn_fused_cpu_bf16). */
    mn_fused_pw_bf16_fn pw_bf16;
    /* Training (nn/conv1d.c): the weight gradient of a pointwise product,
     *   dw[o][i] += sum_{c < 16 n16} dy[o][c] x[i][c],   o < M, i < N,
     * dy and x rows of strides dys and xs (floats), read over exactly those columns, dw of row
     * stride ldw.  Each sum is formed apart in the set's lanes (AVX-512 16, AVX2 8, C 1: lane j
     * takes the columns c = j mod lanes; the SIMD sets by FMA), the lanes added in ascending order, and the
     * result added to dw: the bits depend on the set, never on the thread count. */
    void (*wgrad)(float *dw, size_t ldw, const float *dy, size_t dys, const float *x, size_t xs, int M, int N,
                  int n16);
} mn_fused_kernels;

extern const mn_fused_kernels mn_fused_kernels_c;
#if defined(__x86_64__) && defined(__GNUC__)
#define MN_FUSED_X86 1
extern const mn_fused_kernels mn_fused_kernels_avx2;   /* needs avx2 + fma */
extern const mn_fused_kernels mn_fused_kernels_avx512; /* needs avx512f */
#endif

/* The best kernel set this CPU runs (AVX-512, AVX2+FMA or portable C).  pim/jx.c runs
 * junction's small products through its pw as well. */
const mn_fused_kernels *mn_fused_kernels_best(void);

/* Hooks for nn/model.c. */
/* At the end of mn_model_build: plan the fused executor if the graph is one it supports
 * (m->fused stays NULL otherwise).  MN_ERR_NOMEM only when a supported graph's plan cannot be
 * allocated. */
mn_status mn_fused_plan(mn_model *m);
/* Whether an eval forward of windows of T samples runs fused. */
bool mn_fused_usable(const mn_model *m, int T);
/* The eval forward itself (shapes already checked): writes the output node's y and every
 * node's T, sets m->B and m->fused_ran. */
mn_status mn_fused_forward(mn_model *m, const float *x, int B, int T);
void mn_fused_free(mn_model *m);

/* For tests and benchmarks: run this model's fused path with the named kernels ("avx512",
 * "avx2", "c").  false (and no change) when the model has no plan, this CPU or build lacks
 * the instruction set, or the model is set to bf16 and the set has no usable pw_bf16.  "c"
 * has the bf16 reference kernel, so a test can run a bf16 forward on any CPU (set "c" first,
 * then mn_model_set_precision). */
bool mn_fused_set_isa(mn_model *m, const char *isa);
/* The kernels the model's plan uses ("avx512", "avx2", "c"), or NULL without a plan. */
const char *mn_fused_isa(const mn_model *m);
/* Whether this CPU (and build) runs the AVX-512 bf16 kernel: avx512f, avx512bw, avx512vl and
 * avx512bf16 (CPUID leaf 7 subleaf 1, EAX bit 5). */
bool mn_fused_cpu_bf16(void);

#endif
