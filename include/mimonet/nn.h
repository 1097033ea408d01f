/*
 * mimonet/nn.h — layers as forward/backward pairs, losses, and model composition.
 *
 * Conventions (every kernel here follows them)
 * --------------------------------------------
 * - Activations are float tensors of shape [B, C, T] (batch, channel, time), row-major: the
 *   element (b, c, t) is at ((b * C) + c) * T + t.  This is PyTorch's Conv1d layout.
 * - Complex IQ enters a network as separate real channels: channel 2c is Re, 2c+1 is Im of
 *   antenna c (mn_complex_to_channels / mn_channels_to_complex).
 * - Weights use PyTorch's shapes: conv1d [Cout, Cin/groups, K], linear [Out, In].
 * - forward writes its output (overwrites).  backward ACCUMULATES (+=) into every gradient
 *   it is given (dinp, dw, db ...), so one zero_grad clears a model; any gradient pointer may
 *   be NULL when not needed (e.g. dinp of the first layer).
 * - Nothing here allocates; caches are caller-provided buffers of the documented size.
 * - Kernels parallelize over outputs with OpenMP and never reduce across threads, so results
 *   are identical for any thread count.
 *
 * conv1d output length
 * --------------------
 *     T_out = T_in + pad_left + pad_right - dil * (K - 1)           (stride 1)
 * 'valid': pad_left = pad_right = 0.
 * 'same':  span = dil*(K-1); pad_left = span / 2, pad_right = span - pad_left (PyTorch's
 *          choice: the extra sample goes right), so T_out = T_in.
 * Padding is zeros.  out[b, o, t] = bias[o] + sum_{i in group(o)} sum_k
 *          w[o, i - g0, k] * in[b, i, t - pad_left + k*dil]   (zero outside [0, T_in)).
 *
 * Model composition
 * -----------------
 * A model is declared as a list of nodes.  Each builder call takes the index of its input
 * node(s) and returns the new node's index; errors are sticky (m->status) so a declaration
 * reads top to bottom and is checked once at mn_model_build:
 *
 *     mn_model m; mn_model_init(&m);
 *     int x = mn_model_input(&m, 64);
 *     x = mn_model_dsconv(&m, x, "l1", &(mn_dsconv_cfg){.cout = 32, .k = 3, .dil = 1,
 *                          .act = MN_ACT_LEAKY, .norm = MN_NORM_BATCH});
 *     ...
 *     mn_model_build(&m, max_batch, max_T, &rng);
 *     mn_model_forward(&m, x, B, T, true);  mn_model_backward(&m, dy);
 */
#ifndef MIMONET_NN_H
#define MIMONET_NN_H

#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- conv1d */

typedef enum { MN_PAD_VALID = 0, MN_PAD_SAME } mn_pad;

typedef struct {
    int cin, cout; /* channels; both divisible by groups */
    int k;         /* kernel taps >= 1 */
    int dil;       /* dilation >= 1 */
    int groups;    /* 1: standard; cin (== cout or cout a multiple): depthwise */
    mn_pad pad;
    bool bias;
} mn_conv1d_cfg;

/* pad_left/pad_right for a config; returns T_out (may be <= 0 when T_in is too short). */
int mn_conv1d_out_len(const mn_conv1d_cfg *c, int t_in, int *pad_left, int *pad_right);

/* out [B, cout, T_out]; inp [B, cin, T_in]; w [cout, cin/groups, k]; b [cout] or NULL. */
void mn_conv1d_forward(float *out, const float *inp, const float *w, const float *b, int B,
                       int t_in, const mn_conv1d_cfg *c);
/* dinp [B, cin, T_in] (+=), dw (+=), db (+=); dout [B, cout, T_out]. */
void mn_conv1d_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int t_in, const mn_conv1d_cfg *c);

/* ---------------------------------------------------------------- per-time-step linear */

/* out[b, o, t] = bias[o] + sum_i w[o, i] inp[b, i, t]; out [B, nout, T]; w [nout, nin]. */
void mn_linear_forward(float *out, const float *inp, const float *w, const float *b, int B,
                       int nin, int nout, int T);
void mn_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, int B, int nin, int nout, int T);

