/*
 * nn/loss.c — regression losses with a border mask (the PIM paper's "boundary truncation":
 * samples within one receptive field of a window edge see zero padding, so they are excluded).
 *
 * Over b, c and t in [border, T - border) (N terms):
 *     S = sum (pred - target)^2,   E = sum target^2
 *     MSE  = S / N,   dpred = 2 (pred - target) / N
 *     NMSE = S / E,   dpred = 2 (pred - target) / E        (NAN and dpred = 0 when E == 0)
 * dpred [B, C, T] is OVERWRITTEN (it starts a backward pass) and is zero in the border.
 * Invalid sizes (B, C, T <= 0, border < 0, 2*border >= T) return NAN and leave dpred untouched.
 *
 * Sums are in double.  Rows (b, c) are split into at most LOSS_CHUNKS contiguous chunks, fixed by
 * the shape alone; each chunk's partial sum is formed in 8 fixed lanes and the partials are added
 * in chunk order, so the value does not depend on the thread count.
 */
#include "mimonet/nn.h"

#include "lanes.h" /* MN_MULTIVERSION */

#include <math.h>
#include <string.h>

#include "pragma.h"

#define LOSS_CHUNKS 64
#define PAR_MIN_WORK 65536L

/* Lanes: 8 double accumulators, lane j summing the samples i = j (mod 8) in order, added
 * pairwise at the end.  With GCC >= 9 the lanes are one vector (registers, any SSE/AVX width,
 * same lane semantics), otherwise an array; the bits are the same.  Multiversioned for x86-64
 * levels (MN_MULTIVERSION, lanes.h) (no contraction in ISO C mode, so every copy rounds identically). */
#if defined(__GNUC__) && (__GNUC__ >= 9 || defined(__clang__))
typedef float v8f __attribute__((vector_size(32)));
typedef double v8d __attribute__((vector_size(64)));
#define MN_V8 1
#endif

/* Partial sums of (p - y)^2 and y^2 over one row segment of n samples, added to *s, *e. */
MN_MULTIVERSION
static void row_sums(const float *p, const float *y, int n, double *s, double *e)
{
    double as[8], ae[8];
    int i = 0;
#ifdef MN_V8
    v8f fp, fy;
    v8d vs = {0}, ve = {0};
    for (; i + 8 <= n; i += 8) {
        memcpy(&fp, p + i, sizeof fp);
        memcpy(&fy, y + i, sizeof fy);
        v8d dp = __builtin_convertvector(fp, v8d), dy = __builtin_convertvector(fy, v8d);
        v8d d = dp - dy;
        vs += d * d;
        ve += dy * dy;
    }
    memcpy(as, &vs, sizeof as);
    memcpy(ae, &ve, sizeof ae);
#else
    for (int j = 0; j < 8; j++) as[j] = 0.0, ae[j] = 0.0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            double d = (double)p[i + j] - (double)y[i + j], yy = (double)y[i + j];
            as[j] += d * d;
            ae[j] += yy * yy;
        }
#endif
    for (int j = 0; i < n; i++, j++) {
        double d = (double)p[i] - (double)y[i], yy = (double)y[i];
        as[j] += d * d;
        ae[j] += yy * yy;
    }
    for (int h = 4; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) as[j] += as[j + h], ae[j] += ae[j + h];
    *s += as[0];
    *e += ae[0];
}

static bool loss_sizes_ok(int B, int C, int T, int border)
{
    return B > 0 && C > 0 && T > 0 && border >= 0 && 2L * border < T;
}

/* S and E over the unmasked region. */
static void loss_sums(const float *pred, const float *target, int B, int C, int T, int border,
                      double *S, double *E)
{
    const long rows = (long)B * C, work = rows * T;
    const int nck = rows < LOSS_CHUNKS ? (int)rows : LOSS_CHUNKS;
    const int n = T - 2 * border;
    double ps[LOSS_CHUNKS], pe[LOSS_CHUNKS];
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (int k = 0; k < nck; k++) {
        const long r0 = rows * k / nck, r1 = rows * (k + 1) / nck;
        double s = 0.0, e = 0.0;
        for (long r = r0; r < r1; r++)
            row_sums(pred + (size_t)r * T + border, target + (size_t)r * T + border, n, &s, &e);
        ps[k] = s;
        pe[k] = e;
    }
    double s = 0.0, e = 0.0;
    for (int k = 0; k < nck; k++) s += ps[k], e += pe[k];
    *S = s;
    *E = e;
}

/* dpred = scale (pred - target) inside, 0 in the border. */
static void loss_grad(float *dpred, const float *pred, const float *target, int B, int C, int T,
                      int border, float scale)
{
    const long rows = (long)B * C, work = rows * T;
    (void)work;
    OMP(parallel for schedule(static) if(work > PAR_MIN_WORK))
    for (long r = 0; r < rows; r++) {
        float *restrict g = dpred + (size_t)r * T;
        const float *restrict p = pred + (size_t)r * T, *restrict y = target + (size_t)r * T;
        for (int t = 0; t < border; t++) g[t] = 0.0f, g[T - 1 - t] = 0.0f;
        OMP(simd)
        for (int t = border; t < T - border; t++) g[t] = scale * (p[t] - y[t]);
    }
}

double mn_loss_mse(float *dpred, const float *pred, const float *target, int B, int C, int T,
                   int border)
{
    if (!loss_sizes_ok(B, C, T, border)) return (double)NAN;
    double S, E;
    loss_sums(pred, target, B, C, T, border, &S, &E);
    const double N = (double)B * C * (T - 2 * border);
    if (dpred) loss_grad(dpred, pred, target, B, C, T, border, (float)(2.0 / N));
    return S / N;
}

double mn_loss_nmse(float *dpred, const float *pred, const float *target, int B, int C, int T,
                    int border)
{
    if (!loss_sizes_ok(B, C, T, border)) return (double)NAN;
    double S, E;
    loss_sums(pred, target, B, C, T, border, &S, &E);
    if (dpred) {
        if (E > 0.0)
            loss_grad(dpred, pred, target, B, C, T, border, (float)(2.0 / E));
        else
            memset(dpred, 0, (size_t)B * C * T * sizeof *dpred);
    }
    return E > 0.0 ? S / E : (double)NAN;
}
