/* src/csi/e2e.c — the end-to-end CSI system: configuration, data (drops of UL / DL / aged DL
 * channels), building the five networks, and the forward / backward of one batch of drops for
 * each scheme (docs/csi_e2e.md).
 *
 * Forward, batch of Bd drops (mn_e2e_forward):
 *   1. SRS: S = H_ul + CN(0, srs_noise), as real channels [Bd][2K][M F].
 *   2. feedback branch (schemes feedback, fusion): proj -> pilots -> y = observation + noise
 *      (projection.c) -> enc (per drop and user; its output [Bd K][B/q] is exactly the fb
 *      input [Bd][K B/q]) -> fb -> W_fb.
 *   3. SRS branch (srs, fusion): srs -> W_srs.
 *   4. fusion (fusion, unless stage 1): fus_in = [pnorm(W_fb) | pnorm(W_srs) | S | feedback]
 *      -> fus -> W; the feedback levels (K B/q values) are repeated at every position, since
 *      the bits only make sense jointly with the SRS-dependent pilots.
 *   5. SE and its gradient on the data-time channel (se_loss.c), per drop, into dW (and dW2
 *      for the SRS branch in stage 1).
 * Noise is drawn sequentially from the caller's RNG before any parallel work, and the parallel
 * loops run over drops writing disjoint slices, so results do not depend on the thread count.
 * Nothing allocates after mn_e2e_init. */
#include "e2e_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../nn/pragma.h"
#ifdef _OPENMP
#include <omp.h>
#endif

/* Below this many complex multiply-adds a per-drop loop runs on the calling thread (a parallel
 * region costs more than it saves on small systems). */
#define PAR_MIN_WORK 65536L

/* ---------------------------------------------------------------- names and configuration */

static const char *const scheme_names[MN_E2E_SCHEME_COUNT] = {"feedback", "srs", "fusion"};
static const char *const head_names[MN_E2E_HEAD_COUNT] = {"direct", "rzf"};

const char *mn_e2e_head_name(mn_e2e_head h) { return (int)h >= 0 && h < MN_E2E_HEAD_COUNT ? head_names[h] : "?"; }

int mn_e2e_head_from_name(const char *name)
{
    for (int i = 0; name && i < MN_E2E_HEAD_COUNT; i++)
        if (!strcmp(name, head_names[i])) return i;
    return -1;
}

const char *mn_e2e_scheme_name(mn_e2e_scheme s)
{
    return (int)s >= 0 && s < MN_E2E_SCHEME_COUNT ? scheme_names[s] : "?";
}

int mn_e2e_scheme_from_name(const char *name)
{
    for (int i = 0; name && i < MN_E2E_SCHEME_COUNT; i++)
        if (!strcmp(name, scheme_names[i])) return i;
    return -1;
}

void mn_e2e_cfg_default(mn_e2e_cfg *c, int K, int M, int F)
{
    memset(c, 0, sizeof *c);
    c->K = K;
    c->M = M;
    c->F = F;
    c->pilots = 8;
    c->subbands = 1;
    c->beams = 0;
    c->bits = 8;
    c->q = 1;
    c->srs_pilots = true;
    c->P = 1.0;
    c->sigma2 = 0.1;
    c->srs_noise = 0.1;
    c->width = 16;
    c->blocks = 2;
    c->hidden = 256;
    c->head = MN_E2E_HEAD_DIRECT;
}

