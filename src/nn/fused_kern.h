/* nn/fused_kern.h — template of the fused executor's SIMD kernels (the contract is in fused.h).
 * nn/fused_x86.c includes it once per instruction set, after defining:
 *   FK(name)   this set's name for a function (name##_avx512);  FK_ATTR  its target attribute
 *   V, VW      the float vector type and its width;  MR  rows per register block (divides 8)
 *   VLOAD VSTORE (unaligned)  VSTREAM (aligned, non-temporal)  VSET1  VADD VSUB VMUL VDIV VMAX VMIN
 *   VFMA(a, b, c) = a b + c   VFNMA(a, b, c) = c - a b   (fused, one rounding)
 *   VROUND(v)  nearest integer (ties to even)   VPOW2(p, n) = p 2^n for integral n in [-126, 127]
 *   VLEAKY(v, alpha) = v > 0 ? v : alpha v
 *   FK_PW_BF16  the set's pw_bf16 kernel (declared before the include) or NULL
 *
 * Pointwise GEMM: a register block of MR output rows x 3 vectors (AVX-512: 8 x 48 columns, 24
 * accumulators of 32 registers; AVX2: 4 x 24 columns, 12 of 16).  For each input row k it loads
 * the 3 input vectors once and multiplies them by MR broadcast weights (contiguous thanks to the
 * packing), so each FMA needs well under one load.  Column blocks are the outer loop, so a
 * block's input panel (K x 48 floats, 18 kB for K = 96) stays in L1 across the row blocks.
 * The activation's kind is a compile-time constant inside each loop (always_inline helpers
 * called from a switch), so the epilogue has no branches. */

#define FK_INLINE static inline __attribute__((always_inline)) FK_ATTR

/* exp(z) for z in [-87, 88] (the caller clamps, so 2^n stays a normal float).  Cody–Waite: n =
 * round(z / ln2), r = z - n ln2 with ln2 split in two (n ln2_hi is exact), |r| <= ln2 / 2; then
 * Cephes' expf polynomial (S. Moshier, Cephes Math Library, expf.c: e^r = 1 + r + r^2 P5(r),
 * relative error about 1 ulp), e^z = 2^n e^r.  Measured against double, the sigmoid below is
 * within 1.3e-7 relative (about 1 ulp) on [-87, 88] (tests/nn/test_fused.c). */
FK_INLINE V FK(exp)(V z)
{
    const V fn = VROUND(VMUL(z, VSET1(1.44269504088896341f)));
    V r = VFNMA(fn, VSET1(0.693359375f), z);
    r = VFNMA(fn, VSET1(-2.12194440e-4f), r);
    V p = VSET1(1.9875691500e-4f);
    p = VFMA(p, r, VSET1(1.3981999507e-3f));
    p = VFMA(p, r, VSET1(8.3334519073e-3f));
    p = VFMA(p, r, VSET1(4.1665795894e-2f));
    p = VFMA(p, r, VSET1(1.6666665459e-1f));
    p = VFMA(p, r, VSET1(5.0000001201e-1f));
    p = VADD(VFMA(p, VMUL(r, r), r), VSET1(1.0f)); /* e^r = 1 + r + r^2 P(r) */
    return VPOW2(p, fn);
}

/* 1 / (1 + exp(-x)), with -x clamped to [-87, 88] as mn_act_forward does: 1 for x >= 87 (exact in
 * float), 1 / (1 + e^88) ~ 6e-39 for x <= -88. */
FK_INLINE V FK(sigmoid)(V x)
{
    V z = VSUB(VSET1(0.0f), x);
    z = VMIN(VSET1(88.0f), VMAX(VSET1(-87.0f), z)); /* max/min return their 2nd operand on NaN: NaN stays */
    return VDIV(VSET1(1.0f), VADD(VSET1(1.0f), FK(exp)(z)));
}

/* kind is a constant after inlining. */
FK_INLINE V FK(act)(V v, const int kind, V alpha)
{
    switch (kind) {
    case MN_ACT_RELU: return VMAX(v, VSET1(0.0f)); /* NaN -> 0, as x > 0 ? x : 0 */
    case MN_ACT_LEAKY: return VLEAKY(v, alpha);
    case MN_ACT_SIGMOID: return FK(sigmoid)(v);
    default: return v;
    }
}

