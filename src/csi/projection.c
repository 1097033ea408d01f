/* src/csi/projection.c — the CSI-RS defined by the projection net's three matrices, the UE's
 * noisy observation of it, and the backward of both (docs/csi_e2e.md, section 2).
 *
 * Per drop, from the raw column praw of the projection net:
 *   A [M x Nb]   (beam domain)       A[m, b]  = praw[(2b) M + m]      + i praw[(2b + 1) M + m]
 *   Phi [F x L]  (frequency domain)  Phi[f, l] = praw[oF + (2l) F + f] + i praw[oF + (2l + 1) F + f]
 *   Pi [Nb x L]  (port domain)       Pi[b, l]  = praw[oP + 2(b L + l)] + i praw[oP + 2(b L + l) + 1]
 * with oF = 2 Nb M, oP = oF + 2 L F.  Pilots (port l on antenna m, subcarrier f):
 *   X = A Pi,   X~[:, l] = sqrt(P) X[:, l] / ||X[:, l]||,   Phi~[:, l] = sqrt(F) Phi[:, l] / ||Phi[:, l]||,
 *   x_l[m, f] = Phi~[f, l] X~[m, l]   (energy F P per pilot symbol: power P per subcarrier).
 * UE k observes each pilot symbol on every subcarrier, y_lf = g_kf x_l[:, f] + n_lf, and sums
 * them over each of Nc contiguous subbands S_c = [c F / Nc, (c + 1) F / Nc) (the 1/sqrt|S_c|
 * normalization keeps the noise CN(0, sigma2)):
 *   y_k[l, c] = |S_c|^-1/2 sum_{f in S_c} Phi~[f, l] t_k[f, l] + n,  t_k[f, l] = sum_m G[k, m, f] X~[m, l],
 * stored at y[k][l][c][re, im].
 *
 * Backward (grad z = dL/dRe z + i dL/dIm z; for a holomorphic y = c z, grad z = conj(c) grad y;
 * c(f) is the subband of f):
 *   grad Phi~[f, l] = |S_c(f)|^-1/2 sum_k conj(t_k[f, l]) gy_k[l, c(f)]
 *   grad X~[m, l]   = sum_k sum_c |S_c|^-1/2 gy_k[l, c] sum_{f in S_c} conj(Phi~[f, l] G[k, m, f])
 *   v~ = s v / ||v||:  grad v = (s / ||v||) (grad v~ - u Re(u^H grad v~)),  u = v / ||v||
 *   grad A = grad X Pi^H,   grad Pi = A^H grad X.
 * Arithmetic in double, storage in float complex; nothing allocates. */
#include "e2e_internal.h"

#include <math.h>
#include <string.h>

/* First subcarrier of subband c of Nc over F subcarriers (contiguous; sub_lo(Nc) = F). */
static inline int sub_lo(int c, int F, int Nc) { return (int)((long)c * F / Nc); }

/* The UE's gradient of observation (l, c) of user k, as a complex number. */
static inline double complex gy_at(const mn_e2e *e, const float *dy, int k, int l, int c)
{
    const float *g = dy + (size_t)k * e->ny + 2 * ((size_t)l * e->Nc + c);
    return CMPLX((double)g[0], (double)g[1]);
}

static inline double complex c2d(float complex z) { return CMPLX((double)crealf(z), (double)cimagf(z)); }
static inline float complex d2c(double complex z) { return CMPLXF((float)creal(z), (float)cimag(z)); }

/* Column norms of an [n x L] matrix, floored so that an all-zero column stays finite. */
static double col_norm(const float complex *V, int n, int L, int l)
{
    double s = 0.0;
    for (int i = 0; i < n; i++) {
        double complex v = c2d(V[(size_t)i * L + l]);
        s += creal(v) * creal(v) + cimag(v) * cimag(v);
    }
    s = sqrt(s);
    return s > 1e-30 ? s : 1e-30;
}

