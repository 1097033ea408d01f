/* pim/sim_junction.c — passive PIM junctions in first-zone baseband form, with memory.
 *
 * A junction is a real, memoryless I-V curve i = a f(b V) driven by the RF voltage
 * V(t) = Re{v(t) e^{j w0 t}} = A cos(theta), A = |v|, theta = w0 t + arg v.  Its output near w0
 * (the first zone, which holds the carriers and all odd-order intermodulation products that
 * fall near them, IM3 at 2 f1 - f2 included) is the first Fourier coefficient in theta:
 *   i_1(A) = (1/pi) int_0^{2 pi} a f(b A cos t) cos t dt,     y = i_1(|v|) v / |v|
 * (the describing-function / "bandpass nonlinearity" result, e.g. Blachman 1964, and
 * Benedetto, Biglieri & Castellani, Digital Transmission Theory, 1987, §5.5).
 *
 *   tunnel (MIM junction, Simmons 1963: i = a sinh(b V)).  From the generating function
 *     e^{z cos t} = I0(z) + 2 sum_k I_k(z) cos(k t)  (A&S 9.6.34),
 *     sinh(z cos t) = 2 sum_{k odd} I_k(z) cos(k t),  so  F(r) = 2 I1(r),  r = b|v|,
 *     and y = a 2 I1(b|v|) v/|v| = a b G(r) v with G(r) = 2 I1(r)/r = sum_k (r^2/4)^k/(k!(k+1)!).
 *     Small-signal: 2 I1(r) = r + r^3/8 + r^5/192 + ...: the cubic term a b^3 |v|^2 v / 8
 *     equals the first-zone 3/4 of sinh's (bV)^3/6 term, as it must.
 *   contact (soft saturation, i = a tanh(b V)): F(r) = (1/pi) int tanh(r cos t) cos t dt has no
 *     closed form; H(r) = (F(r)/r - 1)/r^2 (smooth, -1/4 at 0, so the cubic term stays exact at
 *     small drive) is tabulated once on r in [0, 32] (step 1/128) by the midpoint rule on the
 *     quarter period (exponentially accurate for this periodic analytic integrand; 256 nodes
 *     reach ~1e-15 at r = 32) and linearly interpolated (relative error ~1e-5); larger r is
 *     integrated directly.
 *     Small-signal: tanh z = z - z^3/3 gives F(r) = r - r^3/4.
 *   cubic (reference): y = a b^3 |v|^2 v, G(r) = r^2.
 *
 * The linear part of tunnel and contact (G(0) = 1: a b v, a linear reflection at the DL
 * frequencies that the duplexer rejects) is subtracted unless keep_linear, which also spares
 * the receive filter from rejecting a carrier-level signal.  The pre- and post-filters (short
 * complex FIRs at the oversampled rate) give the junction its memory. */
#include "mimonet/pim.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "mimonet/dsp.h"

const char *mn_pim_junction_name(mn_pim_junction_kind k)
{
    switch (k) {
    case MN_PIM_JUNCTION_MIXED: return "mixed";
    case MN_PIM_JUNCTION_TUNNEL: return "tunnel";
    case MN_PIM_JUNCTION_CONTACT: return "contact";
    case MN_PIM_JUNCTION_CUBIC: return "cubic";
    }
    return "unknown";
}

int mn_pim_junction_from_name(const char *name)
{
    for (int k = MN_PIM_JUNCTION_MIXED; k <= MN_PIM_JUNCTION_CUBIC; k++)
        if (!strcmp(name, mn_pim_junction_name((mn_pim_junction_kind)k))) return k;
    return -1;
}

/* ---------------------------------------------------------------- tunnel: series for G */

#define TUNNEL_TERMS 16
static double tunnel_c[TUNNEL_TERMS + 1]; /* 1 / (k! (k+1)!) */

/* ---------------------------------------------------------------- contact: tabulated F */

#define CONTACT_RMAX 32.0
#define CONTACT_STEP (1.0 / 128.0)
#define CONTACT_N 4097 /* RMAX / STEP + 1 */
static double contact_h[CONTACT_N]; /* (F(r)/r - 1) / r^2, -> -1/4 as r -> 0 */

/* F(r) for tanh by the midpoint rule on a quarter period: the integrand g(t) =
 * tanh(r cos t) cos t satisfies g(-t) = g(t) = g(pi - t), so with N = 4 Q midpoints,
 * (1/pi) int_0^{2 pi} g = (2/N) sum g(t_i) = (2/Q) sum_{i<Q} g((i + 1/2) pi / (2 Q)). */
