/* nn/act_internal.h — for tests: one instruction set's form of mn_act_tanh_fast. */
#ifndef MN_NN_ACT_INTERNAL_H
#define MN_NN_ACT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* isa "c" (portable), "avx2" or "avx512"; false (and y untouched) when this CPU or build has no
 * such form. */
bool mn_act_tanh_fast_isa(float *y, const float *x, size_t n, const char *isa);

#endif
