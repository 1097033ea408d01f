/*
 * nn/channels.c — channel concatenation and slicing of [B, C, T] tensors (to join and split
 * branches of a graph: e.g. the two candidate precoders entering a fusion net).
 *
 *   concat: out[b, c, t] = a[b, c, t] (c < ca),  b[b, c - ca, t] (ca <= c < ca + cb)
 *           da += dout[:, :ca],  db += dout[:, ca:]
 *   slice:  out[b, c, t] = inp[b, c0 + c, t]  (0 <= c < n)
 *           dinp[:, c0 : c0 + n] += dout
 * Each batch item's channels are contiguous rows of T, so every direction copies whole rows,
 * partitioned over the rows it writes (thread-count independent).
 */
#include "mimonet/nn.h"

#include <string.h>

#include "grad_into.h"
#include "pragma.h"

#define PAR_MIN_N 65536

static void add_rows(float *dst, const float *src, long n)
{
    for (long i = 0; i < n; i++) dst[i] += src[i];
}

/* dst = 0 + src: the bits add_rows gives into zeros (-0 becomes +0). */
static void set_rows(float *dst, const float *src, long n)
{
    for (long i = 0; i < n; i++) dst[i] = 0.0f + src[i];
}

void mn_concat_forward(float *out, const float *a, const float *b, int B, int ca, int cb, int T)
{
    const long C = ca + cb, rows = (long)B * C;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long bi = r / C, c = r % C;
        const float *src = c < ca ? a + (bi * ca + c) * T : b + (bi * cb + c - ca) * T;
        memcpy(out + r * T, src, (size_t)T * sizeof(float));
    }
}

void mn_concat_backward_into(float *da, float *db, const float *dout, int B, int ca, int cb, int T, bool set_a,
                             bool set_b)
{
    const long C = ca + cb, rows = (long)B * C;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long bi = r / C, c = r % C;
        float *dst = c < ca ? (da ? da + (bi * ca + c) * T : NULL) : (db ? db + (bi * cb + c - ca) * T : NULL);
        if (!dst) continue;
        if (c < ca ? set_a : set_b) set_rows(dst, dout + r * T, T);
        else add_rows(dst, dout + r * T, T);
    }
}

void mn_concat_backward(float *da, float *db, const float *dout, int B, int ca, int cb, int T)
{
    mn_concat_backward_into(da, db, dout, B, ca, cb, T, false, false);
}

void mn_slice_forward(float *out, const float *inp, int B, int C, int c0, int n, int T)
{
    const long rows = (long)B * n;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long bi = r / n, c = r % n;
        memcpy(out + r * T, inp + (bi * C + c0 + c) * T, (size_t)T * sizeof(float));
    }
}

void mn_slice_backward(float *dinp, const float *dout, int B, int C, int c0, int n, int T)
{
    const long rows = (long)B * n;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        const long bi = r / n, c = r % n;
        add_rows(dinp + (bi * C + c0 + c) * T, dout + r * T, T);
    }
}
