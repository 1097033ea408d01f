/* nn/fused_x86.c — the fused executor's x86-64 kernels: AVX-512 (16 floats, 8-row register
 * blocks) and AVX2+FMA (8 floats, 4-row blocks), both instantiated from nn/fused_kern.h, and
 * the AVX-512 set's bf16 pointwise kernel (AVX512_BF16, written out below).  Each function
 * carries its own target attribute, so this file builds with the project's baseline flags and
 * nn/fused.c picks a set at run time (__builtin_cpu_supports, CPUID).  GCC and Clang only;
 * elsewhere the file is empty and the portable kernels run. */
#include "fused.h"

#ifdef MN_FUSED_X86
#include <immintrin.h>
#include <stdint.h>

/* ------------------------------------------------------------------ AVX-512 */

#define BF_ATTR __attribute__((target("avx2,fma,avx512f,avx512bf16,avx512bw,avx512vl")))
static BF_ATTR void pw_bf16_avx512(float *y, size_t ys, const float *x, size_t xs, const float *xoff,
                                   const uint32_t *wp, const float *b, int M, int K, int c0, int n16, mn_fused_act act,
                                   uint32_t *panel);

#define FK(name) name##_avx512
#define FK_PW_BF16 pw_bf16_avx512
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

/* ---------------------------------------------------- AVX-512 bf16 pointwise (AVX512_BF16)
 *
 * The pw_bf16 contract of fused.h with VDPBF16PS: each float lane (a column) of the
 * accumulator gains the products of one pair of bf16 values, x[2j][c] W[o][2j] and
 * x[2j+1][c] W[o][2j+1] (odd one first, each rounded once, denormals flushed: Intel SDM), twice
 * the multiply-adds of an FMA per instruction.  The inputs of a column block (3 vectors, 48
 * columns, K rows) are converted to a panel of bf16 pairs once (VCVTNE2PS2BF16, which rounds to
 * nearest even, then VPERMW to interleave rows 2j and 2j+1 column by column); every row block
 * then reads it from L1 (K = 96: 9 kB).  The register block is the fp32 one's: 8 rows x 3
 * vectors, 24 accumulators, each weight pair broadcast once per pair of inputs.  Sums and the
 * epilogue (bias, activation) stay float. */

#define BF_INLINE static inline __attribute__((always_inline)) BF_ATTR
#define BF_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

/* panel[j][v 16 + i] = bf16(x[2j][v 16 + i] - xoff[2j]) | bf16(x[2j+1][v 16 + i] - xoff[2j+1]) << 16
 * (0 for row K), for j < ceil(K/2), v < nb, i < 16. */
