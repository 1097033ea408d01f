/* dsp/dot.h — private: the dot products shared by the FIR filter and the resamplers. */
#ifndef MN_DSP_DOT_H
#define MN_DSP_DOT_H

#include <complex.h>

/* Dot products over interleaved (re, im) floats.  Four partial sums (k mod 4) break the
 * add-latency chain and let the compiler use SIMD without reassociating anything: the
 * summation order is fixed, so results do not depend on the compiler's choices. */
static inline float complex mn_dot_real(const float *hr, const float complex *x, int n)
{
    const float *xf = (const float *)x;
    float re[4] = {0}, im[4] = {0};
    int k = 0;
    for (; k + 4 <= n; k += 4)
        for (int u = 0; u < 4; u++) {
            re[u] += hr[k + u] * xf[2 * (k + u)];
            im[u] += hr[k + u] * xf[2 * (k + u) + 1];
        }
    for (; k < n; k++) {
        re[0] += hr[k] * xf[2 * k];
        im[0] += hr[k] * xf[2 * k + 1];
    }
    return CMPLXF((re[0] + re[1]) + (re[2] + re[3]), (im[0] + im[1]) + (im[2] + im[3]));
}

static inline float complex mn_dot_cplx(const float complex *hc, const float complex *x, int n)
{
    const float *hf = (const float *)hc, *xf = (const float *)x;
    float re[2] = {0}, im[2] = {0};
    int k = 0;
    for (; k + 2 <= n; k += 2)
        for (int u = 0; u < 2; u++) {
            float a = hf[2 * (k + u)], b = hf[2 * (k + u) + 1];
            float c = xf[2 * (k + u)], d = xf[2 * (k + u) + 1];
            re[u] += a * c - b * d;
            im[u] += a * d + b * c;
        }
    for (; k < n; k++) {
        float a = hf[2 * k], b = hf[2 * k + 1], c = xf[2 * k], d = xf[2 * k + 1];
        re[0] += a * c - b * d;
        im[0] += a * d + b * c;
    }
    return CMPLXF(re[0] + re[1], im[0] + im[1]);
}

#endif
