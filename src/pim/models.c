/* pim/models.c — the PIM canceller architectures, declared with the model-composition API.
 * Shapes and parameter counts follow DESIGN.md and arXiv 2509.19382 (Fig. 3: depthwise-
 * separable dilated convolutions with norm + LeakyReLU). */
#include "mimonet/pim.h"

#include "jx.h"

#include <math.h>
#include <string.h>

/* The light model: see pim.h.  With n_tx = 32, n_rx = 16: 11,835 trainable parameters and
 * 11,424 MAC per output sample (dw 480, pw 5,120, fc 5,824). */
int mn_pim_model_light(mn_model *m, int n_tx, int n_rx)
{
    const mn_act lk = MN_ACT_LEAKY;
    int x = mn_model_input(m, 2 * n_tx);
    x = mn_model_dsconv(m, x, "l1", &(mn_dsconv_cfg){.cout = 32, .k = 3, .dil = 1, .act = lk,
                                                     .norm = MN_NORM_BATCH, .inner_act = true});
    x = mn_model_dsconv(m, x, "l2", &(mn_dsconv_cfg){.cout = 32, .k = 3, .dil = 2, .act = lk,
                                                     .norm = MN_NORM_BATCH, .inner_act = true});
    x = mn_model_linear(m, x, "fc1", 91);
    x = mn_model_act(m, x, MN_ACT_SIGMOID, 0);
    x = mn_model_linear(m, x, "fc2", 32);
    x = mn_model_act(m, x, MN_ACT_SIGMOID, 0);
    x = mn_model_dsconv(m, x, "l3", &(mn_dsconv_cfg){.cout = 32, .k = 3, .dil = 4, .act = lk,
                                                     .norm = MN_NORM_BATCH, .inner_act = true});
    x = mn_model_dsconv(m, x, "l4", &(mn_dsconv_cfg){.cout = 2 * n_rx, .k = 3, .dil = 1,
                                                     .act = MN_ACT_NONE, .inner_act = true});
    return x;
}

/* Two feature-extraction DS-conv blocks 2*n_tx -> w (dilations 1, 2), shared by every model. */
static int front(mn_model *m, int n_tx, int w)
{
    int x = mn_model_input(m, 2 * n_tx);
    x = mn_model_dsconv(m, x, "l1", &(mn_dsconv_cfg){.cout = w, .k = 3, .dil = 1, .act = MN_ACT_LEAKY,
                                                     .norm = MN_NORM_BATCH, .inner_act = true});
    return mn_model_dsconv(m, x, "l2", &(mn_dsconv_cfg){.cout = w, .k = 3, .dil = 2, .act = MN_ACT_LEAKY,
                                                        .norm = MN_NORM_BATCH, .inner_act = true});
}

/* Two refining DS-conv blocks w -> w (dilation 4) -> 2*n_rx (dilation 1, linear output). */
static int back(mn_model *m, int x, int n_rx, int w)
{
    x = mn_model_dsconv(m, x, "l3", &(mn_dsconv_cfg){.cout = w, .k = 3, .dil = 4, .act = MN_ACT_LEAKY,
                                                     .norm = MN_NORM_BATCH, .inner_act = true});
    return mn_model_dsconv(m, x, "l4", &(mn_dsconv_cfg){.cout = 2 * n_rx, .k = 3, .dil = 1, .act = MN_ACT_NONE,
                                                        .inner_act = true});
}

/* FC layers with sigmoid: widths[0..n) in turn. */
static int fc_stack(mn_model *m, int x, const int *widths, int n)
{
    static const char *const names[] = {"fc1", "fc2", "fc3", "fc4"};
    for (int i = 0; i < n && i < 4; i++) {
        x = mn_model_linear(m, x, names[i], widths[i]);
        x = mn_model_act(m, x, MN_ACT_SIGMOID, 0);
    }
    return x;
}

