/* dsp/qam.c — Gray-coded square QAM as specified in 3GPP TS 38.211 §5.1 (QPSK 5.1.3,
 * 16-QAM 5.1.4, 64-QAM 5.1.5, 256-QAM 5.1.6).
 *
 * With b0 the most significant bit of the symbol value, even bits (b0, b2, ...) choose the
 * in-phase level and odd bits (b1, b3, ...) the quadrature level by the nested formula
 *   QPSK:   (1-2b0)
 *   16:     (1-2b0) (2 - (1-2b2))
 *   64:     (1-2b0) (4 - (1-2b2) (2 - (1-2b4)))
 *   256:    (1-2b0) (8 - (1-2b2) (4 - (1-2b4) (2 - (1-2b6))))
 * scaled by 1/sqrt(2 (M-1)/3) (= 1/sqrt(2), 1/sqrt(10), 1/sqrt(42), 1/sqrt(170)), the mean
 * energy of the M-point square grid with spacing 2, so the average power is exactly 1. */
#include "mimonet/dsp.h"

#include <math.h>

static int bits_per_symbol(int order)
{
    switch (order) {
    case 4: return 2;
    case 16: return 4;
    case 64: return 6;
    case 256: return 8;
    default: return 0;
    }
}

/* The level (odd integer in [-(L-1), L-1], L = sqrt M) chosen by the k = m/2 bits c0..c(k-1)
 * (c0 first = most significant of this axis) through the nested 3GPP formula. */
static int axis_level(unsigned bits, int k)
{
    /* innermost term first: t = 1 for the last bit's factor chain */
    int t = 1 - 2 * (int)(bits & 1u); /* (1 - 2 c_{k-1}) */
    if (k == 1) return t;
    /* build from the inside out: t_j = 2^{k-j-1} - (1-2c_j) ... as in the formula */
    int inner = t; /* value of (1 - 2 c_{k-1}) */
    for (int j = k - 2; j >= 1; j--) {
        int cj = (int)((bits >> (k - 1 - j)) & 1u);
        inner = (1 - 2 * cj) * ((1 << (k - 1 - j)) - inner);
    }
    int c0 = (int)((bits >> (k - 1)) & 1u);
    return (1 - 2 * c0) * ((1 << (k - 1)) - inner);
}

/* Split the symbol value into the in-phase bits (b0, b2, ...) and quadrature bits (b1, b3, ...),
 * each packed with its first bit most significant. */
static void split_bits(uint32_t s, int m, unsigned *bi, unsigned *bq)
{
    unsigned i = 0, q = 0;
    for (int j = 0; j < m; j++) {
        unsigned b = (s >> (m - 1 - j)) & 1u;
        if (j % 2 == 0) i = (i << 1) | b;
        else q = (q << 1) | b;
    }
    *bi = i;
    *bq = q;
}

mn_status mn_qam_map(float complex *y, const uint32_t *sym, size_t n, int order)
{
    int m = bits_per_symbol(order);
    if (!m) return mn_error(MN_ERR_INVALID, "qam: order %d is not 4, 16, 64 or 256", order);
    float scale = (float)(1.0 / sqrt(2.0 * (order - 1) / 3.0));
    for (size_t i = 0; i < n; i++) {
        if (sym[i] >= (uint32_t)order)
            return mn_error(MN_ERR_INVALID, "qam: symbol %u at index %zu is outside [0, %d)",
                            sym[i], i, order);
        unsigned bi, bq;
        split_bits(sym[i], m, &bi, &bq);
        y[i] = CMPLXF(scale * (float)axis_level(bi, m / 2), scale * (float)axis_level(bq, m / 2));
    }
    return MN_OK;
}

mn_status mn_qam_demap(uint32_t *sym, const float complex *y, size_t n, int order)
{
    int m = bits_per_symbol(order);
    if (!m) return mn_error(MN_ERR_INVALID, "qam: order %d is not 4, 16, 64 or 256", order);
    int k = m / 2, L = 1 << k;
    /* level index (0 .. L-1 for levels -(L-1) .. L-1) -> axis bits, by inverting axis_level */
    unsigned bits_of[16];
    for (unsigned b = 0; b < (unsigned)L; b++) bits_of[(axis_level(b, k) + L - 1) / 2] = b;
    double inv = sqrt(2.0 * (order - 1) / 3.0);
    for (size_t i = 0; i < n; i++) {
        unsigned ab[2];
        double v[2] = {(double)crealf(y[i]) * inv, (double)cimagf(y[i]) * inv};
        for (int a = 0; a < 2; a++) {
            double idx = floor((v[a] + (L - 1)) / 2.0 + 0.5); /* nearest odd level */
            if (!(idx >= 0)) idx = 0; /* also catches NaN */
            if (idx > L - 1) idx = L - 1;
            ab[a] = bits_of[(int)idx];
        }
        uint32_t s = 0;
        for (int j = 0; j < m; j++) {
            unsigned src = ab[j % 2], pos = (unsigned)(k - 1 - j / 2);
            s = (s << 1) | ((src >> pos) & 1u);
        }
        sym[i] = s;
    }
    return MN_OK;
}

mn_status mn_qam_random(float complex *y, size_t n, int order, mn_rng *rng)
{
    int m = bits_per_symbol(order);
    if (!m) return mn_error(MN_ERR_INVALID, "qam: order %d is not 4, 16, 64 or 256", order);
    float scale = (float)(1.0 / sqrt(2.0 * (order - 1) / 3.0));
    for (size_t i = 0; i < n; i++) {
        uint32_t s = (uint32_t)mn_rng_below(rng, (uint64_t)order);
        unsigned bi, bq;
        split_bits(s, m, &bi, &bq);
        y[i] = CMPLXF(scale * (float)axis_level(bi, m / 2), scale * (float)axis_level(bq, m / 2));
    }
    return MN_OK;
}
