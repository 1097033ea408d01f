/* tests/pim/test_sim_junction.c — the PIM junction models: describing functions against
 * independent quadrature of the real I-V curves, and two-tone intermodulation levels against
 * closed forms (cubic: a3 A1^2 A2; tunnel: 2 a I2(b A1) I1(b A2)). */
#include "mn_test.h"

#include <complex.h>
#include <string.h>

#include "mimonet/dsp.h"
#include "mimonet/pim.h"

/* (1/pi) int_0^{2 pi} f(r cos t) cos t dt by the midpoint rule with many nodes (independent of
 * the library's quarter-period table). */
static double first_zone(double (*f)(double), double r)
{
    const int N = 20000;
    double s = 0;
    for (int i = 0; i < N; i++) {
        double t = 2 * M_PI * (i + 0.5) / N;
        s += f(r * cos(t)) * cos(t);
    }
    return 2.0 * s / N;
}

/* I_n(x) by its power series, for the closed-form two-tone check (A&S 9.6.10). */
static double bessel_in(int n, double x)
{
    double term = pow(x / 2, n), s = 0;
    for (int k = 1; k <= n; k++) term /= k;
    for (int k = 0; k < 200; k++) {
        s += term;
        term *= (x * x / 4) / ((k + 1.0) * (k + 1.0 + n));
    }
    return s;
}

MN_TEST(pim_junction_describing_functions)
{
    const double rs[] = {0.05, 0.5, 1.0, 2.7, 4.0, 4.01, 7.5, 12.0};
    for (int i = 0; i < 8; i++) {
        double r = rs[i];
        double tun = mn_pim_junction_describe(MN_PIM_JUNCTION_TUNNEL, r);
        MN_CHECK_NEAR(t, tun / first_zone(sinh, r), 1.0, 1e-10);
        double con = mn_pim_junction_describe(MN_PIM_JUNCTION_CONTACT, r);
        MN_CHECK_MSG(t, fabs(con / first_zone(tanh, r) - 1.0) < 2e-5, "contact F(%g) = %.9g vs %.9g", r, con,
                     first_zone(tanh, r));
        MN_CHECK_NEAR(t, mn_pim_junction_describe(MN_PIM_JUNCTION_CUBIC, r), r * r * r, 1e-12 * r * r * r);
    }
    /* beyond the contact table (r >= 32) and the saturation limit 4/pi (square wave) */
    MN_CHECK_NEAR(t, mn_pim_junction_describe(MN_PIM_JUNCTION_CONTACT, 40.0) / first_zone(tanh, 40.0), 1.0, 1e-8);
    MN_CHECK_NEAR(t, mn_pim_junction_describe(MN_PIM_JUNCTION_CONTACT, 1e4), 4 / M_PI, 1e-3);
    /* small-signal cubic terms: sinh -> r + r^3/8, tanh -> r - r^3/4 */
    double r = 1e-2;
    MN_CHECK_NEAR(t, (mn_pim_junction_describe(MN_PIM_JUNCTION_TUNNEL, r) - r) / (r * r * r), 1.0 / 8, 1e-4);
    MN_CHECK_NEAR(t, (mn_pim_junction_describe(MN_PIM_JUNCTION_CONTACT, r) - r) / (r * r * r), -1.0 / 4, 1e-4);
    MN_CHECK(t, mn_pim_junction_from_name("tunnel") == MN_PIM_JUNCTION_TUNNEL);
    MN_CHECK(t, mn_pim_junction_from_name("bogus") == -1);
    mn_pim_junction_cfg bad = {.kind = MN_PIM_JUNCTION_TUNNEL, .a = 1, .b = -1};
    MN_CHECK(t, mn_pim_junction_create(&bad) == NULL);
}

/* Power of the tone at bin offset k (centred Welch bins, +-4 bins summed). */
static double tone_power(const float *psd, int nf, int k)
{
    double s = 0;
    for (int i = nf / 2 + k - 4; i <= nf / 2 + k + 4; i++) s += (double)psd[i];
    return s;
}

