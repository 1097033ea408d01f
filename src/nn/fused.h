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
 *         may use non-temporal stores, and then fences them). */
#ifndef MN_NN_FUSED_H
#define MN_NN_FUSED_H

#include "mimonet/nn.h"

typedef struct mn_fused mn_fused; /* the plan (nn/fused.c); m->fused */

#define MN_FUSED_UNIT 16 /* columns per kernel unit */
#define MN_FUSED_MR 8    /* pointwise output rows are padded to a multiple of this */

/* An activation as the kernels apply it: kind is MN_ACT_NONE, _RELU, _LEAKY or _SIGMOID. */
typedef struct {
    int kind;
    float alpha; /* LeakyReLU slope */
} mn_fused_act;

typedef struct {
    const char *name; /* "avx512", "avx2", "c" */
    void (*pw)(float *y, size_t ys, const float *x, size_t xs, const float *wp, const float *b, int M, int K,
               int c0, int n16, mn_fused_act act);
    void (*dw)(float *y, size_t ys, const float *x, size_t xs, const float *w, const float *b, int C, int K,
               int dil, int pl, int c0, int n16, mn_fused_act act, int pf);
    void (*elem)(float *y, size_t ys, const float *x, size_t xs, const float *s, const float *t, int C, int c0,
                 int n16, mn_fused_act act);
    void (*put)(float *y, size_t ys, const float *x, size_t xs, int C, int n);
} mn_fused_kernels;

extern const mn_fused_kernels mn_fused_kernels_c;
#if defined(__x86_64__) && defined(__GNUC__)
#define MN_FUSED_X86 1
extern const mn_fused_kernels mn_fused_kernels_avx2;   /* needs avx2 + fma */
extern const mn_fused_kernels mn_fused_kernels_avx512; /* needs avx512f */
#endif

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
 * "avx2", "c").  false (and no change) when the model has no plan or this CPU or build lacks
 * the instruction set. */
bool mn_fused_set_isa(mn_model *m, const char *isa);
/* The kernels the model's plan uses ("avx512", "avx2", "c"), or NULL without a plan. */
const char *mn_fused_isa(const mn_model *m);

#endif