/* ---------------------------------------------------------------- LUT interpolation */

/* A learnable lookup table per channel: table [C, n_knots] samples a function on n_knots
 * equally spaced knots over [lo, hi].  y = piecewise-linear interpolation of the table at x;
 * x is clamped to [lo, hi] (so dy/dx = 0 outside).  Inside, x in [knot_j, knot_{j+1}) uses
 * segment j (the last knot belongs to the last segment), and dy/dx is that segment's slope. */
typedef struct {
    int channels;
    int n_knots; /* >= 2 */
    float lo, hi; /* lo < hi */
} mn_lut_cfg;

void mn_lut_forward(float *out, const float *inp, const float *table, int B, int T,
                    const mn_lut_cfg *c);
void mn_lut_backward(float *dinp, float *dtable, const float *dout, const float *inp,
                     const float *table, int B, int T, const mn_lut_cfg *c);

/* ---------------------------------------------------------------- activations */

typedef enum { MN_ACT_NONE = 0, MN_ACT_RELU, MN_ACT_LEAKY, MN_ACT_SIGMOID, MN_ACT_TANH } mn_act;

/* Elementwise over n values; alpha is LeakyReLU's negative slope (ignored by others).
 * backward reads the forward OUTPUT (enough for all four), and accumulates into dinp. */
void mn_act_forward(float *out, const float *inp, size_t n, mn_act kind, float alpha);
void mn_act_backward(float *dinp, const float *dout, const float *out, size_t n, mn_act kind,
                     float alpha);
const char *mn_act_name(mn_act kind);
/* y = tanh(x), n values, on the calling thread only (for callers inside their own parallel
 * region); the same values as mn_act_forward(..., MN_ACT_TANH, ...).  y == x allowed. */
void mn_act_tanh_serial(float *y, const float *x, size_t n);
/* y = tanh(x) for inference, on the calling thread: a rational form without a division (AVX-512
 * or AVX2 when the CPU has them), within 4e-7 of tanh (not the bits of mn_act_forward's, so not
 * for training, whose gradients are checked against that one).  y == x allowed. */
void mn_act_tanh_fast(float *y, const float *x, size_t n);
int mn_act_from_name(const char *name); /* -1 if unknown */

/* ---------------------------------------------------------------- norms */

/* Batch norm over (B, T) per channel.  training: normalize by batch statistics (biased variance)
 * and update running stats with `momentum` (running = (1-m) running + m batch, unbiased batch
 * variance, as PyTorch); eval: use running stats.  gamma/beta may be NULL (affine = false).
 * Caches mean [C], rstd [C] are written in training and read by backward. */
void mn_batchnorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *gamma, const float *beta, float *running_mean,
                          float *running_var, int B, int C, int T, float eps, float momentum,
                          bool training);
/* Training-mode backward (batch statistics). */
void mn_batchnorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C, int T);

/* Layer norm over channels C at each (b, t).  Caches mean, rstd [B, T]. */
void mn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *gamma, const float *beta, int B, int C, int T, float eps);
void mn_layernorm_backward(float *dinp, float *dgamma, float *dbeta, const float *dout,
                           const float *inp, const float *mean, const float *rstd,
                           const float *gamma, int B, int C, int T);

/* ---------------------------------------------------------------- residual */

void mn_add_forward(float *out, const float *a, const float *b, size_t n);
void mn_add_backward(float *da, float *db, const float *dout, size_t n);

/* ---------------------------------------------------------------- complex <-> channels */

/* in: nch complex rows of T samples; out [2*nch, T] with Re at 2c, Im at 2c+1. */
void mn_complex_to_channels(float *out, const mn_cf32 *in, int nch, int T);
void mn_channels_to_complex(mn_cf32 *out, const float *in, int nch, int T);
/* One row of n samples, scaled: re[t] = s Re z[t], im[t] = s Im z[t]; and its inverse,
 * z[t] = (s re[t], s im[t]) as a pair (an infinite part stays in its place).  Each value is one
 * float multiply, so the result is the same bits on every CPU (SIMD shuffles where the CPU has
 * them).  The rows must not overlap. */
