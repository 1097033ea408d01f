/* nn/lanes.c — the lane-ordered row sum shared by the conv and norm kernels (see lanes.h). */
#include "lanes.h"

#include <string.h>

MN_MULTIVERSION
float mn_nn_row_sum(const float *restrict x, int n)
{
    float acc[16];
    int i = 0;
#ifdef MN_V16
    v16f vx, vs = {0};
    for (; i + 16 <= n; i += 16) {
        memcpy(&vx, x + i, sizeof vx);
        vs += vx;
    }
    memcpy(acc, &vs, sizeof acc);
#else
    for (int j = 0; j < 16; j++) acc[j] = 0.0f;
    for (; i + 16 <= n; i += 16)
        for (int j = 0; j < 16; j++) acc[j] += x[i + j];
#endif
    for (int j = 0; i < n; i++, j++) acc[j] += x[i];
    return lanes_reduce(acc);
}
