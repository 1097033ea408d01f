/* nn/act_epi.h — private to module nn: an activation applied by the node that produces its
 * input.  nn/model.c gives a conv, linear or batch norm whose one reader is an activation that
 * activation as an epilogue: the producer writes act(y) into the activation's buffer a row (or
 * a GEMM chunk) at a time, while it is in cache, and the activation node's own pass over the
 * whole tensor in memory is skipped.  The formulas are mn_act_forward's, element by element, so
 * the bits are those of the two nodes run apart; the activation's backward reads only its own
 * output, which is written as before, and the producer's pre-activation output is never read. */
#ifndef MN_NN_ACT_EPI_H
#define MN_NN_ACT_EPI_H
#include "mimonet/nn.h"

#include <stddef.h>

typedef struct {
    mn_act kind; /* MN_ACT_NONE: no epilogue */
    float alpha;
} mn_act_epi;

#define MN_ACT_EPI_NONE ((mn_act_epi){MN_ACT_NONE, 0.0f})

/* y[i] = act(y[i]) for i < n, on the calling thread (mn_act_forward's formulas). */
void mn_act_inplace(float *y, size_t n, mn_act_epi a);

/* The other direction, for a conv or linear whose input is an activation's output that nothing
 * else reads (nn/model.c): the node writes its input's gradient d, then turns it, while in
 * cache, into the gradient of the activation's input, d[i] = 0 + d[i] act'(y[i]) with y the
 * activation's output (mn_act_backward_into's formulas), on the calling thread.  The
 * activation node's backward pass over the whole tensor is then skipped. */
void mn_act_backward_inplace(float *d, const float *y, size_t n, mn_act_epi a);

/* The forwards with an epilogue (a.kind == MN_ACT_NONE: the plain forwards). */
void mn_conv1d_forward_epi(float *out, const float *inp, const float *w, const float *b, int B, int t_in,
                           const mn_conv1d_cfg *c, mn_act_epi a);
void mn_linear_forward_epi(float *out, const float *inp, const float *w, const float *b, int B, int nin, int nout,
                           int T, mn_act_epi a);
void mn_batchnorm_forward_epi(float *out, float *mean, float *rstd, const float *inp, const float *gamma,
                              const float *beta, float *running_mean, float *running_var, int B, int C, int T,
                              float eps, float momentum, bool training, mn_act_epi a);
/* The backwards with it: in_act is the activation whose output is the node's input (inp); with
 * in_act.kind != MN_ACT_NONE, dinp receives the gradient of that activation's input, and
 * overwrite must be true (nn/grad_into.h). */
void mn_conv1d_backward_epi(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            int B, int t_in, const mn_conv1d_cfg *c, bool overwrite, mn_act_epi in_act);
void mn_linear_backward_epi(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            int B, int nin, int nout, int T, bool overwrite, mn_act_epi in_act);
#endif