mn_status mn_e2e_cfg_check(const mn_e2e_cfg *c)
{
    if (!c) return mn_error(MN_ERR_INVALID, "csi e2e: NULL configuration");
    if (c->K < 1 || c->K > MN_CSI_MAX_USERS) return mn_error(MN_ERR_INVALID, "csi e2e: K = %d users (1..%d)", c->K, MN_CSI_MAX_USERS);
    if (c->M < 1 || c->M > 4096) return mn_error(MN_ERR_INVALID, "csi e2e: M = %d antennas (1..4096)", c->M);
    if (c->F < 1 || c->F > 4096) return mn_error(MN_ERR_INVALID, "csi e2e: F = %d subcarriers (1..4096)", c->F);
    if ((long)c->M * c->F > (1L << 20)) return mn_error(MN_ERR_INVALID, "csi e2e: M F = %ld too large", (long)c->M * c->F);
    if (c->pilots < 1 || c->pilots > 1024) return mn_error(MN_ERR_INVALID, "csi e2e: pilots = %d (1..1024)", c->pilots);
    if (c->subbands < 1 || c->subbands > c->F)
        return mn_error(MN_ERR_INVALID, "csi e2e: subbands = %d (1..F = %d)", c->subbands, c->F);
    if ((long)c->pilots * c->subbands > 65536)
        return mn_error(MN_ERR_INVALID, "csi e2e: pilots x subbands = %ld too large", (long)c->pilots * c->subbands);
    if (c->beams < 0 || c->beams > c->M) return mn_error(MN_ERR_INVALID, "csi e2e: beams = %d (0..M = %d)", c->beams, c->M);
    if (c->q < 0 || c->q > 8) return mn_error(MN_ERR_INVALID, "csi e2e: q = %d bits per feature (1..8, or 0: unquantized)", c->q);
    if (c->bits < 1 || c->bits > 4096 || (c->q > 0 && c->bits % c->q))
        return mn_error(MN_ERR_INVALID, "csi e2e: bits = %d per UE must be 1..4096 and a multiple of q = %d", c->bits, c->q);
    if (!(c->P > 0) || !isfinite(c->P)) return mn_error(MN_ERR_INVALID, "csi e2e: P = %g must be > 0", c->P);
    if (!(c->sigma2 > 0) || !isfinite(c->sigma2)) return mn_error(MN_ERR_INVALID, "csi e2e: sigma2 = %g must be > 0", c->sigma2);
    if (!(c->srs_noise >= 0) || !isfinite(c->srs_noise))
        return mn_error(MN_ERR_INVALID, "csi e2e: srs_noise = %g must be >= 0", c->srs_noise);
    if (c->width < 2 || c->width > 1024 || c->width % 2)
        return mn_error(MN_ERR_INVALID, "csi e2e: width = %d must be even, 2..1024", c->width);
    if (c->blocks < 1 || c->blocks > 16) return mn_error(MN_ERR_INVALID, "csi e2e: blocks = %d (1..16)", c->blocks);
    if (c->hidden < 1 || c->hidden > 8192) return mn_error(MN_ERR_INVALID, "csi e2e: hidden = %d (1..8192)", c->hidden);
    if ((int)c->head < 0 || c->head >= MN_E2E_HEAD_COUNT) return mn_error(MN_ERR_INVALID, "csi e2e: head %d (direct, rzf)", (int)c->head);
    return MN_OK;
}

/* ---------------------------------------------------------------- data */

mn_status mn_e2e_data_alloc(mn_e2e_data *d, int n, int K, int M, int F)
{
    memset(d, 0, sizeof *d);
    if (n < 1 || K < 1 || M < 1 || F < 1)
        return mn_error(MN_ERR_INVALID, "csi e2e data: n = %d, K = %d, M = %d, F = %d must be >= 1", n, K, M, F);
    size_t cnt = (size_t)n * K * M * F;
    d->ul = mn_calloc(cnt, sizeof *d->ul);
    d->csi = mn_calloc(cnt, sizeof *d->csi);
    d->dat = mn_calloc(cnt, sizeof *d->dat);
    if (!d->ul || !d->csi || !d->dat) {
        mn_e2e_data_free(d);
        return mn_error(MN_ERR_NOMEM, "csi e2e data: %d drops of %d x %d x %d", n, K, M, F);
    }
    d->n = n;
    d->K = K;
    d->M = M;
    d->F = F;
    return MN_OK;
}

void mn_e2e_data_free(mn_e2e_data *d)
{
    mn_free(d->ul);
    mn_free(d->csi);
    mn_free(d->dat);
    memset(d, 0, sizeof *d);
}

mn_e2e_data mn_e2e_data_view(const mn_e2e_data *src, int first, int n)
{
    mn_e2e_data v = *src;
    size_t off = (size_t)first * src->K * src->M * src->F;
    v.n = n;
    v.ul = src->ul + off;
    v.csi = src->csi + off;
    v.dat = src->dat + off;
    return v;
}

