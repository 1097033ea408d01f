/* nn/pragma.h — OMP(x) writes `#pragma omp x` from inside a macro or a line, and nothing when the
 * build has no OpenMP, so every kernel also compiles (serially) without it. */
#ifndef MN_NN_PRAGMA_H
#define MN_NN_PRAGMA_H

#define MN_PRAGMA(x) _Pragma(#x)
#ifdef _OPENMP
#define OMP(x) MN_PRAGMA(omp x)
#else
#define OMP(x)
#endif

#endif
