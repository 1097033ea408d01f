/* tests/io/test_npy.c — .npy: round trips, hand-made files (byte by byte), malformed files,
 * truncation at every cut point, and an allocation-failure sweep. */
#include "mn_test.h"

#include <stdlib.h>
#include <string.h>

#include "mimonet/io.h"

/* A byte buffer assembled piece by piece. */
typedef struct {
    unsigned char b[4096];
    size_t n;
} bytes;

static void put(bytes *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}
static void put_le32f(bytes *o, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) o->b[o->n++] = (unsigned char)(u >> (8 * i));
}
static void put_be32f(bytes *o, float v)
{
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 3; i >= 0; i--) o->b[o->n++] = (unsigned char)(u >> (8 * i));
}
static void put_le64d(bytes *o, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 0; i < 8; i++) o->b[o->n++] = (unsigned char)(u >> (8 * i));
}
static void put_be64d(bytes *o, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    for (int i = 7; i >= 0; i--) o->b[o->n++] = (unsigned char)(u >> (8 * i));
}

/* Preamble + dict for version `major` (1: uint16 length, 2/3: uint32), padded to 64. */
static void put_header(bytes *o, int major, const char *dict)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t total = pre + len + 1;
    size_t pad = (64 - total % 64) % 64, hlen = len + pad + 1;
    put(o, "\x93NUMPY", 6);
    o->b[o->n++] = (unsigned char)major;
    o->b[o->n++] = 0;
    o->b[o->n++] = (unsigned char)(hlen & 0xff);
    o->b[o->n++] = (unsigned char)(hlen >> 8);
    if (major != 1) {
        o->b[o->n++] = 0;
        o->b[o->n++] = 0;
    }
    put(o, dict, len);
    memset(o->b + o->n, ' ', pad);
    o->n += pad;
    o->b[o->n++] = '\n';
}

static float re_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i)]; }
static float im_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i) + 1]; }

static void fill_random(mn_signal *s, uint64_t seed)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    float *v = (float *)s->x;
    for (size_t k = 0; k < 2 * (size_t)s->nch * (size_t)s->n; k++) v[k] = (float)mn_rng_normal(&r);
}