/* One drop into slot i: three responses, reduced to single-stream rows when Nr > 1. */
static mn_status simulate_drop(mn_e2e_data *d, mn_csi_chan *ch, float complex *tmp, uint64_t seed,
                               int i, double t_data)
{
    mn_rng r;
    mn_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)));
    mn_status st = mn_csi_chan_draw(ch, &r);
    const int Nr = mn_csi_chan_config(ch)->ue_ant;
    const size_t off = (size_t)i * d->K * d->M * d->F;
    float complex *dst[3] = {d->ul + off, d->csi + off, d->dat + off};
    const mn_csi_link link[3] = {MN_CSI_UL, MN_CSI_DL, MN_CSI_DL};
    const double when[3] = {0.0, 0.0, t_data};
    for (int j = 0; j < 3 && st == MN_OK; j++) {
        st = mn_csi_chan_response(ch, Nr > 1 ? tmp : dst[j], link[j], when[j]);
        if (st == MN_OK && Nr > 1) st = mn_csi_combine_dominant(dst[j], tmp, d->K, Nr, d->M, d->F);
    }
    return st;
}

mn_status mn_e2e_data_simulate(mn_e2e_data *d, const mn_csi_chan *ch, uint64_t seed,
                               double t_data_sec, int threads)
{
    const mn_csi_chan_cfg *c = mn_csi_chan_config(ch);
    if (c->users != d->K || mn_csi_chan_bs_ant(ch) != d->M || c->n_sc != d->F)
        return mn_error(MN_ERR_SHAPE, "csi e2e data: channel has K = %d, M = %d, F = %d; data holds %d, %d, %d",
                        c->users, mn_csi_chan_bs_ant(ch), c->n_sc, d->K, d->M, d->F);
    if (!isfinite(t_data_sec) || t_data_sec < 0)
        return mn_error(MN_ERR_INVALID, "csi e2e data: data time %g s must be >= 0", t_data_sec);
    if (threads < 1) threads = 1;
    if (threads > d->n) threads = d->n;
    mn_status status = MN_OK;
    OMP(parallel num_threads(threads))
    {
        mn_csi_chan *q = mn_csi_chan_create(c);
        float complex *tmp = c->ue_ant > 1 ? mn_malloc(mn_csi_chan_response_len(ch) * sizeof *tmp) : NULL;
        mn_status st = q && (c->ue_ant == 1 || tmp) ? MN_OK : MN_ERR_NOMEM;
        OMP(for schedule(static))
        for (int i = 0; i < d->n; i++)
            if (st == MN_OK) st = simulate_drop(d, q, tmp, seed, i, t_data_sec);
        OMP(critical)
        if (st != MN_OK && status == MN_OK) status = st;
        mn_free(tmp);
        mn_csi_chan_destroy(q);
    }
    if (status != MN_OK)
        return mn_error(status, "csi e2e data: simulating drops failed (%s)", mn_status_str(status));
    return MN_OK;
}

/* ---------------------------------------------------------------- building */

mn_model *mn_e2e_net(mn_e2e *e, int i, const char **name)
{
    static const char *const names[MN_E2E_NETS] = {"proj", "enc", "fb", "srs", "fus"};
    mn_model *nets[MN_E2E_NETS] = {&e->proj, &e->enc, &e->fb, &e->srs, &e->fus};
    if (i < 0 || i >= MN_E2E_NETS) return NULL;
    if (name) *name = names[i];
    return nets[i];
}

void mn_e2e_free(mn_e2e *e)
{
    for (int i = 0; i < MN_E2E_NETS; i++) mn_model_free(mn_e2e_net(e, i, NULL));
    mn_arena_free(&e->ws);
    memset(e, 0, sizeof *e);
}

/* Bytes of n elements of size sz, rounded to the arena's 64-byte alignment. */
static size_t rnd(size_t n, size_t sz) { return (n * sz + 63) & ~(size_t)63; }

