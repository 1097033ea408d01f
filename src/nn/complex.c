/*
 * nn/complex.c — the one conversion in each direction between complex IQ rows (DSP side,
 * C99 float complex) and real network channels (NN side).
 *
 *     out[2c, t] = Re in[c, t],   out[2c+1, t] = Im in[c, t]        in [nch, T], out [2 nch, T]
 * and its inverse.  Interleaving Re/Im per antenna keeps both parts of one antenna adjacent, so
 * a depthwise conv sees them as neighbouring channels, and matches the Python reference tools.
 */
#include "mimonet/nn.h"

#include <string.h>

#include "lanes.h" /* MN_MULTIVERSION, v16f */

/* The SIMD loops see a float complex row as floats {Re, Im, Re, Im, ...} (C11 6.2.5p13) and
 * take 16 samples (two 64-byte vectors) a step: split keeps the even and odd floats of the pair
 * of vectors, join interleaves two vectors back. */
#if defined(MN_V16) && (defined(__clang__) || __GNUC__ >= 12) /* __builtin_shufflevector */
#define CPLX_SIMD 1
#define EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
#define LO(a, b) __builtin_shufflevector(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define HI(a, b) __builtin_shufflevector(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
#endif

MN_MULTIVERSION void mn_complex_row_split(float *restrict re, float *restrict im, const float complex *restrict z,
                                          int64_t n, float s)
{
    const float *f = (const float *)z;
    int64_t t = 0;
#ifdef CPLX_SIMD
    for (; t + 16 <= n; t += 16) {
        v16f a, b;
        memcpy(&a, f + 2 * t, sizeof a);
        memcpy(&b, f + 2 * t + 16, sizeof b);
        const v16f r = EVEN(a, b) * s, i = ODD(a, b) * s;
        memcpy(re + t, &r, sizeof r);
        memcpy(im + t, &i, sizeof i);
    }
#endif
    for (; t < n; t++) {
        re[t] = f[2 * t] * s;
        im[t] = f[2 * t + 1] * s;
    }
}

MN_MULTIVERSION void mn_complex_row_join(float complex *restrict z, const float *restrict re, const float *restrict im,
                                         int64_t n, float s)
{
    float *f = (float *)z;
    int64_t t = 0;
#ifdef CPLX_SIMD
    for (; t + 16 <= n; t += 16) {
        v16f r, i;
        memcpy(&r, re + t, sizeof r);
        memcpy(&i, im + t, sizeof i);
        r *= s;
        i *= s;
        const v16f a = LO(r, i), b = HI(r, i);
        memcpy(f + 2 * t, &a, sizeof a);
        memcpy(f + 2 * t + 16, &b, sizeof b);
    }
#endif
    for (; t < n; t++) {
        f[2 * t] = re[t] * s;
        f[2 * t + 1] = im[t] * s;
    }
}

MN_MULTIVERSION void mn_complex_row_join_sub(float complex *restrict z, const float complex *restrict x,
                                             const float *restrict re, const float *restrict im, int64_t n, float s)
{
    float *f = (float *)z;
    const float *g = (const float *)x;
    int64_t t = 0;
#ifdef CPLX_SIMD
    for (; t + 16 <= n; t += 16) {
        v16f r, i, ga, gb;
        memcpy(&r, re + t, sizeof r);
        memcpy(&i, im + t, sizeof i);
        memcpy(&ga, g + 2 * t, sizeof ga);
        memcpy(&gb, g + 2 * t + 16, sizeof gb);
        r *= s;
        i *= s;
        const v16f a = ga - LO(r, i), b = gb - HI(r, i);
        memcpy(f + 2 * t, &a, sizeof a);
        memcpy(f + 2 * t + 16, &b, sizeof b);
    }
#endif
    for (; t < n; t++) {
        f[2 * t] = g[2 * t] - re[t] * s;
        f[2 * t + 1] = g[2 * t + 1] - im[t] * s;
    }
}

void mn_complex_to_channels(float *out, const float complex *in, int nch, int T)
{
    for (int c = 0; c < nch; c++) {
        float *re = out + (size_t)(2 * c) * T;
        mn_complex_row_split(re, re + T, in + (size_t)c * T, T, 1.0f);
    }
}

void mn_channels_to_complex(float complex *out, const float *in, int nch, int T)
{
    for (int c = 0; c < nch; c++) {
        const float *re = in + (size_t)(2 * c) * T;
        mn_complex_row_join(out + (size_t)c * T, re, re + T, T, 1.0f);
    }
}
