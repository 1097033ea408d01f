/* tests/io/test_sigmf.c — SigMF: cf32/ci16 round trips (bit-identical / within quantization),
 * the meta file's required fields, per-sample channel interleaving checked on the raw bytes,
 * hand-written recordings, malformed recordings, truncation and an allocation-failure sweep. */
#include "mn_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "mimonet/io.h"

static float re_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i)]; }
static float im_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i) + 1]; }

static void fill_random(mn_signal *s, uint64_t seed, double amp)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    float *v = (float *)s->x;
    for (size_t k = 0; k < 2 * (size_t)s->nch * (size_t)s->n; k++) v[k] = (float)(amp * mn_rng_normal(&r));
}

MN_TEST(io_sigmf_roundtrip_cf32)
{
    long live0 = mn_alloc_live();
    mn_signal a, b;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 4, 300));
    fill_random(&a, t->seed, 1.0);
    a.sample_rate = 30.72e6;
    const char *base = mn_test_path(t, "rec");
    char meta[4200], data[4200];
    snprintf(meta, sizeof meta, "%s.sigmf-meta", base);
    snprintf(data, sizeof data, "%s.sigmf-data", base);
    MN_CHECK_OK(t, mn_sigmf_write(base, &a, "cf32_le", "{\"core:description\": \"unit test\", \"mimonet:seed\": 7}"));
    MN_CHECK_OK(t, mn_source_read(&b, meta));
    MN_CHECK(t, b.nch == 4 && b.n == 300 && b.sample_rate == 30.72e6);
    MN_CHECK(t, b.x && memcmp(a.x, b.x, 4 * 300 * sizeof(float complex)) == 0);
    mn_signal_free(&b);
    /* the data path finds its meta file */
    MN_CHECK_OK(t, mn_source_read(&b, data));
    MN_CHECK(t, b.nch == 4 && b.n == 300 && b.x && memcmp(a.x, b.x, 4 * 300 * sizeof(float complex)) == 0);
    mn_signal_free(&b);

    /* raw layout: per-sample interleaving, little-endian float32 pairs */
    size_t n;
    unsigned char *raw = mn_test_read_bytes(data, &n);
    MN_CHECK(t, n == 4 * 300 * 8);
    if (raw && n == 9600) {
        /* sample 17 of channel 2 sits at complex index 17 * 4 + 2 */
        uint32_t u[2];
        for (int k = 0; k < 2; k++) {
            const unsigned char *q = raw + 8 * (17 * 4 + 2) + 4 * k;
            u[k] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        }
        float f[2];
        memcpy(f, u, 8);
        MN_CHECK(t, f[0] == re_(&a, 2, 17) && f[1] == im_(&a, 2, 17));
    }
    free(raw);

    /* the meta file holds what SigMF requires, plus the caller's members */
    raw = mn_test_read_bytes(meta, &n);
    cJSON *root = raw ? cJSON_Parse((const char *)raw) : NULL;
    free(raw);
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(root, "global");
    MN_CHECK(t, cJSON_IsObject(g));
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(g, "core:version");
    MN_CHECK(t, cJSON_IsString(it) && !strcmp(it->valuestring, "1.0.0"));
    it = cJSON_GetObjectItemCaseSensitive(g, "core:datatype");
    MN_CHECK(t, cJSON_IsString(it) && !strcmp(it->valuestring, "cf32_le"));
    it = cJSON_GetObjectItemCaseSensitive(g, "core:sample_rate");
    MN_CHECK(t, cJSON_IsNumber(it) && it->valuedouble == 30.72e6);
    it = cJSON_GetObjectItemCaseSensitive(g, "core:num_channels");
    MN_CHECK(t, cJSON_IsNumber(it) && it->valuedouble == 4);
    it = cJSON_GetObjectItemCaseSensitive(g, "core:description");
    MN_CHECK(t, cJSON_IsString(it) && !strcmp(it->valuestring, "unit test"));
    it = cJSON_GetObjectItemCaseSensitive(g, "mimonet:seed");
    MN_CHECK(t, cJSON_IsNumber(it) && it->valuedouble == 7);
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(root, "captures");
    MN_CHECK(t, cJSON_IsArray(caps) && cJSON_GetArraySize(caps) == 1);
    it = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(caps, 0), "core:sample_start");
    MN_CHECK(t, cJSON_IsNumber(it) && it->valuedouble == 0);
    MN_CHECK(t, cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "annotations")));
    cJSON_Delete(root);

    /* a base given with the suffix writes the same pair */
    MN_CHECK_OK(t, mn_sigmf_write(meta, &a, NULL, NULL));
    MN_CHECK_OK(t, mn_source_read(&b, meta));
    MN_CHECK(t, b.x && b.n == 300 && memcmp(a.x, b.x, 4 * 300 * sizeof(float complex)) == 0);
    mn_signal_free(&b);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_sigmf_roundtrip_ci16)
{
    long live0 = mn_alloc_live();
    mn_signal a, b;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 500));
    fill_random(&a, t->seed + 1, 0.3);
    a.sample_rate = 1e6;
    float peak = 0;
    for (size_t k = 0; k < 2000; k++) peak = fmaxf(peak, fabsf(((float *)a.x)[k]));
    const char *base = mn_test_path(t, "q");
    MN_CHECK_OK(t, mn_sigmf_write(base, &a, "ci16_le", NULL));
    char meta[4200];
    snprintf(meta, sizeof meta, "%s.sigmf-meta", base);
    MN_CHECK_OK(t, mn_source_read(&b, meta));
    MN_CHECK(t, b.nch == 2 && b.n == 500 && b.sample_rate == 1e6);
    /* quantization step = peak / 32767: every value within half a step (plus float rounding) */
    double step = (double)peak / 32767.0, worst = 0;
    for (size_t k = 0; b.x && k < 2000; k++)
        worst = fmax(worst, fabs((double)((float *)a.x)[k] - (double)((float *)b.x)[k]));
    MN_CHECK_MSG(t, worst <= 0.5 * step * (1 + 1e-3) + 1e-7, "worst error %g, step %g", worst, step);
    MN_CHECK(t, worst > 0); /* it really was quantized */
    mn_signal_free(&b);
    /* the peak maps to +-32767 in the raw data */
    char data[4200];
    snprintf(data, sizeof data, "%s.sigmf-data", base);
    size_t n;
    unsigned char *raw = mn_test_read_bytes(data, &n);
    MN_CHECK(t, n == 2 * 500 * 4);
    int maxq = 0;
    for (size_t k = 0; raw && k + 1 < n; k += 2) {
        int16_t q = (int16_t)(uint16_t)(raw[k] | raw[k + 1] << 8);
        maxq = abs(q) > maxq ? abs(q) : maxq;
    }
    free(raw);
    MN_CHECK(t, maxq == 32767);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

