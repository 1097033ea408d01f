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

/* Declare a named architecture into m: "light" (above), "static" (2 CNN -> LUT + ReLU -> 2 CNN),
 * "dynamic" (2 CNN -> 3 FC-sigmoid 64, 64, 32 -> 2 CNN), "large" (light at width 48 with FC
 * 128 -> 48), the physics-shaped "poly", "poly-large" and "junction", and "pa", a neural memory
 * polynomial for mostly linear links with few antennas, such as a PA (docs/pim.md).
 * Returns the output node or -1 (unknown name: MN_ERR_INVALID recorded). */
int mn_pim_model_declare(mn_model *m, const char *kind, int n_tx, int n_rx);
/* Sizes a kind leaves to its user; 0 keeps the kind's own.  Only junction has one:
 *   sources  the PIM sources it looks for, J in 1..64 (default 8).  Eight fit the default
 *            site; on another site's geometry training found the sources reliably only with
 *            16, at twice the parameters and MACs (docs/pim.md, "Other sites"). */
typedef struct {
    int sources;
} mn_pim_model_opts;
/* mn_pim_model_declare with opts (NULL: the defaults).  A size the kind does not have, or one
 * out of range, is MN_ERR_INVALID (recorded in m->status, -1 returned). */
int mn_pim_model_declare_opts(mn_model *m, const char *kind, int n_tx, int n_rx, const mn_pim_model_opts *opts);
/* The names mn_pim_model_declare knows, as "light, large, ..." for messages and help. */
const char *mn_pim_model_kinds(void);
bool mn_pim_model_known(const char *kind);
/* Training windows per step when none is asked for: 8 for junction (at 16, one seed in three
 * stalled on the default scenario; docs/pim.md "Time to 35 dB") and pa, 16 for the others. */
int mn_pim_model_default_batch(const char *kind);
/* Training steps when none are asked for: 6,000 for junction, whose held-out APE still rises
 * at 3,000 (35-37 dB there, 37.9-38.6 dB at 6,000 on the default scenario; docs/pim.md), 8,000
 * for pa (its fine nonlinear terms come late, on short 1 x 1 recordings), 3,000 for the others. */
long mn_pim_model_default_steps(const char *kind);
/* Physics-informed starting values for a built model of this kind, over its random ones (only
 * "junction" has any: half-band carrier-split filters, and product maps that form exactly
 * u1^2 conj(u2)).  mn_pim_net_create applies it. */
void mn_pim_model_prior(mn_model *m, const char *kind);

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

mn_status mn_pim_metrics_compute(mn_pim_metrics *out, double *per_channel_db, const mn_cf32 *y,
                                 const mn_cf32 *yhat, int nch, int64_t n, int64_t stride,
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
    int long_T;  /* mn_pim_net_long_windows: windows of up to long_T samples (0: none) */
    struct mn_pim_jx *jx; /* junction's tiled executor for the long windows (pim/jx.c), or NULL */
    bool jx_bf16; /* junction in bf16: its post filter and small maps (mn_pim_net_set_precision) */
    struct mn_pim_base *base; /* a gmp/fir under the model (mn_pim_net_set_base), or NULL */
} mn_pim_net;

/* Declare and build `kind` for n_tx -> n_rx, for batches up to max_B windows of `window`
 * samples (window > 2 * border).  Weights are initialized from rng. */
mn_status mn_pim_net_create(mn_pim_net *q, const char *kind, int n_tx, int n_rx, int max_B,
                            int window, mn_rng *rng);
/* The same with the kind's sizes (mn_pim_model_opts; NULL: the defaults).  The checkpoint
 * records the architecture, so loading needs no options. */
mn_status mn_pim_net_create_opts(mn_pim_net *q, const char *kind, const mn_pim_model_opts *opts, int n_tx, int n_rx,
                                 int max_B, int window, mn_rng *rng);
/* Let prediction run windows of up to T samples (T > 2 border), one at a time, through the
 * fused executor (mn_model_infer_io) whenever it runs the model, or through junction's own
 * tiled executor (pim/jx.c, for the threads mn_threads_get() gives now), instead of max_B
 * windows of `window` through the model's activation buffers: far fewer forward calls, each
 * long enough for every thread to get work.  Both convert the complex samples inside their
 * time tiles, so the window costs no buffer (junction: its executor's, 2J T floats and a
 * scratch per thread).  Results are the same (fused fp32: the same bits; junction: to float
 * rounding).  T = 0 releases them.  Elsewhere (a graph neither runs) prediction keeps the
 * built windows. */
