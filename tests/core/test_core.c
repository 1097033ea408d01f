/* tests/core/test_core.c — allocation wrapper, arena, RNG and parameter table. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/core.h"

MN_TEST(core_status_strings)
{
    for (int s = 0; s < MN_STATUS_COUNT; s++) MN_CHECK(t, strlen(mn_status_str((mn_status)s)) > 0);
    MN_CHECK(t, strcmp(mn_status_str((mn_status)999), "unknown status") == 0);
    mn_status st = mn_error(MN_ERR_FORMAT, "%s: field '%s'", "x.npy", "shape");
    MN_CHECK(t, st == MN_ERR_FORMAT);
    MN_CHECK(t, strcmp(mn_error_msg(), "x.npy: field 'shape'") == 0);
}

MN_TEST(core_alloc_aligned_and_counted)
{
    long live0 = mn_alloc_live();
    float *a = mn_malloc(1000);
    MN_CHECK(t, a != NULL);
    MN_CHECK(t, ((uintptr_t)a & 63) == 0);
    MN_CHECK(t, mn_alloc_live() == live0 + 1000);
    a = mn_realloc(a, 5000);
    MN_CHECK(t, a != NULL && mn_alloc_live() == live0 + 5000);
    mn_free(a);
    MN_CHECK(t, mn_alloc_live() == live0);
    MN_CHECK(t, mn_calloc(SIZE_MAX / 2, 4) == NULL); /* overflow is refused, not wrapped */
}

MN_TEST(core_alloc_fault_injection)
{
    mn_alloc_fail_at(3);
    void *p1 = mn_malloc(8), *p2 = mn_malloc(8), *p3 = mn_malloc(8), *p4 = mn_malloc(8);
    MN_CHECK(t, p1 && p2 && !p3 && p4);
    MN_CHECK(t, mn_alloc_count() == 4);
    mn_free(p1);
    mn_free(p2);
    mn_free(p4);
    mn_alloc_fail_at(0);
}

MN_TEST(core_arena)
{
    mn_arena a;
    MN_CHECK_OK(t, mn_arena_init(&a, 1000));
    char *x = mn_arena_alloc(&a, 10);
    char *y = mn_arena_alloc(&a, 100);
    MN_CHECK(t, x && y && ((uintptr_t)y & 63) == 0 && y - x == 64);
    MN_CHECK(t, mn_arena_alloc(&a, 2000) == NULL);
    mn_arena_reset(&a);
    MN_CHECK(t, mn_arena_alloc(&a, 10) == x);
    mn_arena_free(&a);
}

MN_TEST(core_rng_reference_and_stats)
{
    /* splitmix64(0) first output is the published constant 0xe220a8397b1dcdaf. */
    mn_rng r;
    mn_rng_seed(&r, 0);
    MN_CHECK(t, r.s[0] == 0xe220a8397b1dcdafULL);
    /* Same seed, same stream; jump gives a different one. */
    mn_rng a, b;
    mn_rng_seed(&a, 42);
    mn_rng_seed(&b, 42);
    MN_CHECK(t, mn_rng_u64(&a) == mn_rng_u64(&b));
    mn_rng_jump(&b);
    MN_CHECK(t, mn_rng_u64(&a) != mn_rng_u64(&b));
    /* jump and long_jump are different polynomials: three distinct streams from one seed. */
    mn_rng j, lj, j0;
    mn_rng_seed(&j, 9);
    mn_rng_seed(&lj, 9);
    mn_rng_seed(&j0, 9);
    mn_rng_jump(&j);
    mn_rng_long_jump(&lj);
    uint64_t vj = mn_rng_u64(&j), vl = mn_rng_u64(&lj), vz = mn_rng_u64(&j0);
    MN_CHECK(t, vj != vl && vl != vz && vj != vz);
    /* Moments of 200k draws: uniform mean 1/2 var 1/12; normal mean 0 var 1. */
    double su = 0, su2 = 0, sn = 0, sn2 = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double u = mn_rng_uniform(&a), z = mn_rng_normal(&a);
        su += u; su2 += u * u; sn += z; sn2 += z * z;
    }
    MN_CHECK_NEAR(t, su / n, 0.5, 0.005);
    MN_CHECK_NEAR(t, su2 / n - (su / n) * (su / n), 1.0 / 12, 0.002);
    MN_CHECK_NEAR(t, sn / n, 0.0, 0.01);
    MN_CHECK_NEAR(t, sn2 / n, 1.0, 0.015);
    int hist[7] = {0};
    for (int i = 0; i < 70000; i++) hist[mn_rng_below(&a, 7)]++;
    for (int i = 0; i < 7; i++) MN_CHECK(t, hist[i] > 9500 && hist[i] < 10500);
}

MN_TEST(core_params_layout)
{
    mn_params p;
    mn_params_init_table(&p);
    int64_t s1[3] = {4, 2, 3}, s2[1] = {5};
    int i1 = mn_params_add(&p, "a.w", 3, s1, MN_INIT_KAIMING_UNIF, 0, 6, true);
    int i2 = mn_params_add(&p, "a.b", 1, s2, MN_INIT_ONES, 0, 0, true);
    int i3 = mn_params_add(&p, "bn.mean", 1, s2, MN_INIT_ZEROS, 0, 0, false);
    MN_CHECK(t, i1 == 0 && i2 == 1 && i3 == 2);
    MN_CHECK(t, mn_params_add(&p, "a.w", 1, s2, MN_INIT_ZEROS, 0, 0, true) == -MN_ERR_INVALID);
    MN_CHECK(t, p.defs[1].offset % 16 == 0 && p.defs[1].offset >= 24);
    MN_CHECK(t, mn_params_count_trainable(&p) == 29);
    MN_CHECK_OK(t, mn_params_alloc(&p));
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_params_randomize(&p, &r);
    float *w = mn_params_w(&p, i1);
    double bound = 1.0 / sqrt(6.0);
    int in_range = 1;
    for (int j = 0; j < 24; j++) in_range &= fabs((double)w[j]) <= bound;
    MN_CHECK(t, in_range);
    MN_CHECK(t, mn_params_w(&p, i2)[4] == 1.0f);
    MN_CHECK(t, mn_params_find(&p, "bn.mean") == 2 && mn_params_find(&p, "nope") == -1);
    mn_params_free(&p);
}

MN_TEST(core_sgemm_small)
{
    /* [2x3] * [3x2] by hand; then transposed operands give the same product. */
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {7, 8, 9, 10, 11, 12}, C[4] = {1, 1, 1, 1};
    mn_sgemm(false, false, 2, 2, 3, 1.0f, A, 3, B, 2, 0.0f, C, 2);
    MN_CHECK(t, C[0] == 58 && C[1] == 64 && C[2] == 139 && C[3] == 154);
    float At[6] = {1, 4, 2, 5, 3, 6}, Bt[6] = {7, 9, 11, 8, 10, 12}, D[4] = {1, 1, 1, 1};
    mn_sgemm(true, true, 2, 2, 3, 2.0f, At, 2, Bt, 3, 1.0f, D, 2);
    MN_CHECK(t, D[0] == 117 && D[1] == 129 && D[2] == 279 && D[3] == 309);
}