/* Two tones at the simulator's oversampled rate (245.76 Msps): f1 = -341 and f2 = +342 bins of
 * 60 kHz (about -+20.5 MHz, the default carriers), so 2 f1 - f2 = -1024 bins = -61.44 MHz (the
 * Rx LO offset) and 2 f2 - f1 = +1025 bins. */
static void two_tones(float complex *v, int n, double A1, double A2, int nf)
{
    for (int i = 0; i < n; i++)
        v[i] = (float complex)(A1 * cexp(CMPLX(0.0, 2 * M_PI * -341.0 * i / nf)) +
                               A2 * cexp(CMPLX(0.0, 2 * M_PI * (342.0 * i / nf + 0.3))));
}

MN_TEST(pim_junction_two_tone_cubic_im3_levels)
{
    enum { NF = 4096, N = 64 * NF };
    const double fs4 = 245.76e6, a3 = 0.7, A1 = 0.8, A2 = 0.5;
    float complex *v = mn_malloc(N * sizeof *v);
    static float psd[NF];
    two_tones(v, N, A1, A2, NF);
    /* y = a3 |v|^2 v: unit couplings (a = a3, b = 1), no memory */
    mn_pim_junction_cfg jc = {.kind = MN_PIM_JUNCTION_CUBIC, .a = a3, .b = 1.0};
    mn_pim_junction *j = mn_pim_junction_create(&jc);
    MN_CHECK(t, j != NULL);
    mn_pim_junction_execute(j, v, v, N);
    MN_CHECK_OK(t, mn_psd_welch(psd, v, N, NF, fs4, MN_PSD_BIN));
    /* |v|^2 v with v = A1 e1 + A2 e2 contains a3 A1^2 A2 at 2f1-f2, a3 A2^2 A1 at 2f2-f1,
     * a3 (A1^2 + 2 A2^2) A1 at f1 and a3 (A2^2 + 2 A1^2) A2 at f2 (expand v v conj(v)). */
    double want_lo = 20 * log10(a3 * A1 * A1 * A2), want_hi = 20 * log10(a3 * A2 * A2 * A1);
    double got_lo = 10 * log10(tone_power(psd, NF, -1024)), got_hi = 10 * log10(tone_power(psd, NF, 1025));
    if (t->verbose) printf("    cubic two-tone: 2f1-f2 %.3f dB (want %.3f), 2f2-f1 %.3f dB (want %.3f)\n", got_lo, want_lo, got_hi, want_hi);
    MN_CHECK_NEAR(t, got_lo, want_lo, 0.5);
    MN_CHECK_NEAR(t, got_hi, want_hi, 0.5);
    MN_CHECK_NEAR(t, 10 * log10(tone_power(psd, NF, -341)), 20 * log10(a3 * (A1 * A1 + 2 * A2 * A2) * A1), 0.5);
    MN_CHECK_NEAR(t, 10 * log10(tone_power(psd, NF, 342)), 20 * log10(a3 * (A2 * A2 + 2 * A1 * A1) * A2), 0.5);
    /* nothing at an even-order position (f1 + f2) nor at 2 f1 (no even products in zone 1) */
    MN_CHECK(t, 10 * log10(tone_power(psd, NF, 1)) < want_lo - 100);
    MN_CHECK(t, 10 * log10(tone_power(psd, NF, -682)) < want_lo - 100);
    mn_pim_junction_destroy(j);
    mn_free(v);
}

