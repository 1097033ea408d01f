/* dsp/fir.c — windowed-sinc FIR design (Kaiser window) and the stateful FIR filter.
 *
 * Design: the ideal lowpass impulse response 2 fc sinc(2 fc t) truncated to n taps and tapered
 * by a Kaiser window (Kaiser 1974; Oppenheim & Schafer, Discrete-Time Signal Processing, 3rd ed.,
 * §7.5.3), whose beta trades main-lobe width for sidelobe level:
 *   w[i] = I0(beta sqrt(1 - r^2)) / I0(beta),  r = 2 i / (n - 1) - 1.
 *
 * Filtering: y[i] = sum_k h[k] x[i - k].  The object keeps a window buffer holding the last
 * n-1 inputs followed by up to CHUNK new ones; each chunk is copied in (so y may alias x),
 * filtered with reversed taps as a forward dot product, and the tail is moved to the front. */
#include "mimonet/dsp.h"

#include <math.h>
#include <string.h>

#include "dot.h"

#define CHUNK 1024

double mn_fir_kaiser_beta(double A)
{
    if (A > 50) return 0.1102 * (A - 8.7);
    if (A >= 21) return 0.5842 * pow(A - 21, 0.4) + 0.07886 * (A - 21);
    return 0.0;
}

int mn_fir_kaiser_len(double A, double df)
{
    if (!(df > 0 && df < 0.5) || !(A > 0)) return -1;
    double n = (A - 8.0) / (2.285 * 2.0 * M_PI * df);
    if (n < 1) n = 1;
    return (int)ceil(n) + 1;
}

static double sinc(double x) { return x == 0.0 ? 1.0 : sin(M_PI * x) / (M_PI * x); }

/* Unnormalized windowed sinc in double; returns the sum of the taps. */
static double lowpass_d(double *h, int n, double fc, double A)
{
    double beta = mn_fir_kaiser_beta(A), i0b = mn_bessel_i0(beta), sum = 0.0;
    for (int i = 0; i < n; i++) {
        double t = i - 0.5 * (n - 1);
        double r = n > 1 ? 2.0 * i / (n - 1) - 1.0 : 0.0;
        double w = mn_bessel_i0(beta * sqrt(fmax(0.0, 1.0 - r * r))) / i0b;
        h[i] = 2.0 * fc * sinc(2.0 * fc * t) * w;
        sum += h[i];
    }
    return sum;
}

mn_status mn_fir_design_lowpass(float *h, int n, double fc, double atten_db)
{
    if (n < 1) return mn_error(MN_ERR_INVALID, "fir: length n = %d must be >= 1", n);
    if (!(fc > 0 && fc < 0.5))
        return mn_error(MN_ERR_INVALID, "fir: cutoff fc = %g must be in (0, 0.5) of fs", fc);
    if (!(atten_db > 0 && atten_db < 300))
        return mn_error(MN_ERR_INVALID, "fir: attenuation %g dB must be in (0, 300)", atten_db);
    double *hd = mn_malloc((size_t)n * sizeof *hd);
    if (!hd) return mn_error(MN_ERR_NOMEM, "fir: design buffer of %d taps", n);
    double sum = lowpass_d(hd, n, fc, atten_db);
    for (int i = 0; i < n; i++) h[i] = (float)(hd[i] / sum);
    mn_free(hd);
    return MN_OK;
}

mn_status mn_fir_design_bandpass(float complex *h, int n, double f_lo, double f_hi,
                                 double atten_db)
{
    if (!(f_lo > -0.5 && f_lo < f_hi && f_hi < 0.5))
        return mn_error(MN_ERR_INVALID,
                        "fir: band [%g, %g] must satisfy -0.5 < f_lo < f_hi < 0.5 of fs", f_lo,
                        f_hi);
    double fc = 0.5 * (f_hi - f_lo), f0 = 0.5 * (f_hi + f_lo);
    if (n < 1) return mn_error(MN_ERR_INVALID, "fir: length n = %d must be >= 1", n);
    if (!(atten_db > 0 && atten_db < 300))
        return mn_error(MN_ERR_INVALID, "fir: attenuation %g dB must be in (0, 300)", atten_db);
    double *hd = mn_malloc((size_t)n * sizeof *hd);
    if (!hd) return mn_error(MN_ERR_NOMEM, "fir: design buffer of %d taps", n);
    double sum = lowpass_d(hd, n, fc, atten_db);
    for (int i = 0; i < n; i++) {
        double ph = 2.0 * M_PI * f0 * (i - 0.5 * (n - 1));
        h[i] = CMPLXF((float)(hd[i] / sum * cos(ph)), (float)(hd[i] / sum * sin(ph)));
    }
    mn_free(hd);
    return MN_OK;
}