mn_status mn_pim_net_long_windows(mn_pim_net *q, int T);
/* Inference arithmetic.  MN_PRECISION_BF16 needs a CPU with AVX512_BF16 (MN_ERR_UNSUPPORTED
 * elsewhere, and for a model with no bf16 path; nothing changes then):
 *   - a model the fused executor runs gets its pointwise layers in bf16 (mn_model_set_precision);
 *   - junction (pim/jx.c) gets its post filter and its small maps but the drive map in bf16,
 *     the rest staying fp32, and prediction then runs through its long windows
 *     (mn_pim_net_long_windows, set here if not yet; keep them: a bf16 junction's predict
 *     fails without them).
 * Training is fp32 whatever this says (docs/pim.md "bf16 inference"). */
mn_status mn_pim_net_set_precision(mn_pim_net *q, mn_precision p);
mn_precision mn_pim_net_precision(const mn_pim_net *q);
/* Checkpoint: safetensors with metadata mimonet.format/version/kind/n_tx/n_rx/in_scale/
 * out_scale/architecture (the model's JSON) plus the caller's extra pairs. */
mn_status mn_pim_net_save(const mn_pim_net *q, const char *path, const char *const *keys,
                          const char *const *values, int n_extra);
mn_status mn_pim_net_load(mn_pim_net *q, const char *path, int max_B, int window);
/* Predict the interference for a whole signal: tx [n_tx, n] -> out [n_rx, n] (row-major).
 * Windows overlap by the receptive field and only outputs with full context are kept, so the
 * result equals running the model on the whole signal at once (eval mode). */
mn_status mn_pim_net_predict(mn_pim_net *q, mn_cf32 *out, const mn_cf32 *tx, int64_t n);
/* The same for outputs [lo, hi) of a longer signal of which x holds samples [x0, x1) (row
 * stride x_stride); out row r holds outputs [lo, hi) at out + r * out_stride.  The windows need
 * bd = q->border samples beyond [lo, hi) on each side, except at a signal edge named in `edges`
 * (x0 is then the signal's first sample, x1 its end), where the model pads as a whole-signal
 * pass does.  No allocation. */
enum { MN_PIM_EDGE_START = 1, MN_PIM_EDGE_END = 2 };
mn_status mn_pim_net_predict_range(mn_pim_net *q, mn_cf32 *out, int64_t out_stride, const mn_cf32 *x,
                                   int64_t x_stride, int64_t x0, int64_t x1, int64_t lo, int64_t hi, unsigned edges);
void mn_pim_net_free(mn_pim_net *q);

/* ---------------------------------------------------------------- training (the paper's recipe)
 * AdamW (weight decay 0.01), a cyclical learning rate, global-norm gradient clipping, an MSE
 * loss that excludes `border` samples at both ends of every window, random windows longer
 * than the 1024-point FFT, early stopping on the validation APE (best weights kept). */
typedef struct {
    long step;
    long steps;
    long first_step;   /* the step this run started from (0, or a resumed checkpoint's) */
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
    int patience;        /* validations without improvement before stopping (0 = off; default -1:
                            one LR cycle plus two, i.e. 2 clr_half / eval_every + 2, 8 at 3,000 steps) */
    uint64_t seed;
    mn_pim_progress_fn progress; /* called after every step (may be NULL) */
    void *progress_user;
    /* Crash safety (see mn_pim_train).  checkpoint: the training-state file, or NULL for none. */
    const char *checkpoint;
    long checkpoint_every; /* steps between checkpoints (default 100; 0: only when interrupted) */
    bool resume;           /* continue from `checkpoint`, which must exist and match this run */
} mn_pim_train_cfg;

mn_pim_train_cfg mn_pim_train_default(void);

typedef struct {
    long steps_done;
    double best_val_ape_db; /* NAN without a validation split */
    long best_step;
    double final_loss;
    double seconds;
    bool stopped_early;
    long resumed_from;     /* step the run resumed at (0 for a fresh run) */
    long checkpoint_step;  /* step of the newest checkpoint on disk (-1: none written or loaded) */
    char resume_note[256]; /* settings that differ from the resumed checkpoint's ("" if none) */
} mn_pim_train_result;