BF_INLINE void pwb_pack(uint32_t *panel, const float *x, size_t xs, const float *xoff, int K, int nb)
{
    /* word 2i of the result is word i of the conversion (row 2j), word 2i + 1 is word 16 + i (row 2j + 1) */
    static const uint16_t ilv[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,  21, 6,  22, 7,  23,
                                     8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i idx = _mm512_loadu_si512(ilv);
    for (int k = 0; k < K; k += 2) {
        const float *x0 = x + (size_t)k * xs;
        uint32_t *pj = panel + (size_t)(k / 2) * MN_FUSED_BF16_PANEL;
        const __m512 o0 = _mm512_set1_ps(xoff[k]), o1 = _mm512_set1_ps(k + 1 < K ? xoff[k + 1] : 0.0f);
        for (int v = 0; v < nb; v++) {
            const __m512 lo = _mm512_sub_ps(_mm512_loadu_ps(x0 + 16 * v), o0);
            const __m512 hi = k + 1 < K ? _mm512_sub_ps(_mm512_loadu_ps(x0 + xs + 16 * v), o1) : _mm512_setzero_ps();
            const __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* words 0-15: lo, 16-31: hi */
            _mm512_storeu_si512(pj + 16 * v, _mm512_permutexvar_epi16(idx, h));
        }
    }
}

/* Rows [0, 8) of y over nv (1..3) vectors from a packed panel; wp: the row block's weight pairs
 * (pair j of row r at wp[8 j + r]). */
BF_INLINE void pwb_block(const int nv, const int kind, float *y, size_t ys, const uint32_t *xp, const uint32_t *wp,
                         const float *b, int K2, __m512 alpha)
{
#define BF_INIT(r) __m512 a##r##_0 = _mm512_set1_ps(b[r]), a##r##_1 = a##r##_0, a##r##_2 = a##r##_0;
    BF_ROWS(BF_INIT)
    for (int j = 0; j < K2; j++, xp += MN_FUSED_BF16_PANEL, wp += MN_FUSED_MR) {
        const __m512bh x0 = (__m512bh)_mm512_loadu_si512(xp);
        const __m512bh x1 = nv > 1 ? (__m512bh)_mm512_loadu_si512(xp + 16) : x0;
        const __m512bh x2 = nv > 2 ? (__m512bh)_mm512_loadu_si512(xp + 32) : x0;
#define BF_DOT(r)                                                                                  \
    {                                                                                              \
        const __m512bh w_ = (__m512bh)_mm512_set1_epi32((int)wp[r]);                               \
        a##r##_0 = _mm512_dpbf16_ps(a##r##_0, x0, w_);                                             \
        if (nv > 1) a##r##_1 = _mm512_dpbf16_ps(a##r##_1, x1, w_);                                 \
        if (nv > 2) a##r##_2 = _mm512_dpbf16_ps(a##r##_2, x2, w_);                                 \
    }
        BF_ROWS(BF_DOT)
    }
#define BF_STORE(r)                                                                                \
    {                                                                                              \
        float *y_ = y + (size_t)(r) * ys;                                                          \
        _mm512_storeu_ps(y_, act_avx512(a##r##_0, kind, alpha));                                   \
        if (nv > 1) _mm512_storeu_ps(y_ + 16, act_avx512(a##r##_1, kind, alpha));                  \
        if (nv > 2) _mm512_storeu_ps(y_ + 32, act_avx512(a##r##_2, kind, alpha));                  \
    }
    BF_ROWS(BF_STORE)
#undef BF_INIT
#undef BF_DOT
#undef BF_STORE
}

/* Every row block of one column block of nb vectors (the activation kind a constant inside). */
BF_INLINE void pwb_cols(const int kind, int nb, float *y, size_t ys, const uint32_t *panel, const uint32_t *wp,
                        const float *b, int M, int K2, __m512 alpha)
{
    for (int o = 0; o < M; o += MN_FUSED_MR) {
        float *yo = y + (size_t)o * ys;
        const uint32_t *wo = wp + (size_t)(o / MN_FUSED_MR) * K2 * MN_FUSED_MR;
        if (nb == 3) pwb_block(3, kind, yo, ys, panel, wo, b + o, K2, alpha);
        else if (nb == 2) pwb_block(2, kind, yo, ys, panel, wo, b + o, K2, alpha);
        else pwb_block(1, kind, yo, ys, panel, wo, b + o, K2, alpha);
    }
}

static BF_ATTR void pw_bf16_avx512(float *y, size_t ys, const float *x, size_t xs, const float *xoff,
                                   const uint32_t *wp, const float *b, int M, int K, int c0, int n16, mn_fused_act act,
                                   uint32_t *panel)
{
    const __m512 alpha = _mm512_set1_ps(act.alpha);
    const int K2 = (K + 1) / 2, nv = n16; /* a unit of 16 columns is one vector */
    for (int v = 0; v < nv; v += 3) {
        const int c = c0 + 16 * v, nb = nv - v < 3 ? nv - v : 3;
        pwb_pack(panel, x + c, xs, xoff, K, nb);
        switch (act.kind) {
        case MN_ACT_RELU: pwb_cols(MN_ACT_RELU, nb, y + c, ys, panel, wp, b, M, K2, alpha); break;
        case MN_ACT_LEAKY: pwb_cols(MN_ACT_LEAKY, nb, y + c, ys, panel, wp, b, M, K2, alpha); break;
        case MN_ACT_SIGMOID: pwb_cols(MN_ACT_SIGMOID, nb, y + c, ys, panel, wp, b, M, K2, alpha); break;
        default: pwb_cols(MN_ACT_NONE, nb, y + c, ys, panel, wp, b, M, K2, alpha); break;
        }
    }
}

#undef BF_ROWS
#undef BF_INLINE
#undef BF_ATTR
#undef FK_PW_BF16
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
#define FK_PW_BF16 NULL
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
