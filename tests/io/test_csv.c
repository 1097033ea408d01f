/* tests/io/test_csv.c — CSV: round trip (bit-identical through 9-digit text), hand-written
 * files with header/whitespace/CRLF/BOM/trailing blank lines, and malformed files whose
 * errors must name the line and column. */
#include "mn_test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mimonet/io.h"

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static float re_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i)]; }
static float im_(const mn_signal *s, int c, int64_t i) { return ((const float *)s->x)[2 * (c * s->n + i) + 1]; }

MN_TEST(io_csv_roundtrip)
{
    long live0 = mn_alloc_live();
    mn_rng r;
    mn_rng_seed(&r, t->seed);
    mn_signal a, b;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 3, 400));
    float *v = (float *)a.x;
    /* values over many decades, including subnormal-free extremes and exact zeros */
    for (size_t k = 0; k < 2400; k++) v[k] = (float)(mn_rng_normal(&r) * pow(10.0, 60.0 * mn_rng_uniform(&r) - 30.0));
    v[0] = 0.0f;
    v[1] = -0.0f;
    v[2] = 3.40282347e38f;
    v[3] = -1.17549435e-38f;
    const char *p = mn_test_path(t, "x.csv");
    MN_CHECK_OK(t, mn_csv_write(p, &a));
    MN_CHECK_OK(t, mn_source_read(&b, p));
    MN_CHECK(t, b.nch == 3 && b.n == 400);
    MN_CHECK(t, b.x && memcmp(a.x, b.x, 2400 * sizeof(float)) == 0);
    mn_signal_free(&b);
    /* the header names the columns */
    FILE *f = fopen(p, "rb");
    char line[128] = "";
    if (f) {
        if (!fgets(line, sizeof line, f)) line[0] = '\0';
        fclose(f);
    }
    MN_CHECK(t, strcmp(line, "I0,Q0,I1,Q1,I2,Q2\n") == 0);

    /* one channel: "I,Q" */
    mn_signal one;
    MN_CHECK_OK(t, mn_signal_alloc(&one, 1, 2));
    one.x[0] = 0.5f + I * 0.25f;
    one.x[1] = -1.0f + I * 3.0f;
    MN_CHECK_OK(t, mn_csv_write(p, &one));
    f = fopen(p, "rb");
    char all[256] = "";
    if (f) {
        size_t n = fread(all, 1, sizeof all - 1, f);
        all[n] = '\0';
        fclose(f);
    }
    MN_CHECK(t, strcmp(all, "I,Q\n0.5,0.25\n-1,3\n") == 0);
    mn_signal_free(&one);
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_csv_handmade)
{
    mn_signal s;
    const char *p = mn_test_path(t, "h.csv");
    /* header, spaces and tabs, CRLF, exponent, blank trailing lines */
    write_text(p, "I , Q\r\n 1.5 ,\t-2\r\n3e-1,4\r\n\r\n  \n\n");
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 1 && s.n == 2);
    if (s.x && s.n == 2) {
        MN_CHECK(t, re_(&s, 0, 0) == 1.5f && im_(&s, 0, 0) == -2.0f);
        MN_CHECK(t, re_(&s, 0, 1) == 0.3f && im_(&s, 0, 1) == 4.0f);
    }
    mn_signal_free(&s);
    /* no header, two channels, no final newline, UTF-8 BOM */
    write_text(p, "\xEF\xBB\xBF" "1,2,3,4\n5,6,7,8");
    MN_CHECK_OK(t, mn_source_read(&s, p));
    MN_CHECK(t, s.nch == 2 && s.n == 2);
    if (s.x && s.n == 2 && s.nch == 2) {
        MN_CHECK(t, re_(&s, 0, 0) == 1 && im_(&s, 0, 0) == 2 && re_(&s, 1, 0) == 3 && im_(&s, 1, 0) == 4);
        MN_CHECK(t, re_(&s, 0, 1) == 5 && im_(&s, 0, 1) == 6 && re_(&s, 1, 1) == 7 && im_(&s, 1, 1) == 8);
    }
    mn_signal_free(&s);
}

typedef struct {
    const char *text;
    mn_status want;
    const char *msg_has;
} csv_bad;