/* Train q on tx/rx over the `train` span, validating on `val` (may be empty).  Sets q's
 * scaling from the training span first.  tx [n_tx, n], rx [n_rx, n] row-major.
 *
 * Crash safety.  With c->checkpoint set, the whole training state is written there atomically
 * every c->checkpoint_every steps and when the progress callback asks to stop (which then
 * returns MN_ERR_INTERRUPTED): the weights (with batch-norm statistics), AdamW's moments, the
 * best validated weights, the RNG (which is also the data position: windows are drawn from it),
 * the step, the early-stopping counters, and a fingerprint of the run (model, shapes, batch,
 * window, seed, splits and a 64-bit hash of the data).  With c->resume the run continues from
 * that file; it ends bit-identical to an uninterrupted run with the same settings and thread
 * count.  A resumed run whose model, data, splits, batch, window or seed differ is refused
 * (MN_ERR_INVALID); other differences (steps, learning rates, clip, patience) are allowed and
 * listed in res->resume_note.  A non-finite loss or gradient norm stops training with
 * MN_ERR_NUMERIC: q keeps the best weights so far and the checkpoint on disk, the last good
 * state, is left as it was.  The caller owns the file afterwards (mimonet removes it once the
 * final model is written). */
mn_status mn_pim_train(mn_pim_net *q, const mn_cf32 *tx, const mn_cf32 *rx, int64_t n,
                       mn_span train, mn_span val, const mn_pim_train_cfg *c,
                       mn_pim_train_result *res);

/* ---------------------------------------------------------------- online adaptation
 * A trained canceller that keeps learning while it cancels, for couplings that drift
 * (docs/pim.md "Online adaptation").  Outputs [lo, hi) are predicted block by block; after each
 * block, `steps` Adam steps (no weight decay, constant lr, global-norm clipping, the border-
 * truncated MSE) on `batch` random windows from the latest `history` samples of (tx, rx) up to
 * the block's end.  A block is thus predicted only by weights that saw earlier rx; tx within
 * the receptive field ahead is the canceller's latency, as in mn_pim_net_predict_range, and the
 * windows use it: the newest one's loss ends at the block's last received sample.  With
 * anchor > 0, each step also pulls the weights toward the trained ones, w -= lr anchor (w - w0),
 * which keeps many steps a block from drifting along directions the latest samples leave free. */
typedef enum {
    MN_PIM_ADAPT_ADAM = 0, /* Adam steps on every weight (the default) */
    MN_PIM_ADAPT_LS,       /* exponentially weighted least squares of the output layer alone */
} mn_pim_adapt_method;

/* MN_PIM_ADAPT_LS (the model's last node must be a 1x1 convolution, as junction's `out`): the
 * rest of the model is a fixed basis, and after each block the output layer (weights and bias)
 * is refitted in closed form, as an RLS canceller's taps are, to all (features, rx) pairs seen
 * so far, weighted e^{-age / history}, with a ridge toward the trained weights.  One forward a
 * block, no gradient; steps, batch, window, lr and clip are unused.  Needs LAPACKE. */
typedef struct {
    mn_pim_adapt_method method;
    int block;       /* samples predicted between updates (default 1024) */
    int steps;       /* optimizer steps after each block (default 8; 0: no adaptation) */
    int batch;       /* windows per step, <= the net's max_B (default 4) */
    int window;      /* samples per window, 2 border < window <= the net's window (default 2048) */
    int64_t history; /* windows come from the latest `history` samples, >= window (default 16384) */
    float lr;        /* Adam learning rate (default 3e-3) */
    float clip;      /* max global gradient norm (default 1) */
    float anchor;    /* pull toward the trained weights, 0 .. 1/lr (default 0: none) */
    uint64_t seed;   /* the window draws */
} mn_pim_adapt_cfg;

typedef struct {
    long updates;     /* optimizer steps taken */
    double last_loss; /* the last step's loss (scaled units) */
    double seconds;
} mn_pim_adapt_result;

mn_pim_adapt_cfg mn_pim_adapt_default(void);
/* tx [n_tx, n], rx [n_rx, n] row-major; out [n_rx, hi - lo].  q's weights are changed (they end
 * adapted to the signal's end) and its Adam moments reset.  res may be NULL. */
mn_status mn_pim_adapt(mn_pim_net *q, mn_cf32 *out, const mn_cf32 *tx, const mn_cf32 *rx, int64_t n,
                       int64_t lo, int64_t hi, const mn_pim_adapt_cfg *c, mn_pim_adapt_result *res);

/* What a training-state checkpoint holds; mn_pim_train_ckpt_info reads the whole file (every
 * tensor, checked against the architecture it records), so MN_OK means --resume can load it. */
typedef struct {
    char kind[16];
    int n_tx, n_rx;
    long step, steps;
    double best_val_ape_db; /* NAN before the first validation */
    long best_step;
    uint64_t seed;          /* the run's --seed */
} mn_pim_ckpt_info;

mn_status mn_pim_train_ckpt_info(const char *path, mn_pim_ckpt_info *info);

