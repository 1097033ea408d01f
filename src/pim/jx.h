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

/* Buffers for windows of up to T samples on up to `threads` threads.  m must match. */
mn_status mn_pim_jx_create(mn_pim_jx **out, const mn_model *m, int n_tx, int n_rx, int T, int threads);
/* The model (eval mode) over one window of T samples with its complex I/O (pim_io,
 * net_internal.h), converted per column chunk and per tile in the threads' scratch; 'same'
 * padding at the window's ends as mn_model_forward pads them.  Weights are read from m on
 * every call.  No allocation. */
mn_status mn_pim_jx_infer_io(mn_pim_jx *x, const mn_model *m, const pim_io *io, int T);
void mn_pim_jx_free(mn_pim_jx *x);

#endif
