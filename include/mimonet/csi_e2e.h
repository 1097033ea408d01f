/*
 * mimonet/csi_e2e.h — the neural half of module csi: end-to-end learned CSI-RS design, UE
 * feedback, precoding and fusion for FDD massive MIMO, trained on the sum-spectral-efficiency
 * loss (the SRS-aided system of Wu, Gao et al.; see docs/csi_e2e.md).
 *
 * A short tour
 * ------------
 * One *drop* holds, for K single-stream users, three channels of layout [K][M][F] (user, BS
 * antenna, subcarrier; csi.h): the UL channel at SRS time, the DL channel at CSI-RS time and
 * the DL channel at data time (aged).  The system, per drop:
 *
 *   1. SRS.  The BS observes S = H_ul + CN(0, srs_noise).
 *   2. CSI-RS design.  The projection net maps S (or nothing: learned constant pilots, the
 *      Sohrabi–Attiah–Yu setting) to three matrices:
 *        beam domain  A [M x Nb],  port domain  Pi [Nb x L],  frequency domain  Phi [F x L].
 *      Port l's pilot on antenna m, subcarrier f is  x_l[m, f] = Phi~[f, l] X~[m, l]  with
 *      X = A Pi, X~[:, l] = sqrt(P) X[:, l] / ||X[:, l]||, Phi~[:, l] = sqrt(F) Phi[:, l] /
 *      ||Phi[:, l]||: every pilot symbol carries energy F P (power P per subcarrier, as data).
 *   3. UE k sums each pilot symbol over the subcarriers f of each of Nc contiguous subbands
 *      S_c (a coherent frequency-domain projection), normalized by 1/sqrt(|S_c|):
 *        y_k[l, c] = |S_c|^-1/2 sum_{f in S_c} Phi~[f, l] sum_m G_csi[k, m, f] X~[m, l] + CN(0, s2),
 *      which with F = 1 is the SAY observation y = h X~ + n with ||x_l||^2 = P.  The pilot
 *      overhead is L symbols whatever Nc.
 *      Its encoder maps y_k (2 L Nc reals) to B / q features in (-1, 1) (tanh), quantized to q
 *      bits each with a straight-through gradient (nn.h mn_quant_forward): B bits per UE.
 *   4. BS precoders [2K, M F] (channel 2k = Re w_k, 2k + 1 = Im w_k, position m F + f):
 *        feedback net  (all users' features)      -> W_fb
 *        SRS net       (S)                         -> W_srs
 *        fusion net    (W_fb, W_srs each scaled to power P per subcarrier, S, and the
 *                       received feedback repeated at every position)
 *                                                  -> W = g_fb W_fb + g_srs W_srs + correction
 *                                                     (learned per-position gates).
 *      With the RZF head (mn_e2e_cfg.head) each net outputs a channel estimate instead, and
 *      the precoder is its regularized zero forcing (mn_csi_rzf_head_forward).
 *   5. Loss: minus the sum SE of DESIGN.md (csi.h mn_csi_sum_se) on the data-time DL channel,
 *      with W scaled to sum_k ||w_k||^2 = P per subcarrier, averaged over the drops of a batch.
 *
 * Each network is its own mn_model (its own parameter table), declared with the composition
 * API of nn.h: the SRS-reading nets are MAXIM-style multi-axis gated MLPs over the antenna and
 * subcarrier axes.  Freezing a branch is simply not stepping its table.
 *
 *     mn_e2e_cfg c;  mn_e2e_cfg_default(&c, K, M, F);
 *     mn_e2e e;  mn_e2e_init(&e, &c, max_batch, &rng);
 *     mn_e2e_data d;  mn_e2e_data_alloc(&d, n, K, M, F);  mn_e2e_data_simulate(&d, ch, seed, t_data);
 *     mn_e2e_train(&e, MN_E2E_FUSION, &d, &val, &tc, progress, user, &rng);
 *     mn_e2e_eval(&e, MN_E2E_FUSION, &val, &rng, &se);
 */
#ifndef MIMONET_CSI_E2E_H
#define MIMONET_CSI_E2E_H

