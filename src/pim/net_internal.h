/* pim/net_internal.h — mn_pim_net's prediction from a signal held in two pieces, internal to
 * module pim.  The streaming canceller keeps only the receptive field's history between calls
 * and reads the rest from the caller's block, so a chunk's samples are converted once, straight
 * into the model's input, instead of first being copied into a history buffer. */
#ifndef MN_PIM_NET_INTERNAL_H
#define MN_PIM_NET_INTERNAL_H

#include "mimonet/pim.h"

/* Absolute samples [x0, xm) of every row are in a (row r at a + r * as, sample t at index
 * t - x0), samples [xm, x1) in b (row r at b + r * bs, sample t at t - xm).  xm == x1 means
 * a holds everything and b is unused. */
typedef struct {
    const float complex *a, *b;
    int64_t as, bs;
    int64_t x0, xm, x1;
} pim_src;

/* Where [s, s + n) crosses from x's first piece to its second: samples [s, m) are in the first,
 * [m, s + n) in the second. */
static inline int64_t pim_src_cut(const pim_src *x, int64_t s, int64_t n)
{
    return s + n < x->xm ? s + n : s > x->xm ? s : x->xm;
}

/* mn_pim_net_predict_range (pim.h) with the samples in two pieces; with sub (rows of n_rx, its
 * samples covering [lo, hi)), out is sub minus the prediction instead: the canceller's rx - PIM
 * in the same pass, the same bits as predicting and then subtracting. */
mn_status pim_net_predict_src(mn_pim_net *q, float complex *out, int64_t out_stride, const pim_src *x, int64_t lo,
                              int64_t hi, unsigned edges, const pim_src *sub);

/* Rows [s, s + n) of x into dst (row r at dst + r * ds), each row as one copy per piece. */
void pim_src_copy(float complex *dst, int64_t ds, const pim_src *x, int rows, int64_t s, int64_t n);

/* Row r of x, samples [s, s + n), as scaled I/Q: re[i] = scale Re, im[i] = scale Im. */
void pim_src_split(float *re, float *im, const pim_src *x, int r, int64_t s, int64_t n, float scale);

/* n predicted samples from (re, im) scaled by inv into o, which holds absolute sample t onwards
 * of output row r: the prediction itself, or with sub (samples covering [t, t + n)) sub minus
 * the prediction. */
void pim_emit_row(float complex *o, const float *re, const float *im, int64_t n, float inv, const pim_src *sub, int r,
                  int64_t t);

/* One window's complex I/O, for the executors that convert inside their tiles (pim/jx.c, and
 * the fused one through mn_model_infer_io): window sample i is absolute sample s + i of the
 * n_tx rows in x, scaled by in_scale into the model's input; the prediction (the model's
 * output times out_inv) of the absolute samples [klo, khi), or sub minus it when sub is
 * given, goes to row r of out at out + r * os + (t - lo).  So neither the planar input nor
 * the planar output of a window is ever written out. */
typedef struct {
    const pim_src *x;
    int n_tx, n_rx;
    int64_t s;
    float in_scale;
    float complex *out;
    int64_t os, lo, klo, khi;
    const pim_src *sub;
    float out_inv;
} pim_io;

/* Window samples [t, t + n) as the model's 2 n_tx input rows (row c at dst + c * ds). */
void pim_io_load(const pim_io *io, float *dst, size_t ds, int t, int n);
/* The model's 2 n_rx output rows (row c at src + c * ss) for window samples [t, t + n): the
 * wanted ones to io->out. */
void pim_io_store(const pim_io *io, const float *src, size_t ss, int t, int n);

/* mn_pim_gmp_predict with the caller's workspace of pim_gmp_predict_ws(g, nth) values (the
 * streaming canceller allocates it once); at most nth threads run. */
size_t pim_gmp_predict_ws(const mn_pim_gmp *g, int nth);
mn_status pim_gmp_predict_rows(mn_pim_gmp *g, float complex *out, const float complex *tx, int64_t n,
                               double complex *ws, int nth);

/* GMP files (pim/gmp.c), shared with a neural model's base (pim/net.c): the basis as JSON
 * (snprintf's return), parsed back and checked; the double coefficients as float hi + lo pairs
 * [n_rx, ncols, 2] each, and back (allocating g->coef); a deep copy. */
int pim_gmp_basis_json(const mn_pim_gmp_cfg *c, char *buf, size_t n);
mn_status pim_gmp_cfg_from_json(mn_pim_gmp_cfg *c, const char *json);
void pim_gmp_coef_to_f32(const mn_pim_gmp *g, float *hi, float *lo);
mn_status pim_gmp_coef_from_f32(mn_pim_gmp *g, const mn_pim_gmp_cfg *c, const float *hi, const float *lo);
mn_status pim_gmp_copy(mn_pim_gmp *dst, const mn_pim_gmp *src);

/* Samples per long window (mn_pim_net_long_windows) of a stream, or of a bf16 junction: long
 * enough that a forward keeps 2 threads busy (8192 gave 6.4 Msps on 2 threads, 16384 6.8, when
 * the window was still copied; it costs no buffer now), and 8 receptive fields at least. */
#define PIM_LONG_T 16384

/* The most windows a net takes per forward (mn_pim_net_create's max_B): the per-batch arrays on
 * the stack of net.c's prediction and train.c's batch are this long. */
#define PIM_MAX_BATCH 64
static inline int pim_long_T(int border) { return border < PIM_LONG_T / 8 ? PIM_LONG_T : 8 * border; }

/* A cascade's base (mn_pim_net_set_base): the GMP, and what applying it takes without an
 * allocation per call: tx and predictions of BASE_CHUNK outputs plus the basis's reach back
 * (hb = M - 1 + L) and ahead (lead), and a predict workspace per thread. */
#define PIM_BASE_CHUNK 4096
struct mn_pim_base {
    mn_pim_gmp g;
    int hb, lead;
    float complex *tx, *pred; /* [n_tx | n_rx, PIM_BASE_CHUNK + hb + lead] */
    double complex *rows;     /* the predict workspace for nth threads (pim_gmp_predict_ws) */
    int nth;
};

#endif