void mn_complex_row_split(float *re, float *im, const mn_cf32 *z, int64_t n, float s);
void mn_complex_row_join(mn_cf32 *z, const float *re, const float *im, int64_t n, float s);
/* z[t] = x[t] - (s re[t], s im[t]): the same bits as a join followed by the subtraction. */
void mn_complex_row_join_sub(mn_cf32 *z, const mn_cf32 *x, const float *re, const float *im, int64_t n,
                             float s);

/* ---------------------------------------------------------------- losses */

/* The border mask excludes the first and last `border` samples of each window of length T
 * (0 <= 2*border < T).  Let S = sum over b, c, t in [border, T-border) of (pred - target)^2,
 * N the number of such terms and E = the same sum of target^2.
 *   MSE  = S / N            dpred = 2 (pred - target) / N
 *   NMSE = S / E            dpred = 2 (pred - target) / E
 * Returns the loss (double); when dpred != NULL writes (overwrites) the gradient, zero in the
 * border.  NMSE returns NAN when E == 0. */
double mn_loss_mse(float *dpred, const float *pred, const float *target, int B, int C, int T,
                   int border);
double mn_loss_nmse(float *dpred, const float *pred, const float *target, int B, int C, int T,
                    int border);

/* ---------------------------------------------------------------- gradient check */

/* Central finite differences in double around float parameters/inputs.  The callback writes a
 * scalar loss for the current values of the buffers; the harness perturbs x[i] by +-h.
 * Returns the max relative error  |num - ana| / max(atol_scale, |num| + |ana|). */
typedef double (*mn_gradcheck_fn)(void *ctx);
double mn_gradcheck(mn_gradcheck_fn f, void *ctx, float *x, const float *analytic, size_t n,
                    double h, double atol_scale, size_t *worst_index);
/* Directional check along a random direction v ~ N(0, I) drawn from rng:
 *   |(f(x + h v) - f(x - h v)) / 2h - g . v| / (|g| |v|),
 * with x restored exactly.  Every element contributes, so float rounding inside f averages out
 * where elementwise checks through a deep float graph are noise-bound.  gnorm (may be NULL)
 * receives |g|.  One scratch allocation; NAN if it fails. */
double mn_gradcheck_dir(mn_gradcheck_fn f, void *ctx, float *x, const float *g, size_t n, double h,
                        mn_rng *rng, double *gnorm);

/* ---------------------------------------------------------------- model composition */

/* Tensor plumbing and gating.  Kernels for the node kinds that let networks mix along any axis of a multi-dimensional
 * sample (MAXIM-style multi-axis gated MLPs), gate, concatenate, slice and quantize.  Same
 * conventions as above: forward overwrites, backward accumulates, nothing allocates. */

/* Axis permutation (nn/permute.c).  Each of the B samples is a contiguous 3-D tensor
 * [d0, d1, d2] (row-major); out[b] is the tensor [e0, e1, e2] with e_i = dims[perm[i]] and
 *     out[b, i0, i1, i2] = inp[b, x0, x1, x2],  x_{perm[0]} = i0, x_{perm[1]} = i1, x_{perm[2]} = i2.
 * perm is a permutation of {0, 1, 2}; out must not alias inp. */
void mn_permute3_forward(float *out, const float *inp, int B, const int dims[3], const int perm[3]);
/* dinp[b, x] += dout[b, i] for the same index pairs. */
void mn_permute3_backward(float *dinp, const float *dout, int B, const int dims[3], const int perm[3]);

/* Elementwise product (nn/gate.c): out = a * b;  da += dout * b,  db += dout * a.  da and db
 * may be NULL, or the same buffer (x * x receives 2 x dout). */
void mn_mul_forward(float *out, const float *a, const float *b, size_t n);
void mn_mul_backward(float *da, float *db, const float *dout, const float *a, const float *b,
                     size_t n);

/* Channel concatenation and slicing (nn/channels.c), [B, C, T] tensors.
 * concat: out [B, ca + cb, T] = (a [B, ca, T], b [B, cb, T]) along channels.
 * slice:  out [B, n, T] = inp[:, c0 : c0 + n, :] of inp [B, C, T]. */