/* Written by hand: ci16_le with 2 channels, no mimonet:scale (so 1/32768), no sample rate. */
MN_TEST(io_sigmf_handmade_ci16)
{
    const char *meta = mn_test_path(t, "hand.sigmf-meta");
    const char *text = "{\"global\": {\"core:datatype\": \"ci16_le\", \"core:version\": \"1.0.0\", "
                       "\"core:num_channels\": 2}, \"captures\": [], \"annotations\": []}";
    mn_test_write_bytes(meta, text, strlen(text));
    /* samples: (s0 c0) (s0 c1) (s1 c0) (s1 c1) as I,Q int16 LE */
    const int16_t q[8] = {16384, -16384, 1, -1, -32768, 32767, 0, 8192};
    unsigned char b[16];
    for (int k = 0; k < 8; k++) {
        uint16_t u = (uint16_t)q[k];
        b[2 * k] = (unsigned char)(u & 0xff);
        b[2 * k + 1] = (unsigned char)(u >> 8);
    }
    mn_test_write_bytes(mn_test_path(t, "hand.sigmf-data"), b, 16);
    mn_signal s;
    MN_CHECK_OK(t, mn_source_read(&s, mn_test_path(t, "hand.sigmf-meta")));
    MN_CHECK(t, s.nch == 2 && s.n == 2 && s.sample_rate == 0);
    if (s.x && s.nch == 2 && s.n == 2) {
        MN_CHECK(t, re_(&s, 0, 0) == 0.5f && im_(&s, 0, 0) == -0.5f);
        MN_CHECK(t, re_(&s, 1, 0) == 1.0f / 32768 && im_(&s, 1, 0) == -1.0f / 32768);
        MN_CHECK(t, re_(&s, 0, 1) == -1.0f && im_(&s, 0, 1) == 32767.0f / 32768);
        MN_CHECK(t, re_(&s, 1, 1) == 0.0f && im_(&s, 1, 1) == 0.25f);
    }
    mn_signal_free(&s);
}

