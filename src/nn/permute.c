/*
 * nn/permute.c — axis permutation of a 3-D view of each sample, the tensor plumbing that lets a
 * per-position linear layer mix along any axis of a feature map (MAXIM-style multi-axis MLPs,
 * Tu et al., "MAXIM: Multi-Axis MLP for Image Processing", CVPR 2022).
 *
 * Shapes: inp [B][d0][d1][d2], out [B][e0][e1][e2] with e_i = dims[perm[i]], both row-major.
 *     out[b, i0, i1, i2] = inp[b, x0, x1, x2]  with  x_{perm[0]} = i0, x_{perm[1]} = i1,
 *                                                     x_{perm[2]} = i2.
 * backward: dinp[b, x] += dout[b, i] over the same pairs.  Every input element appears exactly
 * once in the output, so both directions are gathers partitioned by the element they write
 * (forward: output rows; backward: input rows): no two threads write one element, and the
 * result does not depend on the thread count.
 */
#include "mimonet/nn.h"

#include "pragma.h"

#define PAR_MIN_N 65536

/* Strides (in elements) of the input axes, in input-axis order. */
static void in_strides(long s[3], const int dims[3])
{
    s[2] = 1;
    s[1] = dims[2];
    s[0] = (long)dims[1] * dims[2];
}

void mn_permute3_forward(float *out, const float *inp, int B, const int dims[3], const int perm[3])
{
    long s[3];
    in_strides(s, dims);
    const int e0 = dims[perm[0]], e1 = dims[perm[1]], e2 = dims[perm[2]];
    const long s0 = s[perm[0]], s1 = s[perm[1]], s2 = s[perm[2]];
    const long per = (long)dims[0] * dims[1] * dims[2];
    const long rows = (long)B * e0;
    OMP(parallel for schedule(static) if(parallel: rows * e1 * e2 > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long b = r / e0, i0 = r % e0;
        const float *src = inp + b * per + i0 * s0;
        float *dst = out + r * (long)e1 * e2;
        for (int i1 = 0; i1 < e1; i1++)
            for (int i2 = 0; i2 < e2; i2++) dst[(long)i1 * e2 + i2] = src[i1 * s1 + i2 * s2];
    }
}

void mn_permute3_backward(float *dinp, const float *dout, int B, const int dims[3], const int perm[3])
{
    /* Output strides, indexed by INPUT axis: moving one step along input axis a moves
     * ostride[a] in the output. */
    const int e1 = dims[perm[1]], e2 = dims[perm[2]];
    long os_by_out[3] = {(long)e1 * e2, e2, 1}, os[3];
    for (int i = 0; i < 3; i++) os[perm[i]] = os_by_out[i];
    const long per = (long)dims[0] * dims[1] * dims[2];
    const long rows = (long)B * dims[0];
    OMP(parallel for schedule(static) if(parallel: rows * dims[1] * dims[2] > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long b = r / dims[0], x0 = r % dims[0];
        const float *src = dout + b * per + x0 * os[0];
        float *dst = dinp + r * (long)dims[1] * dims[2];
        for (int x1 = 0; x1 < dims[1]; x1++)
            for (int x2 = 0; x2 < dims[2]; x2++) dst[(long)x1 * dims[2] + x2] += src[x1 * os[1] + x2 * os[2]];
    }
}