#include "mimonet/core.h"
#include "mimonet/csi.h"
#include "mimonet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- SE loss */

/* Sum SE of DESIGN.md and its gradient with respect to the UNNORMALIZED precoder, in double.
 * W [2K][M][F] real (Re w_k at channel 2k, Im at 2k + 1; the precoder nets' output layout),
 * G [K][M][F] the true channel rows at data time.  Inside, W is scaled on each subcarrier to
 * sum_k ||w_k||^2 = P (a subcarrier with W = 0 gives rate 0 and gradient 0).  Returns the SE
 * [bit/s/Hz] (mean over subcarriers of sum_k log2(1 + SINR_k)); dW (may be NULL) receives
 * (overwrites) d SE / d W, including the path through the power normalization:
 *   with a_kj = g_k w_j, c^2 = P / sum_j ||w_j||^2, D_k = sum_j |a_kj|^2, N_k = D_k - |a_kk|^2,
 *   T_k = c^2 D_k + s2, I_k = c^2 N_k + s2:
 *   (dSE/dRe + i dSE/dIm)(w_j) = 2 / (F ln 2) [ sum_k c^2 a_kj g_k^H (1/T_k - [j != k] / I_k)
 *                                - (P / e^2) w_j sum_k (D_k / T_k - N_k / I_k) ]. */
double mn_csi_se_grad_d(double *dW, const double *W, const mn_cf64 *G, int K, int M, int F,
                        double P, double sigma2);
/* Float tensors, double arithmetic: returns the SE; dW (may be NULL) ACCUMULATES
 * scale * d SE / d W (scale = -1 / batch turns it into the gradient of the mean loss). */
double mn_csi_se_grad(float *dW, float scale, const float *W, const mn_cf32 *G, int K, int M,
                      int F, double P, double sigma2);

/* Per-subcarrier power normalization of a real precoder tensor W [2K][M][F] to
 * sum_k ||w_k||^2 = P (out may equal in; a zero subcarrier stays zero), and its backward:
 * din += J^T dout with, per subcarrier, v the 2KM reals, u = v / ||v||,
 *   din = sqrt(P) / ||v|| (dout - u (u . dout)). */
void mn_csi_pnorm_forward(float *out, const float *in, int K, int M, int F, double P);
void mn_csi_pnorm_backward(float *din, const float *dout, const float *in, int K, int M, int F,
                           double P);

/* The RZF head (mn_e2e_cfg.head = MN_E2E_HEAD_RZF): a network's output H^ [2K][M][F] (the
 * precoder layout) read as a channel estimate, and the precoder W = H^^H (H^ H^^H + alpha I)^-1
 * per subcarrier, unnormalized, in the same layout.  ws: mn_csi_rzf_head_ws(K, M) elements.
 * The backward OVERWRITES dH with the gradient through W: for dW = dL/dRe W + i dL/dIm W (as
 * channels 2k, 2k + 1), dH = C dW^H - (E^H C + C E) H^ with C the inverse and E = dW^H W
 * (src/csi/rzf_head.c).  Both return 0, or -1 if an inverse failed (non-finite on its diagonal
 * or singular); other non-finite entries come out as non-finite results, which the SE reports. */
size_t mn_csi_rzf_head_ws(int K, int M);
int mn_csi_rzf_head_forward(float *W, const float *H, int K, int M, int F, double alpha, mn_cf64 *ws);
int mn_csi_rzf_head_backward(float *dH, const float *dW, const float *H, int K, int M, int F, double alpha,
                             mn_cf64 *ws);

/* ---------------------------------------------------------------- data */

/* Drops of single-stream channels, each [n][K][M][F] (multi-antenna UEs are reduced with
 * mn_csi_combine_dominant when simulated). */
typedef struct {
    int n, K, M, F;
    mn_cf32 *ul;   /* UL channel at SRS time (UL carrier) */
    mn_cf32 *csi;  /* DL channel at CSI-RS time */
    mn_cf32 *dat;  /* DL channel at data time */
} mn_e2e_data;

