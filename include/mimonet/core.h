/*
 * mimonet/core.h — status codes, allocation, arenas, RNG, the parameter table, threads.
 *
 * A short tour
 * ------------
 * Every library call returns an mn_status (MN_OK = 0).  When a call fails it also records a
 * one-line explanation that names the file, field or argument at fault; read it with
 * mn_error_msg().  The library never prints and never exits: diagnostics go through the log
 * hook (mn_log_set), which is silent by default.
 *
 *     mn_status st = mn_params_alloc(&p);
 *     if (st != MN_OK) fprintf(stderr, "error: %s\n", mn_error_msg());
 *
 * Memory.  Every heap allocation goes through mn_malloc/mn_calloc/mn_free so that tests can
 * make the n-th allocation fail (mn_alloc_fail_at).  Hot paths never allocate: buffers come from
 * an mn_arena sized once, up front, and touched at creation (fresh pages cost ~10 µs each here).
 *
 * Randomness.  mn_rng is xoshiro256** seeded through splitmix64.  Its state is always passed
 * explicitly; there is no global generator.
 *
 * Parameters.  An mn_params table holds every learnable tensor of a model, defined once
 * (name, shape, initializer).  Weights, gradients and the two Adam moments live in four
 * buffers with the same layout, so the optimizer, clipping and checkpointing are each one loop.
 */
#ifndef MIMONET_CORE_H
#define MIMONET_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifndef __cplusplus
#include <complex.h>
/* C11's CMPLX and CMPLXF where the C library leaves them out for this compiler: glibc up to
 * 2.36 (Debian 12) defines them for GCC only, so a clang build called undeclared functions.
 * GCC and clang both have __builtin_complex, which keeps a signed zero or an infinity in
 * either part, as the standard's macros must. */
#if !defined(CMPLXF) && defined(__GNUC__)
#define CMPLXF(x, y) __builtin_complex((float)(x), (float)(y))
#endif
#if !defined(CMPLX) && defined(__GNUC__)
#define CMPLX(x, y) __builtin_complex((double)(x), (double)(y))
#endif
#endif

/* The complex samples of the public API.  In C they are C11's float and double _Complex; in
 * C++, std::complex<float> and std::complex<double>, which the C++ standard lays out as the same
 * two reals (re, im), so arrays pass between the languages as they are.  The two functions that
 * return a complex value (mn_fir_response*) return mn_cf64_ret: C's own type in both languages
 * (GCC's and Clang's __complex__ in C++, which libstdc++'s std::complex<double> converts from),
 * so the value comes back the way C returns it on every calling convention. */
#ifdef __cplusplus
#include <complex>
typedef std::complex<float> mn_cf32;
typedef std::complex<double> mn_cf64;
__extension__ typedef __complex__ double mn_cf64_ret;
#else
typedef float complex mn_cf32;
typedef double complex mn_cf64;
typedef double complex mn_cf64_ret;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define MN_VERSION_MAJOR 0
#define MN_VERSION_MINOR 1
#define MN_VERSION_PATCH 0
#define MN_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- status and errors */

typedef enum {
    MN_OK = 0,
    MN_ERR_NOMEM,       /* an allocation failed */
    MN_ERR_INVALID,     /* a bad argument or configuration */
    MN_ERR_IO,          /* open/read/write/rename failed */
    MN_ERR_FORMAT,      /* a file is malformed, truncated or of the wrong kind */
    MN_ERR_SHAPE,       /* shapes or sizes do not agree */
    MN_ERR_NUMERIC,     /* NaN/Inf or divergence */
    MN_ERR_UNSUPPORTED, /* a valid request this build cannot serve (e.g. no matio) */
    MN_ERR_INTERRUPTED, /* stopped on request (SIGINT) */
    MN_STATUS_COUNT
} mn_status;

/* A fixed string naming the status ("out of memory", ...). */
const char *mn_status_str(mn_status s);

/* Record a formatted explanation for the current thread and return `s`, so that a failing
 * function can write `return mn_error(MN_ERR_FORMAT, "%s: header too long", path);`. */
