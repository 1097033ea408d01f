/*
 * mimonet/pim.h — passive-intermodulation (PIM) cancellation: the scenario simulator, the
 * neural models and classical baselines, training, and metrics.
 *
 * The problem (arXiv 2509.19382): downlink carriers on n_tx antennas pass through passive
 * nonlinear junctions; their intermodulation products (mainly IM3 at 2 f1 - f2) land in the
 * uplink band of n_rx receive antennas.  A canceller learns z = f(x) from the transmitted
 * baseband x to the interference z and subtracts it.
 */
#ifndef MIMONET_PIM_H
#define MIMONET_PIM_H

#include <complex.h>
#include "mimonet/core.h"
#include "mimonet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- models
 * The light model of DESIGN.md (11,835 parameters, 11,424 MAC/sample for 32 Tx -> 16 Rx):
 *   l1  DS-conv 2*n_tx -> 32, k3 d1, BN(affine=False), LeakyReLU(0.01)
 *   l2  DS-conv 32 -> 32, k3 d2, BN, LeakyReLU
 *   fc1 linear 32 -> 91, sigmoid
 *   fc2 linear 91 -> 32, sigmoid
 *   l3  DS-conv 32 -> 32, k3 d4, BN, LeakyReLU
 *   l4  DS-conv 32 -> 2*n_rx, k3 d1, linear output
 * where DS-conv = depthwise conv (same padding) -> LeakyReLU -> pointwise conv. */
int mn_pim_model_light(mn_model *m, int n_tx, int n_rx);

/* Declare the named architecture ("light"; more in later releases) into m.  Returns the output
 * node or -1 (unknown name: MN_ERR_INVALID recorded). */
int mn_pim_model_declare(mn_model *m, const char *kind, int n_tx, int n_rx);

/* ---------------------------------------------------------------- metrics (DESIGN.md)
 * y: observed interference, yhat: prediction, both nch rows with row stride `stride` samples;
 * the sums run over samples [border, n - border) of each row.
 *   APE pooled (dB) = 10 log10( sum_c sum_n |y|^2 / sum_c sum_n |y - yhat|^2 )
 *   APE mean (dB)   = mean over channels of the per-channel APE (dB)
 *   NMSE (dB)       = -APE pooled
 * per_channel_db (nch values, may be NULL) receives the per-channel APE. */
typedef struct {
    double ape_db, ape_mean_db, nmse_db;
    double power_y;   /* mean |y|^2 over the counted samples */
    double power_err; /* mean |y - yhat|^2 */
    int64_t samples;  /* samples per channel counted */
} mn_pim_metrics;

mn_status mn_pim_metrics_compute(mn_pim_metrics *out, double *per_channel_db, const float complex *y,
                                 const float complex *yhat, int nch, int64_t n, int64_t stride,
                                 int64_t border);
/* Noise ceiling (dB) = 10 log10( P(y) / P(noise) ): no canceller can beat it. */
double mn_pim_noise_ceiling_db(double power_y, double power_noise);

/* ---------------------------------------------------------------- data splits */

typedef struct { int64_t begin, end; } mn_span;

/* Contiguous split of n samples by fractions (train, val, test) in that order, test last, as
 * in the paper.  Fractions must be >= 0 with a positive sum (normalized); a zero fraction gives
 * an empty span.  Each non-empty span must hold at least min_len samples. */
mn_status mn_pim_split(mn_span out[3], int64_t n, const double frac[3], int64_t min_len);

/* ---------------------------------------------------------------- the neural canceller
 * A model plus the input/output scaling learned from the training split: the model sees
 * tx * in_scale (as I/Q channels) and predicts rx * out_scale. */
typedef struct {
    mn_model model;
    char kind[16];
    int n_tx, n_rx;
    float in_scale, out_scale;
    int border; /* one-sided receptive field: the loss and the stitching both drop it */
    int window; /* inference window (samples) */
    int max_B;  /* windows per forward call */
    float *xbuf; /* [max_B, 2 n_tx, window] scratch for prediction */
} mn_pim_net;

/* Declare and build `kind` for n_tx -> n_rx, for batches up to max_B windows of `window`
 * samples (window > 2 * border).  Weights are initialized from rng. */
mn_status mn_pim_net_create(mn_pim_net *q, const char *kind, int n_tx, int n_rx, int max_B,
                            int window, mn_rng *rng);
/* Checkpoint: safetensors with metadata mimonet.format/version/kind/n_tx/n_rx/in_scale/
 * out_scale/architecture (the model's JSON) plus the caller's extra pairs. */
mn_status mn_pim_net_save(const mn_pim_net *q, const char *path, const char *const *keys,
                          const char *const *values, int n_extra);
mn_status mn_pim_net_load(mn_pim_net *q, const char *path, int max_B, int window);
/* Predict the interference for a whole signal: tx [n_tx, n] -> out [n_rx, n] (row-major).
 * Windows overlap by the receptive field and only outputs with full context are kept, so the
 * result equals running the model on the whole signal at once (eval mode). */
mn_status mn_pim_net_predict(mn_pim_net *q, float complex *out, const float complex *tx, int64_t n);
void mn_pim_net_free(mn_pim_net *q);

/* ---------------------------------------------------------------- training (the paper's recipe)
 * AdamW (weight decay 0.01), a cyclical learning rate, global-norm gradient clipping, an MSE
 * loss that excludes `border` samples at both ends of every window, random windows longer
 * than the 1024-point FFT, early stopping on the validation APE (best weights kept). */
typedef struct {
    long step;
    long steps;
    double loss;       /* training loss of this step (scaled units) */
    double lr;
    double grad_norm;  /* pre-clip */
    double val_ape_db; /* latest validation APE (NAN before the first evaluation) */
    double best_val_ape_db;
    double seconds;
} mn_pim_progress;

typedef int (*mn_pim_progress_fn)(const mn_pim_progress *p, void *user); /* non-zero: stop */

typedef struct {
    long steps;          /* optimizer steps (default 3000) */
    int batch;           /* windows per step (default 16) */
    int window;          /* samples per window (default 2048; must exceed 1024) */
    float lr_min, lr_max; /* cyclical LR bounds (default 1e-3, 1e-2) */
    long clr_half;       /* CLR half cycle in steps (default steps / 10) */
    int sched;           /* mn_sched_kind (default triangular2) */
    float weight_decay;  /* default 0.01 */
    float clip;          /* max global grad norm (default 1.0) */
    long eval_every;     /* steps between validations (default 100) */
    int patience;        /* validations without improvement before stopping (default 8; 0 = off) */
    uint64_t seed;
    mn_pim_progress_fn progress; /* called after every step (may be NULL) */
    void *progress_user;
} mn_pim_train_cfg;

mn_pim_train_cfg mn_pim_train_default(void);

typedef struct {
    long steps_done;
    double best_val_ape_db; /* NAN without a validation split */
    long best_step;
    double final_loss;
    double seconds;
    bool stopped_early;
} mn_pim_train_result;

/* Train q on tx/rx over the `train` span, validating on `val` (may be empty).  Sets q's
 * scaling from the training span first.  tx [n_tx, n], rx [n_rx, n] row-major. */
mn_status mn_pim_train(mn_pim_net *q, const float complex *tx, const float complex *rx, int64_t n,
                       mn_span train, mn_span val, const mn_pim_train_cfg *c,
                       mn_pim_train_result *res);

/* ---------------------------------------------------------------- simulator
 * (section owned by the simulator work) */

#ifdef __cplusplus
}
#endif
#endif
