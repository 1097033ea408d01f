/* src/csi/se_loss.c — the training loss of the end-to-end CSI system: DESIGN.md's sum spectral
 * efficiency as a differentiable function of an unnormalized precoder, and the per-subcarrier
 * power normalization with its backward.
 *
 * Notation, one subcarrier f (W scaled inside to total power P, as mn_csi_sum_se does):
 *   a_kj = g_k w_j (g_k the row of user k, w_j the column of user j), e = sum_j ||w_j||^2,
 *   c^2 = P / e,  D_k = sum_j |a_kj|^2,  N_k = D_k - |a_kk|^2,
 *   T_k = c^2 D_k + s2,  I_k = c^2 N_k + s2,  rate_k = log2(T_k / I_k) = log2(1 + SINR_k).
 * With the real gradient of a real function written as a complex number,
 *   grad_z f = df/dRe z + i df/dIm z = 2 df/d conj(z),
 *   grad_{w_j} |a_kj|^2 = 2 a_kj g_k^H,     grad_{w_j} c^2 = -2 (P / e^2) w_j,
 * so
 *   grad_{w_j} SE = 2 / (F ln 2) [ sum_k c^2 a_kj g_k^H (1/T_k - [j != k] / I_k)
 *                                  - (P / e^2) w_j sum_k (D_k / T_k - N_k / I_k) ].
 * Everything is computed in double; nothing allocates (K <= MN_CSI_MAX_USERS on the stack). */
#include "mimonet/csi_e2e.h"

#include <math.h>
#include <string.h>

#define LN2 0.69314718055994530942

static inline double abs2(double complex z) { return creal(z) * creal(z) + cimag(z) * cimag(z); }

/* One subcarrier: the rate sum and, when want_grad, the complex gradient factors:
 * coef[k * K + j] multiplies a_kj g_k^H in grad w_j, and *wcoef multiplies w_j.
 * a[K * K] receives a_kj (read back by the caller).  Returns the rate sum (bit/s/Hz). */
static double se_one(double complex *a, double *coef, double *wcoef, int K, double e, double P,
                     double s2, bool want_grad)
{
    const double c2 = P / e;
    double rate = 0.0, wsum = 0.0;
    for (int k = 0; k < K; k++) {
        double D = 0.0;
        for (int j = 0; j < K; j++) D += abs2(a[k * K + j]);
        const double N = D - abs2(a[k * K + k]);
        const double Tk = c2 * D + s2, Ik = c2 * (N > 0 ? N : 0.0) + s2;
        rate += log(Tk / Ik) / LN2;
        if (want_grad) {
            for (int j = 0; j < K; j++) coef[k * K + j] = c2 / Tk - (j != k ? c2 / Ik : 0.0);
            wsum += D / Tk - N / Ik;
        }
    }
    if (want_grad) *wcoef = -(P / (e * e)) * wsum;
    return rate;
}

double mn_csi_se_grad_d(double *dW, const double *W, const double complex *G, int K, int M, int F,
                        double P, double sigma2)
{
    if (K < 1 || K > MN_CSI_MAX_USERS || M < 1 || F < 1) return (double)NAN;
    double complex a[MN_CSI_MAX_USERS * MN_CSI_MAX_USERS];
    double coef[MN_CSI_MAX_USERS * MN_CSI_MAX_USERS], wcoef = 0.0;
    const size_t MF = (size_t)M * F;
    double total = 0.0;
    const double g2 = 2.0 / (F * LN2);
    for (int f = 0; f < F; f++) {
        double e = 0.0;
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) e += W[c * MF + (size_t)m * F + f] * W[c * MF + (size_t)m * F + f];
        if (!(e > 0.0)) {
            if (dW)
                for (int c = 0; c < 2 * K; c++)
                    for (int m = 0; m < M; m++) dW[c * MF + (size_t)m * F + f] = 0.0;
            continue;
        }
        for (int k = 0; k < K; k++)
            for (int j = 0; j < K; j++) {
                double complex s = 0;
                for (int m = 0; m < M; m++)
                    s += G[(size_t)k * MF + (size_t)m * F + f] *
                         CMPLX(W[2 * j * MF + (size_t)m * F + f], W[(2 * j + 1) * MF + (size_t)m * F + f]);
                a[k * K + j] = s;
            }
        total += se_one(a, coef, &wcoef, K, e, P, sigma2, dW != NULL);
        if (!dW) continue;
        for (int j = 0; j < K; j++)
            for (int m = 0; m < M; m++) {
                const size_t ir = 2 * j * MF + (size_t)m * F + f, ii = ir + MF;
                double complex gr = wcoef * CMPLX(W[ir], W[ii]);
                for (int k = 0; k < K; k++) gr += coef[k * K + j] * a[k * K + j] * conj(G[(size_t)k * MF + (size_t)m * F + f]);
                dW[ir] = g2 * creal(gr);
                dW[ii] = g2 * cimag(gr);
            }
    }
    return total / F;
}