MN_TEST(io_npy_roundtrip_c64)
{
    long live0 = mn_alloc_live();
    mn_signal a, b;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 3, 1000));
    fill_random(&a, t->seed);
    const char *p = mn_test_path(t, "x.npy");
    MN_CHECK_OK(t, mn_npy_write_c64(p, &a, false));
    MN_CHECK_OK(t, mn_source_read(&b, p));
    MN_CHECK(t, b.nch == 3 && b.n == 1000);
    MN_CHECK(t, b.x && memcmp(a.x, b.x, sizeof(float complex) * 3000) == 0);
    MN_CHECK(t, b.sample_rate == 0.0);
    mn_signal_free(&b);

    /* The header is what numpy writes: v1.0, dict text, padded to a multiple of 64. */
    size_t n;
    unsigned char *raw = mn_test_read_bytes(p, &n);
    MN_CHECK(t, raw && n > 10 && memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    size_t hlen = raw ? (size_t)raw[8] | (size_t)raw[9] << 8 : 0;
    MN_CHECK(t, (10 + hlen) % 64 == 0);
    MN_CHECK(t, raw && strncmp((char *)raw + 10, "{'descr': '<c8', 'fortran_order': False, 'shape': (3, 1000), }",
                                62) == 0);
    MN_CHECK(t, raw && raw[10 + hlen - 1] == '\n');
    MN_CHECK(t, n == 10 + hlen + 3000 * 8);
    /* element (c=2, i=7) lies at byte 10 + hlen + 8 * (2 * 1000 + 7), real part first, LE */
    if (raw && n == 10 + hlen + 24000) {
        float v[2];
        memcpy(v, raw + 10 + hlen + 8 * 2007, 8);
        MN_CHECK(t, v[0] == re_(&a, 2, 7) && v[1] == im_(&a, 2, 7));
    }
    free(raw);

    /* squeeze: one channel -> shape (n,) */
    mn_signal one;
    MN_CHECK_OK(t, mn_signal_alloc(&one, 1, 5));
    for (int i = 0; i < 5; i++) one.x[i] = (float)i + I * (float)(-i);
    MN_CHECK_OK(t, mn_npy_write_c64(p, &one, true));
    raw = mn_test_read_bytes(p, &n);
    MN_CHECK(t, raw && strstr((char *)raw + 10, "'shape': (5,), }") != NULL);
    free(raw);
    MN_CHECK_OK(t, mn_source_read(&b, p));
    MN_CHECK(t, b.nch == 1 && b.n == 5 && memcmp(b.x, one.x, 40) == 0);
    mn_signal_free(&b);
    mn_signal_free(&one);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_npy_write_f32_layout)
{
    const int64_t shape[3] = {2, 3, 2};
    float x[12];
    for (int k = 0; k < 12; k++) x[k] = 0.5f * (float)k - 1.0f;
    const char *p = mn_test_path(t, "f.npy");
    MN_CHECK_OK(t, mn_npy_write_f32(p, x, 3, shape));
    size_t n;
    unsigned char *raw = mn_test_read_bytes(p, &n);
    const char *want = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2), }";
    MN_CHECK(t, raw && memcmp(raw + 10, want, strlen(want)) == 0);
    MN_CHECK(t, n == 128 + 48); /* 10 + 63-char dict + pad + '\n' = 128 */
    MN_CHECK(t, raw && memcmp(raw + 128, x, 48) == 0);
    free(raw);
    /* [2, 3, 2] float32 is a signal of 2 channels x 3 samples with I/Q in the last axis */
    mn_signal s;
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 3);
    if (s.x)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                MN_CHECK(t, re_(&s, c, i) == x[(c * 3 + i) * 2] && im_(&s, c, i) == x[(c * 3 + i) * 2 + 1]);
    mn_signal_free(&s);
    /* 0-d and 1-d shapes format as numpy does */
    MN_CHECK_OK(t, mn_npy_write_f32(p, x, 0, NULL));
    raw = mn_test_read_bytes(p, &n);
    MN_CHECK(t, raw && strstr((char *)raw + 10, "'shape': (), }") != NULL && n == 128 + 4);
    free(raw);
    MN_CHECK(t, mn_npy_write_f32(p, x, -1, shape) == MN_ERR_INVALID);
}

/* Built byte by byte: float64 [3, 2] little-endian, v1.0. */
MN_TEST(io_npy_handmade_f8)
{
    bytes o = {.n = 0};
    put_header(&o, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }");
    const double d[6] = {1.5, -2.0, 3.25, 0.125, -0.5, 1e-3};
    for (int k = 0; k < 6; k++) put_le64d(&o, d[k]);
    const char *p = mn_test_path(t, "h.npy");
    mn_test_write_bytes(p, o.b, o.n);
    mn_signal s;
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 1 && s.n == 3);
    if (s.x) {
        MN_CHECK(t, re_(&s, 0, 0) == 1.5f && im_(&s, 0, 0) == -2.0f);
        MN_CHECK(t, re_(&s, 0, 1) == 3.25f && im_(&s, 0, 1) == 0.125f);
        MN_CHECK(t, re_(&s, 0, 2) == -0.5f && im_(&s, 0, 2) == (float)1e-3);
    }
    mn_signal_free(&s);
}