/* static (paper 2.3.1): 2 CNN -> LUT interpolation + ReLU -> 2 CNN.  The LUT acts per channel
 * on [-4, 4] with 33 knots (batch-normed features live there). */
static int model_static(mn_model *m, int n_tx, int n_rx)
{
    int x = front(m, n_tx, 32);
    x = mn_model_lut(m, x, "lut", 33, -4.0f, 4.0f);
    x = mn_model_act(m, x, MN_ACT_RELU, 0);
    return back(m, x, n_rx, 32);
}

/* dynamic (paper 2.3.1): 2 CNN -> 3 FC with sigmoid -> 2 CNN. */
static int model_dynamic(mn_model *m, int n_tx, int n_rx)
{
    int x = front(m, n_tx, 32);
    x = fc_stack(m, x, (const int[]){64, 64, 32}, 3);
    return back(m, x, n_rx, 32);
}

/* large: the light layout at width 48 with a 128-wide FC pair; 22,688 parameters for 32 -> 16
 * (the paper's large model has 25,632). */
static int model_large(mn_model *m, int n_tx, int n_rx)
{
    int x = front(m, n_tx, 48);
    x = fc_stack(m, x, (const int[]){128, 48}, 2);
    return back(m, x, n_rx, 48);
}

/* poly: a physics-shaped model.  PIM is a sum over junctions of odd products of filtered,
 * coupled Tx signals (pim.h, simulator), and only 2 f1 - f2 lands in the UL band.
 *   g = depthwise conv, 2 filters per I/Q channel, k5   two real filters per channel, mixed
 *   f = 1x1 conv 4 n_tx -> W                           next, make COMPLEX filters: they can
 *                                                       tell +f from -f, i.e. split carriers
 *   p3 = (A f)(B f)(C f), p5 = p3 (D f)(E f)            rank-R real forms of order 3 and 5
 *                                                       (so v1 v1 conj(v2), and |v|^2 times it)
 *   y = DS-conv(p3 + p5) R -> 2 n_rx, k31, linear       post-junction memory, the sharp Rx
 *                                                       channel filter, Rx coupling
 * The split must come before the product: at fs both IM3 products alias onto DC (the UL LO is
 * one sample rate below f_dl), where no filter can separate them.  A DS-conv without the
 * channel multiplier applies one real filter to a real mix of I and Q, whose response is
 * symmetric in frequency.  No normalization (eval equals training), no saturating activation.
 * Measured on the default static scenario (docs/pim.md): cubic only 10.4 dB, + 5th order
 * 16.0 dB, + 7th order 15.6 dB at 1200 steps.
 * "poly": W 28, R 32, 11,100 parameters for 32 -> 16 (the light model's budget);
 * "poly-large": W 44, R 64, 24,972 parameters (the large model's budget). */
static int model_poly(mn_model *m, int n_tx, int n_rx, int W, int R)
{
    const int cin = 2 * n_tx;
    int x = mn_model_input(m, cin);
    int g = mn_model_conv1d(m, x, "split", &(mn_conv1d_cfg){.cin = cin, .cout = 2 * cin, .k = 5, .dil = 1,
                                                            .groups = cin, .pad = MN_PAD_SAME, .bias = true});
    int f = mn_model_conv1d(m, g, "mix", &(mn_conv1d_cfg){.cin = 2 * cin, .cout = W, .k = 1, .dil = 1,
                                                          .groups = 1, .pad = MN_PAD_SAME, .bias = true});
    const mn_conv1d_cfg pw = {.cin = W, .cout = R, .k = 1, .dil = 1, .groups = 1, .pad = MN_PAD_SAME, .bias = true};
    int a = mn_model_conv1d(m, f, "pa", &pw);
    int b = mn_model_conv1d(m, f, "pb", &pw);
    int c = mn_model_conv1d(m, f, "pc", &pw);
    int p3 = mn_model_mul(m, mn_model_mul(m, a, b), c);
    int d = mn_model_conv1d(m, f, "pd", &pw);
    int e = mn_model_conv1d(m, f, "pe", &pw);
    int p5 = mn_model_mul(m, mn_model_mul(m, p3, d), e);
    int p = mn_model_add(m, p3, p5);
    return mn_model_dsconv(m, p, "o", &(mn_dsconv_cfg){.cout = 2 * n_rx, .k = 31, .dil = 1, .act = MN_ACT_NONE});
}