void mn_concat_forward(float *out, const float *a, const float *b, int B, int ca, int cb, int T);
void mn_concat_backward(float *da, float *db, const float *dout, int B, int ca, int cb, int T);
void mn_slice_forward(float *out, const float *inp, int B, int C, int c0, int n, int T);
void mn_slice_backward(float *dinp, const float *dout, int B, int C, int c0, int n, int T);

/* Fully connected layer over a batch of vectors (nn/dense.c): the window-1 case of the linear
 * layer as whole-batch GEMMs; the model uses it for linear nodes whose window is 1.
 * out [B, nout] = inp [B, nin] W^T + bias; dinp += dout W; dw += dout^T inp; db += column sums. */
void mn_dense_forward(float *out, const float *inp, const float *w, const float *b, int B, int nin,
                      int nout);
void mn_dense_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                       const float *w, int B, int nin, int nout);

/* B-bit uniform quantizer with a straight-through gradient (nn/quant.c; Bengio, Léonard,
 * Courville 2013, arXiv 1308.3432).  Forward, per value, with L = 2^bits levels on [-1, 1]
 * including both ends:
 *     i = clamp(floor((clamp(x, -1, 1) + 1) (L - 1) / 2 + 1/2), 0, L - 1)   (the bits: i)
 *     q = -1 + 2 i / (L - 1)
 * so bits = 1 is sign(x) with sign(0) = +1, and bits = 2 gives {-1, -1/3, 1/3, 1}.  Feed it a
 * bounded value (tanh before it).  Backward is the identity surrogate dinp += dout (the
 * quantizer is treated as y = x), which is the documented "gradient" the tests check. */
void mn_quant_forward(float *out, const float *inp, size_t n, int bits);
void mn_quant_backward(float *dinp, const float *dout, size_t n);
/* The level index i of one value (0 .. 2^bits - 1), the integer the UE transmits. */
int mn_quant_index(float x, int bits);

/* Nodes.  Each builder below declares one kind. */
typedef enum {
    MN_NODE_INPUT = 0,
    MN_NODE_CONV1D,
    MN_NODE_LINEAR,
    MN_NODE_LUT,
    MN_NODE_ACT,
    MN_NODE_BATCHNORM,
    MN_NODE_LAYERNORM,
    MN_NODE_ADD,
    MN_NODE_PERMUTE,  /* axis permutation of a 3-D view of each sample (mn_model_permute) */
    MN_NODE_MUL,      /* elementwise product (gating) */
    MN_NODE_CONCAT,   /* channel concatenation */
    MN_NODE_SLICE,    /* channel slice */
    MN_NODE_QUANT,    /* B-bit quantizer with straight-through gradient */
    MN_NODE_KIND_COUNT
} mn_node_kind;

typedef enum { MN_NORM_NONE = 0, MN_NORM_BATCH, MN_NORM_LAYER } mn_norm;

/* Arithmetic of eval-mode fused forwards (mn_model_set_precision). */
typedef enum {
    MN_PRECISION_FP32 = 0, /* float throughout (the default) */
    MN_PRECISION_BF16,     /* pointwise layers in bfloat16 with float sums (AVX512_BF16) */
} mn_precision;