mn_status mn_e2e_init(mn_e2e *e, const mn_e2e_cfg *c, int max_batch, mn_rng *rng)
{
    memset(e, 0, sizeof *e);
    mn_status st = mn_e2e_cfg_check(c);
    if (st != MN_OK) return st;
    if (max_batch < 1 || max_batch > 65536) return mn_error(MN_ERR_INVALID, "csi e2e: max batch %d (1..65536)", max_batch);
    e->cfg = *c;
    e->L = c->pilots;
    e->Nc = c->subbands;
    e->ny = 2 * c->pilots * c->subbands;
    e->Nb = c->beams > 0 ? c->beams : (c->M < c->pilots ? c->M : c->pilots);
    e->nfeat = c->q > 0 ? c->bits / c->q : c->bits;
    e->fus_ch = 6 * c->K + c->K * e->nfeat;
    e->max_batch = max_batch;
    const int K = c->K, M = c->M, F = c->F, L = e->L, Nb = e->Nb, Bd = max_batch;
    const size_t MF = (size_t)M * F;
    e->proj_len = csi_e2e_proj_out_len(M, F, L, Nb);
    for (int i = 0; i < MN_E2E_NETS; i++) mn_model_init(mn_e2e_net(e, i, NULL));
    csi_e2e_declare_proj(&e->proj, c, L, Nb);
    csi_e2e_declare_enc(&e->enc, c, L, e->nfeat);
    csi_e2e_declare_fb(&e->fb, c, e->nfeat);
    csi_e2e_declare_srs(&e->srs, c);
    csi_e2e_declare_fus(&e->fus, c);
    st = mn_model_build(&e->proj, Bd, c->srs_pilots ? (int)MF : 1, rng);
    if (st == MN_OK) st = mn_model_build(&e->enc, Bd * K, 1, rng);
    if (st == MN_OK) st = mn_model_build(&e->fb, Bd, 1, rng);
    if (st == MN_OK) st = mn_model_build(&e->srs, Bd, (int)MF, rng);
    if (st == MN_OK) st = mn_model_build(&e->fus, Bd, (int)MF, rng);
    if (st != MN_OK) {
        mn_e2e_free(e);
        return st;
    }
    csi_e2e_init_gates(&e->proj);
    csi_e2e_init_gates(&e->srs);
    csi_e2e_init_gates(&e->fus);
    const size_t W = (size_t)Bd * 2 * K * MF;
    size_t bytes = rnd(W, sizeof(float)) + rnd(Bd, sizeof(float)) + rnd((size_t)Bd * M * Nb, sizeof(float complex)) +
                   rnd((size_t)Bd * Nb * L, sizeof(float complex)) + 2 * rnd((size_t)Bd * F * L, sizeof(float complex)) +
                   2 * rnd((size_t)Bd * M * L, sizeof(float complex)) + 2 * rnd((size_t)Bd * L, sizeof(float)) +
                   rnd((size_t)Bd * K * F * L, sizeof(float complex)) + rnd((size_t)Bd * K * e->ny, sizeof(float)) +
                   rnd((size_t)Bd * e->proj_len, sizeof(float)) + rnd((size_t)Bd * M, sizeof(double complex)) +
                   rnd((size_t)Bd * e->fus_ch * MF, sizeof(float)) + 3 * rnd(W, sizeof(float)) + 2 * rnd(Bd, sizeof(double)) +
                   rnd((size_t)Bd * K * e->nfeat, sizeof(float));
    const bool rzf = c->head == MN_E2E_HEAD_RZF;
    const size_t zws = mn_csi_rzf_head_ws(K, M);
    if (rzf) bytes += 3 * rnd(W, sizeof(float)) + rnd((size_t)Bd * zws, sizeof(double complex));
    st = mn_arena_init(&e->ws, bytes);
    if (st != MN_OK) {
        mn_e2e_free(e);
        return st;
    }
    e->srs_in = mn_arena_alloc_f(&e->ws, W);
    e->proj_in = mn_arena_alloc_f(&e->ws, Bd);
    e->A = mn_arena_alloc(&e->ws, (size_t)Bd * M * Nb * sizeof(float complex));
    e->Pi = mn_arena_alloc(&e->ws, (size_t)Bd * Nb * L * sizeof(float complex));
    e->Phi = mn_arena_alloc(&e->ws, (size_t)Bd * F * L * sizeof(float complex));
    e->Phit = mn_arena_alloc(&e->ws, (size_t)Bd * F * L * sizeof(float complex));
    e->X = mn_arena_alloc(&e->ws, (size_t)Bd * M * L * sizeof(float complex));
    e->Xt = mn_arena_alloc(&e->ws, (size_t)Bd * M * L * sizeof(float complex));
    e->xnorm = mn_arena_alloc_f(&e->ws, (size_t)Bd * L);
    e->phinorm = mn_arena_alloc_f(&e->ws, (size_t)Bd * L);
    e->tproj = mn_arena_alloc(&e->ws, (size_t)Bd * K * F * L * sizeof(float complex));
    e->y = mn_arena_alloc_f(&e->ws, (size_t)Bd * K * e->ny);
    e->dproj = mn_arena_alloc_f(&e->ws, (size_t)Bd * e->proj_len);
    e->gx = mn_arena_alloc(&e->ws, (size_t)Bd * M * sizeof(double complex));
    e->fus_in = mn_arena_alloc_f(&e->ws, (size_t)Bd * e->fus_ch * MF);
    e->dfeat = mn_arena_alloc_f(&e->ws, (size_t)Bd * K * e->nfeat);
    e->dW = mn_arena_alloc_f(&e->ws, W);
    e->dW2 = mn_arena_alloc_f(&e->ws, W);
    e->dtmp = mn_arena_alloc_f(&e->ws, W);
    e->se_drop = mn_arena_alloc(&e->ws, (size_t)Bd * sizeof(double));
    e->se2_drop = mn_arena_alloc(&e->ws, (size_t)Bd * sizeof(double));
    if (rzf) {
        e->wz = mn_arena_alloc_f(&e->ws, W);
        e->wz2 = mn_arena_alloc_f(&e->ws, W);
        e->dz = mn_arena_alloc_f(&e->ws, W);
        e->rzf_ws = mn_arena_alloc(&e->ws, (size_t)Bd * zws * sizeof(double complex));
    }
    return MN_OK;
}

