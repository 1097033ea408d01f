/* core/threads.c — thread count for OpenMP kernels, and a monotonic clock. */
#define _POSIX_C_SOURCE 200809L
#include "mimonet/core.h"

#include <stdlib.h>
#include <time.h>
#include <unistd.h>
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

/* OpenMP threads that spin-wait between parallel regions steal the other core on a small,
 * shared machine (measured on 2 cores: 2-thread training at 0.26 Msamples/s spinning, 0.73
 * passive).  libgomp reads OMP_WAIT_POLICY once, when it is loaded, so when the user has not
 * chosen a policy we set "passive" and start the program again.  A failed exec returns. */
void mn_threads_prefer_passive_wait(char **argv)
{
#ifdef _OPENMP
    if (getenv("OMP_WAIT_POLICY")) return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0) return;
    execv("/proc/self/exe", argv);
#else
    (void)argv;
#endif
}