mn_status mn_e2e_data_alloc(mn_e2e_data *d, int n, int K, int M, int F);
void mn_e2e_data_free(mn_e2e_data *d);
/* Fill every drop from the channel model: drop i draws a new realization from an RNG seeded
 * from (seed, i), then evaluates UL and DL at t = 0 and DL at t = t_data_sec (aging).  The
 * channel's users, antennas and subcarriers must match d.  threads > 1 creates one channel
 * object per thread (copies of ch's configuration); drops are independent, so the result does
 * not depend on the thread count. */
mn_status mn_e2e_data_simulate(mn_e2e_data *d, const mn_csi_chan *ch, uint64_t seed,
                               double t_data_sec, int threads);
/* Drops [first, first + n) of src as a view (no copy). */
mn_e2e_data mn_e2e_data_view(const mn_e2e_data *src, int first, int n);

/* ---------------------------------------------------------------- the system */

typedef enum {
    MN_E2E_FEEDBACK = 0, /* CSI-RS + UE feedback + feedback-only precoder */
    MN_E2E_SRS,          /* SRS-only precoder (0 feedback bits, no CSI-RS) */
    MN_E2E_FUSION,       /* both branches and the fusion net */
    MN_E2E_SCHEME_COUNT
} mn_e2e_scheme;

const char *mn_e2e_scheme_name(mn_e2e_scheme s);
int mn_e2e_scheme_from_name(const char *name); /* -1 if unknown */

/* What the precoder networks (fb, srs, fus) output. */
typedef enum {
    MN_E2E_HEAD_DIRECT = 0, /* the precoder itself */
    MN_E2E_HEAD_RZF,        /* a channel estimate H^; the precoder is its RZF with MMSE loading
                               alpha = K sigma2 / P (mn_csi_rzf_head_forward).  The fusion net's
                               branch inputs are then the branches' estimates. */
    MN_E2E_HEAD_COUNT
} mn_e2e_head;

const char *mn_e2e_head_name(mn_e2e_head h);
int mn_e2e_head_from_name(const char *name); /* -1 if unknown */

typedef struct {
    int K, M, F;        /* users, BS antennas, subcarriers */
    int pilots;         /* L: CSI-RS pilot symbols (ports), >= 1 */
    int subbands;       /* Nc: the UE sums each pilot symbol over Nc contiguous subbands
                           (1..F; 1: over the whole band) and observes L Nc values */
    int beams;          /* Nb: beam-domain columns, 1..M (0 selects min(M, L)) */
    int bits;           /* B: feedback bits per UE, >= 1, a multiple of q */
    int q;              /* bits per feedback feature: 1 (sign) .. 8; 0: no quantizer (B unquantized
                           features in (-1, 1): an ablation, and it makes every network
                           differentiable for gradient checks) */
    bool srs_pilots;    /* the projection net reads the SRS (false: learned constant pilots) */
    double P;           /* DL transmit power per subcarrier (and pilot power), > 0 */
    double sigma2;      /* UE noise variance per subcarrier, > 0 */
    double srs_noise;   /* SRS observation noise variance per element (unit-power channel) */
    int width;          /* d: feature channels of the gated-MLP nets, >= 2 and even */
    int blocks;         /* gated blocks in each SRS-reading net, >= 1 */
    int hidden;         /* hidden width of the encoder and feedback-precoder MLPs, >= 1 */
    mn_e2e_head head;   /* what the precoder nets output (default MN_E2E_HEAD_DIRECT) */
} mn_e2e_cfg;

/* Defaults for K users, M antennas, F subcarriers: L = 8, Nc = 1, Nb = min(M, L), B = 8, q = 1,
 * SRS-aware pilots, P = 1, sigma2 = 0.1 (10 dB), srs_noise = sigma2 / P, d = 16, 2 blocks,
 * hidden 256, the direct head. */
void mn_e2e_cfg_default(mn_e2e_cfg *c, int K, int M, int F);
/* MN_OK or MN_ERR_INVALID naming the field. */
mn_status mn_e2e_cfg_check(const mn_e2e_cfg *c);

