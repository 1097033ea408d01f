/* tests/dsp/test_dsp_filters.c — OFDM numerology and spectrum, FIR design masks, FIR filtering
 * against a naive convolution, resampler passband/image rejection, Welch PSD calibration. */
#include "mn_test.h"

#include <complex.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/dsp.h"

static double db(double x) { return 10.0 * log10(x); }

MN_TEST(dsp_ofdm_numerology_tables)
{
    mn_ofdm_cfg c;
    MN_CHECK_OK(t, mn_ofdm_numerology_nr(&c, 10e6, 0, 61.44e6));
    MN_CHECK(t, c.n_rb == 52 && c.nfft == 4096 && c.cp == 288 && c.cp_first == 320);
    /* one subframe of 14 symbols fills exactly 1 ms = 61440 samples */
    mn_ofdm_mod *m = mn_ofdm_mod_create(&c);
    long tot = 0;
    static float complex y[4096 + 320], grid[624];
    memset(grid, 0, sizeof grid);
    for (int l = 0; l < 14; l++) tot += mn_ofdm_mod_execute(m, y, grid);
    MN_CHECK(t, tot == 61440);
    mn_ofdm_mod_destroy(m);
    MN_CHECK_OK(t, mn_ofdm_numerology_nr(&c, 20e6, 1, 61.44e6));
    MN_CHECK(t, c.n_rb == 51 && c.nfft == 2048 && c.cp == 144 && c.cp_first == 176);
    MN_CHECK(t, 26 * (144 + 2048) + 2 * (176 + 2048) == 61440); /* 28 symbols per ms at mu 1 */
    MN_CHECK_OK(t, mn_ofdm_numerology_lte(&c, 20e6, 30.72e6));
    MN_CHECK(t, c.n_rb == 100 && c.nfft == 2048 && c.cp == 144 && c.cp_first == 160 && c.dc_null);
    MN_CHECK(t, mn_nr_n_rb(100e6, 1) == 273 && mn_nr_n_rb(5e6, 0) == 25 && mn_nr_n_rb(7e6, 0) == -1);
    MN_CHECK(t, mn_ofdm_numerology_nr(&c, 10e6, 0, 61.44e6 + 1000) == MN_ERR_INVALID);
    MN_CHECK(t, mn_ofdm_numerology_nr(&c, 20e6, 0, 3.84e6) == MN_ERR_INVALID); /* nfft < n_sc */
}

MN_TEST(dsp_ofdm_round_trip_and_occupied_bandwidth)
{
    mn_ofdm_cfg c;
    MN_CHECK_OK(t, mn_ofdm_numerology_nr(&c, 10e6, 0, 61.44e6));
    int n_sc = mn_ofdm_n_sc(&c);
    MN_CHECK(t, n_sc == 624);
    mn_ofdm_mod *m = mn_ofdm_mod_create(&c);
    mn_ofdm_demod *d = mn_ofdm_demod_create(&c);
    mn_welch *w = mn_welch_create(4096); /* bin = 15 kHz = one subcarrier */
    MN_CHECK(t, m && d && w);
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    float complex *grid = mn_malloc((size_t)n_sc * sizeof *grid), *back = mn_malloc((size_t)n_sc * sizeof *back);
    float complex *y = mn_malloc((4096 + 320) * sizeof *y);
    double err = 0;
    for (int l = 0; l < 40; l++) {
        mn_qam_random(grid, (size_t)n_sc, 64, &r);
        MN_CHECK(t, mn_ofdm_mod_next_len(m) == mn_ofdm_demod_next_len(d));
        int len = mn_ofdm_mod_execute(m, y, grid);
        mn_ofdm_demod_execute(d, back, y);
        for (int i = 0; i < n_sc; i++) err = fmax(err, (double)cabsf(back[i] - grid[i]));
        mn_welch_execute(w, y, (size_t)len);
    }
    MN_CHECK_NEAR(t, err, 0.0, 1e-4);
    float psd[4096];
    MN_CHECK_OK(t, mn_welch_get(w, psd, 61.44e6, MN_PSD_BIN));
    double total = 0, inband = 0;
    for (int k = 0; k < 4096; k++) total += (double)psd[k];
    for (int k = 2048 - 312; k < 2048 + 312; k++) inband += (double)psd[k];
    MN_CHECK_NEAR(t, total, 1.0, 0.05); /* unit-power QAM on the grid -> unit sample power */
    /* occupied subcarriers: bins above half the in-band mean; expect 624 (+-1 for the Hann
     * window's half-power edge bins) centred on DC: bins -312 .. 311 */
    double mean = inband / 624, lo = 1e9, hi = -1e9;
    int count = 0;
    for (int k = 0; k < 4096; k++)
        if ((double)psd[k] > 0.5 * mean) {
            count++;
            double f = mn_psd_freq(k, 4096, 61.44e6);
            lo = fmin(lo, f);
            hi = fmax(hi, f);
        }
    MN_CHECK_MSG(t, abs(count - 624) <= 1, "occupied bins %d, expected 624", count);
    MN_CHECK_NEAR(t, lo, -312 * 15e3, 15e3);
    MN_CHECK_NEAR(t, hi, 311 * 15e3, 15e3);
    MN_CHECK_NEAR(t, (hi - lo + 15e3) / 1e6, mn_ofdm_occupied_hz(&c) / 1e6, 0.031);
    mn_free(grid);
    mn_free(back);
    mn_free(y);
    mn_welch_destroy(w);
    mn_ofdm_mod_destroy(m);
    mn_ofdm_demod_destroy(d);
}

