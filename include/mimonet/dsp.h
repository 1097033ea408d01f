/*
 * mimonet/dsp.h — signal-processing building blocks: FFT plans (FFTW3, single precision),
 * QAM mapping (3GPP), NR/LTE OFDM numerology and modulation, windowed-sinc FIR design and
 * filtering, integer interpolation and decimation, a numerically controlled oscillator (NCO),
 * and Welch power spectral density.
 *
 * A short tour
 * ------------
 * Every object follows liquid-dsp's grammar: an opaque handle made by _create (which returns
 * NULL and records an explanation in mn_error_msg() when an argument is out of range or memory
 * runs out), then _execute on blocks of any length, _reset to forget the state, _destroy.
 * All buffers are allocated in _create; _execute never allocates.  Signals are C99
 * `mn_cf32`; filter states persist across _execute calls, so a signal processed in one
 * block or in many gives the same samples.
 *
 *     float h[129];
 *     mn_fir_design_lowpass(h, 129, 0.1, 80.0);            // cutoff 0.1 fs, 80 dB stopband
 *     mn_firfilt *f = mn_firfilt_create_real(h, 129);
 *     mn_firfilt_execute(f, y, x, n);                      // y may equal x
 *     mn_firfilt_destroy(f);
 *
 * Frequencies are normalized to the sample rate of the signal they act on ("cycles per
 * sample"), unless a parameter says [Hz].  Powers are mean |x|^2 per sample.
 *
 * Threads: objects are not shared between threads; make one per thread.  Creating FFT plans is
 * serialized internally (FFTW's planner is not thread-safe); executing them is parallel-safe.
 */
#ifndef MIMONET_DSP_H
#define MIMONET_DSP_H

#include <stddef.h>
#include <stdint.h>
#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- special functions */

/* Modified Bessel functions of the first kind, I0(x) and I1(x), for real x (power series,
 * Abramowitz & Stegun 9.6.10: positive terms, accurate to a few ulp up to |x| ~ 700). */
double mn_bessel_i0(double x);
double mn_bessel_i1(double x);

/* ---------------------------------------------------------------- FFT */

typedef enum { MN_FFT_FORWARD = -1, MN_FFT_BACKWARD = +1 } mn_fft_dir;

/* An n-point complex FFT plan (FFTW3 single precision, FFTW_ESTIMATE, so the plan and therefore
 * the results are deterministic).  Unnormalized, as FFTW:
 *   forward   X[k] = sum_n x[n] e^{-j 2 pi k n / N}
 *   backward  x[n] = sum_k X[k] e^{+j 2 pi k n / N}   (backward(forward(x)) = N x).
 * n >= 1, any size (FFTW handles non-powers of two). */
typedef struct mn_fft mn_fft;
mn_fft *mn_fft_create(int n, mn_fft_dir dir);
/* y[n] = transform of x[n]; y may equal x. */
void mn_fft_execute(mn_fft *q, mn_cf32 *y, const mn_cf32 *x);
int mn_fft_size(const mn_fft *q);
void mn_fft_destroy(mn_fft *q);

/* ---------------------------------------------------------------- QAM (3GPP TS 38.211 §5.1) */

/* Square M-QAM, M in {4, 16, 64, 256}, Gray coded, unit average power over the M points.
 * Symbol value s in [0, M) carries bits b0..b(m-1), m = log2 M, b0 the most significant bit;
 * the point is TS 38.211 §5.1.3-5.1.5, e.g. for 16-QAM
 *   d = [(1-2b0)(2-(1-2b2)) + j (1-2b1)(2-(1-2b3))] / sqrt(10). */
mn_status mn_qam_map(mn_cf32 *y, const uint32_t *sym, size_t n, int order);
/* Hard decision: the symbol value of the nearest point (per axis, so O(1) per sample). */
mn_status mn_qam_demap(uint32_t *sym, const mn_cf32 *y, size_t n, int order);
/* n random points with symbol values uniform in [0, M), drawn from rng. */
mn_status mn_qam_random(mn_cf32 *y, size_t n, int order, mn_rng *rng);

/* ---------------------------------------------------------------- OFDM numerology */

/* Transmission bandwidth in resource blocks for an NR FR1 channel of bandwidth bw_hz at
 * subcarrier spacing 15 * 2^mu kHz (TS 38.101-1 Table 5.3.2-1), e.g. 10 MHz at mu 0 -> 52.
 * Returns -1 when the pair is not in the table. */
