/* pim/models.c — the PIM canceller architectures, declared with the model-composition API.
 * Shapes and parameter counts follow DESIGN.md and arXiv 2509.19382 (Fig. 3: depthwise-
 * separable dilated convolutions with norm + LeakyReLU). */
#include "mimonet/pim.h"

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

int mn_pim_model_declare(mn_model *m, const char *kind, int n_tx, int n_rx)
{
    if (!strcmp(kind, "light")) return mn_pim_model_light(m, n_tx, n_rx);
    if (!strcmp(kind, "static")) return model_static(m, n_tx, n_rx);
    if (!strcmp(kind, "dynamic")) return model_dynamic(m, n_tx, n_rx);
    if (!strcmp(kind, "large")) return model_large(m, n_tx, n_rx);
    if (m->status == MN_OK)
        m->status = mn_error(MN_ERR_INVALID, "unknown model '%s' (neural models: light, large, static, dynamic)", kind);
    return -1;
}