MN_TEST(dsp_fir_design_meets_kaiser_mask)
{
    const double A = 80, fc = 0.15, df = 0.05;
    int n = mn_fir_kaiser_len(A, df);
    MN_CHECK(t, n > 50 && n < 120);
    float *h = mn_malloc((size_t)n * sizeof *h);
    MN_CHECK_OK(t, mn_fir_design_lowpass(h, n, fc, A));
    double sum = 0, asym = 0;
    for (int i = 0; i < n; i++) {
        sum += (double)h[i];
        asym = fmax(asym, fabs((double)(h[i] - h[n - 1 - i])));
    }
    MN_CHECK_NEAR(t, sum, 1.0, 1e-6);
    MN_CHECK(t, asym == 0); /* linear phase */
    double pass = 0, stop = -400;
    for (double f = 0; f <= fc - df / 2; f += 0.001) pass = fmax(pass, fabs(20 * log10(cabs(mn_fir_response_real(h, n, f)))));
    for (double f = fc + df / 2; f <= 0.5; f += 0.0005) stop = fmax(stop, 20 * log10(cabs(mn_fir_response_real(h, n, f))));
    MN_CHECK_MSG(t, pass < 0.01, "passband deviation %.4f dB", pass);
    MN_CHECK_MSG(t, stop < -A + 2, "stopband peak %.1f dB, expected <= %.0f", stop, -A + 2);
    MN_CHECK_NEAR(t, 20 * log10(cabs(mn_fir_response_real(h, n, fc))), -6.02, 0.1); /* -6 dB at fc */
    /* complex bandpass [0.1, 0.2]: unity at 0.15, the mirror band -0.15 rejected */
    float complex *hb = mn_malloc((size_t)n * sizeof *hb);
    MN_CHECK_OK(t, mn_fir_design_bandpass(hb, n, 0.1, 0.2, A));
    MN_CHECK_NEAR(t, cabs(mn_fir_response(hb, n, 0.15)), 1.0, 1e-3);
    MN_CHECK(t, 20 * log10(cabs(mn_fir_response(hb, n, -0.15))) < -A + 2);
    MN_CHECK(t, 20 * log10(cabs(mn_fir_response(hb, n, 0.35))) < -A + 2);
    MN_CHECK(t, mn_fir_design_lowpass(h, n, 0.6, A) == MN_ERR_INVALID);
    mn_free(h);
    mn_free(hb);
}

MN_TEST(dsp_firfilt_matches_convolution_in_any_blocks)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    enum { N = 5000, K = 37 };
    static float complex x[N], y1[N], y2[N];
    float complex hc[K];
    float hr[K];
    for (int k = 0; k < K; k++) {
        hr[k] = (float)mn_rng_normal(&r);
        hc[k] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    }
    for (int i = 0; i < N; i++) x[i] = CMPLXF((float)mn_rng_normal(&r), (float)mn_rng_normal(&r));
    for (int cplx = 0; cplx < 2; cplx++) {
        mn_firfilt *f = cplx ? mn_firfilt_create(hc, K) : mn_firfilt_create_real(hr, K);
        MN_CHECK(t, f && mn_firfilt_len(f) == K);
        mn_firfilt_execute(f, y1, x, N);
        mn_firfilt_reset(f);
        /* random block sizes, in place */
        memcpy(y2, x, sizeof x);
        for (size_t i = 0; i < N;) {
            size_t b = 1 + mn_rng_below(&r, 1500);
            if (b > N - i) b = N - i;
            mn_firfilt_execute(f, y2 + i, y2 + i, b);
            i += b;
        }
        MN_CHECK(t, memcmp(y1, y2, sizeof y1) == 0);
        double worst = 0;
        for (int i = 0; i < N; i += 7) {
            double complex s = 0;
            for (int k = 0; k < K && k <= i; k++)
                s += (cplx ? (double complex)hc[k] : (double complex)hr[k]) * (double complex)x[i - k];
            worst = fmax(worst, cabs(s - (double complex)y1[i]));
        }
        MN_CHECK_NEAR(t, worst, 0.0, 1e-4);
        mn_firfilt_destroy(f);
    }
}