MN_TEST(pim_junction_two_tone_tunnel_bessel_closed_form)
{
    /* i = a sinh(b V) with V = A1 cos t1 + A2 cos t2: from e^{z cos t} = sum_k I_k(z) e^{j k t},
     * the 2 t1 - t2 component of sinh has amplitude 2 I2(b A1) I1(b A2), so the baseband
     * IM3 amplitude is a 2 I2(b A1) I1(b A2): not a power of the drive (non-polynomial). */
    enum { NF = 4096, N = 32 * NF };
    const double a = 1.3, b = 1.7, A1 = 0.8, A2 = 0.5;
    float complex *v = mn_malloc(N * sizeof *v);
    static float psd[NF];
    two_tones(v, N, A1, A2, NF);
    mn_pim_junction_cfg jc = {.kind = MN_PIM_JUNCTION_TUNNEL, .a = a, .b = b, .keep_linear = true};
    mn_pim_junction *j = mn_pim_junction_create(&jc);
    mn_pim_junction_execute(j, v, v, N);
    MN_CHECK_OK(t, mn_psd_welch(psd, v, N, NF, 245.76e6, MN_PSD_BIN));
    double want = 20 * log10(2 * a * bessel_in(2, b * A1) * bessel_in(1, b * A2));
    double cubic_only = 20 * log10(a * b * b * b / 8 * A1 * A1 * A2); /* what a cubic model predicts */
    double got = 10 * log10(tone_power(psd, NF, -1024));
    if (t->verbose) printf("    tunnel two-tone IM3 %.3f dB, Bessel %.3f dB, cubic term alone %.3f dB\n", got, want, cubic_only);
    MN_CHECK_NEAR(t, got, want, 0.05);
    MN_CHECK(t, fabs(want - cubic_only) > 0.5); /* the drive is high enough to leave the cubic regime */
    /* the fundamental at f1 with keep_linear: 2 a I1(b A1) I0(b A2) */
    MN_CHECK_NEAR(t, 10 * log10(tone_power(psd, NF, -341)), 20 * log10(2 * a * bessel_in(1, b * A1) * bessel_in(0, b * A2)), 0.05);
    mn_pim_junction_destroy(j);
    mn_free(v);
}

MN_TEST(pim_junction_memory_filters_and_streaming)
{
    /* post * NL(pre * v) with the taps given; in blocks == at once; linear part removed */
    float complex pre[3] = {1.0f, CMPLXF(0.2f, -0.1f), 0.05f}, post[2] = {1.0f, CMPLXF(0.0f, 0.3f)};
    mn_pim_junction_cfg jc = {.kind = MN_PIM_JUNCTION_TUNNEL, .a = 0.9, .b = 1.1, .pre = pre, .n_pre = 3, .post = post, .n_post = 2};
    mn_pim_junction *j = mn_pim_junction_create(&jc);
    enum { N = 3000 };
    static float complex v[N], y1[N], y2[N], u[N];
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    for (int i = 0; i < N; i++) v[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    mn_pim_junction_execute(j, y1, v, N);
    mn_pim_junction_reset(j);
    memcpy(y2, v, sizeof v);
    mn_pim_junction_execute(j, y2, y2, 1234);
    mn_pim_junction_execute(j, y2 + 1234, y2 + 1234, N - 1234);
    MN_CHECK(t, memcmp(y1, y2, sizeof y1) == 0);
    for (int i = 0; i < N; i++) {
        double complex s = 0;
        for (int k = 0; k < 3 && k <= i; k++) s += (double complex)pre[k] * (double complex)v[i - k];
        double rr = 1.1 * cabs(s);
        double F = mn_pim_junction_describe(MN_PIM_JUNCTION_TUNNEL, rr) - rr; /* 2 I1 - linear */
        u[i] = (float complex)(rr > 0 ? 0.9 * F * s / cabs(s) : 0);
    }
    double err = 0, pw = 0;
    for (int i = 0; i < N; i++) {
        double complex s = (double complex)u[i] + (i ? (double complex)post[1] * (double complex)u[i - 1] : 0);
        err += pow(cabs(s - (double complex)y1[i]), 2);
        pw += pow(cabs(s), 2);
    }
    MN_CHECK(t, err / pw < 1e-10);
    mn_pim_junction_destroy(j);
}
