/* dsp/fft.c — FFT plans over FFTW3 single precision (fftwf).
 *
 * Each plan owns 64-byte aligned input/output buffers; _execute copies in, runs the plan and
 * copies out, so callers may pass any (even unaligned or aliased) arrays.  Plans are made with
 * FFTW_ESTIMATE, which never times candidate algorithms, so the chosen plan — and with it every
 * output bit — is the same on every run.  FFTW's planner is not thread-safe: creation and
 * destruction hold a process-wide mutex; execution does not need it. */
#include "mimonet/dsp.h"

#include <fftw3.h>
#include <pthread.h>
#include <string.h>

struct mn_fft {
    int n;
    mn_fft_dir dir;
    fftwf_complex *in, *out;
    fftwf_plan plan;
};

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

mn_fft *mn_fft_create(int n, mn_fft_dir dir)
{
    if (n < 1) {
        mn_error(MN_ERR_INVALID, "fft: size n = %d must be >= 1", n);
        return NULL;
    }
    if (dir != MN_FFT_FORWARD && dir != MN_FFT_BACKWARD) {
        mn_error(MN_ERR_INVALID, "fft: direction %d is neither forward nor backward", (int)dir);
        return NULL;
    }
    mn_fft *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->n = n;
    q->dir = dir;
    q->in = mn_calloc((size_t)n, sizeof(fftwf_complex));
    q->out = mn_calloc((size_t)n, sizeof(fftwf_complex));
    if (!q->in || !q->out) goto nomem;
    pthread_mutex_lock(&planner_lock);
    q->plan = fftwf_plan_dft_1d(n, q->in, q->out, dir == MN_FFT_FORWARD ? FFTW_FORWARD : FFTW_BACKWARD,
                                FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!q->plan) {
        mn_fft_destroy(q);
        mn_error(MN_ERR_NOMEM, "fft: FFTW could not plan a %d-point transform", n);
        return NULL;
    }
    return q;
nomem:
    mn_fft_destroy(q);
    mn_error(MN_ERR_NOMEM, "fft: buffers for a %d-point transform", n);
    return NULL;
}

void mn_fft_execute(mn_fft *q, float complex *y, const float complex *x)
{
    size_t bytes = (size_t)q->n * sizeof(fftwf_complex);
    memcpy(q->in, x, bytes);
    fftwf_execute(q->plan);
    memcpy(y, q->out, bytes);
}

int mn_fft_size(const mn_fft *q) { return q->n; }

void mn_fft_destroy(mn_fft *q)
{
    if (!q) return;
    if (q->plan) {
        pthread_mutex_lock(&planner_lock);
        fftwf_destroy_plan(q->plan);
        pthread_mutex_unlock(&planner_lock);
    }
    mn_free(q->in);
    mn_free(q->out);
    mn_free(q);
}