/* ---------------------------------------------------------------- report (the paper's figures)
 * mn_pim_report_write(dir, r) writes dir/report.html and its pictures as SVG files beside it:
 *   heatmap.svg   APE over test-segment start x length, for models[0] (paper Fig. 6)
 *   time.svg      true vs predicted interference, one Rx channel (Fig. 7)
 *   psd.svg       PSD of interference, prediction, residual and noise floor (Fig. 8)
 *   channels.svg  per-channel interference power before and after cancellation (Fig. 12)
 *   training.svg  training loss and validation APE of every model with a curve
 * plus a table comparing every model (APE pooled/mean, NMSE, parameters, MAC/sample). */
typedef struct {
    const char *name;          /* "light", "gmp", ... */
    const mn_cf32 *pred; /* [n_rx, n] prediction over the test segment */
    long params, macs;
    double train_seconds;      /* NAN: not known (shown as a dash) */
    const float *curve_step, *curve_loss, *curve_val; /* training curve (may be NULL) */
    int curve_n;
} mn_pim_report_model;

typedef struct {
    const char *title;        /* e.g. "static 32 x 16 scenario, seed 1" */
    const mn_cf32 *y;   /* observed interference over the test segment [n_rx, n] */
    int n_rx;
    int64_t n;
    int border;               /* samples dropped at each end (the largest receptive field) */
    double fs;                /* sample rate [Hz]; 0: frequencies in cycles/sample */
    double noise_power;       /* per complex sample; NAN when unknown */
    const mn_pim_report_model *models; /* models[0] is the one the figures show */
    int n_models;
} mn_pim_report;

mn_status mn_pim_report_write(const char *dir, const mn_pim_report *r);

/* ---------------------------------------------------------------- classical baselines
 * Linear FIR and (generalized) memory polynomials with cross-antenna terms, fitted by ridge least
 * squares on normalized columns (LAPACK).  For Tx antenna a, memory tap m in [0, M), the basis
 * columns are, with u = x_a[n - m]:
 *   linear   u                                      (fir, and gmp when `linear`)
 *   self     u |u|^(2k),               k = 1..K     (odd orders 3, 5, ..., 2K+1)
 *   lagging  u |x_a[n - m - l]|^2,     l = 1..L     (GMP envelope cross-terms in time)
 *   cross    u |x_(a+p mod A)[n - m]|^2, p = 1..P   (neighbouring antennas)
 * With a lead D > 0 the taps run over m in [-D, M): D taps look ahead, for recordings whose
 * output is aligned a fraction of a sample early (measured PA data; see docs/pim.md).  The
 * model then needs tx up to D samples after the output sample, and a stream's output comes D
 * samples late (mn_pim_canceller_latency).  Column order (a, m + D, j).
 * So a GMP has A * (M + D) * (linear + K + L + P) columns.  Every Rx channel shares the basis and has
 * its own coefficients.  The fit is done in double: Gram matrix Phi^H Phi accumulated in blocks
 * (never the whole Phi), columns scaled to unit norm, ridge lambda on that unit diagonal,
 * Cholesky solve (zposv), unscaled. */
typedef struct {
    int n_tx, n_rx;
    int M;        /* memory taps (>= 1) */
    int K;        /* nonlinear self orders (0 for fir) */
    int L;        /* lagging envelope terms */
    int P;        /* neighbouring-antenna cross terms */
    int lead;     /* taps ahead of the sample, 0 .. MN_PIM_GMP_MAX_LEAD (0: causal) */
    bool linear;  /* include the linear term */
    double ridge; /* lambda relative to the unit-normalized Gram diagonal (default 1e-7) */
} mn_pim_gmp_cfg;

#define MN_PIM_GMP_MAX_LEAD 64

typedef struct {
    mn_pim_gmp_cfg cfg;
    int ncols;
    mn_cf64 *coef; /* [n_rx, ncols] */
} mn_pim_gmp;

int mn_pim_gmp_columns(const mn_pim_gmp_cfg *c);
/* "fir" (no nonlinear orders) or "gmp". */
const char *mn_pim_gmp_kind(const mn_pim_gmp_cfg *c);
/* Multiply-accumulates per output sample, counted as real MACs (a complex MAC is 4). */
long mn_pim_gmp_macs_per_sample(const mn_pim_gmp_cfg *c);
/* Fit on samples [span.begin, span.end) of tx [n_tx, n] -> rx [n_rx, n]. */
mn_status mn_pim_gmp_fit(mn_pim_gmp *g, const mn_pim_gmp_cfg *c, const mn_cf32 *tx,
                         const mn_cf32 *rx, int64_t n, mn_span span);
/* out [n_rx, n] for tx [n_tx, n]; samples before the signal's start (and, with a lead, after its
 * end) are zeros, as in a stream. */