int mn_nr_n_rb(double bw_hz, int mu);
/* LTE (TS 36.101 Table 5.6-1): 1.4/3/5/10/15/20 MHz -> 6/15/25/50/75/100 RB; -1 otherwise. */
int mn_lte_n_rb(double bw_hz);

/* One OFDM carrier's numerology at a given sample rate. */
typedef struct {
    int mu;         /* numerology: subcarrier spacing scs = 15 * 2^mu kHz; 0..4 (LTE: 0) */
    int n_rb;       /* resource blocks; n_sc = 12 n_rb occupied subcarriers */
    int nfft;       /* FFT size = fs / scs (integer) */
    double fs;      /* sample rate [Hz] */
    int cp;         /* normal cyclic prefix [samples] = 144 nfft / 2048 */
    int cp_first;   /* CP of the first symbol of every 0.5 ms = cp + 16 * 2^mu * nfft / 2048 */
    int sym_per_half_ms; /* 7 * 2^mu symbols per 0.5 ms */
    bool dc_null;   /* LTE: the DC subcarrier is unused (n_sc subcarriers around it) */
    int wola;       /* transmit windowing: raised-cosine overlap [samples], 0 (none) .. cp;
                       the numerology functions set 0 */
} mn_ofdm_cfg;

/* NR numerology (TS 38.211 §5.3.1, normal CP) for bandwidth bw_hz [Hz] at numerology mu and
 * sample rate fs [Hz].  fs must be an integer multiple of the SCS with nfft >= n_sc and the
 * CP lengths integers (nfft a multiple of 128 / 2^mu); e.g. 10 MHz, mu 0, 61.44 Msps gives
 * n_rb 52, nfft 4096, cp 288, cp_first 320 (14 symbols + CPs = 61440 samples = 1 ms). */
mn_status mn_ofdm_numerology_nr(mn_ofdm_cfg *c, double bw_hz, int mu, double fs);
/* LTE numerology (TS 36.211, normal CP: 160/144 at nfft 2048, scaled), DC null. */
mn_status mn_ofdm_numerology_lte(mn_ofdm_cfg *c, double bw_hz, double fs);
static inline int mn_ofdm_n_sc(const mn_ofdm_cfg *c) { return 12 * c->n_rb; }
/* Occupied bandwidth [Hz] = 12 n_rb scs (plus one subcarrier for LTE's DC null). */
double mn_ofdm_occupied_hz(const mn_ofdm_cfg *c);

/* ---------------------------------------------------------------- OFDM modulator */

/* Maps n_sc subcarrier values per symbol to time-domain samples, centred at DC:
 *   NR:  grid[i] -> subcarrier k = i - n_sc/2            (i = 0 .. n_sc-1)
 *   LTE: grid[i] -> k = i - n_sc/2 for i < n_sc/2, k = i - n_sc/2 + 1 otherwise (DC skipped)
 *   y[n] = (1/sqrt(n_sc)) sum_i grid[i] e^{j 2 pi k_i n / nfft},  preceded by the CP,
 * so unit-power subcarrier values give unit mean sample power.  Symbol l (counted from
 * _create/_reset) has CP cp_first when l % sym_per_half_ms == 0, else cp.
 * With wola = W > 0 (weighted overlap-add, the usual way a transmitter confines OFDM's sinc
 * sidelobes): the first W samples of every symbol become
 *   y[n] = r[n] y[n] + (1 - r[n]) p[n],   r[n] = sin^2(pi (n + 1/2) / (2 W)),
 * where p is the previous symbol's cyclic continuation (its first W useful samples; zeros
 * before the first symbol).  Only the start of the CP changes, so the receiver's FFT window
 * is untouched and demod(mod(grid)) is still grid. */
typedef struct mn_ofdm_mod mn_ofdm_mod;
mn_ofdm_mod *mn_ofdm_mod_create(const mn_ofdm_cfg *c);
/* Length (CP + nfft) of the next symbol _execute will write. */
int mn_ofdm_mod_next_len(const mn_ofdm_mod *q);
/* Write one symbol (grid: n_sc values) to y; returns the number of samples written. */
int mn_ofdm_mod_execute(mn_ofdm_mod *q, mn_cf32 *y, const mn_cf32 *grid);
void mn_ofdm_mod_reset(mn_ofdm_mod *q);
void mn_ofdm_mod_destroy(mn_ofdm_mod *q);

/* The inverse: drops the CP, FFTs, and returns the n_sc subcarrier values (scaled so that
 * demod(mod(grid)) = grid). */
