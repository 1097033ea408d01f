/* tests/io/test_source.c — mn_signal_alloc/free, mn_source_read dispatch (extensions, the
 * file.mat:VAR syntax, paths containing ':'), and mn_describe_file for every kind. */
#include "mn_test.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mimonet/io.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void fill_ramp(mn_signal *s)
{
    for (int c = 0; c < s->nch; c++)
        for (int64_t i = 0; i < s->n; i++) s->x[c * s->n + i] = (float)(c * 1000 + i) + I * (float)(-(c + 1) * i);
}

MN_TEST(io_signal_alloc_free)
{
    long live0 = mn_alloc_live();
    mn_signal s;
    MN_CHECK_OK(t, mn_signal_alloc(&s, 3, 10));
    MN_CHECK(t, s.nch == 3 && s.n == 10 && s.sample_rate == 0 && s.x != NULL);
    MN_CHECK(t, mn_alloc_live() == live0 + (long)(30 * sizeof(float complex)));
    bool zero = true;
    for (int k = 0; k < 30; k++) zero = zero && s.x[k] == 0;
    MN_CHECK(t, zero);
    mn_signal_free(&s);
    MN_CHECK(t, s.x == NULL && s.nch == 0 && s.n == 0 && mn_alloc_live() == live0);
    mn_signal_free(&s); /* twice is harmless */
    MN_CHECK(t, mn_signal_alloc(&s, 0, 10) == MN_ERR_INVALID && s.x == NULL);
    MN_CHECK(t, mn_signal_alloc(&s, 1, -1) == MN_ERR_INVALID && s.x == NULL);
    /* an impossible size is refused without touching the allocator */
    mn_alloc_fail_at(1000000);
    MN_CHECK(t, mn_signal_alloc(&s, 65536, INT64_MAX / 2) == MN_ERR_NOMEM && s.x == NULL);
    MN_CHECK(t, mn_alloc_count() == 0);
    mn_alloc_fail_at(1);
    MN_CHECK(t, mn_signal_alloc(&s, 2, 2) == MN_ERR_NOMEM && s.x == NULL);
    mn_alloc_fail_at(0);
    MN_CHECK(t, mn_signal_alloc(&s, 1, 0) == MN_OK && s.n == 0);
    mn_signal_free(&s);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_source_dispatch)
{
    long live0 = mn_alloc_live();
    mn_signal a, s;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 7));
    fill_ramp(&a);
    /* upper-case extension */
    const char *p = mn_test_path(t, "UP.NPY");
    MN_CHECK_OK(t, mn_npy_write_c64(p, &a, false));
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 7 && memcmp(s.x, a.x, 14 * sizeof(float complex)) == 0);
    mn_signal_free(&s);
    /* a folder with ':' in its name does not confuse the file.mat:VAR split */
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s", mn_test_path(t, "a:b"));
    MN_CHECK(t, mkdir(dir, 0755) == 0);
    snprintf(path, sizeof path, "%s/x.csv", dir);
    MN_CHECK_OK(t, mn_csv_write(path, &a));
    MN_CHECK_OK(t, mn_source_read(&s, path));
    MN_CHECK(t, s.nch == 2 && s.n == 7 && memcmp(s.x, a.x, 14 * sizeof(float complex)) == 0);
    mn_signal_free(&s);
    /* unknown kinds, empty names */
    MN_CHECK(t, mn_source_read(&s, mn_test_path(t, "x.wav")) == MN_ERR_INVALID && strstr(mn_error_msg(), "x.wav") &&
                    strstr(mn_error_msg(), ".npy"));
    MN_CHECK(t, mn_source_read(&s, "") == MN_ERR_INVALID);
    MN_CHECK(t, mn_source_read(&s, NULL) == MN_ERR_INVALID);
    MN_CHECK(t, mn_source_read(NULL, p) == MN_ERR_INVALID);
    /* a .npy with a ':' suffix is not a MAT address */
    snprintf(path, sizeof path, "%s:v", p);
    MN_CHECK(t, mn_source_read(&s, path) == MN_ERR_INVALID && strstr(mn_error_msg(), "unknown kind"));
#ifdef MN_HAVE_MATIO
    const char *m = mn_test_path(t, "d.mat");
    MN_CHECK_OK(t, mn_mat_write(m, "rx", &a, false));
    snprintf(path, sizeof path, "%s:rx", m);
    MN_CHECK_OK(t, mn_source_read(&s, path));
    MN_CHECK(t, s.nch == 2 && s.n == 7 && memcmp(s.x, a.x, 14 * sizeof(float complex)) == 0);
    mn_signal_free(&s);
    snprintf(path, sizeof path, "%s:", m); /* empty VAR: the only variable */
    MN_CHECK_OK(t, mn_source_read(&s, path));
    MN_CHECK(t, s.nch == 2 && s.n == 7);
    mn_signal_free(&s);
