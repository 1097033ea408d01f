/* tests/dsp/test_dsp_basic.c — Bessel functions, FFT, QAM, NCO: checked against tabulated
 * values, naive double-precision transforms, and properties (round trips, unit power, Gray). */
#include "mn_test.h"

#include <complex.h>
#include <string.h>

#include "mimonet/dsp.h"

MN_TEST(dsp_bessel_tabulated)
{
    /* Abramowitz & Stegun Table 9.8 / standard tables */
    MN_CHECK_NEAR(t, mn_bessel_i0(0.0), 1.0, 1e-15);
    MN_CHECK_NEAR(t, mn_bessel_i0(1.0), 1.2660658777520082, 1e-14);
    MN_CHECK_NEAR(t, mn_bessel_i0(10.0) / 2815.716628466254, 1.0, 1e-13);
    MN_CHECK_NEAR(t, mn_bessel_i1(0.0), 0.0, 1e-15);
    MN_CHECK_NEAR(t, mn_bessel_i1(1.0), 0.5651591039924851, 1e-14);
    MN_CHECK_NEAR(t, mn_bessel_i1(2.0), 1.5906368546373291, 1e-14);
    MN_CHECK_NEAR(t, mn_bessel_i1(5.0) / 24.33564214245052, 1.0, 1e-13);
    MN_CHECK_NEAR(t, mn_bessel_i1(-1.0), -0.5651591039924851, 1e-14); /* odd */
}

MN_TEST(dsp_fft_matches_naive_dft_and_round_trips)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    const int sizes[] = {60, 1000, 4096};
    for (int si = 0; si < 3; si++) {
        int n = sizes[si];
        float complex *x = mn_malloc((size_t)n * sizeof *x), *X = mn_malloc((size_t)n * sizeof *X),
                      *y = mn_malloc((size_t)n * sizeof *y);
        for (int i = 0; i < n; i++) x[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
        mn_fft *f = mn_fft_create(n, MN_FFT_FORWARD), *b = mn_fft_create(n, MN_FFT_BACKWARD);
        MN_CHECK(t, f && b && mn_fft_size(f) == n);
        mn_fft_execute(f, X, x);
        if (n == 60) { /* against the definition, in double */
            double worst = 0;
            for (int k = 0; k < n; k++) {
                double complex s = 0;
                for (int i = 0; i < n; i++)
                    s += (double complex)x[i] * cexp(CMPLX(0.0, -2.0 * M_PI * (double)k * i / n));
                worst = fmax(worst, cabs(s - (double complex)X[k]));
            }
            MN_CHECK_NEAR(t, worst, 0.0, 1e-4);
        }
        mn_fft_execute(b, y, X);
        double err = 0, ref = 0;
        for (int i = 0; i < n; i++) {
            err += pow((double)cabsf(y[i] / (float)n - x[i]), 2);
            ref += pow((double)cabsf(x[i]), 2);
        }
        MN_CHECK_MSG(t, err / ref < 1e-12, "n=%d round-trip relative error %g", n, err / ref);
        mn_fft_execute(f, y, y); /* in place: y was n x, so now n X */
        double dev = 0, mag = 0;
        for (int k = 0; k < n; k++) {
            dev = fmax(dev, (double)cabsf(y[k] - (float)n * X[k]));
            mag = fmax(mag, (double)n * (double)cabsf(X[k]));
        }
        MN_CHECK(t, dev < 1e-5 * mag);
        mn_fft_destroy(f);
        mn_fft_destroy(b);
        mn_free(x);
        mn_free(X);
        mn_free(y);
    }
    MN_CHECK(t, mn_fft_create(0, MN_FFT_FORWARD) == NULL);
}

/* Hamming distance */
static int hd(uint32_t a, uint32_t b) { return __builtin_popcount(a ^ b); }