double complex mn_fir_response(const float complex *h, int n, double f)
{
    double complex s = 0;
    for (int k = 0; k < n; k++) s += (double complex)h[k] * cexp(CMPLX(0.0, -2.0 * M_PI * f * k));
    return s;
}

double complex mn_fir_response_real(const float *h, int n, double f)
{
    double complex s = 0;
    for (int k = 0; k < n; k++) s += (double)h[k] * cexp(CMPLX(0.0, -2.0 * M_PI * f * k));
    return s;
}

struct mn_firfilt {
    int n;
    bool real;
    float *hr;          /* reversed real taps (real filters) */
    float complex *hc;  /* reversed complex taps (complex filters) */
    float complex *w;   /* window: n-1 history + CHUNK */
};

static mn_firfilt *firfilt_alloc(int n)
{
    if (n < 1) {
        mn_error(MN_ERR_INVALID, "firfilt: length n = %d must be >= 1", n);
        return NULL;
    }
    mn_firfilt *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->n = n;
    q->w = mn_calloc((size_t)(n - 1 + CHUNK), sizeof *q->w);
    if (!q->w) goto nomem;
    return q;
nomem:
    mn_firfilt_destroy(q);
    mn_error(MN_ERR_NOMEM, "firfilt: buffers for %d taps", n);
    return NULL;
}

mn_firfilt *mn_firfilt_create(const float complex *h, int n)
{
    mn_firfilt *q = firfilt_alloc(n);
    if (!q) return NULL;
    q->hc = mn_malloc((size_t)n * sizeof *q->hc);
    if (!q->hc) {
        mn_firfilt_destroy(q);
        mn_error(MN_ERR_NOMEM, "firfilt: taps");
        return NULL;
    }
    for (int k = 0; k < n; k++) q->hc[k] = h[n - 1 - k];
    return q;
}

mn_firfilt *mn_firfilt_create_real(const float *h, int n)
{
    mn_firfilt *q = firfilt_alloc(n);
    if (!q) return NULL;
    q->real = true;
    q->hr = mn_malloc((size_t)n * sizeof *q->hr);
    if (!q->hr) {
        mn_firfilt_destroy(q);
        mn_error(MN_ERR_NOMEM, "firfilt: taps");
        return NULL;
    }
    for (int k = 0; k < n; k++) q->hr[k] = h[n - 1 - k];
    return q;
}

void mn_firfilt_execute(mn_firfilt *q, float complex *y, const float complex *x, size_t n)
{
    int h1 = q->n - 1;
    while (n > 0) {
        size_t m = n < CHUNK ? n : CHUNK;
        memcpy(q->w + h1, x, m * sizeof *x);
        if (q->real)
            for (size_t i = 0; i < m; i++) y[i] = mn_dot_real(q->hr, q->w + i, q->n);
        else
            for (size_t i = 0; i < m; i++) y[i] = mn_dot_cplx(q->hc, q->w + i, q->n);
        memmove(q->w, q->w + m, (size_t)h1 * sizeof *q->w);
        x += m;
        y += m;
        n -= m;
    }
}

int mn_firfilt_len(const mn_firfilt *q) { return q->n; }

void mn_firfilt_reset(mn_firfilt *q)
{
    memset(q->w, 0, (size_t)(q->n - 1 + CHUNK) * sizeof *q->w);
}

void mn_firfilt_destroy(mn_firfilt *q)
{
    if (!q) return;
    mn_free(q->hr);
    mn_free(q->hc);
    mn_free(q->w);
    mn_free(q);
}