typedef struct {
    mn_node_kind kind;
    int in0, in1;       /* input node indices (-1 when unused) */
    char name[48];      /* parameter name prefix, e.g. "l1.dw" */
    int C;              /* output channels */
    int t_shrink;       /* T_out = T_in - t_shrink (valid conv) */
    union {
        mn_conv1d_cfg conv;
        struct { int nin, nout; } lin;
        mn_lut_cfg lut;
        struct { mn_act kind; float alpha; } act;
        struct { bool affine; float eps, momentum; } norm;
        struct { int dims[3], perm[3], split, t_in, t_out; } perm; /* t_in/t_out: fixed windows */
        struct { int c0; } slice;
        struct { int bits; } quant;
    } u;
    int p_w, p_b;         /* parameter indices (-1 when none) */
    int p_rmean, p_rvar;  /* batch-norm running statistics (buffers) */
    /* run-time: pointers into the activation arenas, valid after mn_model_build */
    float *y, *dy;        /* [B, C, T_node] */
    float *c0, *c1;       /* caches (norm mean/rstd) */
    int T;                /* T of this node in the last forward */
    int last_reader;      /* set by mn_model_build, for backward: the last node <= output reading */
    int readers;          /* it (-1: none), and how many inputs of nodes <= output it is */
    int epi;              /* set by mn_model_build: the activation node this node applies as its
                           * epilogue (its one reader; nn/act_epi.h), or -1 */
    int bepi;             /* set by mn_model_build: the activation node, this node's input, whose
                           * backward this node applies to the gradient it writes, or -1 */
    int cat_into;         /* set by mn_model_build for a concat read only by another concat, as its
                           * first input: that concat, which copies this one's inputs straight
                           * into its own output (this one then does nothing), or -1 */
    int cat_view, cat_c0; /* set by mn_model_build for a part of a concat (through cat_into) that
                           * nothing else reads: that concat, and the part's first channel there.
                           * In a sample-split pass the part's output and gradient are those rows
                           * of the concat's own, so nothing is copied; -1 otherwise */
} mn_node;

typedef struct {
    mn_params params;
    mn_node *nodes;
    int n_nodes, cap_nodes;
    int output;          /* output node (default: the last one added) */
    mn_status status;    /* sticky declaration error */
    int max_B, max_T;
    int B;               /* batch of the last forward */
    mn_arena act;        /* y, dy and caches */
    bool built;
    struct mn_fused *fused; /* eval-mode fused executor (nn/fused.c); NULL for graphs it does not run */
    bool fused_off;         /* set by mn_model_set_fused(m, false) */
    bool viewing;           /* in a sample-split pass: parts of concats are rows of them (cat_view) */
    bool fused_ran;         /* the last forward ran fused (only the output node's y was written) */
    mn_precision precision; /* of fused eval forwards (mn_model_set_precision); FP32 by default */
    bool no_input_grad;     /* set by mn_model_set_input_grad(m, false) */
    float *split_g;         /* [max_B, params.total] per-sample gradients (mn_model_set_sample_split) */
} mn_model;

typedef struct {
    int cout, k, dil;
    mn_act act;       /* activation after the block (MN_ACT_NONE for an output layer) */
    float alpha;      /* LeakyReLU slope (0 selects 0.01) */
    mn_norm norm;     /* norm after the pointwise conv */
    bool inner_act;   /* activation between depthwise and pointwise (the paper's choice) */
} mn_dsconv_cfg;

void mn_model_init(mn_model *m);
int mn_model_input(mn_model *m, int channels);
int mn_model_conv1d(mn_model *m, int in, const char *name, const mn_conv1d_cfg *c);
int mn_model_linear(mn_model *m, int in, const char *name, int nout);
int mn_model_lut(mn_model *m, int in, const char *name, int n_knots, float lo, float hi);
int mn_model_act(mn_model *m, int in, mn_act kind, float alpha);
int mn_model_batchnorm(mn_model *m, int in, const char *name, bool affine);
int mn_model_layernorm(mn_model *m, int in, const char *name, bool affine);
int mn_model_add(mn_model *m, int a, int b);
/* Axis permutation: each sample's C x T values (C = the input's channels, T its window) are
 * viewed as a row-major 3-D tensor [dims[0], dims[1], dims[2]] (so the input window must be
 * T = dims[0] dims[1] dims[2] / C, checked at forward), permuted (output axis i = input axis
 * perm[i], as mn_permute3_forward), and regrouped as [B, C', T']: split = 1 folds the first
 * output axis into channels (C' = e0, T' = e1 e2), split = 2 the first two (C' = e0 e1, T' = e2).
 * Example, a feature map [d, M, F] held as C = d, T = M F: dims {d, M, F}, perm {1, 0, 2},
 * split 1 gives C' = M, T' = d F, so a following linear mixes along the M axis.  With
 * perm {0, 1, 2} it is a pure reshape.  The window after it is fixed (T'), whatever T was;
 * its receptive field is the whole input window. */