/* junction: the simulator's physics as a network (docs/simulator.md 4-6, docs/pim.md).
 * Each PIM source j sees a complex mix v_j of the Tx antennas; the pre-junction memory and a
 * carrier split give u1_j (carrier 1) and u2_j (carrier 2); a memoryless passive nonlinearity
 * then puts exactly  u1^2 conj(u2) G(|u1|^2, |u2|^2)  at 2 f1 - f2 (the phase-symmetry of a
 * real I-V curve fixes the phase, and G is real and smooth); the post-junction memory, the Rx
 * channel filter and the junction -> Rx coupling are linear.  In layers:
 *   w   = 1x1 conv 2 n_tx -> 2J                       J complex junction drives (widely linear)
 *   u1, u2 (re, im) = grouped conv 2 -> 1 per junction,   complex carrier-split + pre filter
 *        k K, four of them
 *   q   = the six cubic monomials (re^2, im^2, re im of u1) x (re, im of u2)
 *   p   = 1x1 conv q -> J (real part), -> J (imaginary)   u1^2 conj(u2) and its widely-linear kin
 *   G   = 1x1 (|u1|^2, |u2|^2) -> H, tanh, -> J            the non-polynomial envelope gain
 *   z   = p G;  y = grouped conv (2 filters per channel, k P) -> 1x1 4J -> 2 n_rx
 *                                                      complex post filter + channel filter + Rx
 *                                                      coupling
 * J 8, K 15, H 48, P 63: 7,032 parameters and 6,944 MAC per sample for 32 -> 16.  The long
 * post filter matters: the target went through the receiver's sharp channel filter, and with
 * P 31 a third of the residual lay outside the channel.  K 15 against 11 gained 0.5-0.9 dB at
 * 6,000 steps: the carrier split was the limit on a cubic-only scenario too.  Like poly it has
 * no normalization.
 * Measured on the default static scenario in docs/pim.md "junction". */