mn_status mn_pim_gmp_predict(mn_pim_gmp *g, mn_cf32 *out, const mn_cf32 *tx, int64_t n);
/* Checkpoint as safetensors: "coef.hi" and "coef.lo" [n_rx, ncols, 2] (re, im), F32 each, whose
 * sum restores the double coefficients to ~48 bits; metadata mimonet.format = "pim-gmp" and
 * the basis configuration. */
mn_status mn_pim_gmp_save(const mn_pim_gmp *g, const char *path);
mn_status mn_pim_gmp_load(mn_pim_gmp *g, const char *path);
void mn_pim_gmp_free(mn_pim_gmp *g);

/* A cascade: a gmp/fir base under a neural model (pim train --base), the model trained on what
 * the base leaves, rx - base(tx).  Once set, every prediction of the net (mn_pim_net_predict,
 * _predict_range, the streaming canceller, pim eval and cancel) is the base's plus the
 * model's, and mn_pim_net_save writes both into one file ("base.coef.hi/lo" and the metadata
 * "mimonet.base"), which mn_pim_net_load reads back.  The net keeps its own copy of the base.
 * The base must have the net's channels, and its lead must not exceed the net's border (the
 * net's look-ahead, which the streaming latency already covers); a refused base leaves the
 * net as it was, and a failed allocation leaves it without a base.  NULL removes the base.
 * Training (mn_pim_train, mn_pim_adapt) works on the model alone and refuses a net with a base:
 * train first, then set the base. */
mn_status mn_pim_net_set_base(mn_pim_net *q, const mn_pim_gmp *base);
/* The base of a cascade, or NULL. */
const mn_pim_gmp *mn_pim_net_base(const mn_pim_net *q);
/* What a net is called in tables and messages: its kind, or "gmp+pa" for a cascade. */
void mn_pim_net_label(const mn_pim_net *q, char *buf, size_t n);

/* ---------------------------------------------------------------- streaming cancellation
 * A canceller fed in blocks of any size, as a receiver would (issue 6, the streaming API):
 *
 *     mn_pim_canceller *q;
 *     mn_pim_canceller_open(&q, "model.safetensors", 0);
 *     while (more) mn_pim_canceller_process(q, tx, rx, out, n);  // tx [n_tx, n], rx/out [n_rx, n]
 *     mn_pim_canceller_flush(q, tail);                             // [n_rx, latency]
 *
 * The output is rx - predicted PIM, delayed by mn_pim_canceller_latency(q) samples D: a neural
 * model looks D = border samples ahead (its receptive field is two-sided), a GMP D = its lead
 * (0 for a causal one).  The first D outputs of a stream are zeros, and flush emits the last D samples (the
 * end of the signal padded as a whole-signal pass pads it).  So the stream's outputs after the
 * first D are what mn_pim_net_predict / mn_pim_gmp_predict give for the whole signal at once,
 * whatever the block sizes: exactly for a GMP, and to float rounding (~1e-7 relative) for a
 * neural model, whose windows may be shorter at a chunk's end and so change a GEMM's blocking.
 * The receptive-field history is carried between
 * calls in buffers allocated once by open; process and flush do not allocate.  rx may be NULL:
 * out then receives the predicted interference itself.  Blocks must not overlap out. */
typedef struct mn_pim_canceller mn_pim_canceller;

/* Whether a model file from `pim train` holds a GMP/FIR (metadata mimonet.format "pim-gmp")
 * rather than a neural canceller; reads only the metadata. */
mn_status mn_pim_model_is_gmp(const char *path, bool *gmp);
/* Load a model file from `pim train` (neural or GMP).  A neural model the fused executor runs,
 * and junction, stream one long window (16,384 samples) a forward (mn_pim_net_long_windows); otherwise
 * max_batch windows of 1024 samples or 8 receptive fields, whichever is longer, a forward.
 * max_batch 0: 1 for a fused model (its activation arena is then unused), 4 otherwise. */
mn_status mn_pim_canceller_open(mn_pim_canceller **q, const char *model_path, int max_batch);
/* Wrap a model in memory (borrowed: it must outlive the canceller, and not be used meanwhile). */
mn_status mn_pim_canceller_from_net(mn_pim_canceller **q, mn_pim_net *net);
mn_status mn_pim_canceller_from_gmp(mn_pim_canceller **q, mn_pim_gmp *gmp);
int mn_pim_canceller_n_tx(const mn_pim_canceller *q);
int mn_pim_canceller_n_rx(const mn_pim_canceller *q);
int64_t mn_pim_canceller_latency(const mn_pim_canceller *q);
const char *mn_pim_canceller_kind(const mn_pim_canceller *q); /* "light", ..., "gmp"; "gmp+pa" for a cascade */
mn_status mn_pim_canceller_process(mn_pim_canceller *q, const mn_cf32 *tx, const mn_cf32 *rx,
                                   mn_cf32 *out, int64_t n);
