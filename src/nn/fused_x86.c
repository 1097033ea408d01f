/* nn/fused_x86.c — the fused executor's x86-64 kernels: AVX-512 (16 floats, 8-row register
 * blocks) and AVX2+FMA (8 floats, 4-row blocks), both instantiated from nn/fused_kern.h.  Each
 * function carries its own target attribute, so this file builds with the project's baseline
 * flags and nn/fused.c picks a set at run time (__builtin_cpu_supports).  GCC and Clang only;
 * elsewhere the file is empty and the portable kernels run. */
#include "fused.h"

#ifdef MN_FUSED_X86
#include <immintrin.h>
#include <stdint.h>

/* ------------------------------------------------------------------ AVX-512 */

#define FK(name) name##_avx512
#define FK_NAME "avx512"
#define FK_ATTR __attribute__((target("avx2,fma,avx512f")))
#define V __m512
#define VW 16
#define MR 8
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VSTREAM(p, v) _mm512_stream_ps((p), (v))
#define VSET1(f) _mm512_set1_ps(f)
#define VADD(a, b) _mm512_add_ps((a), (b))
#define VSUB(a, b) _mm512_sub_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VDIV(a, b) _mm512_div_ps((a), (b))
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMIN(a, b) _mm512_min_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VFNMA(a, b, c) _mm512_fnmadd_ps((a), (b), (c))
#define VROUND(v) _mm512_roundscale_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2(p, n) _mm512_scalef_ps((p), (n))
#define VLEAKY(v, a) _mm512_mask_blend_ps(_mm512_cmp_ps_mask((v), _mm512_setzero_ps(), _CMP_GT_OQ), \
                                          _mm512_mul_ps((a), (v)), (v))
#include "fused_kern.h"
#undef FK
#undef FK_NAME
#undef FK_ATTR
#undef V
#undef VW
#undef MR
#undef VLOAD
#undef VSTORE
#undef VSTREAM
#undef VSET1
#undef VADD
#undef VSUB
#undef VMUL
#undef VDIV
#undef VMAX
#undef VMIN
#undef VFMA
#undef VFNMA
#undef VROUND
#undef VPOW2
#undef VLEAKY

/* ------------------------------------------------------------------ AVX2 + FMA */

/* p 2^n: n + 127 in the exponent field. */
static inline __attribute__((always_inline, target("avx2,fma"))) __m256 pow2_avx2(__m256 p, __m256 n)
{
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

#define FK(name) name##_avx2
#define FK_NAME "avx2"
#define FK_ATTR __attribute__((target("avx2,fma")))
#define V __m256
#define VW 8
#define MR 4
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VSTREAM(p, v) _mm256_stream_ps((p), (v))
#define VSET1(f) _mm256_set1_ps(f)
#define VADD(a, b) _mm256_add_ps((a), (b))
#define VSUB(a, b) _mm256_sub_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VDIV(a, b) _mm256_div_ps((a), (b))
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMIN(a, b) _mm256_min_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VFNMA(a, b, c) _mm256_fnmadd_ps((a), (b), (c))
#define VROUND(v) _mm256_round_ps((v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
#define VPOW2(p, n) pow2_avx2((p), (n))
#define VLEAKY(v, a) _mm256_blendv_ps(_mm256_mul_ps((a), (v)), (v), \
                                      _mm256_cmp_ps((v), _mm256_setzero_ps(), _CMP_GT_OQ))
#include "fused_kern.h"

#else
typedef int mn_fused_x86_unused; /* ISO C wants a declaration in every file */
#endif