mn_status mn_error(mn_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The last explanation recorded on this thread ("" if none). */
const char *mn_error_msg(void);
/* Forget the last explanation. */
void mn_error_clear(void);

/* ---------------------------------------------------------------- logging */

typedef enum { MN_LOG_DEBUG = 0, MN_LOG_INFO, MN_LOG_WARN, MN_LOG_ERROR } mn_log_level;
typedef void (*mn_log_fn)(mn_log_level level, const char *msg, void *user);

/* Install a log hook (NULL silences the library, which is the default). */
void mn_log_set(mn_log_fn fn, void *user);
void mn_log(mn_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---------------------------------------------------------------- allocation */

/* All library allocations go through these.  mn_malloc(0) returns a unique non-NULL pointer.
 * Buffers from mn_malloc are 64-byte aligned (cache line, AVX-512 vector). */
void *mn_malloc(size_t bytes);
void *mn_calloc(size_t count, size_t size); /* checks count*size for overflow */
void *mn_realloc(void *p, size_t bytes);    /* not aligned beyond malloc's guarantee */
void mn_free(void *p);
char *mn_strdup(const char *s);

/* Fault injection for tests: make the n-th allocation from now fail (n >= 1); 0 disables.
 * mn_alloc_count() is the number of allocations attempted since the last call. */
void mn_alloc_fail_at(long n);
long mn_alloc_count(void);
/* Bytes currently held through mn_malloc (for leak checks in tests). */
long mn_alloc_live(void);
/* Allocations that have failed so far (injected or real).  A parser that only says "failed"
 * (cJSON) is told apart from a syntax error by whether this moved. */
long mn_alloc_failures(void);

/* ---------------------------------------------------------------- arena */

/* A bump allocator over one block, allocated and touched once.  Never grows. */
typedef struct {
    unsigned char *base;
    size_t cap;  /* bytes */
    size_t used; /* bytes */
} mn_arena;

mn_status mn_arena_init(mn_arena *a, size_t cap_bytes);
/* 64-byte aligned, zero-filled; NULL when the arena is exhausted (a sizing bug: logged). */
void *mn_arena_alloc(mn_arena *a, size_t bytes);
#define mn_arena_alloc_f(a, n) ((float *)mn_arena_alloc((a), (size_t)(n) * sizeof(float)))
void mn_arena_reset(mn_arena *a);
void mn_arena_free(mn_arena *a);

/* ---------------------------------------------------------------- RNG */

/* xoshiro256** (Blackman & Vigna 2018).  Seed with mn_rng_seed; copy the struct to fork it. */
typedef struct {
    uint64_t s[4];
    /* cached second Box–Muller normal */
    double spare;
    int has_spare;
} mn_rng;

void mn_rng_seed(mn_rng *r, uint64_t seed);
uint64_t mn_rng_u64(mn_rng *r);
double mn_rng_uniform(mn_rng *r);            /* [0, 1), 53-bit */
double mn_rng_normal(mn_rng *r);             /* N(0, 1) */
uint64_t mn_rng_below(mn_rng *r, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */
/* Advance by 2^128 draws: gives non-overlapping streams for threads or sub-tasks. */
void mn_rng_jump(mn_rng *r);
/* Advance by 2^192 draws: streams for independent parts, each of which may jump() inside. */
void mn_rng_long_jump(mn_rng *r);

/* ---------------------------------------------------------------- parameter table */

typedef enum {
    MN_INIT_ZEROS = 0,
    MN_INIT_ONES,
    MN_INIT_UNIFORM,      /* U(-scale, scale) */
    MN_INIT_NORMAL,       /* N(0, scale^2) */
    MN_INIT_KAIMING_UNIF, /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's conv/linear default */
    MN_INIT_LINSPACE      /* each last-axis row = linspace(-scale, scale) (LUT tables) */
} mn_init;

#define MN_MAX_DIMS 4
#define MN_NAME_MAX 64

typedef struct {
    char name[MN_NAME_MAX];
    int ndim;
    int64_t shape[MN_MAX_DIMS];
    size_t offset; /* in floats, into w/g/m/v */
    size_t numel;
    mn_init init;
    float scale;  /* meaning depends on init */
    int64_t fan_in;
    bool trainable; /* false: a buffer (e.g. batch-norm running stats); saved, not optimized */
} mn_param_def;

typedef struct {
    mn_param_def *defs;
    int n, cap;
    size_t total; /* floats */
    float *w, *g, *m, *v;
} mn_params;

void mn_params_init_table(mn_params *p);
/* Add a tensor definition; returns its index, or a negative status -(mn_status) with mn_error
 * set on failure (-MN_ERR_INVALID for a bad name/shape, -MN_ERR_NOMEM when the table cannot grow).
 * Must be called before mn_params_alloc. */
int mn_params_add(mn_params *p, const char *name, int ndim, const int64_t *shape, mn_init init,
                  float scale, int64_t fan_in, bool trainable);
/* Allocate w, g, m, v (same layout, 64-byte aligned, zeroed). */
mn_status mn_params_alloc(mn_params *p);
/* Fill w from each definition's initializer, in table order, from `rng`. */
void mn_params_randomize(mn_params *p, mn_rng *rng);
void mn_params_zero_grad(mn_params *p);
int mn_params_find(const mn_params *p, const char *name);
/* Number of trainable scalars. */
size_t mn_params_count_trainable(const mn_params *p);
static inline float *mn_params_w(const mn_params *p, int i) { return p->w + p->defs[i].offset; }
static inline float *mn_params_g(const mn_params *p, int i) { return p->g + p->defs[i].offset; }
void mn_params_free(mn_params *p);

/* ---------------------------------------------------------------- threads */

/* Number of threads for parallel kernels (OpenMP when built with it; 1 otherwise).
 * n <= 0 selects the OpenMP default.  Kernels partition outputs, never reduce across threads,
 * so results are identical for any thread count unless a function says otherwise. */
void mn_threads_set(int n);
int mn_threads_get(void);
bool mn_have_openmp(void);
/* For a program's main(), before any parallel work: when OMP_WAIT_POLICY is unset, set it to
 * "passive" and re-execute the program (argv as given to main), because the OpenMP runtime
 * reads it only at load time.  Returns only when nothing needed doing or exec failed.  The
 * library itself never calls it. */
void mn_threads_prefer_passive_wait(char **argv);

/* ---------------------------------------------------------------- dense algebra */

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major, op = transpose when trans* is true.
 * lda/ldb/ldc are row strides.  OpenBLAS when available (single-threaded inside: mimonet
 * parallelizes outside), a portable loop otherwise. */
void mn_sgemm(bool transA, bool transB, int M, int N, int K, float alpha, const float *A, int lda,
              const float *B, int ldb, float beta, float *C, int ldc);
bool mn_have_blas(void);

/* ---------------------------------------------------------------- time */
double mn_time_sec(void); /* monotonic seconds */

#ifdef __cplusplus
}
#endif
#endif