/* The last latency samples, out [n_rx, latency]; the stream then starts over (as after reset). */
mn_status mn_pim_canceller_flush(mn_pim_canceller *q, mn_cf32 *out);
void mn_pim_canceller_reset(mn_pim_canceller *q);
/* Arithmetic of a neural canceller's model (mn_pim_net_set_precision): MN_PRECISION_BF16 runs
 * its pointwise layers (junction: its post filter and maps) in bfloat16 on CPUs with AVX512_BF16
 * (MN_ERR_UNSUPPORTED elsewhere, and then the canceller stays as it was).  A GMP canceller is
 * fp32 only (bf16: MN_ERR_UNSUPPORTED).  For a canceller made with mn_pim_canceller_from_net
 * this sets the borrowed net's precision. */
mn_status mn_pim_canceller_set_precision(mn_pim_canceller *q, mn_precision p);
mn_precision mn_pim_canceller_precision(const mn_pim_canceller *q);
void mn_pim_canceller_free(mn_pim_canceller *q);

/* ---------------------------------------------------------------- simulator
 * (section owned by the simulator work; docs/simulator.md has the derivations)
 *
 * A physically motivated PIM scenario (DESIGN.md, "The PIM simulator must be physically
 * credible"):
 *
 *   carriers   >= 2 NR OFDM downlink carriers (QAM, independent streams per Tx antenna or
 *              beamformed layers), summed per antenna into the DL baseband at fs, centred on
 *              f_dl.  Default: band 3, f_dl = 1835 MHz, two 10 MHz carriers at f_dl -+ fs/3.
 *   junctions  every junction j sees v_j = sum_a C[j,a] x_a, upsampled by `oversample` (x8:
 *              491.52 Msps; at x4 the 9th-order products of a hard-driven contact alias onto
 *              the Rx channel at -35 dB, at x8 the first alias is 21st order), a short
 *              pre-filter (memory), a memoryless passive nonlinearity in first-zone baseband
 *              form, a short post-filter.
 *   receiver   junction outputs are mixed by +fs (the UL LO sits exactly one sample rate below
 *              f_dl, at 2 f1 - f2 for the default plan), decimated back to fs, channel-filtered
 *              to the UL channel, coupled to the Rx antennas through D[r,j], scaled, plus AWGN.
 *   dynamic    slow seeded drift of junction parameters and couplings, and traffic-load changes
 *              (carriers idle or partly allocated, antennas idle) in blocks of OFDM symbols.
 *
 * Because the LO offset is exactly -fs, it is invisible after sampling at fs: the map tx -> rx
 * is time-invariant (in the static scenario) and tx and rx share one time base.  Filter delays
 * are compensated, so rx[n] is centred on tx[n].
 *
 *     mn_pim_sim_cfg c = mn_pim_sim_default();
 *     c.n_tx = 4; c.n_rx = 2; c.scenario = MN_PIM_DYNAMIC; c.seed = 7;
 *     mn_pim_sim *s = mn_pim_sim_create(&c);
 *     mn_pim_sim_info info;
 *     mn_pim_sim_record(s, tx, pim, rx, n, &info);   // tx [4, n], pim/rx [2, n]
 *     char *meta = mn_pim_sim_meta_json(s, &info);    // what meta.json holds
 *
 * Reproducibility: every random draw comes from cfg.seed through mn_rng jump streams; the
 * output is bit-identical for the same seed, whatever the thread count. */

#define MN_PIM_MAX_CARRIERS 8
#define MN_PIM_MAX_JUNCTIONS 32

typedef enum { MN_PIM_STATIC = 0, MN_PIM_DYNAMIC } mn_pim_scenario;

/* Junction characteristics.  Each is a real I-V curve i = a f(b V) acting on the RF voltage
 * V = Re{v e^{j w t}}; the simulator uses its first-zone (fundamental-zone) baseband
 * equivalent y = a F(b|v|) v/|v|, with F(r) = (1/pi) int_0^{2 pi} f(r cos t) cos t dt:
 *   TUNNEL   metal-insulator-metal tunnelling (Simmons 1963), f = sinh:  F(r) = 2 I1(r)
 *   CONTACT  soft-saturating contact, f = tanh:  F(r) by quadrature (tabulated)
 *   CUBIC    reference polynomial, defined directly in baseband: F(r) = r^3, i.e.
 *            y = a b^3 |v|^2 v  (the first zone of i = (4/3) a (bV)^3)
 * TUNNEL and CONTACT have a small-signal linear part a b v (a linear reflection at the DL
 * frequencies, rejected by the duplexer); it is removed unless keep_linear. */