int mn_pim_model_junction(mn_model *m, int n_tx, int n_rx, int J, int K, int H, int P)
{
    const mn_conv1d_cfg split = {.cin = 2 * J, .cout = J, .k = K, .dil = 1, .groups = J, .pad = MN_PAD_SAME};
    int x = mn_model_input(m, 2 * n_tx);
    int w = mn_model_conv1d(m, x, "drive", &(mn_conv1d_cfg){.cin = 2 * n_tx, .cout = 2 * J, .k = 1, .dil = 1,
                                                            .groups = 1, .pad = MN_PAD_SAME});
    int ar = mn_model_conv1d(m, w, "u1re", &split), ai = mn_model_conv1d(m, w, "u1im", &split);
    int br = mn_model_conv1d(m, w, "u2re", &split), bi = mn_model_conv1d(m, w, "u2im", &split);
    int rr = mn_model_mul(m, ar, ar), ii = mn_model_mul(m, ai, ai), ri = mn_model_mul(m, ar, ai);
    int q = mn_model_concat(m, mn_model_mul(m, rr, br), mn_model_mul(m, ii, br));
    q = mn_model_concat(m, q, mn_model_mul(m, ri, bi));
    q = mn_model_concat(m, q, mn_model_mul(m, ri, br));
    q = mn_model_concat(m, q, mn_model_mul(m, rr, bi));
    q = mn_model_concat(m, q, mn_model_mul(m, ii, bi));
    const mn_conv1d_cfg pp = {.cin = 6 * J, .cout = J, .k = 1, .dil = 1, .groups = 1, .pad = MN_PAD_SAME};
    int pr = mn_model_conv1d(m, q, "pre", &pp), pi = mn_model_conv1d(m, q, "pim", &pp);
    int env = mn_model_concat(m, mn_model_add(m, rr, ii), mn_model_add(m, mn_model_mul(m, br, br), mn_model_mul(m, bi, bi)));
    int h = mn_model_conv1d(m, env, "g1", &(mn_conv1d_cfg){.cin = 2 * J, .cout = H, .k = 1, .dil = 1, .groups = 1,
                                                           .pad = MN_PAD_SAME, .bias = true});
    h = mn_model_act(m, h, MN_ACT_TANH, 0);
    int g = mn_model_conv1d(m, h, "g2", &(mn_conv1d_cfg){.cin = H, .cout = J, .k = 1, .dil = 1, .groups = 1,
                                                        .pad = MN_PAD_SAME, .bias = true});
    int z = mn_model_concat(m, mn_model_mul(m, pr, g), mn_model_mul(m, pi, g));
    int f = mn_model_conv1d(m, z, "post", &(mn_conv1d_cfg){.cin = 2 * J, .cout = 4 * J, .k = P, .dil = 1,
                                                          .groups = 2 * J, .pad = MN_PAD_SAME});
    return mn_model_conv1d(m, f, "out", &(mn_conv1d_cfg){.cin = 4 * J, .cout = 2 * n_rx, .k = 1, .dil = 1,
                                                        .groups = 1, .pad = MN_PAD_SAME, .bias = true});
}

/* pa: a neural memory polynomial, for links that are mostly linear with a nonlinear residue: a
 * power amplifier (the OpenDPD recordings), or one antenna's full-duplex self-interference.  A
 * generalized memory polynomial sums delayed copies of the input, each times a polynomial in
 * the envelope's recent past.  Here the gains are a small network of the envelope:
 *   b = conv 2 n_tx -> 2C, k Kb                      C short complex (widely linear) filters of x
 *   e = conv (squared I/Q channels) -> E, k L        envelope features, lagging and leading
 *   g = 1x1 E -> H, tanh, -> 2C                       C complex gains
 *   p = (g_re b_re, g_im b_im, g_re b_im, g_im b_re)  the complex products' four real parts
 *   y = conv 4C -> 2 n_rx, k M                        the output memory, and the sum
 * A constant g (its biases) makes y a plain FIR of x, so the linear part, which dominates such a
 * link, needs no detour through a nonlinearity.  That is what the light and dynamic layouts lack
 * (15-20 dB behind a memory polynomial on a PA, docs/pim.md "Measured PA data").
 * C 4, Kb 3, E 8, L 9, H 24, M 31: 1,610 parameters and 1,568 MAC per sample for 1 x 1.  Its
 * filters grow with n_tx and n_rx (22,472 parameters at 32 x 16): a model for few antennas. */
static int model_pa(mn_model *m, int n_tx, int n_rx, int C, int Kb, int E, int L, int H, int M)
{
    const int cin = 2 * n_tx;
    int x = mn_model_input(m, cin);
    int b = mn_model_conv1d(m, x, "basis", &(mn_conv1d_cfg){.cin = cin, .cout = 2 * C, .k = Kb, .dil = 1,
                                                             .groups = 1, .pad = MN_PAD_SAME});
    int e = mn_model_conv1d(m, mn_model_mul(m, x, x), "env", &(mn_conv1d_cfg){.cin = cin, .cout = E, .k = L, .dil = 1,
                                                                                .groups = 1, .pad = MN_PAD_SAME, .bias = true});
    int h = mn_model_conv1d(m, e, "g1", &(mn_conv1d_cfg){.cin = E, .cout = H, .k = 1, .dil = 1, .groups = 1,
                                                         .pad = MN_PAD_SAME, .bias = true});
    h = mn_model_act(m, h, MN_ACT_TANH, 0);
    int g = mn_model_conv1d(m, h, "g2", &(mn_conv1d_cfg){.cin = H, .cout = 2 * C, .k = 1, .dil = 1, .groups = 1,
                                                        .pad = MN_PAD_SAME, .bias = true});
    int swapped = mn_model_concat(m, mn_model_slice(m, b, C, C), mn_model_slice(m, b, 0, C));
    int p = mn_model_concat(m, mn_model_mul(m, g, b), mn_model_mul(m, g, swapped));
    return mn_model_conv1d(m, p, "out", &(mn_conv1d_cfg){.cin = 4 * C, .cout = 2 * n_rx, .k = M, .dil = 1,
                                                        .groups = 1, .pad = MN_PAD_SAME, .bias = true});
}

