/* src/csi/rzf_head.c — the model-based precoder head of the end-to-end system (mn_e2e_cfg.head):
 * the precoder networks output a channel estimate H^ instead of a precoder, and the precoder is
 * regularized zero forcing of it, per subcarrier,
 *     W = H^^H C,   C = (H^ H^^H + alpha I)^-1,
 * with its exact backward.  For a real loss L with dL = Re tr(G^H dW) (G = dL/dRe W + i dL/dIm W,
 * M x K), dW = dH^^H C + H^^H dC and dC = -C (dH^ H^^H + H^ dH^^H) C give
 *     dL/dRe H^ + i dL/dIm H^ = C G^H - (E^H C + C E) H^,   E = G^H W   (K x K),
 * so one K x K inverse per subcarrier serves both directions.  Layouts are the precoder nets':
 * [2K][M][F] reals, channel 2k = Re row k, 2k + 1 = Im row k, position m F + f. */
#include "csi_internal.h"

#include <string.h>

#include "mimonet/csi_e2e.h"

size_t mn_csi_rzf_head_ws(int K, int M) { return (size_t)2 * K * M + (size_t)4 * K * K; }

/* Gather subcarrier f of the real layout into Hf (K x M, row-major). */
static void gather(double complex *Hf, const float *H, int K, int M, int F, int f)
{
    const size_t MF = (size_t)M * F;
    for (int k = 0; k < K; k++) {
        const float *re = H + (2 * (size_t)k) * MF + f, *im = H + (2 * (size_t)k + 1) * MF + f;
        for (int m = 0; m < M; m++) Hf[(size_t)k * M + m] = CMPLX((double)re[(size_t)m * F], (double)im[(size_t)m * F]);
    }
}

/* C = (Hf Hf^H + alpha I)^-1 into C (K x K); A is K x K scratch.  Hermitian positive definite
 * for alpha > 0, so the pivoted solve cannot fail unless alpha underflows against the entries. */
static int inverse(double complex *C, double complex *A, const double complex *Hf, int K, int M, double alpha)
{
    csi_rzf_system(A, C, Hf, K, M, alpha);
    if (K == 1) { /* the common single-user case, and exact */
        if (!(creal(A[0]) > 0.0) || !isfinite(creal(A[0]))) return -1;
        C[0] = 1.0 / creal(A[0]);
        return 0;
    }
    return csi_zsolve(A, C, K, K);
}

int mn_csi_rzf_head_forward(float *W, const float *H, int K, int M, int F, double alpha, double complex *ws)
{
    const size_t MF = (size_t)M * F;
    double complex *Hf = ws, *C = ws + (size_t)K * M, *A = C + (size_t)K * K;
    for (int f = 0; f < F; f++) {
        gather(Hf, H, K, M, F, f);
        if (inverse(C, A, Hf, K, M, alpha) != 0) return -1;
        for (int k = 0; k < K; k++) { /* w_k[m] = sum_i conj(H^[i][m]) C[i][k] */
            float *re = W + (2 * (size_t)k) * MF + f, *im = W + (2 * (size_t)k + 1) * MF + f;
            for (int m = 0; m < M; m++) {
                double complex s = 0;
                for (int i = 0; i < K; i++) s += conj(Hf[(size_t)i * M + m]) * C[i * K + k];
                re[(size_t)m * F] = (float)creal(s);
                im[(size_t)m * F] = (float)cimag(s);
            }
        }
    }
    return 0;
}

int mn_csi_rzf_head_backward(float *dH, const float *dW, const float *H, int K, int M, int F, double alpha,
                             double complex *ws)
{
    const size_t MF = (size_t)M * F;
    double complex *Hf = ws, *G = ws + (size_t)K * M, *C = G + (size_t)K * M, *A = C + (size_t)K * K,
                   *E = A + (size_t)K * K, *Q = E + (size_t)K * K;
    for (int f = 0; f < F; f++) {
        gather(Hf, H, K, M, F, f);
        gather(G, dW, K, M, F, f); /* G^T: row k holds column k of G */
        if (inverse(C, A, Hf, K, M, alpha) != 0) return -1;
        /* E[i][j] = sum_m conj(G[m][i]) W[m][j],  W[m][j] = sum_l conj(H^[l][m]) C[l][j] */
        for (int i = 0; i < K; i++)
            for (int l = 0; l < K; l++) { /* A <- (G^H H^^H)[i][l] = sum_m conj(G[m][i] H^[l][m]) */
                double complex s = 0;
                for (int m = 0; m < M; m++) s += conj(G[(size_t)i * M + m] * Hf[(size_t)l * M + m]);
                A[i * K + l] = s;
            }
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double complex s = 0;
                for (int l = 0; l < K; l++) s += A[i * K + l] * C[l * K + j];
                E[i * K + j] = s;
            }
        /* Q = E^H C + C E */
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double complex s = 0;
                for (int l = 0; l < K; l++) s += conj(E[l * K + i]) * C[l * K + j] + C[i * K + l] * E[l * K + j];
                Q[i * K + j] = s;
            }
        /* dH^[i][m] = sum_j C[i][j] conj(G[m][j]) - sum_j Q[i][j] H^[j][m] */
        for (int i = 0; i < K; i++) {
            float *re = dH + (2 * (size_t)i) * MF + f, *im = dH + (2 * (size_t)i + 1) * MF + f;
            for (int m = 0; m < M; m++) {
                double complex s = 0;
                for (int j = 0; j < K; j++)
                    s += C[i * K + j] * conj(G[(size_t)j * M + m]) - Q[i * K + j] * Hf[(size_t)j * M + m];
                re[(size_t)m * F] = (float)creal(s);
                im[(size_t)m * F] = (float)cimag(s);
            }
        }
    }
    return 0;
}