typedef enum {
    MN_PIM_JUNCTION_MIXED = 0, /* simulator config only: even junctions TUNNEL, odd CONTACT */
    MN_PIM_JUNCTION_TUNNEL,
    MN_PIM_JUNCTION_CONTACT,
    MN_PIM_JUNCTION_CUBIC
} mn_pim_junction_kind;

const char *mn_pim_junction_name(mn_pim_junction_kind k); /* "tunnel", ... */
int mn_pim_junction_from_name(const char *name);           /* -1 if unknown */

/* F(r) for a = b = 1, including the linear part (see above); r >= 0. */
double mn_pim_junction_describe(mn_pim_junction_kind kind, double r);

/* One junction at the oversampled rate: y = post * NL(pre * v). */
typedef struct {
    mn_pim_junction_kind kind;   /* TUNNEL, CONTACT or CUBIC */
    double a;                    /* output (current) scale, > 0 */
    double b;                    /* input scale [1 / unit of v], > 0 */
    const mn_cf32 *pre;    /* pre-filter taps at the oversampled rate (NULL: none) */
    int n_pre;
    const mn_cf32 *post;   /* post-filter taps (NULL: none) */
    int n_post;
    bool keep_linear;            /* keep the small-signal linear term (default: removed) */
} mn_pim_junction_cfg;

typedef struct mn_pim_junction mn_pim_junction;
mn_pim_junction *mn_pim_junction_create(const mn_pim_junction_cfg *c);
/* y[i] = post * (a F(b|u|) u/|u|) with u = pre * v; y may equal v. */
void mn_pim_junction_execute(mn_pim_junction *q, mn_cf32 *y, const mn_cf32 *v,
                             size_t n);
/* The same with per-sample multipliers on a and b (drift); ga, gb may be NULL (= 1). */
void mn_pim_junction_execute_mod(mn_pim_junction *q, mn_cf32 *y, const mn_cf32 *v,
                                 size_t n, const float *ga, const float *gb);
void mn_pim_junction_reset(mn_pim_junction *q);
void mn_pim_junction_destroy(mn_pim_junction *q);

/* One downlink carrier. */
typedef struct {
    double offset_hz;   /* centre relative to f_dl [Hz]; |offset| + bw/2 < 0.45 fs */
    double bw_hz;       /* NR channel bandwidth [Hz] (TS 38.101-1: 5..100 MHz) */
    int mu;             /* numerology 0..2: SCS 15 * 2^mu kHz */
    int qam;            /* 16, 64 or 256 (0 selects 256) */
    double power_db;    /* relative power [dB]; each antenna's total is 1 at full load */
    int n_layers;       /* 0: an independent stream per Tx antenna; L > 0: L beamformed layers */
    const mn_cf32 *weights; /* [n_tx, n_layers] row-major (copied at create), or NULL:
                                     steering vectors towards random directions from the seed,
                                     each antenna row of unit norm */
} mn_pim_carrier_cfg;

typedef struct {
    mn_pim_scenario scenario;
    int n_tx, n_rx;             /* antennas, 1 .. 1024 */
    uint64_t seed;
    double fs;                  /* tx/rx sample rate [Hz] (61.44e6) */
    double f_dl;                /* DL centre frequency [Hz] (1835e6); rx centre = f_dl - fs */
    int n_carriers;             /* 2 .. MN_PIM_MAX_CARRIERS (default plan: 2) */
    mn_pim_carrier_cfg carriers[MN_PIM_MAX_CARRIERS];
    int oversample;             /* rate of the nonlinearity / fs: 4, 8, 12 or 16 (8) */
    int n_junctions;            /* 1 .. MN_PIM_MAX_JUNCTIONS (4) */
    mn_pim_junction_kind junction_kind; /* MIXED (default) or one kind for all */
    double drive;               /* rms of b|v| at full load, per junction before spread (1.0) */
    double memory;              /* echo-tap amplitude of the pre/post filters (0.3); 0: none */
    int memory_taps;            /* pre/post filter taps, spaced 1/(4 fs) = 4.07 ns (6) */
    double rx_bw_hz;            /* UL channel filter passband width [Hz] (20e6) */
    double rx_transition_hz;    /* its transition band [Hz] (3e6); stopband from bw/2 + this */
    double pnr_db;              /* PIM-to-noise ratio over the rx band [dB] (40) */
    double pim_power;           /* mean |pim|^2 per Rx antenna after scaling (1.0) */
    /* dynamic scenario (ignored when static) */
    double drift_tau;           /* drift correlation time [samples at fs] (50000) */
    double drift_db;            /* junction level drift, std [dB] (2); coupling gets half */
    double drift_phase;         /* coupling phase drift, std [rad] (0.6) */
    double drift_b;             /* relative drift of b, std (0.1) */
    int traffic_symbols;        /* traffic-load block [OFDM symbols] (4) */
    double p_idle_carrier;      /* probability a carrier is idle in a block (0.2) */
    double p_partial;           /* probability it carries a partial RB allocation (0.4) */
    double p_idle_antenna;      /* probability an antenna is muted in a block (0.1) */
    /* progress of mn_pim_sim_record: fraction done in [0, 1] (may be NULL) */
    void (*progress)(double fraction, void *user);
    void *progress_user;
} mn_pim_sim_cfg;