/* Complex amplitude of the tone e^{j 2 pi f n} in y[n0 .. n0+len) (least squares). */
static double complex tone_amp(const float complex *y, long n0, long len, double f)
{
    double complex s = 0;
    for (long n = n0; n < n0 + len; n++) s += (double complex)y[n] * cexp(CMPLX(0.0, -2.0 * M_PI * f * n));
    return s / (double)len;
}

MN_TEST(dsp_resampler_keeps_tone_rejects_images)
{
    enum { L = 4, M = 16, NI = 8000 };
    /* interpolation: an input tone at 0.1 cycles/sample appears at 0.025 on the output, with
     * amplitude 1 and the documented delay of L*M output samples; images at
     * 0.25 k +- 0.025 are rejected by the 80 dB Kaiser prototype (cutoff 0.125). */
    mn_interp *ip = mn_interp_create_kaiser(L, M, 0.125, 80);
    MN_CHECK(t, ip != NULL);
    float complex *x = mn_malloc(NI * sizeof *x), *y = mn_malloc(NI * L * sizeof *y);
    for (int i = 0; i < NI; i++) x[i] = (float complex)cexp(CMPLX(0.0, 2.0 * M_PI * 0.1 * i));
    mn_interp_execute(ip, y, x, NI / 2);
    mn_interp_execute(ip, y + NI / 2 * L, x + NI / 2, NI / 2); /* two calls = one */
    long n0 = 2000, len = 20000;
    double complex a = tone_amp(y, n0, len, 0.025);
    MN_CHECK_NEAR(t, cabs(a), 1.0, 1e-3);
    /* delay L*M: y[n] = e^{j 2 pi 0.025 (n - L M)} */
    MN_CHECK_NEAR(t, cabs(a - cexp(CMPLX(0.0, -2.0 * M_PI * 0.025 * L * M))), 0.0, 2e-3);
    const double images[] = {0.225, 0.275, 0.475, -0.475, -0.225, -0.275};
    for (int k = 0; k < 6; k++) {
        double lvl = 20 * log10(cabs(tone_amp(y, n0, len, images[k])) + 1e-30);
        MN_CHECK_MSG(t, lvl < -75, "image at %g: %.1f dB", images[k], lvl);
    }
    mn_interp_destroy(ip);
    /* decimation: a tone at 0.02 (input rate) is kept at 0.08 (output rate); a tone at 0.27,
     * which would alias onto the same 0.08, is rejected. */
    mn_decim *dc = mn_decim_create_kaiser(L, M, 0.1, 80);
    MN_CHECK(t, dc != NULL);
    for (int f = 0; f < 2; f++) {
        double fin = f ? 0.27 : 0.02;
        for (int i = 0; i < NI * L; i++) y[i] = (float complex)cexp(CMPLX(0.0, 2.0 * M_PI * fin * i));
        mn_decim_reset(dc);
        size_t got = mn_decim_execute(dc, x, y, 999);
        got += mn_decim_execute(dc, x + got, y + 999, (size_t)NI * L - 999);
        MN_CHECK(t, got == NI);
        double complex b = tone_amp(x, 200, 6000, 0.08);
        if (!f) {
            MN_CHECK_NEAR(t, cabs(b), 1.0, 1e-3);
            /* y[k] = x[4k - L M]: phase of the kept tone */
            MN_CHECK_NEAR(t, cabs(b - cexp(CMPLX(0.0, -2.0 * M_PI * fin * L * M))), 0.0, 2e-3);
        } else {
            MN_CHECK_MSG(t, 20 * log10(cabs(b)) < -75, "alias %.1f dB", 20 * log10(cabs(b)));
        }
    }
    mn_decim_destroy(dc);
    mn_free(x);
    mn_free(y);
}

