/* pim/jx.h — the junction model's fused inference (pim/jx.c), internal to module pim.
 *
 * The layer-by-layer executor writes each of junction's ~40 nodes over the whole window and
 * reads it back; jx runs the model in time tiles instead, so that the products, the envelope
 * gain and the post filter's input stay in cache (issue #6, docs/pim.md "Streaming API"). */
#ifndef MN_PIM_JX_H
#define MN_PIM_JX_H

#include "mimonet/pim.h"
#include "net_internal.h"

/* models.c: the junction layout at any size (J sources, split taps K, gain width H, post taps P). */
int mn_pim_model_junction(mn_model *m, int n_tx, int n_rx, int J, int K, int H, int P);

/* *match = whether model m (declared; parameters need not be allocated) is exactly the junction
 * layout for n_tx -> n_rx at some J, K, H, P, so that jx can run it.  MN_ERR_NOMEM when the
 * comparison could not be made (then *match is false). */
mn_status mn_pim_jx_matches(const mn_model *m, int n_tx, int n_rx, bool *match);

typedef struct mn_pim_jx mn_pim_jx;

/* jx's outputs per time tile, and the drive map's columns per chunk (tests cross both).  A tile
 * recomputes the post filter's P - 1 samples of context; at 512 that was 12 % of the memoryless
 * part's work, and 2,048 streamed 1.05-1.16x faster (docs/benchmarks.md). */
#define MN_PIM_JX_TILE 2048
#define MN_PIM_JX_DCOL 512

/* Buffers for windows of up to T samples on up to `threads` threads.  m must match. */
mn_status mn_pim_jx_create(mn_pim_jx **out, const mn_model *m, int n_tx, int n_rx, int T, int threads);
/* The model (eval mode) over one window of T samples (bf16: the post filter, see below, and the
 * small maps but the drive map in bfloat16; the caller checks the CPU, mn_fused_cpu_bf16) with
 * its complex I/O (pim_io, net_internal.h), converted per column chunk and per tile in the
 * threads' scratch; 'same' padding at the window's ends as mn_model_forward pads them.  Weights
 * are read from m on every call.  No allocation. */
mn_status mn_pim_jx_infer_io(mn_pim_jx *x, const mn_model *m, const pim_io *io, int T, bool bf16);
void mn_pim_jx_free(mn_pim_jx *x);

/* The bf16 post filter (bf16 = true above; pim/jx.c).  pack: zp[t] = bf16(z[t]) | bf16(z[t + 1])
 * << 16 for t < zl (z[zl] read as 0, never loaded), 0 for zl <= t < npad (npad a multiple of
 * 16).  post: y0[t], y1[t] for t < n, the sums of the pair products of zp[t + 2j] with the
 * packed taps w0[j], w1[j], j < P2, in VDPBF16PS's order; it reads zp up to index n + 2 P2 + 13.
 * For tests: the portable reference (ref = true) or the kernels this CPU runs (the same bits). */
typedef void (*jx_post_pack_fn)(uint32_t *zp, const float *z, int zl, int npad);
typedef void (*jx_post_bf16_fn)(float *y0, float *y1, const uint32_t *zp, const uint32_t *w0, const uint32_t *w1,
                                int P2, int n);
void mn_pim_jx_post_kernels(bool ref, jx_post_pack_fn *pack, jx_post_bf16_fn *post);
/* Whether this CPU runs the bf16 post filter natively (AVX512_BF16; mn_fused_cpu_bf16). */
bool mn_pim_jx_cpu_bf16(void);

#endif