typedef struct {
    mn_e2e_cfg cfg;
    int L, Nb, nfeat;       /* pilots, beams, feedback features per UE (B / q) */
    int Nc, ny;             /* subbands, reals per user observation (2 L Nc) */
    int max_batch;          /* drops per forward */
    /* the networks (each its own parameter table) */
    mn_model proj;          /* SRS [2K, M F] (or a constant) -> [A | Phi | Pi] */
    mn_model enc;           /* y [2 L Nc, 1] -> quantized features [nfeat, 1], per (drop, user) */
    mn_model fb;            /* features [K nfeat, 1] -> W_fb [2K, M F] */
    mn_model srs;           /* SRS [2K, M F] -> W_srs [2K, M F] */
    mn_model fus;           /* [W_fb~ | W_srs~ | SRS | feedback] [6K + K nfeat, M F] -> W [2K, M F] */
    /* workspace, allocated once for max_batch drops */
    mn_arena ws;
    float *srs_in;          /* [Bd][2K][M F] */
    float *proj_in;         /* [Bd][1][1] zeros (constant pilots) */
    mn_cf32 *A, *Pi, *Phi, *X;  /* [Bd][M][Nb], [Bd][Nb][L], [Bd][F][L], [Bd][M][L] */
    float *xnorm, *phinorm; /* [Bd][L] */
    mn_cf32 *Xt, *Phit;         /* normalized: [Bd][M][L], [Bd][F][L] */
    mn_cf32 *tproj;   /* [Bd][K][F][L]  sum_m G X~ */
    float *y;               /* encoder input [Bd K][L][Nc][2] */
    float *dproj;           /* gradient of the projection output [Bd][proj_len] */
    int proj_len;           /* 2 Nb M + 2 L F + 2 Nb L */
    mn_cf64 *gx;     /* [Bd][M] scratch of the observation backward */
    int fus_ch;             /* fusion input channels: 6K + K nfeat */
    float *fus_in;          /* [Bd][fus_ch][M F] */
    float *dfeat;           /* [Bd][K nfeat] gradient w.r.t. the received feedback */
    float *dW;              /* [Bd][2K][M F] gradient of the loss w.r.t. the final precoder */
    float *dW2;             /* [Bd][2K][M F] second precoder gradient (stage-1 SRS branch) */
    float *dtmp;            /* [Bd][2K][M F] scratch */
    double *se_drop;        /* [Bd] SE of each drop in the last forward (feedback branch in stage 1) */
    double *se2_drop;       /* [Bd] the SRS branch's, stage 1 */
    float *wz, *wz2;        /* [Bd][2K][M F] RZF-head precoders of the scored outputs (head RZF) */
    float *dz;              /* [Bd][2K][M F] gradient w.r.t. an RZF-head precoder (head RZF) */
    mn_cf64 *rzf_ws; /* [Bd][mn_csi_rzf_head_ws(K, M)] (head RZF) */
    const float *w_out;     /* the last forward's precoder [Bd][2K][M F] */
    int last_B;
    mn_e2e_scheme last_scheme;
    bool last_both;         /* last forward scored both branches (stage 1) */
    const mn_e2e_data *last_data;
} mn_e2e;

/* Declare and build every network for batches up to max_batch drops, initialized from rng.
 * On failure everything is released and *e is zeroed. */
mn_status mn_e2e_init(mn_e2e *e, const mn_e2e_cfg *c, int max_batch, mn_rng *rng);
void mn_e2e_free(mn_e2e *e);
/* Network i (0 proj, 1 enc, 2 fb, 3 srs, 4 fus; NULL otherwise); *name (may be NULL) receives
 * its short name ("proj", ...). */
mn_model *mn_e2e_net(mn_e2e *e, int i, const char **name);
#define MN_E2E_NETS 5

/* Forward through the scheme's networks on drops d (d->n <= max_batch), noise from rng.
 * Returns the mean sum SE [bit/s/Hz] over the drops (NAN and mn_error on failure, e.g. a
 * shape mismatch).  With both = true (fusion scheme only: stage 1), the feedback and SRS
 * branches are each scored on their own precoder and the return value is the mean of the two
 * SEs; *se_fb / *se_srs (may be NULL) receive each. */
double mn_e2e_forward(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *d, bool both, bool training,
                      mn_rng *rng, double *se_fb, double *se_srs);