/* ---------------------------------------------------------------- forward */

/* Score the precoder nets' outputs W [Bd][2K][M F] on the data-time channel: per-drop SE into
 * se[], gradient of -mean SE with respect to W into dW (overwritten) when dW != NULL.  With the
 * RZF head, W holds channel estimates: the precoders scored are their RZF, written to wz, and
 * the gradient goes back through it.  Returns the mean; *used (may be NULL) receives the
 * precoders scored (W or wz). */
static double score(mn_e2e *e, double *se, float *dW, const float *W, float *wz, const float **used,
                    const mn_e2e_data *d)
{
    const int K = e->cfg.K, M = e->cfg.M, F = e->cfg.F, B = d->n;
    const size_t n2 = (size_t)2 * K * M * F, n1 = (size_t)K * M * F, zws = mn_csi_rzf_head_ws(K, M);
    const float scale = -1.0f / (float)B;
    const bool rzf = e->cfg.head == MN_E2E_HEAD_RZF;
    const double alpha = K * e->cfg.sigma2 / e->cfg.P;
    OMP(parallel for schedule(static) if(parallel: (long)B * K * K * M * F > PAR_MIN_WORK))
    for (int b = 0; b < B; b++) {
        const float *w = W + b * n2;
        double complex *ws = rzf ? e->rzf_ws + b * zws : NULL;
        if (rzf) {
            if (mn_csi_rzf_head_forward(wz + b * n2, w, K, M, F, alpha, ws) != 0) {
                se[b] = (double)NAN; /* the mean is NaN: the caller reports it */
                if (dW) memset(dW + b * n2, 0, n2 * sizeof(float));
                continue;
            }
            w = wz + b * n2;
        }
        float *g = dW ? (rzf ? e->dz : dW) + b * n2 : NULL;
        if (g) memset(g, 0, n2 * sizeof(float));
        se[b] = mn_csi_se_grad(g, scale, w, d->dat + b * n1, K, M, F, e->cfg.P, e->cfg.sigma2);
        if (g && rzf && mn_csi_rzf_head_backward(dW + b * n2, g, W + b * n2, K, M, F, alpha, ws) != 0)
            se[b] = (double)NAN;
    }
    if (used) *used = rzf ? wz : W;
    double s = 0.0;
    for (int b = 0; b < B; b++) s += se[b];
    return s / B;
}