/* The defaults above: band-3 plan, static, 32 x 16, seed 1.  Start from it and override
 * fields.  A zero in a field without a meaningful zero (fs, f_dl, n_carriers, oversample,
 * n_junctions, drive, memory_taps, rx_bw_hz, rx_transition_hz, pim_power, drift_tau,
 * traffic_symbols, a carrier's qam) also selects its default; pnr_db, memory, drift_* and
 * p_* are taken as given. */
mn_pim_sim_cfg mn_pim_sim_default(void);

typedef struct {
    int64_t n;                /* samples per antenna */
    double pim_gain;          /* amplitude scale applied to the raw junction output */
    double pim_power;         /* mean |pim|^2 over all Rx antennas and samples */
    double noise_power;       /* AWGN power per complex sample, every Rx antenna */
    double pnr_measured_db;   /* 10 log10(mean |pim|^2 / mean |rx - pim|^2) */
    double tx_power;          /* mean |tx|^2 over all Tx antennas and samples */
    double seconds;           /* wall time of the recording */
} mn_pim_sim_info;

typedef struct mn_pim_sim mn_pim_sim;
/* Validates the configuration (NULL with an explanation naming the field on error) and draws
 * the scenario (geometry, couplings, junctions) from the seed. */
mn_pim_sim *mn_pim_sim_create(const mn_pim_sim_cfg *c);
/* The resolved configuration (defaults filled in). */
const mn_pim_sim_cfg *mn_pim_sim_config(const mn_pim_sim *q);
/* Rx centre frequency [Hz] = f_dl - fs. */
double mn_pim_sim_f_rx(const mn_pim_sim *q);
/* tx -> rx delay compensated inside the simulator [samples at fs]. */
int mn_pim_sim_delay(const mn_pim_sim *q);

/* A whole recording from the start: tx [n_tx, n], pim [n_rx, n] scaled so that the mean power
 * is cfg.pim_power, rx = pim + AWGN at cfg.pnr_db (rx may be NULL).  All row-major. */
mn_status mn_pim_sim_record(mn_pim_sim *q, mn_cf32 *tx, mn_cf32 *pim,
                            mn_cf32 *rx, int64_t n, mn_pim_sim_info *info);
/* Streaming: the next n samples of tx (n_tx rows, row stride ld_tx) and of the UNSCALED,
 * noise-free PIM (n_rx rows, stride ld_pim), continuing from the previous call. */
mn_status mn_pim_sim_execute(mn_pim_sim *q, mn_cf32 *tx, int64_t ld_tx, mn_cf32 *pim,
                             int64_t ld_pim, int64_t n);
/* The scenario's PIM chain (couplings, junctions, drift, receiver) applied to a caller's tx
 * [n_tx, n]: pim [n_rx, n], unscaled and noise-free, aligned with tx (zeros are assumed before
 * and after tx).  The drift starts from its beginning at tx[0]; afterwards the simulator is
 * reset (the next _execute starts the recording from sample 0). */
mn_status mn_pim_sim_apply(mn_pim_sim *q, mn_cf32 *pim, const mn_cf32 *tx, int64_t n);
/* Back to the start of the recording. */
void mn_pim_sim_reset(mn_pim_sim *q);
void mn_pim_sim_destroy(mn_pim_sim *q);
/* The scenario as a JSON object (mn_free the text): rates, carrier plan, IM frequencies, Rx
 * channel, junction parameters, coupling matrices and statistics, dynamic settings, and, when
 * info != NULL, the noise power ("noise_power" at the top level), gain and measured PNR. */
char *mn_pim_sim_meta_json(const mn_pim_sim *q, const mn_pim_sim_info *info);

#ifdef __cplusplus
}
#endif
#endif