typedef struct mn_ofdm_demod mn_ofdm_demod;
mn_ofdm_demod *mn_ofdm_demod_create(const mn_ofdm_cfg *c);
int mn_ofdm_demod_next_len(const mn_ofdm_demod *q);
/* Read one symbol (mn_ofdm_demod_next_len samples) from y; write n_sc values to grid. */
int mn_ofdm_demod_execute(mn_ofdm_demod *q, mn_cf32 *grid, const mn_cf32 *y);
void mn_ofdm_demod_reset(mn_ofdm_demod *q);
void mn_ofdm_demod_destroy(mn_ofdm_demod *q);

/* ---------------------------------------------------------------- FIR design */

/* Kaiser's formulas (Oppenheim & Schafer, 3rd ed., eq. 7.62-7.63) for stopband attenuation
 * atten_db [dB] > 0 and transition width df (normalized, 0 < df < 0.5):
 *   beta = 0.1102 (A - 8.7)                     A > 50
 *        = 0.5842 (A - 21)^0.4 + 0.07886 (A - 21)  21 <= A <= 50
 *        = 0                                    A < 21
 *   N - 1 = (A - 8) / (2.285 * 2 pi df). */
double mn_fir_kaiser_beta(double atten_db);
int mn_fir_kaiser_len(double atten_db, double df);

/* Windowed-sinc lowpass of n taps (n >= 1), cutoff fc (the -6 dB point, normalized,
 * 0 < fc < 0.5), Kaiser window for atten_db [dB]:
 *   h[i] = 2 fc sinc(2 fc (i - (n-1)/2)) w_kaiser[i],  then scaled so sum h = 1 (unit DC gain).
 * Linear phase, group delay (n-1)/2 samples. */
mn_status mn_fir_design_lowpass(float *h, int n, double fc, double atten_db);
/* Complex bandpass passing [f_lo, f_hi] (normalized, -0.5 < f_lo < f_hi < 0.5): the lowpass of
 * cutoff (f_hi - f_lo)/2 shifted to f0 = (f_lo + f_hi)/2,
 *   h_bp[i] = h_lp[i] e^{j 2 pi f0 (i - (n-1)/2)},  unit gain at f0. */
mn_status mn_fir_design_bandpass(mn_cf32 *h, int n, double f_lo, double f_hi,
                                 double atten_db);
/* H(f) = sum_k h[k] e^{-j 2 pi f k} at normalized frequency f. */
mn_cf64_ret mn_fir_response(const mn_cf32 *h, int n, double f);
mn_cf64_ret mn_fir_response_real(const float *h, int n, double f);

/* ---------------------------------------------------------------- FIR filter */

/* y[i] = sum_{k=0}^{n-1} h[k] x[i-k]  (causal; the state holds the last n-1 inputs, zero after
 * _create/_reset).  Real-tap filters take a faster path. */
typedef struct mn_firfilt mn_firfilt;
mn_firfilt *mn_firfilt_create(const mn_cf32 *h, int n);
mn_firfilt *mn_firfilt_create_real(const float *h, int n);
/* Filter n samples; y may equal x. */
void mn_firfilt_execute(mn_firfilt *q, mn_cf32 *y, const mn_cf32 *x, size_t n);
int mn_firfilt_len(const mn_firfilt *q);
void mn_firfilt_reset(mn_firfilt *q);
void mn_firfilt_destroy(mn_firfilt *q);

/* ---------------------------------------------------------------- resampling */

/* Interpolation by an integer L >= 1 with a real prototype h of length n at the OUTPUT rate
 * (polyphase): zero-stuff by L then filter with L*h, i.e.
 *   y[L i + p] = L * sum_j h[p + L j] x[i - j],   p = 0 .. L-1,
 * so a passband tone keeps its amplitude.  Group delay (n-1)/2 output samples. */
typedef struct mn_interp mn_interp;
mn_interp *mn_interp_create(int L, const float *h, int n);
/* Kaiser design: n = 2 L m + 1 taps (m >= 1, so the delay is exactly m input samples =
 * L m output samples), cutoff fc normalized to the OUTPUT rate (0 < fc < 0.5/L is typical:
 * the input Nyquist is 0.5/L), stopband atten_db [dB]. */
mn_interp *mn_interp_create_kaiser(int L, int m, double fc, double atten_db);
/* y receives L*n samples. */
void mn_interp_execute(mn_interp *q, mn_cf32 *y, const mn_cf32 *x, size_t n);
void mn_interp_reset(mn_interp *q);
void mn_interp_destroy(mn_interp *q);