#endif
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_describe_files)
{
    long live0 = mn_alloc_live();
    char buf[4096];
    mn_signal a;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 4, 300));
    fill_ramp(&a);
    a.sample_rate = 30.72e6;

    MN_CHECK_OK(t, mn_npy_write_c64(mn_test_path(t, "x.npy"), &a, false));
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "x.npy"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "complex64") && strstr(buf, "(4, 300)") && strstr(buf, "4 channels x 300 samples"),
                 "npy: %s", buf);
    const int64_t shape[2] = {3, 5};
    float f[15] = {0};
    MN_CHECK_OK(t, mn_npy_write_f32(mn_test_path(t, "f.npy"), f, 2, shape));
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "f.npy"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "float32") && strstr(buf, "(3, 5)") && strstr(buf, "not a signal"), "f32: %s", buf);

    write_text(mn_test_path(t, "x.csv"), "I0,Q0,I1,Q1\n1,2,3,4\n5,6,7,8\n9,10,11,12\n");
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "x.csv"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "3 data rows") && strstr(buf, "2 channels") && strstr(buf, "I0,Q0,I1,Q1"), "csv: %s", buf);

    MN_CHECK_OK(t, mn_sigmf_write(mn_test_path(t, "rec"), &a, "ci16_le", NULL));
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "rec.sigmf-meta"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "ci16_le") && strstr(buf, "4 channels x 300 samples") && strstr(buf, "30720000 Hz") &&
                        strstr(buf, "mimonet:scale"), "sigmf: %s", buf);

#ifdef MN_HAVE_MATIO
    MN_CHECK_OK(t, mn_mat_write(mn_test_path(t, "x.mat"), "tx", &a, true));
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "x.mat"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "v7.3") && strstr(buf, "tx: complex double 4x300") && strstr(buf, "1 variable"),
                 "mat: %s", buf);
#endif

    /* safetensors: tensors with shapes, the parameter count, metadata keys and their values */
    mn_params p;
    mn_params_init_table(&p);
    const int64_t s1[2] = {8, 3}, s2[1] = {8};
    MN_CHECK(t, mn_params_add(&p, "conv.w", 2, s1, MN_INIT_ZEROS, 0, 3, true) >= 0);
    MN_CHECK(t, mn_params_add(&p, "conv.b", 1, s2, MN_INIT_ZEROS, 0, 3, true) >= 0);
    MN_CHECK_OK(t, mn_params_alloc(&p));
    const char *keys[2] = {"architecture", "seed"}, *vals[2] = {"light: DS-conv 64->32 d1", "42"};
    MN_CHECK_OK(t, mn_safetensors_save(mn_test_path(t, "m.safetensors"), &p, keys, vals, 2));
    mn_params_free(&p);
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "m.safetensors"), buf, sizeof buf));
    MN_CHECK_MSG(t, strstr(buf, "2 tensors") && strstr(buf, "32 parameters") && strstr(buf, "conv.w: [8, 3]") &&
                        strstr(buf, "conv.b: [8]") && strstr(buf, "architecture") && strstr(buf, "seed") &&
                        strstr(buf, "light: DS-conv 64->32 d1") && strstr(buf, "seed: 42"), "safetensors: %s", buf);

    /* kind from the first bytes when the name does not say */
    char from[4200];
    snprintf(from, sizeof from, "%s", mn_test_path(t, "x.npy"));
    MN_CHECK(t, rename(from, mn_test_path(t, "noext")) == 0);
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "noext"), buf, sizeof buf));
    MN_CHECK(t, strstr(buf, "complex64") != NULL);
    /* truncation to a small buffer */
    char small[16];
    MN_CHECK_OK(t, mn_describe_file(mn_test_path(t, "noext"), small, sizeof small));
    MN_CHECK(t, strlen(small) == 15 && strcmp(small + 12, "...") == 0);
    /* errors */
    write_text(mn_test_path(t, "junk.bin"), "hello");
    MN_CHECK(t, mn_describe_file(mn_test_path(t, "junk.bin"), buf, sizeof buf) == MN_ERR_FORMAT &&
                    strstr(mn_error_msg(), "junk.bin") && buf[0] == '\0');
    MN_CHECK(t, mn_describe_file(mn_test_path(t, "none.npy"), buf, sizeof buf) == MN_ERR_IO &&
                    strstr(mn_error_msg(), "none.npy"));
    write_text(mn_test_path(t, "bad.csv"), "1,2\n3\n");
    MN_CHECK(t, mn_describe_file(mn_test_path(t, "bad.csv"), buf, sizeof buf) == MN_ERR_FORMAT &&
                    strstr(mn_error_msg(), "line 2"));
    MN_CHECK(t, mn_describe_file(mn_test_path(t, "x.csv"), buf, 0) == MN_ERR_INVALID);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}
