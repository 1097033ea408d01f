/* dsp/psd.c — Welch power spectral density (P. D. Welch, IEEE Trans. Audio Electroacoust.
 * AU-15, 1967): Hann-windowed segments of nfft samples, hop nfft/2, |FFT|^2 averaged.
 *
 * Scaling.  With window w and U = sum_i w[i]^2, the per-bin power
 *   P[k] = mean_s |sum_i w[i] x_s[i] e^{-j 2 pi k i / nfft}|^2 / (nfft U)
 * satisfies sum_k P[k] = mean_s sum_i w[i]^2 |x_s[i]|^2 / U (Parseval), which for a stationary
 * signal is its mean power; a tone of amplitude A puts A^2 into its main-lobe bins.  The
 * density is P[k] / (fs / nfft).  The output is rotated so bin k is at (k - nfft/2) fs / nfft. */
#include "mimonet/dsp.h"

#include <math.h>
#include <string.h>

struct mn_welch {
    int nfft;
    int fill;          /* samples in buf */
    long segs;
    float *win;
    float complex *buf, *tmp;
    double *acc;
    mn_fft *fft;
};

mn_welch *mn_welch_create(int nfft)
{
    if (nfft < 4 || nfft % 2) {
        mn_error(MN_ERR_INVALID, "welch: nfft = %d must be even and >= 4", nfft);
        return NULL;
    }
    mn_welch *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->nfft = nfft;
    q->win = mn_malloc((size_t)nfft * sizeof *q->win);
    q->buf = mn_calloc((size_t)nfft, sizeof *q->buf);
    q->tmp = mn_calloc((size_t)nfft, sizeof *q->tmp);
    q->acc = mn_calloc((size_t)nfft, sizeof *q->acc);
    if (!q->win || !q->buf || !q->tmp || !q->acc) goto nomem;
    for (int i = 0; i < nfft; i++) q->win[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / nfft));
    q->fft = mn_fft_create(nfft, MN_FFT_FORWARD);
    if (!q->fft) {
        mn_welch_destroy(q);
        return NULL;
    }
    return q;
nomem:
    mn_welch_destroy(q);
    mn_error(MN_ERR_NOMEM, "welch: buffers for nfft = %d", nfft);
    return NULL;
}

static void segment(mn_welch *q)
{
    for (int i = 0; i < q->nfft; i++) q->tmp[i] = q->win[i] * q->buf[i];
    mn_fft_execute(q->fft, q->tmp, q->tmp);
    for (int k = 0; k < q->nfft; k++) {
        double re = (double)crealf(q->tmp[k]), im = (double)cimagf(q->tmp[k]);
        q->acc[k] += re * re + im * im;
    }
    q->segs++;
}

void mn_welch_execute(mn_welch *q, const float complex *x, size_t n)
{
    int half = q->nfft / 2;
    while (n > 0) {
        size_t take = (size_t)(q->nfft - q->fill);
        if (take > n) take = n;
        memcpy(q->buf + q->fill, x, take * sizeof *x);
        q->fill += (int)take;
        x += take;
        n -= take;
        if (q->fill == q->nfft) {
            segment(q);
            memmove(q->buf, q->buf + half, (size_t)half * sizeof *q->buf);
            q->fill = half;
        }
    }
}

long mn_welch_segments(const mn_welch *q) { return q->segs; }

mn_status mn_welch_get(const mn_welch *q, float *psd, double fs, mn_psd_scale scale)
{
    if (q->segs == 0)
        return mn_error(MN_ERR_INVALID, "welch: no complete segment of %d samples yet", q->nfft);
    if (!(fs > 0)) return mn_error(MN_ERR_INVALID, "welch: sample rate %g Hz must be > 0", fs);
    double U = 0.0;
    for (int i = 0; i < q->nfft; i++) U += (double)q->win[i] * (double)q->win[i];
    double norm = 1.0 / ((double)q->segs * U * q->nfft);
    if (scale == MN_PSD_DENSITY || scale == MN_PSD_DENSITY_DB) norm /= fs / q->nfft;
    int half = q->nfft / 2;
    for (int k = 0; k < q->nfft; k++) {
        double v = q->acc[(k + half) % q->nfft] * norm;
        if (scale == MN_PSD_DENSITY_DB || scale == MN_PSD_BIN_DB) v = 10.0 * log10(v > 0 ? v : 1e-300);
        psd[k] = (float)v;
    }
    return MN_OK;
}

void mn_welch_reset(mn_welch *q)
{
    q->fill = 0;
    q->segs = 0;
    memset(q->acc, 0, (size_t)q->nfft * sizeof *q->acc);
}

void mn_welch_destroy(mn_welch *q)
{
    if (!q) return;
    mn_fft_destroy(q->fft);
    mn_free(q->win);
    mn_free(q->buf);
    mn_free(q->tmp);
    mn_free(q->acc);
    mn_free(q);
}

mn_status mn_psd_welch(float *psd, const float complex *x, size_t n, int nfft, double fs,
                       mn_psd_scale scale)
{
    if (nfft < 4 || n < (size_t)nfft)
        return mn_error(MN_ERR_INVALID, "psd: %zu samples do not fill one segment of nfft = %d", n,
                        nfft);
    mn_welch *q = mn_welch_create(nfft);
    if (!q) return mn_error(MN_ERR_NOMEM, "psd: %s", mn_error_msg());
    mn_welch_execute(q, x, n);
    mn_status st = mn_welch_get(q, psd, fs, scale);
    mn_welch_destroy(q);
    return st;
}

double mn_psd_freq(int k, int nfft, double fs) { return (double)(k - nfft / 2) * fs / nfft; }