/* junction's carrier split starts as complex half-band filters: u1 passes the lower half of the
 * band and u2 the upper, so with the DL centre between the carriers (any plan whose IM3 is
 * 2 f1 - f2 with f1 < f2) each starts on its own carrier.  From a random start, training first
 * sits on a plateau near 8-10 dB until the two filters happen to separate the carriers.  The
 * conv is a correlation, y[t] = sum_m w[m] x[t + m], so taps lp[m] e^{+j pi m / 2} pass
 * f = -fs/4.  Weights [J][2][K]: re = h_r * w_re - h_i * w_im, im = h_i * w_re + h_r * w_im. */
static void junction_prior(mn_model *m)
{
    static const char *const names[4] = {"u1re.weight", "u1im.weight", "u2re.weight", "u2im.weight"};
    for (int f = 0; f < 4; f++) {
        int i = mn_params_find(&m->params, names[f]);
        if (i < 0) return;
        const mn_param_def *d = &m->params.defs[i];
        const int K = (int)d->shape[2], J = (int)d->shape[0], pl = (K - 1) / 2;
        float *w = mn_params_w(&m->params, i);
        const double sgn = f < 2 ? 1.0 : -1.0; /* u1: -fs/4, u2: +fs/4 */
        for (int k = 0; k < K; k++) {
            const int t = k - pl;
            const double win = 0.5 + 0.5 * cos(M_PI * t / (pl + 1));             /* Hann */
            const double lp = t == 0 ? 0.5 : sin(M_PI * t / 2) / (M_PI * t);     /* half-band */
            const double hr = lp * win * cos(sgn * M_PI * t / 2), hi = lp * win * sin(sgn * M_PI * t / 2);
            const double a = f % 2 == 0 ? hr : hi, b = f % 2 == 0 ? -hi : hr;   /* (w_re, w_im) taps */
            for (int j = 0; j < J; j++) {
                w[((size_t)j * 2 + 0) * K + k] = (float)a;
                w[((size_t)j * 2 + 1) * K + k] = (float)b;
            }
        }
    }
}

/* junction's product maps start as u1^2 conj(u2) itself.  With a = Re u1, b = Im u1, c = Re u2,
 * d = Im u2, the six monomial blocks of q are (a^2 c, b^2 c, ab d, ab c, a^2 d, b^2 d), and
 *   Re u1^2 conj(u2) = a^2 c - b^2 c + 2 ab d,   Im u1^2 conj(u2) = 2 ab c - a^2 d + b^2 d,
 * so source j's row of "pre" is s (1, -1, 2, 0, 0, 0) and that of "pim" s (0, 0, 0, 2, -1, 1) on
 * its own monomials, zero elsewhere; s = 1/4 gives the rows about the norm of the default
 * initialization (0.6 for 6J = 48 inputs).  From a random start, training sat on a plateau
 * near 8.6 dB for 100 to 1,200 steps, depending on the seed, while these maps found the
 * product's structure; the seeds that left it late ended 5-9 dB lower (docs/pim.md). */
