/* src/csi/csi_internal.h — helpers shared by the files of module csi (not public API): small
 * dense complex linear algebra in double precision, and float <-> double complex conversion.
 *
 * Matrices are row-major double complex; n is at most a few hundred (antennas) and usually
 * K <= 16 (users), so plain O(n^3) loops are adequate and keep the module free of LAPACK. */
#ifndef MIMONET_CSI_INTERNAL_H
#define MIMONET_CSI_INTERNAL_H

#include <complex.h>
#include <math.h>

#include "mimonet/csi.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define CSI_C0 299792458.0 /* speed of light [m/s] */

static inline double complex csi_c2d(float complex z) { return CMPLX((double)crealf(z), (double)cimagf(z)); }
static inline float complex csi_d2c(double complex z) { return CMPLXF((float)creal(z), (float)cimag(z)); }
static inline double csi_abs2(double complex z) { return creal(z) * creal(z) + cimag(z) * cimag(z); }
static inline double complex csi_expj(double ph) { return CMPLX(cos(ph), sin(ph)); }

/* ---------------------------------------------------------------- the channel object */

struct mn_csi_chan {
    mn_csi_chan_cfg cfg;
    int M, K, Nr;       /* BS antennas, users, UE antennas */
    int max_rays;       /* per user */
    int max_cl;         /* clusters (delay groups) per user */
    /* CDL working table: normalized linear powers (after any K-factor scaling, 7.7.6) and
     * delays in seconds (scaled by the desired delay spread, 7.7.3) */
    const mn_csi_cdl_table *tab;
    double tab_pw[MN_CSI_CDL_MAX_ENTRIES];
    double tab_tau[MN_CSI_CDL_MAX_ENTRIES];
    /* the drop */
    mn_csi_ray *rays;   /* [K][max_rays] */
    int *n_rays;        /* [K] */
    int *n_cl;          /* [K] */
    double *tau;        /* [K][max_cl] cluster delays [s] */
    double *travel_az;  /* [K] direction of travel [rad] */
    bool drawn;
    /* grid and workspace */
    double *freqs;      /* [n_sc] */
    double complex *Gc; /* [max_cl][Nr][M] per-cluster spatial response */
    double complex *E;  /* [max_cl][n_sc] delay phasors */
    double complex *txv; /* [M + bs_nv] BS response and its vertical factors */
    double complex *rxv; /* [Nr] */
};

/* CDL (cdl.c): prepare the working table at create time (validates it), and draw user k. */
mn_status csi_cdl_prepare(mn_csi_chan *q);
void csi_cdl_draw_user(mn_csi_chan *q, int k, mn_rng *rng);
/* Saleh–Valenzuela (sv.c): draw user k. */
void csi_sv_draw_user(mn_csi_chan *q, int k, mn_rng *rng);
/* Draw DL and UL phases for user k's rays (UL copies DL when share_phases). */
void csi_draw_phases(mn_csi_chan *q, int k, mn_rng *rng);
/* Wrap an azimuth to (-pi, pi] and a zenith to [0, pi] (38.901 7.5 step 7 convention). */
double csi_wrap_az(double a);
double csi_wrap_zen(double z);

/* ---------------------------------------------------------------- linear algebra */

/* Solve A X = B in place (A n x n, B n x nrhs, both row-major; A is destroyed, B becomes X) by
 * Gaussian elimination with partial pivoting.  Returns 0, or -1 if A is singular to working
 * precision (a pivot below 1e-300 or below 1e-14 times the largest entry). */
int csi_zsolve(double complex *A, double complex *B, int n, int nrhs);

/* Eigen-decomposition of a Hermitian n x n matrix A (row-major, destroyed) by the cyclic Jacobi
 * method: eigenvalues w[n] in descending order, eigenvectors as the COLUMNS of V (n x n,
 * row-major; unit norm, first non-negligible entry real positive).  Returns 0, or -1 if it did
 * not converge in 100 sweeps. */
int csi_zheev(double *w, double complex *V, double complex *A, int n);

/* Dominant eigenvector v[n] (unit norm) of a Hermitian positive semidefinite A by csi_zheev on a
 * copy in ws[2 n^2]; returns the eigenvalue (or -1 on failure). */
double csi_dominant_eigvec(double complex *v, const double complex *A, int n, double complex *ws,
                           double *wbuf);

/* RZF's system for one subcarrier: Gam = G G^H + reg I (K x K, G K x M) and X = I, ready for
 * csi_zsolve(Gam, X, K, K) to leave (G G^H + reg I)^-1 in X. */
void csi_rzf_system(double complex *Gam, double complex *X, const double complex *G, int K, int M, double reg);

/* Zero-forcing / regularized ZF for one subcarrier: G is K x M (rows g_k), W is M x K
 * (columns w_k) = G^H (G G^H + reg I)^-1, unnormalized.  ws: 2 K^2 elements.
 * Returns 0 or -1 (singular). */
int csi_rzf_one(double complex *W, const double complex *G, int K, int M, double reg,
                double complex *ws);

/* Scale the M x K matrix W so that ||W||_F^2 = P (no-op if W is zero). */
void csi_normalize_one(double complex *W, int M, int K, double P);

/* Gather subcarrier f of a [K][M][F] float tensor into a K x M double matrix, and scatter an
 * M x K double matrix back into [K][M][F]. */
void csi_gather_rows(double complex *G, const float complex *src, int K, int M, int F, int f);
void csi_scatter_cols(float complex *dst, const double complex *W, int K, int M, int F, int f);

/* Sum rate sum_k log2(1 + SINR_k) of one subcarrier for G (K x M rows) and W (M x K columns),
 * as is (no power normalization); rate_ue[K] may be NULL. */
double csi_sum_rate_one(const double complex *G, const double complex *W, int K, int M,
                        double sigma2, double *rate_ue);

/* Validate common precoding arguments; returns MN_OK or MN_ERR_INVALID with a message naming
 * the function. */
mn_status csi_check_dims(const char *fn, const void *W, const void *G, int K, int M, int F,
                         double P);

#endif