double mn_e2e_forward(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *d, bool both, bool training,
                      mn_rng *rng, double *se_fb, double *se_srs)
{
    const int K = e->cfg.K, M = e->cfg.M, F = e->cfg.F, L = e->L, B = d->n;
    (void)L; /* read only by an OpenMP clause */
    const size_t MF = (size_t)M * F, n1 = (size_t)K * MF, n2 = 2 * n1;
    if ((int)s < 0 || s >= MN_E2E_SCHEME_COUNT) {
        mn_error(MN_ERR_INVALID, "csi e2e: scheme %d", (int)s);
        return (double)NAN;
    }
    if (both && s != MN_E2E_FUSION) {
        mn_error(MN_ERR_INVALID, "csi e2e: scoring both branches needs the fusion scheme");
        return (double)NAN;
    }
    if (B < 1 || B > e->max_batch || d->K != K || d->M != M || d->F != F) {
        mn_error(MN_ERR_SHAPE, "csi e2e: batch of %d drops of %d x %d x %d; built for <= %d drops of %d x %d x %d", B,
                 d->K, d->M, d->F, e->max_batch, K, M, F);
        return (double)NAN;
    }
    const bool need_fb = s != MN_E2E_SRS, need_srs = s != MN_E2E_FEEDBACK;
    const bool need_S = need_srs || e->cfg.srs_pilots;
    /* 1. SRS observation (noise drawn in order) */
    if (need_S) {
        const double sd = sqrt(e->cfg.srs_noise / 2.0);
        for (int b = 0; b < B; b++) {
            float *dst = e->srs_in + b * n2;
            const float complex *h = d->ul + b * n1;
            for (int k = 0; k < K; k++)
                for (size_t i = 0; i < MF; i++) {
                    double nr = sd > 0 ? sd * mn_rng_normal(rng) : 0.0, ni = sd > 0 ? sd * mn_rng_normal(rng) : 0.0;
                    dst[(2 * (size_t)k) * MF + i] = (float)((double)crealf(h[k * MF + i]) + nr);
                    dst[(2 * (size_t)k + 1) * MF + i] = (float)((double)cimagf(h[k * MF + i]) + ni);
                }
        }
    }
    mn_status st = MN_OK;
    const float *Wfb = NULL, *Wsrs = NULL;
    /* 2. feedback branch */
    if (need_fb) {
        if (e->cfg.srs_pilots) st = mn_model_forward(&e->proj, e->srs_in, B, (int)MF, training);
        else {
            memset(e->proj_in, 0, (size_t)B * sizeof(float));
            st = mn_model_forward(&e->proj, e->proj_in, B, 1, training);
        }
        if (st != MN_OK) return (double)NAN;
        const float *praw = mn_model_output(&e->proj, NULL, NULL);
        const double sd = sqrt(e->cfg.sigma2 / 2.0);
        for (size_t i = 0; i < (size_t)B * K * e->ny; i++) e->y[i] = (float)(sd * mn_rng_normal(rng));
        OMP(parallel for schedule(static) if(parallel: (long)B * K * L * M * F > PAR_MIN_WORK))
        for (int b = 0; b < B; b++)
            csi_e2e_obs_forward(e, b, praw + (size_t)b * e->proj_len, d->csi + b * n1, e->y + (size_t)b * K * e->ny);
        st = mn_model_forward(&e->enc, e->y, B * K, 1, training);
        if (st == MN_OK) st = mn_model_forward(&e->fb, mn_model_output(&e->enc, NULL, NULL), B, 1, training);
        if (st != MN_OK) return (double)NAN;
        Wfb = mn_model_output(&e->fb, NULL, NULL);
    }
    /* 3. SRS branch */
    if (need_srs) {
        st = mn_model_forward(&e->srs, e->srs_in, B, (int)MF, training);
        if (st != MN_OK) return (double)NAN;
        Wsrs = mn_model_output(&e->srs, NULL, NULL);
    }
    e->last_B = B;
    e->last_scheme = s;
    e->last_both = both;
    e->last_data = d;
    /* 4. fusion and 5. scoring */
    double mean;
    float *dW = training ? e->dW : NULL;
    if (both) {
        double a = score(e, e->se_drop, dW, Wfb, e->wz, &e->w_out, d);
        double b2 = score(e, e->se2_drop, training ? e->dW2 : NULL, Wsrs, e->wz2, NULL, d);
        if (se_fb) *se_fb = a;
        if (se_srs) *se_srs = b2;
        mean = 0.5 * (a + b2);
    } else if (s == MN_E2E_FUSION) {
        const float *feat = mn_model_output(&e->enc, NULL, NULL); /* [B][K nfeat] received levels */
        const int nf = K * e->nfeat;
        OMP(parallel for schedule(static) if(parallel: (long)B * n2 > PAR_MIN_WORK))
        for (int b = 0; b < B; b++) {
            float *dst = e->fus_in + (size_t)b * e->fus_ch * MF;
            mn_csi_pnorm_forward(dst, Wfb + b * n2, K, M, F, e->cfg.P);
            mn_csi_pnorm_forward(dst + n2, Wsrs + b * n2, K, M, F, e->cfg.P);
            memcpy(dst + 2 * n2, e->srs_in + b * n2, n2 * sizeof(float));
            for (int j = 0; j < nf; j++) /* the feedback itself, the same at every position */
                for (size_t i = 0; i < MF; i++) dst[3 * n2 + (size_t)j * MF + i] = feat[(size_t)b * nf + j];
        }
        st = mn_model_forward(&e->fus, e->fus_in, B, (int)MF, training);
        if (st != MN_OK) return (double)NAN;
        mean = score(e, e->se_drop, dW, mn_model_output(&e->fus, NULL, NULL), e->wz, &e->w_out, d);
    } else {
        mean = score(e, e->se_drop, dW, s == MN_E2E_FEEDBACK ? Wfb : Wsrs, e->wz, &e->w_out, d);
    }
    if (!isfinite(mean)) mn_error(MN_ERR_NUMERIC, "csi e2e: non-finite SE (diverged?)");
    return mean;
}

