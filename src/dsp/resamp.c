/* dsp/resamp.c — integer interpolation (polyphase) and decimation (FIR computing only the kept
 * outputs).
 *
 * Interpolation by L (Crochiere & Rabiner, Multirate DSP, 1983, §3.3): zero-stuffing x by L and
 * filtering with L h is the same as running L short filters ("phases") on x itself,
 *   y[L i + p] = sum_j g_p[j] x[i - j],   g_p[j] = L h[p + L j],
 * which skips the multiplications by the stuffed zeros.  Decimation by M filters at the input
 * rate and evaluates only every M-th output.  Both keep their state across _execute calls. */
#include "mimonet/dsp.h"

#include <string.h>

#include "dot.h"

#define CHUNK 1024

struct mn_interp {
    int L, K;          /* factor, taps per phase */
    float *g;          /* [L][K] reversed phase taps */
    float complex *w;  /* K-1 history + CHUNK */
};

mn_interp *mn_interp_create(int L, const float *h, int n)
{
    if (L < 1 || n < 1) {
        mn_error(MN_ERR_INVALID, "interp: factor L = %d and length n = %d must be >= 1", L, n);
        return NULL;
    }
    mn_interp *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->L = L;
    q->K = (n + L - 1) / L;
    q->g = mn_calloc((size_t)L * (size_t)q->K, sizeof *q->g);
    q->w = mn_calloc((size_t)(q->K - 1 + CHUNK), sizeof *q->w);
    if (!q->g || !q->w) goto nomem;
    for (int p = 0; p < L; p++)
        for (int j = 0; j < q->K; j++) {
            int i = p + L * j;
            q->g[(size_t)p * q->K + (q->K - 1 - j)] = i < n ? (float)L * h[i] : 0.0f;
        }
    return q;
nomem:
    mn_interp_destroy(q);
    mn_error(MN_ERR_NOMEM, "interp: buffers (L = %d, %d taps)", L, n);
    return NULL;
}

mn_interp *mn_interp_create_kaiser(int L, int m, double fc, double atten_db)
{
    if (L < 1 || m < 1) {
        mn_error(MN_ERR_INVALID, "interp: factor L = %d and half-length m = %d must be >= 1", L, m);
        return NULL;
    }
    int n = 2 * L * m + 1;
    float *h = mn_malloc((size_t)n * sizeof *h);
    if (!h) {
        mn_error(MN_ERR_NOMEM, "interp: prototype of %d taps", n);
        return NULL;
    }
    mn_interp *q = NULL;
    if (mn_fir_design_lowpass(h, n, fc, atten_db) == MN_OK) q = mn_interp_create(L, h, n);
    mn_free(h);
    return q;
}

void mn_interp_execute(mn_interp *q, float complex *y, const float complex *x, size_t n)
{
    int K = q->K, L = q->L;
    while (n > 0) {
        size_t m = n < CHUNK ? n : CHUNK;
        memcpy(q->w + K - 1, x, m * sizeof *x);
        for (size_t i = 0; i < m; i++)
            for (int p = 0; p < L; p++)
                y[i * (size_t)L + (size_t)p] = mn_dot_real(q->g + (size_t)p * K, q->w + i, K);
        memmove(q->w, q->w + m, (size_t)(K - 1) * sizeof *q->w);
        x += m;
        y += m * (size_t)L;
        n -= m;
    }
}

void mn_interp_reset(mn_interp *q) { memset(q->w, 0, (size_t)(q->K - 1 + CHUNK) * sizeof *q->w); }

void mn_interp_destroy(mn_interp *q)
{
    if (!q) return;
    mn_free(q->g);
    mn_free(q->w);
    mn_free(q);
}

struct mn_decim {
    int M, n;
    long phase;        /* inputs consumed since reset, modulo M */
    float *hr;         /* reversed taps */
    float complex *w;  /* n-1 history + CHUNK */
};

mn_decim *mn_decim_create(int M, const float *h, int n)
{
    if (M < 1 || n < 1) {
        mn_error(MN_ERR_INVALID, "decim: factor M = %d and length n = %d must be >= 1", M, n);
        return NULL;
    }
    mn_decim *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->M = M;
    q->n = n;
    q->hr = mn_malloc((size_t)n * sizeof *q->hr);
    q->w = mn_calloc((size_t)(n - 1 + CHUNK), sizeof *q->w);
    if (!q->hr || !q->w) goto nomem;
    for (int k = 0; k < n; k++) q->hr[k] = h[n - 1 - k];
    return q;
nomem:
    mn_decim_destroy(q);
    mn_error(MN_ERR_NOMEM, "decim: buffers (M = %d, %d taps)", M, n);
    return NULL;
}

mn_decim *mn_decim_create_kaiser(int M, int m, double fc, double atten_db)
{
    if (M < 1 || m < 1) {
        mn_error(MN_ERR_INVALID, "decim: factor M = %d and half-length m = %d must be >= 1", M, m);
        return NULL;
    }
    int n = 2 * M * m + 1;
    float *h = mn_malloc((size_t)n * sizeof *h);
    if (!h) {
        mn_error(MN_ERR_NOMEM, "decim: prototype of %d taps", n);
        return NULL;
    }
    mn_decim *q = NULL;
    if (mn_fir_design_lowpass(h, n, fc, atten_db) == MN_OK) q = mn_decim_create(M, h, n);
    mn_free(h);
    return q;
}

size_t mn_decim_execute(mn_decim *q, float complex *y, const float complex *x, size_t n)
{
    size_t out = 0;
    int h1 = q->n - 1;
    while (n > 0) {
        size_t m = n < CHUNK ? n : CHUNK;
        memcpy(q->w + h1, x, m * sizeof *x);
        /* first index in this chunk whose absolute input index is a multiple of M */
        size_t t0 = (size_t)((q->M - q->phase) % q->M);
        for (size_t t = t0; t < m; t += (size_t)q->M) y[out++] = mn_dot_real(q->hr, q->w + t, q->n);
        q->phase = (long)((q->phase + (long)m) % q->M);
        memmove(q->w, q->w + m, (size_t)h1 * sizeof *q->w);
        x += m;
        n -= m;
    }
    return out;
}

void mn_decim_reset(mn_decim *q)
{
    q->phase = 0;
    memset(q->w, 0, (size_t)(q->n - 1 + CHUNK) * sizeof *q->w);
}

void mn_decim_destroy(mn_decim *q)
{
    if (!q) return;
    mn_free(q->hr);
    mn_free(q->w);
    mn_free(q);
}