#define JUNCTION_PRODUCT_SCALE 0.25f
static void junction_product_prior(mn_model *m)
{
    static const char *const names[2] = {"pre.weight", "pim.weight"};
    static const float rows[2][6] = {{1, -1, 2, 0, 0, 0}, {0, 0, 0, 2, -1, 1}};
    for (int f = 0; f < 2; f++) {
        int i = mn_params_find(&m->params, names[f]);
        if (i < 0) return;
        const mn_param_def *d = &m->params.defs[i];
        const int J = (int)d->shape[0], cin = (int)d->shape[1];
        if (cin != 6 * J) return;
        float *w = mn_params_w(&m->params, i);
        memset(w, 0, d->numel * sizeof *w);
        for (int j = 0; j < J; j++)
            for (int blk = 0; blk < 6; blk++) w[(size_t)j * cin + blk * J + j] = JUNCTION_PRODUCT_SCALE * rows[f][blk];
    }
}

void mn_pim_model_prior(mn_model *m, const char *kind)
{
    if (!strcmp(kind, "junction") && m->params.w) {
        junction_prior(m);
        junction_product_prior(m);
    }
}

/* The one list of neural model names (mn_pim_model_declare below must match it). */
static const char model_kinds[] = "light, large, static, dynamic, poly, poly-large, junction, pa";

const char *mn_pim_model_kinds(void) { return model_kinds; }

static bool kind_is(const char *kind, const char *name) { return kind && !strcmp(kind, name); }

int mn_pim_model_default_batch(const char *kind) { return kind_is(kind, "junction") || kind_is(kind, "pa") ? 8 : 16; }

long mn_pim_model_default_steps(const char *kind)
{
    return kind_is(kind, "pa") ? 8000 : kind_is(kind, "junction") ? 6000 : 3000;
}

bool mn_pim_model_known(const char *kind)
{
    size_t len = kind ? strlen(kind) : 0;
    for (const char *p = model_kinds; len && *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && !strncmp(p, kind, len)) return true;
        p += n;
        p += strspn(p, ", ");
    }
    return false;
}

int mn_pim_model_declare(mn_model *m, const char *kind, int n_tx, int n_rx)
{
    return mn_pim_model_declare_opts(m, kind, n_tx, n_rx, NULL);
}

int mn_pim_model_declare_opts(mn_model *m, const char *kind, int n_tx, int n_rx, const mn_pim_model_opts *opts)
{
    const int sources = opts ? opts->sources : 0;
    if (sources && (strcmp(kind, "junction") || sources < 1 || sources > 64)) {
        if (m->status == MN_OK)
            m->status = strcmp(kind, "junction")
                            ? mn_error(MN_ERR_INVALID, "the %s model has no number of sources (junction has)", kind)
                            : mn_error(MN_ERR_INVALID, "junction: %d sources (1..64)", sources);
        return -1;
    }
    if (!strcmp(kind, "junction")) return mn_pim_model_junction(m, n_tx, n_rx, sources ? sources : 8, 15, 48, 63);
    if (!strcmp(kind, "pa")) return model_pa(m, n_tx, n_rx, 4, 3, 8, 9, 24, 31);
    if (!strcmp(kind, "poly")) return model_poly(m, n_tx, n_rx, 28, 32);
    if (!strcmp(kind, "poly-large")) return model_poly(m, n_tx, n_rx, 44, 64);
    if (!strcmp(kind, "light")) return mn_pim_model_light(m, n_tx, n_rx);
    if (!strcmp(kind, "static")) return model_static(m, n_tx, n_rx);
    if (!strcmp(kind, "dynamic")) return model_dynamic(m, n_tx, n_rx);
    if (!strcmp(kind, "large")) return model_large(m, n_tx, n_rx);
    if (m->status == MN_OK)
        m->status = mn_error(MN_ERR_INVALID, "unknown model '%s' (neural models: %s)", kind, model_kinds);
    return -1;
}