/* ---------------------------------------------------------------- backward */

mn_status mn_e2e_backward(mn_e2e *e, unsigned mask)
{
    if (e->last_B < 1 || !e->last_data) return mn_error(MN_ERR_INVALID, "csi e2e: backward before a training forward");
    const int K = e->cfg.K, M = e->cfg.M, F = e->cfg.F, L = e->L, B = e->last_B;
    (void)L; /* read only by an OpenMP clause */
    const size_t MF = (size_t)M * F, n1 = (size_t)K * MF, n2 = 2 * n1;
    const mn_e2e_scheme s = e->last_scheme;
    const bool w_proj = mask & 1u, w_enc = mask & 2u, w_fb = mask & 4u, w_srs = mask & 8u, w_fus = mask & 16u;
    const float *dWfb = NULL, *dWsrs = NULL;
    bool fus_feat = false; /* e->dfeat holds the fusion net's gradient w.r.t. the feedback */
    mn_status st = MN_OK;
    if (e->last_both) {
        dWfb = e->dW;
        dWsrs = e->dW2;
    } else if (s == MN_E2E_FUSION) {
        if (!(w_fus || w_proj || w_enc || w_fb || w_srs)) return MN_OK;
        st = mn_model_backward(&e->fus, e->dW);
        if (st != MN_OK) return st;
        const bool to_fb = w_proj || w_enc || w_fb;
        const float *din = e->fus.nodes[0].dy;
        if (w_enc || w_proj) { /* the feedback input's gradient: summed over positions */
            const int nf = K * e->nfeat;
            for (int b = 0; b < B; b++)
                for (int j = 0; j < nf; j++) {
                    const float *g = din + (size_t)b * e->fus_ch * MF + 3 * n2 + (size_t)j * MF;
                    double acc = 0.0;
                    for (size_t i = 0; i < MF; i++) acc += (double)g[i];
                    e->dfeat[(size_t)b * nf + j] = (float)acc;
                }
            fus_feat = true;
        }
        if (to_fb || w_srs) {
            const float *Wfb = mn_model_output(&e->fb, NULL, NULL), *Wsrs = mn_model_output(&e->srs, NULL, NULL);
            OMP(parallel for schedule(static) if(parallel: (long)B * n2 > PAR_MIN_WORK))
            for (int b = 0; b < B; b++) {
                if (to_fb) {
                    memset(e->dtmp + b * n2, 0, n2 * sizeof(float));
                    mn_csi_pnorm_backward(e->dtmp + b * n2, din + (size_t)b * e->fus_ch * MF, Wfb + b * n2, K, M, F, e->cfg.P);
                }
                if (w_srs) {
                    memset(e->dW2 + b * n2, 0, n2 * sizeof(float));
                    mn_csi_pnorm_backward(e->dW2 + b * n2, din + (size_t)b * e->fus_ch * MF + n2, Wsrs + b * n2, K, M,
                                          F, e->cfg.P);
                }
            }
            if (to_fb) dWfb = e->dtmp;
            if (w_srs) dWsrs = e->dW2;
        }
    } else if (s == MN_E2E_FEEDBACK) dWfb = e->dW;
    else dWsrs = e->dW;
    if (dWsrs && w_srs) {
        st = mn_model_backward(&e->srs, dWsrs);
        if (st != MN_OK) return st;
    }
    if (dWfb && (w_fb || w_enc || w_proj)) {
        st = mn_model_backward(&e->fb, dWfb);
        if (st == MN_OK && (w_enc || w_proj)) {
            /* the encoder's output feeds the fb net and (fusion) the fusion net */
            const size_t nfb = (size_t)B * K * e->nfeat;
            const float *g = e->fb.nodes[0].dy;
            if (fus_feat)
                for (size_t i = 0; i < nfb; i++) e->dfeat[i] += g[i];
            else
                memcpy(e->dfeat, g, nfb * sizeof(float));
            st = mn_model_backward(&e->enc, e->dfeat);
        }
        if (st != MN_OK) return st;
        if (w_proj) {
            const float *dy = e->enc.nodes[0].dy;
            const mn_e2e_data *d = e->last_data;
            OMP(parallel for schedule(static) if(parallel: (long)B * K * L * M * F > PAR_MIN_WORK))
            for (int b = 0; b < B; b++)
                csi_e2e_obs_backward(e, b, e->dproj + (size_t)b * e->proj_len, dy + (size_t)b * K * e->ny, d->csi + b * n1);
            st = mn_model_backward(&e->proj, e->dproj);
        }
    }
    return st;
}

