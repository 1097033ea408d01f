/* nn/lanes.h — private to module nn: how the row kernels are vectorized and kept exact.
 *
 * Multiversioning: the row kernels are compiled for several x86-64 levels and picked at load
 * time (GCC function multiversioning, MN_MULTIVERSION).  The build stays -O2 for the baseline
 * ISA, but an AVX2 or AVX-512 core runs wider code.  ISO C mode keeps FP contraction off and no
 * kernel reassociates, so every copy rounds identically and results do not depend on the CPU.
 *
 * Lanes: float reductions use 16 fixed lanes.  Lane j accumulates the elements i = j (mod 16)
 * in order, then lanes_reduce adds the lanes pairwise in a fixed order.  With GCC the lanes are
 * one 64-byte vector (kept in registers; 4 SSE, 2 AVX or 1 AVX-512 register with the same lane
 * semantics); otherwise a plain array.  Either way the result is the same bits, for any thread
 * count, because reductions never cross threads. */
#ifndef MN_NN_LANES_H
#define MN_NN_LANES_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MN_MULTIVERSION __attribute__((target_clones("default", "arch=x86-64-v3", "arch=x86-64-v4")))
#else
#define MN_MULTIVERSION
#endif

#if defined(__GNUC__)
typedef float v16f __attribute__((vector_size(64)));
#define MN_V16 1
#endif

/* Sum of 16 lanes, pairwise in a fixed order (acc is clobbered). */
static inline float lanes_reduce(float *acc)
{
    for (int h = 8; h >= 1; h /= 2)
        for (int j = 0; j < h; j++) acc[j] += acc[j + h];
    return acc[0];
}

/* sum_i x[i], n >= 0, in the lane order above. */
float mn_nn_row_sum(const float *restrict x, int n);

#endif
