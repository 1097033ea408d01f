/* nn/grad_into.h — private to module nn: backward kernels that can write the input's gradient
 * instead of adding to it.  With overwrite = true, dinp's old contents are never read: the
 * kernel stores 0 + its contribution, the same bits an accumulation into a zeroed buffer gives.
 * nn/model.c uses it for a node whose gradient has one reader, so that buffer is not zeroed
 * first (a pass through memory per node per step).  The public kernels are these with
 * overwrite = false. */
#ifndef MN_NN_GRAD_INTO_H
#define MN_NN_GRAD_INTO_H
#include "mimonet/nn.h"

#include "pragma.h"

/* d[i] (+)= EXPR for i < nn (a long, EXPR's index i), threads when nn > par_min: stored as
 * 0 + EXPR when set, the bits an add into a zeroed buffer gives. */
#define MN_GRAD_LOOP(d, set, nn, par_min, EXPR)                                                             \
    do {                                                                                                     \
        if (set) {                                                                                           \
            OMP(parallel for simd schedule(static) if(parallel: (nn) > (par_min)))                          \
            for (long i = 0; i < (nn); i++) (d)[i] = 0.0f + (EXPR);                                          \
        } else {                                                                                             \
            OMP(parallel for simd schedule(static) if(parallel: (nn) > (par_min)))                          \
            for (long i = 0; i < (nn); i++) (d)[i] += (EXPR);                                                \
        }                                                                                                    \
    } while (0)

void mn_act_backward_into(float *dinp, const float *dout, const float *out, size_t n, mn_act kind, float alpha,
                          bool overwrite);
void mn_conv1d_backward_into(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                             int B, int t_in, const mn_conv1d_cfg *c, bool overwrite);
void mn_linear_backward_into(float *dinp, float *dw, float *db, const float *dout, const float *inp, const float *w,
                             int B, int nin, int nout, int T, bool overwrite);
void mn_batchnorm_backward_into(float *dinp, float *dgamma, float *dbeta, const float *dout, const float *inp,
                                const float *mean, const float *rstd, const float *gamma, int B, int C, int T,
                                bool overwrite);
/* The two-input nodes: set_a / set_b for da / db. */
void mn_mul_backward_into(float *da, float *db, const float *dout, const float *a, const float *b, size_t n,
                          bool set_a, bool set_b);
void mn_add_backward_into(float *da, float *db, const float *dout, size_t n, bool set_a, bool set_b);
void mn_concat_backward_into(float *da, float *db, const float *dout, int B, int ca, int cb, int T, bool set_a,
                             bool set_b);

/* A concatenation of n parts along the channels (nn/channels.c; nn/model.c joins a chain of
 * concat nodes into one): part j holds [B, c, T] rows, its values in the forward, its gradient
 * in the backward (NULL: none wanted), set as above.  The binary concat is the case n = 2. */
typedef struct {
    float *p;
    int c;
    bool set;
} mn_cat_part;
void mn_concat_parts_forward(float *out, const mn_cat_part *part, int n, int B, int T);
void mn_concat_parts_backward_into(const mn_cat_part *part, int n, const float *dout, int B, int T);
#endif