MN_TEST(dsp_welch_noise_power_and_tone_bins)
{
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    enum { N = 1 << 17, NF = 512 };
    const double fs = 10e6, p = 2.5;
    float complex *x = mn_malloc(N * sizeof *x);
    double sd = sqrt(p / 2);
    for (int i = 0; i < N; i++) x[i] = CMPLXF((float)(sd * mn_rng_normal(&r)), (float)(sd * mn_rng_normal(&r)));
    float psd[NF];
    MN_CHECK_OK(t, mn_psd_welch(psd, x, N, NF, fs, MN_PSD_DENSITY));
    double integral = 0;
    for (int k = 0; k < NF; k++) integral += (double)psd[k] * fs / NF;
    MN_CHECK_NEAR(t, integral, p, 0.02 * p);
    float pdb[NF];
    MN_CHECK_OK(t, mn_psd_welch(pdb, x, N, NF, fs, MN_PSD_DENSITY_DB));
    double mdb = 0;
    for (int k = 0; k < NF; k++) mdb += (double)pdb[k] / NF;
    /* the mean of a log of chi-square(2K) estimates is biased low by ~0.01 dB here */
    MN_CHECK_NEAR(t, mdb, db(p / fs), 0.1);
    /* tones of amplitude 0.5: on a bin centre, and half-way between bins; their power 0.25
     * falls in the few bins around the tone */
    for (int off = 0; off < 2; off++) {
        double fb = 37.0 + 0.5 * off, f = fb / NF;
        for (int i = 0; i < N; i++) x[i] = (float complex)(0.5 * cexp(CMPLX(0.0, 2.0 * M_PI * f * i)));
        MN_CHECK_OK(t, mn_psd_welch(psd, x, N, NF, fs, MN_PSD_BIN));
        int peak = 0;
        for (int k = 1; k < NF; k++)
            if (psd[k] > psd[peak]) peak = k;
        MN_CHECK(t, peak == NF / 2 + 37 || (off && peak == NF / 2 + 38));
        double s = 0;
        for (int k = NF / 2 + 37 - 3; k <= NF / 2 + 38 + 3; k++) s += (double)psd[k];
        MN_CHECK_NEAR(t, s, 0.25, 0.0025);
        MN_CHECK_NEAR(t, mn_psd_freq(peak, NF, fs), 37 * fs / NF, fs / NF + 1);
    }
    MN_CHECK(t, mn_psd_welch(psd, x, 100, NF, fs, MN_PSD_BIN) == MN_ERR_INVALID);
    mn_free(x);
}

MN_TEST(dsp_ofdm_wola_confines_spectrum)
{
    /* 10 MHz NR at 61.44 Msps (occupied +-4.68 MHz).  Plain CP-OFDM has sinc sidelobes decaying
     * as 1/f^2; WOLA over half the CP (144 samples) must push the emission 1 MHz beyond the
     * occupied edge at least 15 dB lower, and still demodulate exactly. */
    double lvl[2];
    for (int w = 0; w < 2; w++) {
        mn_ofdm_cfg c;
        MN_CHECK_OK(t, mn_ofdm_numerology_nr(&c, 10e6, 0, 61.44e6));
        c.wola = w ? c.cp / 2 : 0;
        mn_ofdm_mod *m = mn_ofdm_mod_create(&c);
        mn_ofdm_demod *d = mn_ofdm_demod_create(&c);
        mn_welch *wl = mn_welch_create(1024);
        mn_rng r;
        mn_rng_seed(&r, t->seed);
        int n_sc = mn_ofdm_n_sc(&c);
        float complex *grid = mn_malloc((size_t)n_sc * sizeof *grid), *back = mn_malloc((size_t)n_sc * sizeof *back);
        float complex *y = mn_malloc((4096 + 320) * sizeof *y);
        double err = 0;
        for (int l = 0; l < 60; l++) {
            mn_qam_random(grid, (size_t)n_sc, 256, &r);
            int len = mn_ofdm_mod_execute(m, y, grid);
            mn_ofdm_demod_execute(d, back, y);
            for (int i = 0; i < n_sc; i++) err = fmax(err, (double)cabsf(back[i] - grid[i]));
            mn_welch_execute(wl, y, (size_t)len);
        }
        MN_CHECK_NEAR(t, err, 0.0, 1e-4);
        float psd[1024];
        mn_welch_get(wl, psd, 61.44e6, MN_PSD_DENSITY);
        double in = 0, out = 0;
        int ni = 0;
        for (int k = 0; k < 1024; k++) {
            double f = fabs(mn_psd_freq(k, 1024, 61.44e6));
            if (f < 4e6) {
                in += (double)psd[k];
                ni++;
            }
            if (f > 4.68e6 + 1e6) out = fmax(out, (double)psd[k]);
        }
        lvl[w] = db(out / (in / ni));
        mn_free(grid);
        mn_free(back);
        mn_free(y);
        mn_welch_destroy(wl);
        mn_ofdm_mod_destroy(m);
        mn_ofdm_demod_destroy(d);
    }
    if (t->verbose) printf("    emission 1 MHz outside the occupied band: %.1f dB plain, %.1f dB with WOLA\n", lvl[0], lvl[1]);
    MN_CHECK(t, lvl[1] < lvl[0] - 15 && lvl[1] < -55);
    mn_ofdm_cfg bad;
    mn_ofdm_numerology_nr(&bad, 10e6, 0, 61.44e6);
    bad.wola = bad.cp + 1;
    MN_CHECK(t, mn_ofdm_mod_create(&bad) == NULL);
}