/* Decimation by an integer M >= 1: filter with h (length n, at the INPUT rate, unit DC gain
 * for the Kaiser design) and keep every M-th output,
 *   y[k] = sum_i h[i] x[M k - i],
 * where input index 0 is the first sample after _create/_reset (so the kept phase is the
 * inputs whose index is a multiple of M).  Group delay (n-1)/2 input samples. */
typedef struct mn_decim mn_decim;
mn_decim *mn_decim_create(int M, const float *h, int n);
/* Kaiser design: n = 2 M m + 1 taps (delay exactly m output samples), cutoff fc normalized to
 * the INPUT rate (typically < 0.5/M), stopband atten_db [dB]. */
mn_decim *mn_decim_create_kaiser(int M, int m, double fc, double atten_db);
/* Consumes n inputs (any n); returns the number of outputs written to y (at most n/M + 1). */
size_t mn_decim_execute(mn_decim *q, mn_cf32 *y, const mn_cf32 *x, size_t n);
void mn_decim_reset(mn_decim *q);
void mn_decim_destroy(mn_decim *q);

/* ---------------------------------------------------------------- NCO (frequency shift) */

/* A complex oscillator e^{j 2 pi (f i + phi)} at frequency f [cycles/sample, any real; e.g.
 * f = offset_hz / fs] and phase phi [cycles], i counting samples since _create/_reset.  The
 * phase is computed exactly in double every 32 samples and rotated in double between, so it
 * does not drift over long runs (phase error < 1e-9 cycles for 2^31 samples). */
typedef struct mn_nco mn_nco;
mn_nco *mn_nco_create(double f);
void mn_nco_set_phase(mn_nco *q, double phi_cycles);
/* y = x e^{+j 2 pi (f i + phi)} (shift up by f); y may equal x. */
void mn_nco_mix_up(mn_nco *q, mn_cf32 *y, const mn_cf32 *x, size_t n);
/* y = x e^{-j 2 pi (f i + phi)} (shift down by f). */
void mn_nco_mix_down(mn_nco *q, mn_cf32 *y, const mn_cf32 *x, size_t n);
/* y = e^{+j 2 pi (f i + phi)}. */
void mn_nco_generate(mn_nco *q, mn_cf32 *y, size_t n);
void mn_nco_reset(mn_nco *q);
void mn_nco_destroy(mn_nco *q);

/* ---------------------------------------------------------------- Welch PSD */

typedef enum {
    MN_PSD_DENSITY = 0, /* power per Hz (linear): sum_k P[k] * fs / nfft = mean power */
    MN_PSD_DENSITY_DB,  /* 10 log10 of the density [dB/Hz] */
    MN_PSD_BIN,         /* power per bin (linear): sum_k P[k] = mean power; a tone of
                           amplitude A sums to A^2 over its few main-lobe bins */
    MN_PSD_BIN_DB       /* 10 log10 of the power per bin [dB] */
} mn_psd_scale;

/* Welch's method (Welch 1967): segments of nfft samples with 50 % overlap (hop nfft/2),
 * periodic Hann window w[i] = 0.5 - 0.5 cos(2 pi i / nfft), |FFT|^2 averaged over segments:
 *   P[k] = sum_segments |sum_i w[i] x_s[i] e^{-j 2 pi k i / nfft}|^2 / (n_seg nfft sum_i w[i]^2)
 * in power per bin, divided by fs/nfft for density.  Output is centred: P[k] is at frequency
 * (k - nfft/2) fs / nfft, k = 0 .. nfft-1 (mn_psd_freq).  Samples that do not fill a
 * segment are kept for the next _execute.  nfft >= 4 and even. */
typedef struct mn_welch mn_welch;
mn_welch *mn_welch_create(int nfft);
void mn_welch_execute(mn_welch *q, const mn_cf32 *x, size_t n);
long mn_welch_segments(const mn_welch *q);
/* psd: nfft values.  MN_ERR_INVALID if no segment has been seen, or fs <= 0. */
mn_status mn_welch_get(const mn_welch *q, float *psd, double fs, mn_psd_scale scale);
void mn_welch_reset(mn_welch *q);
void mn_welch_destroy(mn_welch *q);
/* One-shot: Welch PSD of n samples (n >= nfft). */
mn_status mn_psd_welch(float *psd, const mn_cf32 *x, size_t n, int nfft, double fs,
                       mn_psd_scale scale);
/* Frequency [Hz] of centred bin k: (k - nfft/2) fs / nfft. */
double mn_psd_freq(int k, int nfft, double fs);

#ifdef __cplusplus
}
#endif
#endif