static double contact_quad(double r)
{
    int Q = r < 32 ? 256 : (int)ceil(8 * r);
    double s = 0;
    for (int i = 0; i < Q; i++) {
        double c = cos((i + 0.5) * M_PI / (2.0 * Q));
        s += tanh(r * c) * c;
    }
    return 2.0 * s / Q;
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void tables_init(void)
{
    double f = 1.0;
    for (int k = 0; k <= TUNNEL_TERMS; k++) {
        if (k > 0) f *= (double)k;
        tunnel_c[k] = 1.0 / (f * f * (double)(k + 1)); /* 1/(k! k! (k+1)) = 1/(k!(k+1)!) */
    }
    contact_h[0] = -0.25; /* tanh z = z - z^3/3 + ...: F(r) = r - r^3/4 + O(r^5) */
    for (int i = 1; i < CONTACT_N; i++) {
        double r = i * CONTACT_STEP;
        contact_h[i] = (contact_quad(r) / r - 1.0) / (r * r);
    }
}

/* G(r) - 1 for tunnel (the nonlinear part of 2 I1(r)/r). */
static inline double tunnel_gm1(double r)
{
    if (r <= 4.0) {
        double q = 0.25 * r * r, s = tunnel_c[TUNNEL_TERMS];
        for (int k = TUNNEL_TERMS - 1; k >= 1; k--) s = s * q + tunnel_c[k];
        return s * q;
    }
    return 2.0 * mn_bessel_i1(r) / r - 1.0;
}

static inline double contact_gm1(double r)
{
    if (r < CONTACT_RMAX) {
        double x = r / CONTACT_STEP;
        int i = (int)x;
        double t = x - i;
        return r * r * (contact_h[i] + t * (contact_h[i + 1] - contact_h[i]));
    }
    return contact_quad(r) / r - 1.0;
}

/* G(r) = F(r)/r with the linear part removed unless `lin`. */
static inline double junction_g(mn_pim_junction_kind kind, double r, bool lin)
{
    switch (kind) {
    case MN_PIM_JUNCTION_TUNNEL: return tunnel_gm1(r) + (lin ? 1.0 : 0.0);
    case MN_PIM_JUNCTION_CONTACT: return contact_gm1(r) + (lin ? 1.0 : 0.0);
    case MN_PIM_JUNCTION_CUBIC: return r * r;
    default: return 0.0;
    }
}

double mn_pim_junction_describe(mn_pim_junction_kind kind, double r)
{
    pthread_once(&tables_once, tables_init);
    if (kind == MN_PIM_JUNCTION_MIXED || !(r >= 0)) return (double)NAN;
    return r * junction_g(kind, r, kind != MN_PIM_JUNCTION_CUBIC);
}

/* ---------------------------------------------------------------- the object */

struct mn_pim_junction {
    mn_pim_junction_kind kind;
    double a, b;
    bool keep_linear;
    mn_firfilt *pre, *post;
};

mn_pim_junction *mn_pim_junction_create(const mn_pim_junction_cfg *c)
{
    pthread_once(&tables_once, tables_init);
    if (!c || c->kind < MN_PIM_JUNCTION_TUNNEL || c->kind > MN_PIM_JUNCTION_CUBIC) {
        mn_error(MN_ERR_INVALID, "junction: kind must be tunnel, contact or cubic");
        return NULL;
    }
    if (!(c->a > 0 && c->b > 0 && isfinite(c->a) && isfinite(c->b))) {
        mn_error(MN_ERR_INVALID, "junction: scales a = %g and b = %g must be finite and > 0", c->a,
                 c->b);
        return NULL;
    }
    if ((c->pre && c->n_pre < 1) || (c->post && c->n_post < 1)) {
        mn_error(MN_ERR_INVALID, "junction: filter taps given with a length < 1");
        return NULL;
    }
    mn_pim_junction *q = mn_calloc(1, sizeof *q);
    if (!q) {
        mn_error(MN_ERR_NOMEM, "junction");
        return NULL;
    }
    q->kind = c->kind;
    q->a = c->a;
    q->b = c->b;
    q->keep_linear = c->keep_linear;
    if (c->pre && !(q->pre = mn_firfilt_create(c->pre, c->n_pre))) goto fail;
    if (c->post && !(q->post = mn_firfilt_create(c->post, c->n_post))) goto fail;
    return q;
fail:
    mn_pim_junction_destroy(q);
    return NULL;
}

void mn_pim_junction_execute_mod(mn_pim_junction *q, float complex *y, const float complex *v,
                                 size_t n, const float *ga, const float *gb)
{
    if (q->pre) mn_firfilt_execute(q->pre, y, v, n);
    else if (y != v) memmove(y, v, n * sizeof *y);
    bool lin = q->keep_linear;
    for (size_t i = 0; i < n; i++) {
        double b = gb ? q->b * (double)gb[i] : q->b;
        double a = ga ? q->a * (double)ga[i] : q->a;
        double re = (double)crealf(y[i]), im = (double)cimagf(y[i]);
        double r = b * sqrt(re * re + im * im);
        double g = a * b * junction_g(q->kind, r, lin);
        y[i] = CMPLXF((float)(g * re), (float)(g * im));
    }
    if (q->post) mn_firfilt_execute(q->post, y, y, n);
}

void mn_pim_junction_execute(mn_pim_junction *q, float complex *y, const float complex *v, size_t n)
{
    mn_pim_junction_execute_mod(q, y, v, n, NULL, NULL);
}

void mn_pim_junction_reset(mn_pim_junction *q)
{
    if (q->pre) mn_firfilt_reset(q->pre);
    if (q->post) mn_firfilt_reset(q->post);
}

void mn_pim_junction_destroy(mn_pim_junction *q)
{
    if (!q) return;
    mn_firfilt_destroy(q->pre);
    mn_firfilt_destroy(q->post);
    mn_free(q);
}
