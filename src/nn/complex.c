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

void mn_complex_to_channels(float *out, const float complex *in, int nch, int T)
{
    for (int c = 0; c < nch; c++) {
        const float complex *z = in + (size_t)c * T;
        float *re = out + (size_t)(2 * c) * T, *im = re + T;
        for (int t = 0; t < T; t++) {
            re[t] = crealf(z[t]);
            im[t] = cimagf(z[t]);
        }
    }
}

void mn_channels_to_complex(float complex *out, const float *in, int nch, int T)
{
    for (int c = 0; c < nch; c++) {
        const float *re = in + (size_t)(2 * c) * T, *im = re + T;
        float complex *z = out + (size_t)c * T;
        for (int t = 0; t < T; t++) {
            /* float complex is laid out as float[2] = {Re, Im} (C11 6.2.5p13); memcpy builds it
             * exactly (re + im*I would turn an infinite im into a NaN real part) */
            const float pair[2] = {re[t], im[t]};
            memcpy(&z[t], pair, sizeof pair);
        }
    }
}
