/* src/csi/precode.c — perfect-CSI linear multi-user precoders, per subcarrier:
 *   MRT  w_k = g_k^H;
 *   ZF   W = G^H (G G^H)^-1                     (Peel, Hochwald, Swindlehurst, IEEE TCOM 2005);
 *   RZF  W = G^H (G G^H + reg I)^-1, reg = K sigma^2 / P the MMSE loading (same paper, eq. 12);
 * each scaled to sum_k ||w_k||^2 = P.  G[K][M][F] rows g_k (y_k = g_k x + n), W[K][M][F]. */
#include "csi_internal.h"

mn_status mn_csi_precode_mrt(float complex *W, const float complex *G, int K, int M, int F,
                             double P)
{
    mn_status st = csi_check_dims("mn_csi_precode_mrt", W, G, K, M, F, P);
    if (st != MN_OK) return st;
    for (size_t i = 0; i < (size_t)K * M * F; i++) W[i] = conjf(G[i]);
    mn_csi_precoder_normalize(W, K, M, F, P);
    return MN_OK;
}

mn_status mn_csi_precode_rzf(float complex *W, const float complex *G, int K, int M, int F,
                             double P, double reg)
{
    mn_status st = csi_check_dims("mn_csi_precode_rzf", W, G, K, M, F, P);
    if (st != MN_OK) return st;
    if (!(reg >= 0) || !isfinite(reg))
        return mn_error(MN_ERR_INVALID, "mn_csi_precode_rzf: reg = %g must be >= 0", reg);
    size_t km = (size_t)K * M;
    double complex *g = mn_malloc(sizeof(double complex) * (2 * km + 2 * (size_t)K * K));
    if (!g) return mn_error(MN_ERR_NOMEM, "mn_csi_precode_rzf: out of memory");
    double complex *w = g + km, *ws = w + km;
    st = MN_OK;
    for (int f = 0; f < F; f++) {
        csi_gather_rows(g, G, K, M, F, f);
        if (csi_rzf_one(w, g, K, M, reg, ws) != 0) {
            st = mn_error(MN_ERR_NUMERIC, "mn_csi_precode_%s: G G^H%s is singular on subcarrier %d",
                          reg > 0 ? "rzf" : "zf", reg > 0 ? " + reg I" : "", f);
            break;
        }
        csi_normalize_one(w, M, K, P);
        csi_scatter_cols(W, w, K, M, F, f);
    }
    mn_free(g);
    return st;
}

mn_status mn_csi_precode_zf(float complex *W, const float complex *G, int K, int M, int F,
                            double P)
{
    mn_status st = csi_check_dims("mn_csi_precode_zf", W, G, K, M, F, P);
    if (st != MN_OK) return st;
    return mn_csi_precode_rzf(W, G, K, M, F, P, 0.0);
}
