/* core/blas.c — one GEMM entry point.  With OpenBLAS (MN_HAVE_CBLAS) it calls cblas_sgemm,
 * pinned to one thread inside because mimonet parallelizes around it (and so results do not
 * depend on the thread count).  Without it, a portable blocked loop. */
#include "mimonet/core.h"

#ifdef MN_HAVE_CBLAS
#include <cblas.h>
void openblas_set_num_threads(int);
#endif

bool mn_have_blas(void)
{
#ifdef MN_HAVE_CBLAS
    return true;
#else
    return false;
#endif
}

#ifdef MN_HAVE_CBLAS
static void pin_blas_threads(void)
{
    static int done; /* benign race: every caller stores the same value */
    if (!done) {
        openblas_set_num_threads(1);
        done = 1;
    }
}
#endif

/* C[M,N] = alpha op(A)[M,K] op(B)[K,N] + beta C, row-major. */
void mn_sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
#ifdef MN_HAVE_CBLAS
    pin_blas_threads();
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    for (int i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < N; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < N; j++) c[j] *= beta;
        for (int k = 0; k < K; k++) {
            float a = alpha * (transA ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
            if (a == 0.0f) continue;
            if (!transB) {
                const float *b = B + (size_t)k * ldb;
                for (int j = 0; j < N; j++) c[j] += a * b[j];
            } else {
                for (int j = 0; j < N; j++) c[j] += a * B[(size_t)j * ldb + k];
            }
        }
    }
#endif
}