/* Backward of the last forward for the loss  -mean SE  (stage 1: -(mean SE_fb + mean SE_srs)),
 * accumulating into the gradients of the networks selected by mask (bit i: network i as in
 * mn_e2e_net); gradients are not propagated into unselected networks that sit only upstream of
 * unselected ones.  Call mn_params_zero_grad on those tables first. */
mn_status mn_e2e_backward(mn_e2e *e, unsigned mask);
/* The last forward's final precoder, as complex W[Bd][K][M][F] (not normalized). */
void mn_e2e_precoder(const mn_e2e *e, mn_cf32 *W);
/* Feedback bits of the last forward: bits[Bd][K][B] as 0/1 (the level indices of each
 * feature, most significant bit first; q = 0: the sign of each unquantized feature). */
void mn_e2e_bits(const mn_e2e *e, uint8_t *bits);

/* Mean sum SE of scheme s over all drops of d, in batches of max_batch, noise from rng.
 * se_std (may be NULL) receives the standard error over drops. */
mn_status mn_e2e_eval(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *d, mn_rng *rng, double *se,
                      double *se_std);

/* ---------------------------------------------------------------- training */

typedef struct {
    long steps[3];      /* steps of stage 1 (branches), 2 (fusion, branches frozen), 3 (joint);
                           the feedback and srs schemes run stage 1 only */
    int batch;          /* drops per step, <= max_batch */
    float lr[3];        /* peak learning rate of each stage (cosine schedule with warm-up) */
    float weight_decay; /* AdamW decoupled decay */
    float clip;         /* global gradient-norm clip over the stage's trainable tables */
    long warmup;        /* warm-up steps of each stage */
    long eval_every;    /* validation interval in steps (0: never) */
} mn_e2e_train_cfg;

/* Defaults: 600 / 300 / 300 steps, batch 32, lr 2e-3 / 2e-3 / 5e-4, weight decay 1e-4, clip 1,
 * warm-up 50, validation every 100 steps. */
void mn_e2e_train_cfg_default(mn_e2e_train_cfg *c);

typedef struct {
    int stage;          /* 1, 2, 3 */
    long step, steps;   /* within the stage */
    double se;          /* training SE of this step (mean over the batch; fusion stage 1: the
                           mean of the two branches' SEs) */
    double val_se;      /* last validation SE (NAN before the first; fusion stage 1: the
                           feedback branch's) */
    float lr;
    double grad_norm;   /* pre-clip */
} mn_e2e_progress;

/* Return non-zero to stop (MN_ERR_INTERRUPTED). */
typedef int (*mn_e2e_progress_fn)(const mn_e2e_progress *p, void *user);

/* The three-stage schedule (docs/csi_e2e.md):
 *   stage 1: the feedback branch (proj, enc, fb) on -SE(W_fb) and the SRS branch (srs) on
 *            -SE(W_srs), trained side by side (disjoint tables, one optimizer step each);
 *   stage 2: the fusion net alone, on -SE(W), with the branch tables frozen (not stepped, and
 *            no backward into them);
 *   stage 3: every table jointly on -SE(W).
 * Scheme feedback trains proj, enc, fb; scheme srs trains srs; each one stage of steps[0].
 * Each step draws a batch of drops (uniformly, from rng) from train and fresh noise; AdamW with
 * a cosine schedule per stage and global-norm clipping across the stage's tables.  val (may be
 * NULL) is scored every eval_every steps.  Deterministic for a fixed rng state (any thread
 * count). */
mn_status mn_e2e_train(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *train, const mn_e2e_data *val,
                       const mn_e2e_train_cfg *tc, mn_e2e_progress_fn fn, void *user, mn_rng *rng);

/* ---------------------------------------------------------------- classical baselines on the same drops */