/* Big-endian complex64 [2, 2] with a v2.0 header (uint32 length) and double-quoted keys. */
MN_TEST(io_npy_handmade_bigendian_c8)
{
    bytes o = {.n = 0};
    put_header(&o, 2, "{\"descr\": \">c8\", \"fortran_order\": False, \"shape\": (2, 2)}");
    const float v[8] = {1, 2, 3, 4, -5, 6.5f, 7, -0.25f};
    for (int k = 0; k < 8; k++) put_be32f(&o, v[k]);
    const char *p = mn_test_path(t, "be.npy");
    mn_test_write_bytes(p, o.b, o.n);
    mn_signal s;
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 2);
    if (s.x) {
        MN_CHECK(t, re_(&s, 0, 0) == 1 && im_(&s, 0, 0) == 2 && re_(&s, 0, 1) == 3 && im_(&s, 0, 1) == 4);
        MN_CHECK(t, re_(&s, 1, 0) == -5 && im_(&s, 1, 0) == 6.5f && re_(&s, 1, 1) == 7 && im_(&s, 1, 1) == -0.25f);
    }
    mn_signal_free(&s);

    /* big-endian float64 [2, 2] (v3.0, Python-2 style "2L") */
    o.n = 0;
    put_header(&o, 3, "{'descr': '>f8', 'fortran_order': False, 'shape': (2L, 2L), }");
    const double d[4] = {0.75, -1.0, 1e10, -3.5};
    for (int k = 0; k < 4; k++) put_be64d(&o, d[k]);
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 1 && s.n == 2);
    if (s.x) MN_CHECK(t, re_(&s, 0, 0) == 0.75f && im_(&s, 0, 0) == -1.0f && re_(&s, 0, 1) == 1e10f && im_(&s, 0, 1) == -3.5f);
    mn_signal_free(&s);
}

/* Fortran order: real [2, 3, 2] and complex128 [2, 3] laid out column-major. */
MN_TEST(io_npy_fortran_order)
{
    bytes o = {.n = 0};
    put_header(&o, 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 2), }");
    /* element (c, i, k) sits at linear position c + 2 * (i + 3 * k); value 100c + 10i + k */
    float lin[12];
    for (int c = 0; c < 2; c++)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 2; k++) lin[c + 2 * (i + 3 * k)] = (float)(100 * c + 10 * i + k);
    for (int k = 0; k < 12; k++) put_le32f(&o, lin[k]);
    const char *p = mn_test_path(t, "fo.npy");
    mn_test_write_bytes(p, o.b, o.n);
    mn_signal s;
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 3);
    if (s.x)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                MN_CHECK(t, re_(&s, c, i) == (float)(100 * c + 10 * i) && im_(&s, c, i) == (float)(100 * c + 10 * i + 1));
    mn_signal_free(&s);

    o.n = 0;
    put_header(&o, 1, "{'descr': '<c16', 'fortran_order': True, 'shape': (2, 3), }");
    /* complex element (c, i) at c + 2 * i; value (c + 1) * 10 + i  +  j * (-i) */
    for (int e = 0; e < 6; e++) {
        int c = e % 2, i = e / 2;
        put_le64d(&o, (c + 1) * 10.0 + i);
        put_le64d(&o, -(double)i);
    }
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 3);
    if (s.x)
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 3; i++)
                MN_CHECK(t, re_(&s, c, i) == (float)((c + 1) * 10 + i) && im_(&s, c, i) == (float)-i);
    mn_signal_free(&s);
}

typedef struct {
    const char *name;
    int major;
    const char *dict;
    size_t data_bytes; /* zero-filled data after the header */
    mn_status want;
    const char *msg_has; /* substring the message must contain besides the file name */
} bad_case;

