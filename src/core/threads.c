/* core/threads.c — thread count for OpenMP kernels, and a monotonic clock. */
#define _POSIX_C_SOURCE 200809L
#include "mimonet/core.h"

#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int n_threads = 0; /* 0: not set, use the OpenMP default */

void mn_threads_set(int n)
{
    n_threads = n > 0 ? n : 0;
#ifdef _OPENMP
    if (n > 0) omp_set_num_threads(n);
#endif
}

int mn_threads_get(void)
{
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    return 1;
#endif
}

bool mn_have_openmp(void)
{
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
}

double mn_time_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