typedef enum {
    MN_E2E_BL_MRT = 0,   /* perfect CSI at data time */
    MN_E2E_BL_ZF,
    MN_E2E_BL_RZF,       /* MMSE loading K sigma2 / P */
    MN_E2E_BL_WMMSE,
    MN_E2E_BL_SRS,       /* SRS-only: UL angle -> DL beam, then ZF (0 bits) */
    MN_E2E_BL_TYPE1,     /* Type I mode 1 wideband + ZF */
    MN_E2E_BL_TYPE2_WB,  /* Type II L = 2, 8PSK, one (wideband) subband + ZF */
    MN_E2E_BL_TYPE2_L2,  /* Type II L = 2, 8PSK, subbands of sb_size subcarriers + ZF */
    MN_E2E_BL_TYPE2_L4,  /* Type II L = 4, 8PSK, subbands + ZF */
    MN_E2E_BL_ANALOG,    /* analog feedback of M pilots + ZF (unquantized) */
    MN_E2E_BL_COUNT
} mn_e2e_baseline;

typedef struct {
    const char *name;     /* e.g. "rzf_perfect", "type2_l2" */
    double se, se_stderr; /* mean sum SE over drops [bit/s/Hz] and its standard error */
    double bits_per_ue;   /* mean feedback payload (NAN: not applicable, e.g. perfect CSI, analog) */
    int pilot_symbols;    /* CSI-RS symbols per port set (M orthogonal ports; 0: none) */
    bool valid;           /* false when skipped (no array geometry) */
} mn_e2e_result;

typedef struct {
    int bs_nh, bs_nv;           /* BS UPA (bs_nh bs_nv == M), needed by the codebooks and SRS-only;
                                   0: unknown geometry, those baselines are skipped */
    double fc_dl_hz, fc_ul_hz;  /* carriers (SRS-only maps UL angles to DL beams) */
    double P, sigma2;           /* as the system */
    double srs_noise;           /* SRS noise variance per element */
    int sb_size;                /* Type II subband size in subcarriers (0: 4) */
    bool wmmse;                 /* run WMMSE (slowest) */
} mn_e2e_baseline_cfg;

/* Every baseline of csi.h on the drops of d: perfect-CSI schemes on the data-time channel; the
 * UE estimates (CSI-RS: M orthogonal ports, LS noise sigma2 / P) and the SRS observation come
 * from rng.  res[MN_E2E_BL_COUNT] receives each. */
mn_status mn_e2e_baselines(mn_e2e_result *res, const mn_e2e_data *d, const mn_e2e_baseline_cfg *c, mn_rng *rng);

/* ---------------------------------------------------------------- channel files */

/* Complex channel tensors [drops, ue, ue_ant, bs_ant, subcarriers] as .npy (complex64 written;
 * complex64 or complex128, little-endian, C order read; a 4-D [drops, ue, bs_ant, subcarriers]
 * file is read as ue_ant = 1).  read allocates *H (mn_free it) and fills shape[5]; errors name
 * the file and what is wrong with it. */
mn_status mn_csi_npy_write(const char *path, const mn_cf32 *H, const int64_t shape[5]);
mn_status mn_csi_npy_read(mn_cf32 **H, int64_t shape[5], const char *path);
/* Drops from external channels: dl [drops][K][Nr][M][F] at CSI-RS time, ul (may be NULL: the
 * DL is used, i.e. full reciprocity) and dat (may be NULL: no aging, the DL is used), all of
 * the same shape; Nr > 1 is reduced with mn_csi_combine_dominant.  Allocates d. */
mn_status mn_e2e_data_from_channels(mn_e2e_data *d, const mn_cf32 *dl, const mn_cf32 *ul,
                                    const mn_cf32 *dat, const int64_t shape[5]);

/* ---------------------------------------------------------------- checkpoints */

/* Every network's tensors ("<net>.<param>") with the configuration, the scheme and each
 * network's architecture in the metadata (keys "mimonet.format" = "csi-e2e", "mimonet.scheme",
 * "csi.cfg", "csi.arch.<net>"), plus n_extra caller pairs. */
mn_status mn_e2e_save(const mn_e2e *e, mn_e2e_scheme s, const char *path, const char *const *keys,
                      const char *const *values, int n_extra);
/* Rebuild a system from a checkpoint (max_batch drops per forward); *s receives its scheme. */
mn_status mn_e2e_load(mn_e2e *e, mn_e2e_scheme *s, const char *path, int max_batch);

#ifdef __cplusplus
}
#endif
#endif