MN_TEST(io_npy_malformed)
{
    static const bad_case cases[] = {
        {"int32", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (4, 2), }", 32, MN_ERR_FORMAT, "'<i4'"},
        {"float16", 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (4, 2), }", 16, MN_ERR_FORMAT, "'<f2'"},
        {"struct", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 8, MN_ERR_FORMAT, "structured"},
        {"absurd", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776, 2), }", 32, MN_ERR_FORMAT,
         "shape (1099511627776, 2)"},
        {"overflow", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904), }",
         64, MN_ERR_FORMAT, "truncated"},
        {"toolong", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8, MN_ERR_FORMAT,
         "shape"},
        {"trailing", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 24, MN_ERR_FORMAT, "longer"},
        {"nokey", 1, "{'descr': '<c8', 'shape': (2,), }", 16, MN_ERR_FORMAT, "fortran_order"},
        {"extrakey", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), 'x': 1}", 16, MN_ERR_FORMAT, "'x'"},
        {"dupkey", 1, "{'descr': '<c8', 'descr': '<c8', 'fortran_order': False, 'shape': (2,)}", 16, MN_ERR_FORMAT, "twice"},
        {"notdict", 1, "['descr', '<c8']", 16, MN_ERR_FORMAT, "'{'"},
        {"badbool", 1, "{'descr': '<c8', 'fortran_order': 0, 'shape': (2,), }", 16, MN_ERR_FORMAT, "True or False"},
        {"negshape", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (-2,), }", 16, MN_ERR_FORMAT, "non-negative"},
        {"garbage_after", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), } x", 16, MN_ERR_FORMAT, "after"},
        {"unclosed", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,", 16, MN_ERR_FORMAT, "shape"},
        {"version", 4, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", 16, MN_ERR_FORMAT, "version"},
        {"scalar", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (), }", 8, MN_ERR_SHAPE, "not a signal"},
        {"c3d", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1, 2, 1), }", 16, MN_ERR_SHAPE, "not a signal"},
        {"f1d", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", 16, MN_ERR_SHAPE, "last axis"},
        {"flast3", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }", 48, MN_ERR_SHAPE, "last axis"},
        {"empty", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (0,), }", 0, MN_ERR_SHAPE, "at least 1 sample"},
        {"nochan", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (0, 5), }", 0, MN_ERR_SHAPE, "0 channels"},
    };
    long live0 = mn_alloc_live();
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const bad_case *c = &cases[k];
        bytes o = {.n = 0};
        if (c->major == 4) {
            put_header(&o, 1, c->dict);
            o.b[6] = 4;
        } else {
            put_header(&o, c->major, c->dict);
        }
        memset(o.b + o.n, 0, c->data_bytes);
        o.n += c->data_bytes;
        char name[64];
        snprintf(name, sizeof name, "bad_%s.npy", c->name);
        const char *p = mn_test_path(t, name);
        mn_test_write_bytes(p, o.b, o.n);
        mn_signal s;
        mn_status st = mn_source_read(&s, p);
        MN_CHECK_MSG(t, st == c->want, "%s: status %d (%s), want %d", c->name, st, mn_error_msg(), c->want);
        MN_CHECK_MSG(t, strstr(mn_error_msg(), name) != NULL, "%s: message does not name the file: %s", c->name,
                     mn_error_msg());
        MN_CHECK_MSG(t, strstr(mn_error_msg(), c->msg_has) != NULL, "%s: message lacks '%s': %s", c->name, c->msg_has,
                     mn_error_msg());
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }

    /* Not npy at all, a NUL in the header, a header longer than the file, a missing file. */
    const char *p = mn_test_path(t, "junk.npy");
    static const char zip[] = "PK\003\004 this is a zip file, not npy";
    mn_test_write_bytes(p, zip, sizeof zip - 1);
    mn_signal s;
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_FORMAT && strstr(mn_error_msg(), "junk.npy") &&
                    strstr(mn_error_msg(), "NUMPY"));
    bytes o = {.n = 0};
    put_header(&o, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }");
    o.b[20] = '\0';
    memset(o.b + o.n, 0, 8);
    o.n += 8;
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_FORMAT && strstr(mn_error_msg(), "NUL"));
    o.n = 0;
    put_header(&o, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }");
    o.b[8] = 0xff;
    o.b[9] = 0xff; /* header length 65535 > file */
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_FORMAT && strstr(mn_error_msg(), "truncated"));
    MN_CHECK(t, mn_source_read(&s, mn_test_path(t, "missing.npy")) == MN_ERR_IO && strstr(mn_error_msg(), "missing.npy"));
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_npy_nonfinite)
{
    long live0 = mn_alloc_live();
    mn_signal a, s;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 4));
    fill_random(&a, 3);
    ((float *)a.x)[2 * (1 * 4 + 2) + 1] = NAN; /* channel 1, sample 2, imaginary */
    const char *p = mn_test_path(t, "nan.npy");
    MN_CHECK(t, mn_npy_write_c64(p, &a, false) == MN_ERR_NUMERIC); /* the writer refuses NaN */
    MN_CHECK(t, strstr(mn_error_msg(), "channel 1, sample 2") != NULL);

    /* hand-made files with NaN / Inf / out-of-float-range values */
    bytes o = {.n = 0};
    put_header(&o, 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 4), }");
    for (int k = 0; k < 16; k++) put_le32f(&o, k == 2 * (1 * 4 + 2) + 1 ? NAN : 1.0f);
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_NUMERIC);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "nan.npy") && strstr(mn_error_msg(), "channel 1, sample 2") &&
                        strstr(mn_error_msg(), "imaginary") && strstr(mn_error_msg(), "NaN"),
                 "message: %s", mn_error_msg());
    o.n = 0;
    put_header(&o, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }");
    for (int k = 0; k < 6; k++) put_le64d(&o, k == 4 ? -(double)INFINITY : 0.5);
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_NUMERIC && strstr(mn_error_msg(), "channel 0, sample 2") &&
                    strstr(mn_error_msg(), "Inf"));
    o.n = 0;
    put_header(&o, 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }");
    for (int k = 0; k < 6; k++) put_le64d(&o, k == 1 ? 1e300 : 0.5);
    mn_test_write_bytes(p, o.b, o.n);
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_NUMERIC && strstr(mn_error_msg(), "beyond float32"));
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_npy_truncated_every_cut)
{
    mn_signal a;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 5));
    long live0 = mn_alloc_live();
    fill_random(&a, 11);
    const char *p = mn_test_path(t, "full.npy");
    MN_CHECK_OK(t, mn_npy_write_c64(p, &a, false));
    size_t n;
    unsigned char *raw = mn_test_read_bytes(p, &n);
    MN_CHECK(t, raw && n == 128 + 80);
    const char *q = mn_test_path(t, "cut.npy");
    int failures_ok = 0;
    for (size_t cut = 0; raw && cut < n; cut++) {
        mn_test_write_bytes(q, raw, cut);
        mn_signal s;
        mn_status st = mn_source_read(&s, q);
        bool ok = st == MN_ERR_FORMAT && strstr(mn_error_msg(), "cut.npy") && s.x == NULL && mn_alloc_live() == live0;
        MN_CHECK_MSG(t, ok, "cut at %zu: status %d, message %s", cut, st, mn_error_msg());
        failures_ok += ok;
    }
    MN_CHECK(t, failures_ok == (int)n);
    free(raw);
    mn_signal_free(&a);
}

