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

/* Part j of a row r = (b, c) of the concatenation, and the row's index in that part. */
static const mn_cat_part *part_of(const mn_cat_part *part, int n, long C, long r, long *row)
{
    const long bi = r / C;
    long c = r % C;
    int j = 0;
    while (j < n - 1 && c >= part[j].c) c -= part[j++].c;
    *row = bi * part[j].c + c;
    return &part[j];
}

static long parts_channels(const mn_cat_part *part, int n)
{
    long C = 0;
    for (int j = 0; j < n; j++) C += part[j].c;
    return C;
}

void mn_concat_parts_forward(float *out, const mn_cat_part *part, int n, int B, int T)
{
    const long C = parts_channels(part, n), rows = (long)B * C;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        long row;
        const mn_cat_part *p = part_of(part, n, C, r, &row);
        memcpy(out + r * T, p->p + row * T, (size_t)T * sizeof(float));
    }
}

void mn_concat_parts_backward_into(const mn_cat_part *part, int n, const float *dout, int B, int T)
{
    const long C = parts_channels(part, n), rows = (long)B * C;
    OMP(parallel for schedule(static) if(parallel: rows * T > PAR_MIN_N))
    for (long r = 0; r < rows; r++) {
        long row;
        const mn_cat_part *p = part_of(part, n, C, r, &row);
        if (!p->p) continue;
        if (p->set) set_rows(p->p + row * T, dout + r * T, T);
        else add_rows(p->p + row * T, dout + r * T, T);
    }
}

void mn_concat_forward(float *out, const float *a, const float *b, int B, int ca, int cb, int T)
{
    const mn_cat_part part[2] = {{(float *)a, ca, false}, {(float *)b, cb, false}}; /* read only */
    mn_concat_parts_forward(out, part, 2, B, T);
}

void mn_concat_backward_into(float *da, float *db, const float *dout, int B, int ca, int cb, int T, bool set_a,
                             bool set_b)
{
    const mn_cat_part part[2] = {{da, ca, set_a}, {db, cb, set_b}};
    mn_concat_parts_backward_into(part, 2, dout, B, T);
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