typedef struct {
    const char *meta;  /* NULL: no meta file */
    size_t data_bytes; /* zero-filled; (size_t)-1: no data file */
    mn_status want;
    const char *msg_has;
} sigmf_bad;

MN_TEST(io_sigmf_malformed)
{
    static const sigmf_bad cases[] = {
        {"{\"global\": {\"core:datatype\": \"rf32_le\"}}", 8, MN_ERR_FORMAT, "\"rf32_le\""},
        {"{\"global\": {\"core:datatype\": \"cf64_le\"}}", 16, MN_ERR_FORMAT, "supports \"cf32_le\" and \"ci16_le\""},
        {"{\"global\": {\"core:datatype\": 5}}", 8, MN_ERR_FORMAT, "core:datatype"},
        {"{\"global\": {}}", 8, MN_ERR_FORMAT, "core:datatype"},
        {"{\"captures\": []}", 8, MN_ERR_FORMAT, "'global'"},
        {"[1, 2]", 8, MN_ERR_FORMAT, "'global'"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"", 8, MN_ERR_FORMAT, "not valid JSON"},
        {"", 8, MN_ERR_FORMAT, "not valid JSON"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}}", (size_t)-1, MN_ERR_IO, "bad.sigmf-data"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}}", 12, MN_ERR_FORMAT, "not a multiple of 8"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": 3}}", 16, MN_ERR_FORMAT, "not a multiple of 24"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}}", 0, MN_ERR_FORMAT, "empty"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": 0}}", 8, MN_ERR_FORMAT, "core:num_channels"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": 2.5}}", 8, MN_ERR_FORMAT, "core:num_channels"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": \"2\"}}", 8, MN_ERR_FORMAT, "core:num_channels"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": 1e12}}", 8, MN_ERR_FORMAT, "core:num_channels"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:sample_rate\": -5}}", 8, MN_ERR_FORMAT, "core:sample_rate"},
        {"{\"global\": {\"core:datatype\": \"ci16_le\", \"mimonet:scale\": 0}}", 8, MN_ERR_FORMAT, "mimonet:scale"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}, \"captures\": 3}", 8, MN_ERR_FORMAT, "'captures'"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}, \"annotations\": {}}", 8, MN_ERR_FORMAT, "'annotations'"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\", \"core:dataset\": \"x.bin\"}}", 8, MN_ERR_UNSUPPORTED, "core:dataset"},
        {"{\"global\": {\"core:datatype\": \"cf32_le\"}, \"captures\": [{\"core:header_bytes\": 16}]}", 8,
         MN_ERR_UNSUPPORTED, "header_bytes"},
        {NULL, 8, MN_ERR_IO, "bad.sigmf-meta"},
    };
    long live0 = mn_alloc_live();
    char meta[4200], data[4200];
    snprintf(meta, sizeof meta, "%s", mn_test_path(t, "bad.sigmf-meta"));
    snprintf(data, sizeof data, "%s", mn_test_path(t, "bad.sigmf-data"));
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const sigmf_bad *c = &cases[k];
        remove(meta);
        remove(data);
        if (c->meta) mn_test_write_bytes(meta, c->meta, strlen(c->meta));
        if (c->data_bytes != (size_t)-1) {
            unsigned char z[64] = {0};
            mn_test_write_bytes(data, z, c->data_bytes);
        }
        mn_signal s;
        mn_status st = mn_source_read(&s, c->meta ? meta : data);
        MN_CHECK_MSG(t, st == c->want, "case %zu: status %d, want %d (%s)", k, st, c->want, mn_error_msg());
        MN_CHECK_MSG(t, strstr(mn_error_msg(), "bad.sigmf-") && strstr(mn_error_msg(), c->msg_has),
                     "case %zu: message '%s' lacks '%s' or the file name", k, mn_error_msg(), c->msg_has);
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }

    /* NaN in cf32 data names channel and sample */
    const char *ok_meta = "{\"global\": {\"core:datatype\": \"cf32_le\", \"core:num_channels\": 2}}";
    mn_test_write_bytes(meta, ok_meta, strlen(ok_meta));
    float v[12] = {0};
    v[2 * (2 * 2 + 1) + 0] = INFINITY; /* sample 2, channel 1, real */
    mn_test_write_bytes(data, v, sizeof v);    /* little-endian host assumed by this hand-made file */
    mn_signal s;
    MN_CHECK(t, mn_source_read(&s, meta) == MN_ERR_NUMERIC);
    MN_CHECK_MSG(t, strstr(mn_error_msg(), "channel 1, sample 2") && strstr(mn_error_msg(), "real part is Inf"),
                 "message: %s", mn_error_msg());
    MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    /* a SigMF archive is refused with advice */
    MN_CHECK(t, mn_source_read(&s, mn_test_path(t, "x.sigmf")) == MN_ERR_UNSUPPORTED && strstr(mn_error_msg(), "extract"));

    /* writer argument errors */
    mn_signal a;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 1, 4));
    MN_CHECK(t, mn_sigmf_write(mn_test_path(t, "w"), &a, "cu8", NULL) == MN_ERR_INVALID && strstr(mn_error_msg(), "cu8"));
    MN_CHECK(t, mn_sigmf_write(mn_test_path(t, "w"), &a, "cf32_le", "[1]") == MN_ERR_INVALID);
    MN_CHECK(t, mn_sigmf_write(mn_test_path(t, "w"), &a, "cf32_le", "{\"core:datatype\": \"ci16_le\"}") == MN_ERR_INVALID &&
                    strstr(mn_error_msg(), "core:datatype"));
    a.sample_rate = -1;
    MN_CHECK(t, mn_sigmf_write(mn_test_path(t, "w"), &a, "cf32_le", NULL) == MN_ERR_INVALID);
    a.sample_rate = 0;
    a.x[3] = NAN;
    MN_CHECK(t, mn_sigmf_write(mn_test_path(t, "w"), &a, "ci16_le", NULL) == MN_ERR_NUMERIC);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_sigmf_truncated)
{
    mn_signal a;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 3));
    fill_random(&a, 9, 1.0);
    const char *base = mn_test_path(t, "tr");
    MN_CHECK_OK(t, mn_sigmf_write(base, &a, "cf32_le", NULL));
    long live0 = mn_alloc_live();
    char meta[4200], data[4200];
    snprintf(meta, sizeof meta, "%s.sigmf-meta", base);
    snprintf(data, sizeof data, "%s.sigmf-data", base);
    size_t nm, nd;
    unsigned char *m = mn_test_read_bytes(meta, &nm), *d = mn_test_read_bytes(data, &nd);
    MN_CHECK(t, m && d && nd == 48);
    /* every cut of the meta file before its closing brace is invalid JSON */
    const char *close = m ? strrchr((const char *)m, '}') : NULL;
    size_t last = close ? (size_t)(close - (const char *)m) : 0;
    int bad = 0;
    for (size_t cut = 0; m && cut <= last; cut++) {
        mn_test_write_bytes(meta, m, cut);
        mn_signal s;
        mn_status st = mn_source_read(&s, meta);
        bool ok = st == MN_ERR_FORMAT && strstr(mn_error_msg(), "tr.sigmf-meta") && s.x == NULL &&
                  mn_alloc_live() == live0;
        MN_CHECK_MSG(t, ok, "meta cut at %zu: status %d, %s", cut, st, mn_error_msg());
        bad += ok;
    }
    MN_CHECK(t, bad == (int)last + 1);
    if (m) mn_test_write_bytes(meta, m, nm);
    /* data cuts that are not whole samples are reported; whole-sample cuts read fewer samples */
    for (size_t cut = 0; d && cut < nd; cut++) {
        mn_test_write_bytes(data, d, cut);
        mn_signal s;
        mn_status st = mn_source_read(&s, meta);
        if (cut > 0 && cut % 16 == 0) {
            MN_CHECK(t, st == MN_OK && s.n == (int64_t)(cut / 16) && s.nch == 2);
            mn_signal_free(&s);
        } else {
            MN_CHECK_MSG(t, st == MN_ERR_FORMAT && strstr(mn_error_msg(), "tr.sigmf-data"), "data cut %zu: %d %s", cut,
                         st, mn_error_msg());
        }
        MN_CHECK(t, mn_alloc_live() == live0);
    }
    free(m);
    free(d);
    mn_signal_free(&a);
}