MN_TEST(io_npy_alloc_fail_sweep)
{
    mn_signal a, s;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 50));
    fill_random(&a, 5);
    const char *p = mn_test_path(t, "sweep.npy");
    MN_CHECK_OK(t, mn_npy_write_c64(p, &a, false));
    long live0 = mn_alloc_live();
    int failed = 0;
    for (long k = 1; k < 100; k++) {
        mn_alloc_fail_at(k);
        mn_status st = mn_source_read(&s, p);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, s.nch == 2 && s.n == 50 && memcmp(s.x, a.x, 800) == 0);
            mn_signal_free(&s);
            break;
        }
        failed++;
        MN_CHECK_MSG(t, st == MN_ERR_NOMEM && strstr(mn_error_msg(), "sweep.npy"), "fail at %ld: %d %s", k, st,
                     mn_error_msg());
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }
    MN_CHECK(t, failed >= 3); /* header, read buffer, signal */
    /* the writer too */
    for (long k = 1; k < 100; k++) {
        mn_alloc_fail_at(k);
        mn_status st = mn_npy_write_c64(mn_test_path(t, "w.npy"), &a, false);
        mn_alloc_fail_at(0);
        MN_CHECK(t, mn_alloc_live() == live0);
        if (st == MN_OK) break;
        MN_CHECK(t, st == MN_ERR_NOMEM);
    }
    mn_signal_free(&a);
}