void csi_e2e_obs_forward(mn_e2e *e, int b, const float *praw, const float complex *Gcsi, float *y)
{
    const int K = e->cfg.K, M = e->cfg.M, F = e->cfg.F, L = e->L, Nb = e->Nb;
    const int oF = 2 * Nb * M, oP = oF + 2 * L * F;
    float complex *A = e->A + (size_t)b * M * Nb, *Pi = e->Pi + (size_t)b * Nb * L;
    float complex *Phi = e->Phi + (size_t)b * F * L, *X = e->X + (size_t)b * M * L;
    float complex *Xt = e->Xt + (size_t)b * M * L, *Pt = e->Phit + (size_t)b * F * L;
    float complex *tp = e->tproj + (size_t)b * K * F * L;
    float *xn = e->xnorm + (size_t)b * L, *pn = e->phinorm + (size_t)b * L;
    for (int m = 0; m < M; m++)
        for (int j = 0; j < Nb; j++) A[(size_t)m * Nb + j] = CMPLXF(praw[(2 * j) * M + m], praw[(2 * j + 1) * M + m]);
    for (int f = 0; f < F; f++)
        for (int l = 0; l < L; l++)
            Phi[(size_t)f * L + l] = CMPLXF(praw[oF + (2 * l) * F + f], praw[oF + (2 * l + 1) * F + f]);
    for (int j = 0; j < Nb; j++)
        for (int l = 0; l < L; l++)
            Pi[(size_t)j * L + l] = CMPLXF(praw[oP + 2 * (j * L + l)], praw[oP + 2 * (j * L + l) + 1]);
    for (int m = 0; m < M; m++)
        for (int l = 0; l < L; l++) {
            double complex s = 0;
            for (int j = 0; j < Nb; j++) s += c2d(A[(size_t)m * Nb + j]) * c2d(Pi[(size_t)j * L + l]);
            X[(size_t)m * L + l] = d2c(s);
        }
    const double sP = sqrt(e->cfg.P), sF = sqrt((double)F);
    for (int l = 0; l < L; l++) {
        double nx = col_norm(X, M, L, l), np = col_norm(Phi, F, L, l);
        xn[l] = (float)nx;
        pn[l] = (float)np;
        for (int m = 0; m < M; m++) Xt[(size_t)m * L + l] = d2c(sP / nx * c2d(X[(size_t)m * L + l]));
        for (int f = 0; f < F; f++) Pt[(size_t)f * L + l] = d2c(sF / np * c2d(Phi[(size_t)f * L + l]));
    }
    const int Nc = e->Nc;
    for (int k = 0; k < K; k++)
        for (int l = 0; l < L; l++)
            for (int c = 0; c < Nc; c++) {
                const int f0 = sub_lo(c, F, Nc), f1 = sub_lo(c + 1, F, Nc);
                double complex acc = 0;
                for (int f = f0; f < f1; f++) {
                    double complex s = 0;
                    for (int m = 0; m < M; m++)
                        s += c2d(Gcsi[((size_t)k * M + m) * F + f]) * c2d(Xt[(size_t)m * L + l]);
                    tp[((size_t)k * F + f) * L + l] = d2c(s);
                    acc += c2d(Pt[(size_t)f * L + l]) * s;
                }
                acc /= sqrt((double)(f1 - f0));
                float *yo = y + (size_t)k * e->ny + 2 * ((size_t)l * Nc + c);
                yo[0] += (float)creal(acc);
                yo[1] += (float)cimag(acc);
            }
}