double mn_csi_se_grad(float *dW, float scale, const float *W, const float complex *G, int K, int M,
                      int F, double P, double sigma2)
{
    if (K < 1 || K > MN_CSI_MAX_USERS || M < 1 || F < 1) return (double)NAN;
    double complex a[MN_CSI_MAX_USERS * MN_CSI_MAX_USERS];
    double coef[MN_CSI_MAX_USERS * MN_CSI_MAX_USERS], wcoef = 0.0;
    const size_t MF = (size_t)M * F;
    double total = 0.0;
    const double g2 = 2.0 * (double)scale / (F * LN2);
    for (int f = 0; f < F; f++) {
        double e = 0.0;
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) {
                double v = (double)W[c * MF + (size_t)m * F + f];
                e += v * v;
            }
        if (!(e > 0.0)) continue;
        for (int k = 0; k < K; k++)
            for (int j = 0; j < K; j++) {
                double complex s = 0;
                for (int m = 0; m < M; m++) {
                    const float complex g = G[(size_t)k * MF + (size_t)m * F + f];
                    s += CMPLX((double)crealf(g), (double)cimagf(g)) *
                         CMPLX((double)W[2 * j * MF + (size_t)m * F + f], (double)W[(2 * j + 1) * MF + (size_t)m * F + f]);
                }
                a[k * K + j] = s;
            }
        total += se_one(a, coef, &wcoef, K, e, P, sigma2, dW != NULL);
        if (!dW) continue;
        for (int j = 0; j < K; j++)
            for (int m = 0; m < M; m++) {
                const size_t ir = 2 * j * MF + (size_t)m * F + f, ii = ir + MF;
                double complex gr = wcoef * CMPLX((double)W[ir], (double)W[ii]);
                for (int k = 0; k < K; k++) {
                    const float complex g = G[(size_t)k * MF + (size_t)m * F + f];
                    gr += coef[k * K + j] * a[k * K + j] * CMPLX((double)crealf(g), -(double)cimagf(g));
                }
                dW[ir] += (float)(g2 * creal(gr));
                dW[ii] += (float)(g2 * cimag(gr));
            }
    }
    return total / F;
}

/* ---------------------------------------------------------------- power normalization */

static double sub_energy(const float *in, int K, int M, int F, int f)
{
    const size_t MF = (size_t)M * F;
    double e = 0.0;
    for (int c = 0; c < 2 * K; c++)
        for (int m = 0; m < M; m++) {
            double v = (double)in[c * MF + (size_t)m * F + f];
            e += v * v;
        }
    return e;
}

void mn_csi_pnorm_forward(float *out, const float *in, int K, int M, int F, double P)
{
    const size_t MF = (size_t)M * F;
    for (int f = 0; f < F; f++) {
        double e = sub_energy(in, K, M, F, f);
        double s = e > 0.0 ? sqrt(P / e) : 0.0;
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) {
                size_t i = c * MF + (size_t)m * F + f;
                out[i] = (float)(s * (double)in[i]);
            }
    }
}

void mn_csi_pnorm_backward(float *din, const float *dout, const float *in, int K, int M, int F,
                           double P)
{
    const size_t MF = (size_t)M * F;
    for (int f = 0; f < F; f++) {
        double e = sub_energy(in, K, M, F, f);
        if (!(e > 0.0)) continue;
        const double nrm = sqrt(e);
        double ud = 0.0; /* u . dout */
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) {
                size_t i = c * MF + (size_t)m * F + f;
                ud += (double)in[i] / nrm * (double)dout[i];
            }
        const double s = sqrt(P) / nrm;
        for (int c = 0; c < 2 * K; c++)
            for (int m = 0; m < M; m++) {
                size_t i = c * MF + (size_t)m * F + f;
                din[i] += (float)(s * ((double)dout[i] - (double)in[i] / nrm * ud));
            }
    }
}