int mn_model_permute(mn_model *m, int in, const int dims[3], const int perm[3], int split);
/* Elementwise product of two nodes with the same channels (and windows, checked at forward). */
int mn_model_mul(mn_model *m, int a, int b);
/* Channels of a, then channels of b (same windows, checked at forward). */
int mn_model_concat(mn_model *m, int a, int b);
/* Channels [c0, c0 + n) of the input. */
int mn_model_slice(mn_model *m, int in, int c0, int n);
/* bits-bit straight-through quantizer (1 <= bits <= 16), see mn_quant_forward. */
int mn_model_quant(mn_model *m, int in, int bits);
/* Depthwise-separable dilated block: dw conv (k, dil, same) [-> act] -> pw conv -> [norm] ->
 * [act].  Parameter names: <name>.dw.w, <name>.dw.b, <name>.pw.w, <name>.pw.b. */
int mn_model_dsconv(mn_model *m, int in, const char *name, const mn_dsconv_cfg *c);

/* Allocate parameters and activation arenas for batches up to max_B of windows up to max_T,
 * and initialize parameters from rng (PyTorch's default initializers). */
mn_status mn_model_build(mn_model *m, int max_B, int max_T, mn_rng *rng);
/* x [B, C_in, T] -> output [B, C_out, T_out] (returned by mn_model_output).  x is copied into
 * the input node's buffer, m->nodes[0].y, unless it is that buffer: a caller may assemble its
 * batch there (it holds max_B x C_in x max_T) and save the copy. */
mn_status mn_model_forward(mn_model *m, const float *x, int B, int T, bool training);
/* Eval-mode forwards (training = false) of windows of T >= 16 samples of a model that is a chain
 * of depthwise convs ('same'), pointwise convs, linears, batch norms and none / ReLU / LeakyReLU /
 * sigmoid activations (the PIM light, large and dynamic models) run a fused executor
 * (nn/fused.c) on x86-64 CPUs with AVX2+FMA or AVX-512: time tiles through every layer in cache,
 * batch norms folded into the weights.  Outputs equal the layer-by-layer ones up to float rounding
 * (see tests/nn/test_fused.c), and are identical for any thread count.  It writes only the
 * output node's y, so intermediate nodes' y are stale and mn_model_backward after it fails.
 * on = false forces the layer-by-layer path for this model, every node in a pass of its own
 * (in training too: no node then applies the activation that reads it as it writes its output,
 * and no concat joins a chain of concats in one copy, which give the same bits); the default is
 * on.  With it on, the y of a concat absorbed into a chain (cat_into) is never written. */
void mn_model_set_fused(mn_model *m, bool on);
/* Whether an eval forward of windows of T samples runs the fused executor (it does not for
 * graphs it cannot run, with mn_model_set_fused(m, false), for T < 16, or on a CPU without
 * AVX2 unless its portable kernels were asked for). */
bool mn_model_fused_usable(const mn_model *m, int T);
/* The fused eval forward of B windows of ANY length T into y [B, C_out, T] (the caller's):
 * not limited by the built batch and window, and the model's activation buffers are neither
 * used nor changed (so it streams long windows with little memory).  The result is what
 * mn_model_forward(m, x, B, T, false) computes on the fused path; in fp32 an output sample
 * whose receptive field lies inside its window is the same bits in any window that holds it
 * (bf16 ones are close, not equal: their offsets are per time tile).  MN_ERR_UNSUPPORTED when
 * !mn_model_fused_usable(m, T). */
mn_status mn_model_infer(mn_model *m, const float *x, int B, int T, float *y);
/* The same forward of one window of T samples with the caller's I/O, for callers whose signal
 * is held in another layout (the PIM canceller's complex rows): per time tile, on the tile's
 * thread, load fills the C_in input rows (row c at dst + c * ds) with window samples [t, t + n),
 * and store receives the C_out output rows (row c at src + c * ss) of window samples
 * [t, t + n), each sample exactly once.  The executor's threads call them concurrently, for
 * different tiles.  No planar window is ever held. */
