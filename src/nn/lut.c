/*
 * nn/lut.c — learnable lookup-table (LUT) interpolation layer, one table per channel.
 *
 * The PIM paper's static model inserts "LUT interpolation + ReLU" between its CNN layers: each
 * channel owns a table of n_knots values sampled on equally spaced knots over [lo, hi], and maps
 * x by piecewise-linear interpolation.  With delta = (hi - lo) / (n_knots - 1):
 *     xc = clamp(x, lo, hi),   u = (xc - lo) / delta,   j = min(floor(u), n_knots - 2),
 *     f  = u - j,              y = table[c, j] + f * (table[c, j+1] - table[c, j]).
 * So x in [knot_j, knot_{j+1}) uses segment j and the last knot belongs to the last segment.
 * Gradients:
 *     dtable[c, j] += dy * (1 - f),   dtable[c, j+1] += dy * f,
 *     dx += dy * (table[c, j+1] - table[c, j]) / delta   for lo <= x <= hi, 0 outside (clamped).
 * (u is computed in float: (xc - lo) / delta with a true division, so inputs exactly on knots
 * that are representable — e.g. dyadic lo, hi, delta — land on their knot exactly.)
 * A NaN input gives a NaN output and contributes nothing to the gradients.
 *
 * Shapes: inp, out, dinp, dout [B, channels, T]; table, dtable [channels, n_knots].
 * Threads: forward partitions rows (b, c); backward partitions channels (each task owns its
 * dtable row and its dinp rows), so results do not depend on the thread count.  dtable is
 * accumulated in float directly, samples in (b, t) order.
 */
#include "mimonet/nn.h"

#include "pragma.h"

#define PAR_MIN_WORK 16384L

/* Segment index j and fraction f for an input x (not NaN). */
static inline int lut_locate(float x, float lo, float hi, float delta, int n_knots, float *f)
{
    float xc = x < lo ? lo : (x > hi ? hi : x);
    float u = (xc - lo) / delta;
    float umax = (float)(n_knots - 1);
    if (u > umax) u = umax; /* rounding of delta must not step past the last knot */
    int j = (int)u;         /* u >= 0: truncation is floor */
    if (j > n_knots - 2) j = n_knots - 2;
    *f = u - (float)j;
    return j;
}

void mn_lut_forward(float *out, const float *inp, const float *table, int B, int T,
                    const mn_lut_cfg *c)
{
    if (!c || B <= 0 || T <= 0 || c->n_knots < 2 || !(c->hi > c->lo)) return;
    const int C = c->channels, nk = c->n_knots;
    const float lo = c->lo, hi = c->hi, delta = (hi - lo) / (float)(nk - 1);
    const long rows = (long)B * C, work = rows * T;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        const float *tb = table + (size_t)(r % C) * nk;
        const float *x = inp + (size_t)r * T;
        float *y = out + (size_t)r * T;
        for (int t = 0; t < T; t++) {
            if (x[t] != x[t]) {
                y[t] = x[t];
                continue;
            }
            float f;
            int j = lut_locate(x[t], lo, hi, delta, nk, &f);
            y[t] = tb[j] + f * (tb[j + 1] - tb[j]);
        }
    }
}

void mn_lut_backward(float *dinp, float *dtable, const float *dout, const float *inp,
                     const float *table, int B, int T, const mn_lut_cfg *c)
{
    if (!c || B <= 0 || T <= 0 || c->n_knots < 2 || !(c->hi > c->lo)) return;
    if (!dinp && !dtable) return;
    const int C = c->channels, nk = c->n_knots;
    const float lo = c->lo, hi = c->hi, delta = (hi - lo) / (float)(nk - 1);
    const long work = (long)B * C * T;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (int ch = 0; ch < C; ch++) {
        const float *tb = table + (size_t)ch * nk;
        float *dtb = dtable ? dtable + (size_t)ch * nk : NULL;
        for (int bi = 0; bi < B; bi++) {
            const size_t row = ((size_t)bi * C + ch) * T;
            const float *x = inp + row, *dy = dout + row;
            float *dx = dinp ? dinp + row : NULL;
            for (int t = 0; t < T; t++) {
                if (x[t] != x[t]) continue;
                float f;
                int j = lut_locate(x[t], lo, hi, delta, nk, &f);
                if (dtb) {
                    dtb[j] += dy[t] * (1.0f - f);
                    dtb[j + 1] += dy[t] * f;
                }
                if (dx && x[t] >= lo && x[t] <= hi) dx[t] += dy[t] * ((tb[j + 1] - tb[j]) / delta);
            }
        }
    }
}
