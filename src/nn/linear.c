/*
 * nn/linear.c — a fully connected layer applied independently at every time step.
 *
 *     out[b, o, t] = bias[o] + sum_i w[o, i] * inp[b, i, t]        w [nout, nin] (PyTorch Linear)
 *
 * This is exactly a pointwise (K = 1, groups = 1) conv1d, so both directions delegate to the
 * conv1d kernels, whose pointwise path is one GEMM per (batch item, time chunk):
 *     out_b[nout, T] = W[nout, nin] · in_b[nin, T],     dinp_b += W^T · dout_b,
 *     dW += sum_b dout_b · in_b^T,                        db[o] += sum_{b,t} dout[b, o, t].
 * backward accumulates; dinp, dw, db may each be NULL.
 */
#include "mimonet/nn.h"

#include "act_epi.h"
#include "grad_into.h"

static mn_conv1d_cfg linear_as_conv(int nin, int nout, bool bias)
{
    mn_conv1d_cfg c = {.cin = nin, .cout = nout, .k = 1, .dil = 1, .groups = 1,
                       .pad = MN_PAD_VALID, .bias = bias};
    return c;
}

void mn_linear_forward_epi(float *out, const float *inp, const float *w, const float *b, int B, int nin, int nout,
                           int T, mn_act_epi a)
{
    mn_conv1d_cfg c = linear_as_conv(nin, nout, b != NULL);
    mn_conv1d_forward_epi(out, inp, w, b, B, T, &c, a);
}

void mn_linear_forward(float *out, const float *inp, const float *w, const float *b, int B,
                       int nin, int nout, int T)
{
    mn_linear_forward_epi(out, inp, w, b, B, nin, nout, T, MN_ACT_EPI_NONE);
}

void mn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int nin, int nout, int T)
{
    mn_linear_backward_into(dinp, dw, db, dout, inp, w, B, nin, nout, T, false);
}

void mn_linear_backward_epi(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                            int B, int nin, int nout, int T, bool overwrite, mn_act_epi in_act)
{
    mn_conv1d_cfg c = linear_as_conv(nin, nout, db != NULL);
    mn_conv1d_backward_epi(dinp, dw, db, dout, inp, w, B, T, &c, overwrite, in_act);
}

void mn_linear_backward_into(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                             int B, int nin, int nout, int T, bool overwrite)
{
    mn_linear_backward_epi(dinp, dw, db, dout, inp, w, B, nin, nout, T, overwrite, MN_ACT_EPI_NONE);
}
