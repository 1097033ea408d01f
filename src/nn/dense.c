/*
 * nn/dense.c — a fully connected layer over a batch of vectors: the T = 1 case of the
 * per-time-step linear layer (nn/linear.c), done as a few large GEMMs over the batch instead
 * of one matrix-vector product per batch item.  The model runs MN_NODE_LINEAR nodes whose
 * window is 1 through these kernels (the CSI encoder, feedback precoder and pooling heads).
 *
 *     out[b, o] = bias[o] + sum_i w[o, i] inp[b, i]        inp [B, nin], out [B, nout], w [nout, nin]
 *     dinp[b, i] += sum_o dout[b, o] w[o, i]               (dinp = dout · W)
 *     dw[o, i]   += sum_b dout[b, o] inp[b, i]             (dW = dout^T · inp)
 *     db[o]      += sum_b dout[b, o]
 * The same numbers as mn_linear_forward/backward with T = 1 (up to GEMM summation order).
 *
 * Threads: tasks are fixed blocks of DENSE_ROWS batch rows (forward, dinp) or output rows
 * (dw, db), independent of the thread count; each block is one mn_sgemm call whose reduction
 * over nin (forward, dinp) or over the whole batch in order (dw) happens inside that call, so
 * results are identical for any number of threads.  Nothing allocates.
 */
#include "mimonet/nn.h"

#include "pragma.h"

#define DENSE_ROWS 32
#define PAR_MIN_WORK 65536L

void mn_dense_forward(float *out, const float *inp, const float *w, const float *b, int B, int nin,
                      int nout)
{
    const int nblk = (B + DENSE_ROWS - 1) / DENSE_ROWS;
    const long work = (long)B * nin * nout;
    (void)work; /* read only by the OpenMP clauses */
    OMP(parallel for schedule(static) if(parallel: work > PAR_MIN_WORK && nblk > 1))
    for (int k = 0; k < nblk; k++) {
        const int r0 = k * DENSE_ROWS, nr = B - r0 < DENSE_ROWS ? B - r0 : DENSE_ROWS;
        float *y = out + (size_t)r0 * nout;
        if (b)
            for (int r = 0; r < nr; r++)
                for (int o = 0; o < nout; o++) y[(size_t)r * nout + o] = b[o];
        mn_sgemm(false, true, nr, nout, nin, 1.0f, inp + (size_t)r0 * nin, nin, w, nin, b ? 1.0f : 0.0f, y, nout);
    }
}

void mn_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int nin, int nout)
{
    const long work = (long)B * nin * nout;
    (void)work; /* read only by the OpenMP clauses */
    if (dinp) {
        const int nblk = (B + DENSE_ROWS - 1) / DENSE_ROWS;
        OMP(parallel for schedule(static) if(parallel: work > PAR_MIN_WORK && nblk > 1))
        for (int k = 0; k < nblk; k++) {
            const int r0 = k * DENSE_ROWS, nr = B - r0 < DENSE_ROWS ? B - r0 : DENSE_ROWS;
            mn_sgemm(false, false, nr, nin, nout, 1.0f, dout + (size_t)r0 * nout, nout, w, nin, 1.0f,
                     dinp + (size_t)r0 * nin, nin);
        }
    }
    const int oblk = (nout + DENSE_ROWS - 1) / DENSE_ROWS;
    if (dw) {
        OMP(parallel for schedule(static) if(parallel: work > PAR_MIN_WORK && oblk > 1))
        for (int k = 0; k < oblk; k++) {
            const int o0 = k * DENSE_ROWS, no = nout - o0 < DENSE_ROWS ? nout - o0 : DENSE_ROWS;
            mn_sgemm(true, false, no, nin, B, 1.0f, dout + o0, nout, inp, nin, 1.0f, dw + (size_t)o0 * nin, nin);
        }
    }
    if (db)
        for (int o = 0; o < nout; o++) {
            double s = 0.0;
            for (int r = 0; r < B; r++) s += (double)dout[(size_t)r * nout + o];
            db[o] += (float)s;
        }
}
