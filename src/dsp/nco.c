/* dsp/nco.c — numerically controlled oscillator for frequency shifts.
 *
 * The phasor is e^{j 2 pi (f i + phi)}.  Every 32 samples its phase is recomputed exactly as
 * frac(phi + f i) in double and the phasor re-evaluated with cos/sin; in between it is advanced
 * by one complex multiplication with e^{j 2 pi f} in double.  The recursion's error is bounded
 * by a few ulp per step and is reset every 32 steps, so there is no long-term drift, and the
 * sequence is a fixed function of (f, phi, i): identical on every run. */
#include "mimonet/dsp.h"

#include <math.h>

#define RESYNC 32

struct mn_nco {
    double f, phi;     /* cycles/sample, cycles */
    uint64_t i;        /* sample counter */
    double complex p;  /* current phasor */
    double complex step;
};

static double complex phasor_at(const mn_nco *q, uint64_t i)
{
    /* f * i is exact enough in double: for i < 2^31 and |f| <= 1 its error is < 2^-22 ulp of 1 */
    double c = q->phi + q->f * (double)i;
    c -= floor(c);
    return CMPLX(cos(2.0 * M_PI * c), sin(2.0 * M_PI * c));
}

mn_nco *mn_nco_create(double f)
{
    if (!isfinite(f)) {
        mn_error(MN_ERR_INVALID, "nco: frequency %g cycles/sample is not finite", f);
        return NULL;
    }
    mn_nco *q = mn_calloc(1, sizeof *q);
    if (!q) {
        mn_error(MN_ERR_NOMEM, "nco");
        return NULL;
    }
    q->f = f;
    q->step = CMPLX(cos(2.0 * M_PI * f), sin(2.0 * M_PI * f));
    mn_nco_reset(q);
    return q;
}

void mn_nco_set_phase(mn_nco *q, double phi_cycles)
{
    q->phi = phi_cycles;
    q->p = phasor_at(q, q->i);
}

void mn_nco_reset(mn_nco *q)
{
    q->i = 0;
    q->p = phasor_at(q, 0);
}

static inline double complex next(mn_nco *q)
{
    double complex v = q->p;
    q->i++;
    q->p = (q->i % RESYNC == 0) ? phasor_at(q, q->i) : q->p * q->step;
    return v;
}

void mn_nco_mix_up(mn_nco *q, float complex *y, const float complex *x, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = (float complex)((double complex)x[k] * next(q));
}

void mn_nco_mix_down(mn_nco *q, float complex *y, const float complex *x, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = (float complex)((double complex)x[k] * conj(next(q)));
}

void mn_nco_generate(mn_nco *q, float complex *y, size_t n)
{
    for (size_t k = 0; k < n; k++) y[k] = (float complex)next(q);
}

void mn_nco_destroy(mn_nco *q) { mn_free(q); }