void csi_e2e_obs_backward(mn_e2e *e, int b, float *dpraw, const float *dy, const float complex *Gcsi)
{
    const int K = e->cfg.K, M = e->cfg.M, F = e->cfg.F, L = e->L, Nb = e->Nb;
    const int oF = 2 * Nb * M, oP = oF + 2 * L * F;
    const float complex *A = e->A + (size_t)b * M * Nb, *Pi = e->Pi + (size_t)b * Nb * L;
    const float complex *Phi = e->Phi + (size_t)b * F * L, *X = e->X + (size_t)b * M * L;
    const float complex *Pt = e->Phit + (size_t)b * F * L;
    const float complex *tp = e->tproj + (size_t)b * K * F * L;
    const float *xn = e->xnorm + (size_t)b * L, *pn = e->phinorm + (size_t)b * L;
    const double sP = sqrt(e->cfg.P), sF = sqrt((double)F);
    double complex *gx = e->gx + (size_t)b * M; /* grad X~[:, l], one column at a time */
    memset(dpraw, 0, sizeof(float) * (size_t)e->proj_len);
    const int Nc = e->Nc;
    for (int l = 0; l < L; l++) {
        /* Phi: grad Phi~[f, l] = |S_c|^-1/2 sum_k conj(t_k[f, l]) gy_k[l, c(f)], u . grad over the
         * column, then the normalization backward */
        double ud = 0.0;
        for (int c = 0; c < Nc; c++) {
            const int f0 = sub_lo(c, F, Nc), f1 = sub_lo(c + 1, F, Nc);
            const double is = 1.0 / sqrt((double)(f1 - f0));
            for (int f = f0; f < f1; f++) {
                double complex g = 0;
                for (int k = 0; k < K; k++) g += conj(c2d(tp[((size_t)k * F + f) * L + l])) * gy_at(e, dy, k, l, c);
                g *= is;
                ud += creal(conj(c2d(Phi[(size_t)f * L + l])) * g) / (double)pn[l];
                dpraw[oF + (2 * l) * F + f] = (float)creal(g); /* grad Phi~ for now */
                dpraw[oF + (2 * l + 1) * F + f] = (float)cimag(g);
            }
        }
        for (int f = 0; f < F; f++) {
            double complex g = CMPLX((double)dpraw[oF + (2 * l) * F + f], (double)dpraw[oF + (2 * l + 1) * F + f]);
            double complex u = c2d(Phi[(size_t)f * L + l]) / (double)pn[l];
            double complex gv = sF / (double)pn[l] * (g - u * ud);
            dpraw[oF + (2 * l) * F + f] = (float)creal(gv);
            dpraw[oF + (2 * l + 1) * F + f] = (float)cimag(gv);
        }
        /* X: grad X~[m, l], u . grad, normalization backward, then A and Pi */
        double uxd = 0.0;
        for (int m = 0; m < M; m++) {
            double complex g = 0;
            for (int k = 0; k < K; k++)
                for (int c = 0; c < Nc; c++) {
                    const int f0 = sub_lo(c, F, Nc), f1 = sub_lo(c + 1, F, Nc);
                    double complex s = 0;
                    for (int f = f0; f < f1; f++) s += c2d(Pt[(size_t)f * L + l]) * c2d(Gcsi[((size_t)k * M + m) * F + f]);
                    g += conj(s) * gy_at(e, dy, k, l, c) / sqrt((double)(f1 - f0));
                }
            gx[m] = g;
            uxd += creal(conj(c2d(X[(size_t)m * L + l])) * gx[m]) / (double)xn[l];
        }
        for (int m = 0; m < M; m++) {
            double complex u = c2d(X[(size_t)m * L + l]) / (double)xn[l];
            double complex gX = sP / (double)xn[l] * (gx[m] - u * uxd);
            for (int j = 0; j < Nb; j++) {
                double complex ga = gX * conj(c2d(Pi[(size_t)j * L + l]));  /* grad A = grad X Pi^H */
                dpraw[(2 * j) * M + m] += (float)creal(ga);
                dpraw[(2 * j + 1) * M + m] += (float)cimag(ga);
                double complex gp = conj(c2d(A[(size_t)m * Nb + j])) * gX; /* grad Pi = A^H grad X */
                dpraw[oP + 2 * (j * L + l)] += (float)creal(gp);
                dpraw[oP + 2 * (j * L + l) + 1] += (float)cimag(gp);
            }
        }
    }
}