void mn_e2e_precoder(const mn_e2e *e, float complex *W)
{
    const int K = e->cfg.K;
    const size_t MF = (size_t)e->cfg.M * e->cfg.F, n2 = 2 * (size_t)K * MF;
    for (int b = 0; b < e->last_B; b++)
        for (int k = 0; k < K; k++)
            for (size_t i = 0; i < MF; i++)
                W[((size_t)b * K + k) * MF + i] =
                    CMPLXF(e->w_out[b * n2 + (2 * (size_t)k) * MF + i], e->w_out[b * n2 + (2 * (size_t)k + 1) * MF + i]);
}

void mn_e2e_bits(const mn_e2e *e, uint8_t *bits)
{
    const int K = e->cfg.K, q = e->cfg.q, nf = e->nfeat;
    const float *fin = e->enc.nodes[e->enc.output].y; /* quantized levels [Bd K][nf] */
    for (int b = 0; b < e->last_B; b++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < nf; j++) {
                if (q == 0) { /* unquantized features: only their signs */
                    bits[((size_t)b * K + k) * e->cfg.bits + j] = fin[((size_t)b * K + k) * nf + j] >= 0.0f;
                    continue;
                }
                int idx = mn_quant_index(fin[((size_t)b * K + k) * nf + j], q);
                for (int t = 0; t < q; t++)
                    bits[((size_t)b * K + k) * e->cfg.bits + (size_t)j * q + t] = (uint8_t)((idx >> (q - 1 - t)) & 1);
            }
}

/* ---------------------------------------------------------------- evaluation */

mn_status mn_e2e_eval(mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *d, mn_rng *rng, double *se,
                      double *se_std)
{
    if (!d || d->n < 1) return mn_error(MN_ERR_INVALID, "csi e2e eval: no drops");
    double sum = 0.0, sum2 = 0.0;
    for (int first = 0; first < d->n; first += e->max_batch) {
        int n = d->n - first < e->max_batch ? d->n - first : e->max_batch;
        mn_e2e_data v = mn_e2e_data_view(d, first, n);
        double m = mn_e2e_forward(e, s, &v, false, false, rng, NULL, NULL);
        if (!isfinite(m)) return mn_error(MN_ERR_NUMERIC, "csi e2e eval: %s", mn_error_msg());
        for (int b = 0; b < n; b++) {
            sum += e->se_drop[b];
            sum2 += e->se_drop[b] * e->se_drop[b];
        }
    }
    e->last_B = 0; /* the view does not outlive this call */
    e->last_data = NULL;
    double mean = sum / d->n;
    *se = mean;
    if (se_std) {
        double var = d->n > 1 ? (sum2 - d->n * mean * mean) / (d->n - 1) : 0.0;
        *se_std = var > 0 ? sqrt(var / d->n) : 0.0;
    }
    return MN_OK;
}
