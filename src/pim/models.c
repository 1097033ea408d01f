/* pim/models.c — the PIM canceller architectures, declared with the model-composition API.
 * Shapes and parameter counts follow DESIGN.md and arXiv 2509.19382 (Fig. 3: depthwise-
 * separable dilated convolutions with norm + LeakyReLU). */
#include "mimonet/pim.h"

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