/* Call CALL(kind) with kind a constant, for the activation kinds the kernels know. */
#define FK_BY_ACT(kind, CALL)                                                                      \
    switch (kind) {                                                                                \
    case MN_ACT_RELU: CALL(MN_ACT_RELU); break;                                                    \
    case MN_ACT_LEAKY: CALL(MN_ACT_LEAKY); break;                                                  \
    case MN_ACT_SIGMOID: CALL(MN_ACT_SIGMOID); break;                                              \
    default: CALL(MN_ACT_NONE); break;                                                             \
    }

/* ------------------------------------------------------------------ pointwise */

#if MR == 8
#define FK_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#elif MR == 4
#define FK_ROWS(X) X(0) X(1) X(2) X(3)
#else
#error "MR must be 4 or 8"
#endif

/* One register block: rows [0, MR) of y (stride ys) over nv (1..3) vectors from column 0, where
 * wp points at the block's packed weights (row r of input k at wp[8 k + r]). */
FK_INLINE void FK(pw_block)(const int nv, const int kind, float *y, size_t ys, const float *x, size_t xs,
                            const float *wp, const float *b, int K, V alpha)
{
#define FK_INIT(r) V a##r##_0 = VSET1(b[r]), a##r##_1 = a##r##_0, a##r##_2 = a##r##_0;
    FK_ROWS(FK_INIT)
    for (int k = 0; k < K; k++, x += xs, wp += MN_FUSED_MR) {
        const V x0 = VLOAD(x);
        const V x1 = nv > 1 ? VLOAD(x + VW) : x0;
        const V x2 = nv > 2 ? VLOAD(x + 2 * VW) : x0;
#define FK_FMA(r)                                                                                  \
    {                                                                                              \
        const V w_ = VSET1(wp[r]);                                                                 \
        a##r##_0 = VFMA(w_, x0, a##r##_0);                                                         \
        if (nv > 1) a##r##_1 = VFMA(w_, x1, a##r##_1);                                             \
        if (nv > 2) a##r##_2 = VFMA(w_, x2, a##r##_2);                                             \
    }
        FK_ROWS(FK_FMA)
    }
#define FK_STORE(r)                                                                                \
    {                                                                                              \
        float *y_ = y + (size_t)(r) * ys;                                                          \
        VSTORE(y_, FK(act)(a##r##_0, kind, alpha));                                                \
        if (nv > 1) VSTORE(y_ + VW, FK(act)(a##r##_1, kind, alpha));                               \
        if (nv > 2) VSTORE(y_ + 2 * VW, FK(act)(a##r##_2, kind, alpha));                           \
    }
    FK_ROWS(FK_STORE)
#undef FK_INIT
#undef FK_FMA
#undef FK_STORE
}

/* Every row block of one column block of nb (1..3) vectors at column 0 of x and y. */
static FK_ATTR void FK(pw_cols)(int nb, int kind, float *y, size_t ys, const float *x, size_t xs, const float *wp,
                                const float *b, int M, int K, V alpha)
{
    for (int o = 0; o < M; o += MR) {
        float *yo = y + (size_t)o * ys;
        const float *wo = wp + (size_t)(o / MN_FUSED_MR) * K * MN_FUSED_MR + o % MN_FUSED_MR;
#define FK_CALL(kd)                                                                                \
    if (nb == 3) FK(pw_block)(3, kd, yo, ys, x, xs, wo, b + o, K, alpha);                          \
    else if (nb == 2) FK(pw_block)(2, kd, yo, ys, x, xs, wo, b + o, K, alpha);                     \
    else FK(pw_block)(1, kd, yo, ys, x, xs, wo, b + o, K, alpha);
        FK_BY_ACT(kind, FK_CALL)
#undef FK_CALL
    }
}

static FK_ATTR void FK(pw)(float *y, size_t ys, const float *x, size_t xs, const float *wp, const float *b, int M,
                           int K, int c0, int n16, mn_fused_act act)
{
    const V alpha = VSET1(act.alpha);
    const int nv = n16 * (MN_FUSED_UNIT / VW);
    for (int v = 0; v < nv; v += 3) {
        const int c = c0 + v * VW;
        FK(pw_cols)(nv - v < 3 ? nv - v : 3, act.kind, y + c, ys, x + c, xs, wp, b, M, K, alpha);
    }
}

/* ------------------------------------------------------------------ depthwise */

FK_INLINE void FK(dw_row)(const int kind, float *y, const float *x, const float *w, float b, int K, int dil, int nv,
                          V alpha)
{
    const V vb = VSET1(b);
    if (K == 3) {
        const V w0 = VSET1(w[0]), w1 = VSET1(w[1]), w2 = VSET1(w[2]);
        const int d2 = 2 * dil;
        for (int v = 0; v < nv; v++) {
            const float *xv = x + v * VW;
            V a = VFMA(w0, VLOAD(xv), vb);
            a = VFMA(w1, VLOAD(xv + dil), a);
            a = VFMA(w2, VLOAD(xv + d2), a);
            VSTORE(y + v * VW, FK(act)(a, kind, alpha));
        }
    } else {
        for (int v = 0; v < nv; v++) {
            const float *xv = x + v * VW;
            V a = vb;
            for (int j = 0; j < K; j++) a = VFMA(VSET1(w[j]), VLOAD(xv + j * dil), a);
            VSTORE(y + v * VW, FK(act)(a, kind, alpha));
        }
    }
}

static FK_ATTR void FK(dw)(float *y, size_t ys, const float *x, size_t xs, const float *w, const float *b, int C,
                           int K, int dil, int pl, int c0, int n16, mn_fused_act act, int pf)
{
    const V alpha = VSET1(act.alpha);
    const int nv = n16 * (MN_FUSED_UNIT / VW);
    const int span_cols = MN_FUSED_UNIT * n16 + dil * (K - 1); /* input columns a row reads */
    for (int r = 0; r < C; r++) {
        float *yr = y + (size_t)r * ys + c0;
        const float *xr = x + (size_t)r * xs + c0 - pl, *wr = w + (size_t)r * K;
        if (pf > 0 && r + pf < C) {
            const char *q = (const char *)(xr + (size_t)pf * xs);
            for (int c = 0; c < span_cols + 16; c += 16) _mm_prefetch(q + 4 * c, _MM_HINT_T0);
        }
#define FK_CALL(kind) FK(dw_row)(kind, yr, xr, wr, b[r], K, dil, nv, alpha)
        FK_BY_ACT(act.kind, FK_CALL)
#undef FK_CALL
    }
}

/* ------------------------------------------------------------------ elementwise */

FK_INLINE void FK(elem_row)(const int kind, float *y, const float *x, const float *s, const float *t, int nv,
                            V alpha)
{
    if (s) {
        const V vs = VSET1(*s), vt = VSET1(*t);
        for (int v = 0; v < nv; v++) VSTORE(y + v * VW, FK(act)(VFMA(vs, VLOAD(x + v * VW), vt), kind, alpha));
    } else {
        for (int v = 0; v < nv; v++) VSTORE(y + v * VW, FK(act)(VLOAD(x + v * VW), kind, alpha));
    }
}

static FK_ATTR void FK(elem)(float *y, size_t ys, const float *x, size_t xs, const float *s, const float *t, int C,
                             int c0, int n16, mn_fused_act act)
{
    const V alpha = VSET1(act.alpha);
    const int nv = n16 * (MN_FUSED_UNIT / VW);
    for (int r = 0; r < C; r++) {
        float *yr = y + (size_t)r * ys + c0;
        const float *xr = x + (size_t)r * xs + c0, *sr = s ? s + r : NULL, *tr = t ? t + r : NULL;
#define FK_CALL(kind) FK(elem_row)(kind, yr, xr, sr, tr, nv, alpha)
        FK_BY_ACT(act.kind, FK_CALL)
#undef FK_CALL
    }
}

/* ------------------------------------------------------------------ output */

/* Rows of n floats to the output tensor.  Where a row's destination is vector aligned (every
 * tile when T is a multiple of 16), whole vectors go out with non-temporal stores: the output
 * is not read again here, and plain stores would first read each line from DRAM. */
static FK_ATTR void FK(put)(float *y, size_t ys, const float *x, size_t xs, int C, int n)
{
    for (int r = 0; r < C; r++) {
        float *yr = y + (size_t)r * ys;
        const float *xr = x + (size_t)r * xs;
        int c = 0;
        if (((uintptr_t)yr & (sizeof(V) - 1)) == 0)
            for (; c + VW <= n; c += VW) VSTREAM(yr + c, VLOAD(xr + c));
        for (; c < n; c++) yr[c] = xr[c];
    }
    _mm_sfence(); /* order the non-temporal stores before whatever the caller does next */
}

/* ------------------------------------------------------------------ weight gradient */

/* Columns of one wgrad register block: 4 rows of dy x FK_WGC rows of x, 4 FK_WGC accumulators
 * and 4 + FK_WGC loads (AVX-512: 16 + 8 of 32 registers; AVX2: 8 + 6 of 16). */
#define FK_WGC (VW == 16 ? 4 : 2)

/* The lanes of v added in ascending order. */
FK_INLINE float FK(lanes_sum)(V v)
{
    float l[VW];
    VSTORE(l, v);
    float s = l[0];
    for (int j = 1; j < VW; j++) s += l[j];
    return s;
}

/* dw[r][j] += sum over nv vectors of dy[r][c] x[j][c], r < nr (1..4), j < nc (1..4). */
FK_INLINE void FK(wg_block)(const int nr, const int nc, float *dw, size_t ldw, const float *dy, size_t dys,
                            const float *x, size_t xs, int nv)
{
#define FK_Z(r) V a##r##0 = VSET1(0.0f), a##r##1 = a##r##0, a##r##2 = a##r##0, a##r##3 = a##r##0;
    FK_Z(0) FK_Z(1) FK_Z(2) FK_Z(3)
    for (int v = 0; v < nv; v++, dy += VW, x += VW) {
        const V y0 = VLOAD(dy), y1 = nr > 1 ? VLOAD(dy + dys) : y0, y2 = nr > 2 ? VLOAD(dy + 2 * dys) : y0,
                y3 = nr > 3 ? VLOAD(dy + 3 * dys) : y0;
        const V x0 = VLOAD(x), x1 = nc > 1 ? VLOAD(x + xs) : x0, x2 = nc > 2 ? VLOAD(x + 2 * xs) : x0,
                x3 = nc > 3 ? VLOAD(x + 3 * xs) : x0;
#define FK_WG(r)                                                                                       if (nr > r) {                                                                                          a##r##0 = VFMA(y##r, x0, a##r##0);                                                                 if (nc > 1) a##r##1 = VFMA(y##r, x1, a##r##1);                                                     if (nc > 2) a##r##2 = VFMA(y##r, x2, a##r##2);                                                     if (nc > 3) a##r##3 = VFMA(y##r, x3, a##r##3);                                                 }
        FK_WG(0) FK_WG(1) FK_WG(2) FK_WG(3)
    }
#define FK_OUT(r)                                                                                      if (nr > r) {                                                                                          float *d_ = dw + (size_t)(r) * ldw;                                                                d_[0] += FK(lanes_sum)(a##r##0);                                                                   if (nc > 1) d_[1] += FK(lanes_sum)(a##r##1);                                                       if (nc > 2) d_[2] += FK(lanes_sum)(a##r##2);                                                       if (nc > 3) d_[3] += FK(lanes_sum)(a##r##3);                                                   }
    FK_OUT(0) FK_OUT(1) FK_OUT(2) FK_OUT(3)
#undef FK_Z
#undef FK_WG
#undef FK_OUT
}

/* The weight gradient of a pointwise product (fused.h wgrad): blocks of 4 dy rows x FK_WGC x
 * rows, the edges through the same block at run-time sizes. */
static FK_ATTR void FK(wgrad)(float *dw, size_t ldw, const float *dy, size_t dys, const float *x, size_t xs, int M,
                              int N, int n16)
{
    const int nv = n16 * (MN_FUSED_UNIT / VW);
    for (int o = 0; o < M; o += 4) {
        const int nr = M - o < 4 ? M - o : 4;
        const float *yo = dy + (size_t)o * dys;
        for (int i = 0; i < N; i += FK_WGC) {
            const int nc = N - i < FK_WGC ? N - i : FK_WGC;
            float *d = dw + (size_t)o * ldw + i;
            if (nr == 4 && nc == FK_WGC)
                FK(wg_block)(4, FK_WGC, d, ldw, yo, dys, x + (size_t)i * xs, xs, nv);
            else
                FK(wg_block)(nr, nc, d, ldw, yo, dys, x + (size_t)i * xs, xs, nv);
        }
    }
}
#undef FK_WGC

/* FK_PW_BF16: this set's bf16 pointwise kernel, or NULL (defined by the includer). */
const mn_fused_kernels FK(mn_fused_kernels) = {FK_NAME, FK(pw), FK(dw), FK(elem), FK(put), FK_PW_BF16, FK(wgrad)};

#undef FK_ROWS
#undef FK_BY_ACT
#undef FK_INLINE