MN_TEST(io_sigmf_alloc_fail_sweep)
{
    mn_signal a, s;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 3, 20));
    fill_random(&a, 4, 1.0);
    a.sample_rate = 5e6;
    const char *base = mn_test_path(t, "sw");
    MN_CHECK_OK(t, mn_sigmf_write(base, &a, "ci16_le", "{\"core:author\": \"test\"}"));
    char meta[4200];
    snprintf(meta, sizeof meta, "%s.sigmf-meta", base);
    long live0 = mn_alloc_live();
    int failed = 0;
    for (long k = 1; k < 1000; k++) {
        mn_alloc_fail_at(k);
        mn_status st = mn_source_read(&s, meta);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, s.nch == 3 && s.n == 20 && s.sample_rate == 5e6);
            mn_signal_free(&s);
            break;
        }
        failed++;
        /* cJSON reports a failed allocation as a parse failure, so FORMAT is allowed too */
        MN_CHECK_MSG(t, (st == MN_ERR_NOMEM || st == MN_ERR_FORMAT) && strstr(mn_error_msg(), "sw.sigmf"),
                     "fail at %ld: %d %s", k, st, mn_error_msg());
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }
    MN_CHECK(t, failed >= 5);
    /* and the writer */
    int wfailed = 0;
    for (long k = 1; k < 1000; k++) {
        mn_alloc_fail_at(k);
        mn_status st = mn_sigmf_write(base, &a, "cf32_le", "{\"core:author\": \"test\"}");
        mn_alloc_fail_at(0);
        MN_CHECK(t, mn_alloc_live() == live0);
        if (st == MN_OK) break;
        wfailed++;
        MN_CHECK_MSG(t, st == MN_ERR_NOMEM || st == MN_ERR_INVALID, "writer fail at %ld: %d %s", k, st, mn_error_msg());
    }
    MN_CHECK(t, wfailed >= 5);
    MN_CHECK_OK(t, mn_source_read(&s, meta));
    MN_CHECK(t, s.x && memcmp(s.x, a.x, 60 * sizeof(float complex)) == 0);
    mn_signal_free(&s);
    mn_signal_free(&a);
}