MN_TEST(io_csv_malformed)
{
    static const csv_bad cases[] = {
        {"I,Q\n1,2\n3,4,5\n", MN_ERR_FORMAT, "line 3 has 3 columns; expected 2 as on line 1"},
        {"1,2\n3\n", MN_ERR_FORMAT, "line 2 has 1 columns; expected 2"},
        {"I,Q\n1,abc\n", MN_ERR_FORMAT, "line 2, column 2: 'abc' is not a number"},
        {"I,Q,X\n1,2,3\n", MN_ERR_FORMAT, "line 1 has 3 columns; expected an even number"},
        {"1,2,3\n", MN_ERR_FORMAT, "line 1 has 3 columns"},
        {"I,Q\n1,2\n3,4\nnan,1\n", MN_ERR_NUMERIC, "line 4, column 1 (channel 0, sample 2, real part): value is NaN"},
        {"1,2,3,inf\n", MN_ERR_NUMERIC, "line 1, column 4 (channel 1, sample 0, imaginary part): value is Inf"},
        {"1,1e39\n", MN_ERR_NUMERIC, "too large"},
        {"1,2\n\n3,4\n", MN_ERR_FORMAT, "line 2 is blank but data follows on line 3"},
        {"1,,2,3\n", MN_ERR_FORMAT, "line 1, column 2 is empty"},
        {"1,2\n3,4,\n", MN_ERR_FORMAT, "line 2 has 3 columns"},
        {"1,2\n3, \n", MN_ERR_FORMAT, "line 2, column 2: '' is not a number"},
        {"1,3.5e38\n", MN_ERR_NUMERIC, "too large"},
        {"I,Q\n", MN_ERR_FORMAT, "no data rows"},
        {"", MN_ERR_FORMAT, "no data rows"},
        {"\n\n", MN_ERR_FORMAT, "no data rows"},
        {"1.0,x\n", MN_ERR_FORMAT, "line 1, column 2: 'x' is not a number"},
        {"I0,Q0,I1,Q1\n1,2\n", MN_ERR_FORMAT, "line 2 has 2 columns; expected 4 as on line 1"},
        {"1,2\n3,4 5\n", MN_ERR_FORMAT, "line 2, column 2: '4 5' is not a number"},
    };
    long live0 = mn_alloc_live();
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        char name[32];
        snprintf(name, sizeof name, "bad%zu.csv", k);
        const char *p = mn_test_path(t, name);
        write_text(p, cases[k].text);
        mn_signal s;
        mn_status st = mn_source_read(&s, p);
        MN_CHECK_MSG(t, st == cases[k].want, "case %zu: status %d, want %d (%s)", k, st, cases[k].want, mn_error_msg());
        MN_CHECK_MSG(t, strstr(mn_error_msg(), name) && strstr(mn_error_msg(), cases[k].msg_has),
                     "case %zu: message '%s' lacks '%s' or the file name", k, mn_error_msg(), cases[k].msg_has);
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }
    /* a NUL byte in a line */
    const char *p = mn_test_path(t, "nul.csv");
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite("1,2\n3,\0,4\n", 1, 10, f);
        fclose(f);
    }
    mn_signal s;
    MN_CHECK(t, mn_source_read(&s, p) == MN_ERR_FORMAT && strstr(mn_error_msg(), "line 2 contains a NUL"));
    MN_CHECK(t, mn_source_read(&s, mn_test_path(t, "missing.csv")) == MN_ERR_IO && strstr(mn_error_msg(), "missing.csv"));
    /* the writer refuses NaN and empty signals */
    mn_signal a;
    MN_CHECK_OK(t, mn_signal_alloc(&a, 2, 3));
    a.x[4] = NAN;
    MN_CHECK(t, mn_csv_write(p, &a) == MN_ERR_NUMERIC && strstr(mn_error_msg(), "channel 1, sample 1"));
    mn_signal_free(&a);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_csv_alloc_fail_sweep)
{
    const char *p = mn_test_path(t, "s.csv");
    write_text(p, "I0,Q0,I1,Q1\n1,2,3,4\n5,6,7,8\n");
    long live0 = mn_alloc_live();
    int failed = 0;
    for (long k = 1; k < 100; k++) {
        mn_signal s;
        mn_alloc_fail_at(k);
        mn_status st = mn_source_read(&s, p);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, s.nch == 2 && s.n == 2 && re_(&s, 1, 1) == 7);
            mn_signal_free(&s);
            break;
        }
        failed++;
        MN_CHECK(t, st == MN_ERR_NOMEM && strstr(mn_error_msg(), "s.csv"));
        MN_CHECK(t, s.x == NULL && mn_alloc_live() == live0);
    }
    MN_CHECK(t, failed >= 2);
}