MN_TEST(dsp_qam_unit_power_gray_and_3gpp_points)
{
    const int orders[] = {4, 16, 64, 256};
    for (int oi = 0; oi < 4; oi++) {
        int M = orders[oi];
        uint32_t sym[256], back[256];
        float complex pt[256];
        for (int s = 0; s < M; s++) sym[s] = (uint32_t)s;
        MN_CHECK_OK(t, mn_qam_map(pt, sym, (size_t)M, M));
        double p = 0;
        for (int s = 0; s < M; s++) p += pow((double)cabsf(pt[s]), 2);
        MN_CHECK_NEAR(t, p / M, 1.0, 1e-6);
        /* square grid with spacing d = 2 / sqrt(2(M-1)/3): nearest neighbours are at distance d,
         * every point has 2..4 of them, and each neighbour pair differs in exactly one bit */
        double d = 2.0 / sqrt(2.0 * (M - 1) / 3.0);
        int bad = 0, pairs = 0, dup = 0;
        for (int a = 0; a < M; a++) {
            int nb = 0;
            for (int b = 0; b < M; b++) {
                if (a == b) continue;
                double dist = (double)cabsf(pt[a] - pt[b]);
                if (dist < 1e-4) dup++;
                if (fabs(dist - d) < 1e-4) {
                    nb++;
                    pairs++;
                    if (hd((uint32_t)a, (uint32_t)b) != 1) bad++;
                }
            }
            if (nb < 2 || nb > 4) bad++;
        }
        int L = (int)lround(sqrt(M));
        MN_CHECK_MSG(t, bad == 0 && dup == 0, "M=%d: %d Gray violations, %d duplicates", M, bad, dup);
        MN_CHECK(t, pairs == 2 * 2 * L * (L - 1)); /* ordered pairs of a grid's adjacent points */
        MN_CHECK_OK(t, mn_qam_demap(back, pt, (size_t)M, M));
        MN_CHECK(t, memcmp(back, sym, (size_t)M * sizeof *sym) == 0);
    }
    /* TS 38.211 formulas evaluated by hand: all-zero bits give 16: (1+j)/sqrt10,
     * 64: (4-(2-1)) = 3 -> (3+3j)/sqrt42, 256: (8-(4-(2-1))) = 5 -> (5+5j)/sqrt170;
     * 16-QAM 0b0011 (b2 = b3 = 1) -> (2-(-1)) = 3 -> (3+3j)/sqrt10. */
    uint32_t s0 = 0, s3 = 3;
    float complex y;
    mn_qam_map(&y, &s0, 1, 16);
    MN_CHECK_NEAR(t, cabs((double complex)y - CMPLX(1, 1) / sqrt(10)), 0, 1e-6);
    mn_qam_map(&y, &s3, 1, 16);
    MN_CHECK_NEAR(t, cabs((double complex)y - CMPLX(3, 3) / sqrt(10)), 0, 1e-6);
    mn_qam_map(&y, &s0, 1, 64);
    MN_CHECK_NEAR(t, cabs((double complex)y - CMPLX(3, 3) / sqrt(42)), 0, 1e-6);
    mn_qam_map(&y, &s0, 1, 256);
    MN_CHECK_NEAR(t, cabs((double complex)y - CMPLX(5, 5) / sqrt(170)), 0, 1e-6);
    /* random symbols: unit mean power, and noisy points still decide correctly */
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    enum { N = 20000 };
    static float complex z[N];
    MN_CHECK_OK(t, mn_qam_random(z, N, 256, &r));
    double pw = 0;
    for (int i = 0; i < N; i++) pw += pow((double)cabsf(z[i]), 2);
    MN_CHECK_NEAR(t, pw / N, 1.0, 0.03);
    MN_CHECK(t, mn_qam_map(&y, &s0, 1, 32) == MN_ERR_INVALID);
    uint32_t big = 16;
    MN_CHECK(t, mn_qam_map(&y, &big, 1, 16) == MN_ERR_INVALID);
}

MN_TEST(dsp_nco_phase_exact_and_round_trip)
{
    const double f = 1.0 / 3.0 + 1e-7, phi = 0.125;
    mn_nco *q = mn_nco_create(f);
    MN_CHECK(t, q != NULL);
    mn_nco_set_phase(q, phi);
    enum { N = 1 << 20 };
    float complex *y = mn_malloc(N * sizeof *y);
    mn_nco_generate(q, y, N);
    double worst = 0;
    for (long i = 0; i < N; i += 997) {
        long double c = (long double)phi + (long double)f * (long double)i;
        c -= floorl(c);
        double complex ref = cexp(CMPLX(0.0, 2.0 * M_PI * (double)c));
        worst = fmax(worst, cabs((double complex)y[i] - ref));
    }
    MN_CHECK_NEAR(t, worst, 0.0, 2e-6);
    /* up then down is the identity */
    float complex x[100], z[100];
    for (int i = 0; i < 100; i++) x[i] = CMPLXF((float)i, 1.0f);
    mn_nco_reset(q);
    mn_nco_mix_up(q, z, x, 100);
    mn_nco_reset(q);
    mn_nco_mix_down(q, z, z, 100);
    double e = 0;
    for (int i = 0; i < 100; i++) e = fmax(e, (double)cabsf(z[i] - x[i]) / (1.0 + (double)cabsf(x[i])));
    MN_CHECK_NEAR(t, e, 0.0, 1e-6);
    mn_free(y);
    mn_nco_destroy(q);
}