typedef struct {
    void (*load)(void *user, float *dst, size_t ds, int t, int n);
    void (*store)(void *user, const float *src, size_t ss, int t, int n);
    void *user;
} mn_infer_io;
mn_status mn_model_infer_io(mn_model *m, int T, const mn_infer_io *io);
/* Reduced-precision inference.  MN_PRECISION_BF16 makes the fused eval forwards compute every
 * pointwise conv and linear (~96% of the light model's multiply-adds) with weights and inputs
 * rounded to bfloat16 (8 significant bits, round to nearest even) and sums kept in float,
 * using AVX512_BF16's VDPBF16PS; depthwise convs, batch norms and activations stay float.
 * Outputs then differ from float ones by a few 1e-3 of their scale (bf16 rounds by up to 2^-8
 * relative, through six layers; tests/nn/test_fused_bf16.c), and are still identical for any thread
 * count.  Only fused eval forwards use it: training forwards, mn_model_backward (refused after a
 * fused forward anyway), windows shorter than 16 and mn_model_set_fused(m, false) stay float.
 * Call after mn_model_build.  BF16 is refused with MN_ERR_UNSUPPORTED, and the model stays as it
 * was, when the model has no fused plan (a graph the executor does not run) or the CPU lacks
 * AVX512_BF16 (or the build is not x86-64 GCC/Clang); MN_PRECISION_FP32 is always accepted. */
mn_status mn_model_set_precision(mn_model *m, mn_precision p);
mn_precision mn_model_precision(const mn_model *m);
/* "fp32", "bf16" (NULL for an unknown value); mn_precision_parse is its inverse (MN_ERR_INVALID
 * for any other name). */
const char *mn_precision_name(mn_precision p);
mn_status mn_precision_parse(const char *name, mn_precision *p);
/* dy [B, C_out, T_out]: accumulates parameter gradients.  Call mn_params_zero_grad first.  dy
 * is copied into the output node's gradient buffer, unless it is that buffer
 * (m->nodes[m->output].dy, which holds max_B x C_out x max_T): a caller may write it there.
 * The gradient with respect to the input is left in nodes[0].dy, unless turned off by
 * mn_model_set_input_grad(m, false) (training does not need it): then the convolutions that
 * read the input skip that part of their backward, and nodes[0].dy is unspecified.
 * MN_ERR_INVALID if the sample split (mn_model_set_sample_split) or the fusion
 * (mn_model_set_fused) was on for the forward and has been turned off since: that forward left
 * the parts of concats in the concats' own rows (cat_view). */
mn_status mn_model_backward(mn_model *m, const float *dy);
void mn_model_set_input_grad(mn_model *m, bool on);
/* Sample-parallel training.  With on = true, training forwards and backwards of B > 1 windows
 * run each stretch of nodes that maps sample b to sample b (everything but training batch norms
 * and linears of vectors, which still run on the whole batch) one sample at a time, the
 * samples shared by the threads: one parallel region per stretch instead of several per node,
 * and each sample's activations pass from node to node while still in cache.  Each sample's
 * parameter gradients go to a buffer of its own ([max_B, params.total] floats, allocated here
 * once), summed into params.g in sample order at the end of the backward, so the result is the
 * same bits for any thread count; it differs from the whole-batch order's by float rounding.
 * A concat's parts that nothing else reads then write their rows of its output, and read their
 * rows of its gradient, in place (cat_view): the same bits as copies.
 * Call after mn_model_build; off frees the buffer.  MN_ERR_NOMEM when it cannot be allocated. */
mn_status mn_model_set_sample_split(mn_model *m, bool on);
float *mn_model_output(const mn_model *m, int *C, int *T);
int mn_model_in_channels(const mn_model *m);
int mn_model_out_channels(const mn_model *m);
/* One-sided receptive field: output t depends on inputs in [t - left, t + right]. */
void mn_model_receptive_field(const mn_model *m, int *left, int *right);
/* Multiply-accumulates per output sample (convs, linears; norms/acts not counted). */
long mn_model_macs_per_sample(const mn_model *m);
/* The architecture as a JSON string (mn_free it); mn_model_from_json rebuilds the declaration
 * (call mn_model_build after). */
char *mn_model_to_json(const mn_model *m);
mn_status mn_model_from_json(mn_model *m, const char *json);
void mn_model_free(mn_model *m);

#ifdef __cplusplus
}
#endif
#endif
