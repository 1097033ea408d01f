/*
 * fuzz/make_corpus.c — writes the committed seed corpora fuzz/corpus/<target>/ (run through
 * `sh tools/fuzz.sh --corpus`).  Seeds are small valid files made by mimonet's own writers plus
 * hand-built variants the writers never produce (npy: big-endian, Fortran order, float I/Q,
 * complex128, a v2.0 header; CSV: one channel without header, CRLF), so the fuzzer starts deep
 * inside every parser.  Everything stays well under 100 KB in all.
 *
 * Usage: make_corpus OUTDIR   (OUTDIR/<target>/ must be writable; files are overwritten)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mimonet/io.h"
#include "mimonet/nn.h"

static const char *out_dir;

static void die(const char *what)
{
    fprintf(stderr, "make_corpus: %s: %s\n", what, mn_error_msg());
    exit(1);
}

static void path_of(char *buf, size_t n, const char *target, const char *name)
{
    snprintf(buf, n, "%s/%s", out_dir, target);
    mkdir(buf, 0755);
    snprintf(buf, n, "%s/%s/%s", out_dir, target, name);
}

static void put(const char *target, const char *name, const void *data, size_t bytes)
{
    char p[512];
    path_of(p, sizeof p, target, name);
    FILE *f = fopen(p, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
}

static void make_signal(mn_signal *s, int nch, int n, double rate)
{
    if (mn_signal_alloc(s, nch, n) != MN_OK) die("mn_signal_alloc");
    for (int c = 0; c < nch; c++)
        for (int i = 0; i < n; i++) s->x[c * n + i] = (float)(0.25 * (i + 1)) - (float)c * 0.5f * I;
    s->sample_rate = rate;
}

/* An npy file with a hand-written header dict (version 1 or 2) and raw payload. */
static void npy_raw(const char *name, int version, const char *dict, const void *payload, size_t bytes)
{
    unsigned char buf[1024];
    size_t pre = version == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64; /* header padded to 64, ends in '\n' */
    memset(buf, ' ', total);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)version;
    buf[7] = 0;
    size_t hl = total - pre;
    buf[8] = (unsigned char)(hl & 0xff);
    buf[9] = (unsigned char)(hl >> 8);
    if (version != 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    buf[total - 1] = '\n';
    memcpy(buf + total, payload, bytes);
    put("npy", name, buf, total + bytes);
}

static void seeds_npy(void)
{
    char p[512];
    mn_signal s = {0};
    make_signal(&s, 2, 8, 0);
    path_of(p, sizeof p, "npy", "c64_2x8.npy");
    if (mn_npy_write_c64(p, &s, false) != MN_OK) die("npy c64");
    mn_signal_free(&s);
    make_signal(&s, 1, 6, 0);
    path_of(p, sizeof p, "npy", "c64_6_squeezed.npy");
    if (mn_npy_write_c64(p, &s, true) != MN_OK) die("npy c64 squeeze");
    mn_signal_free(&s);

    float iq[8] = {1, -1, 0.5f, 0.25f, -2, 3, 0, 1};
    npy_raw("f4_4x2.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", iq, sizeof iq);
    double d3[6] = {1, 2, -3, 4, 0.5, -0.5};
    npy_raw("c16_3.npy", 1, "{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }", d3, sizeof d3);
    /* Big-endian complex64, [2, 2], Fortran order. */
    unsigned char be[32];
    for (int i = 0; i < 8; i++) {
        float v = (float)i - 3.5f;
        unsigned char b[4];
        memcpy(b, &v, 4);
        for (int k = 0; k < 4; k++) be[4 * i + k] = b[3 - k];
    }
    npy_raw("c8be_2x2_fortran.npy", 1, "{'descr': '>c8', 'fortran_order': True, 'shape': (2, 2), }", be, sizeof be);
    double d12[12] = {1, 0, 0, 1, -1, 0, 0, -1, 0.5, 0.5, -0.5, 0.25};
    npy_raw("f8_2x3x2_v2.npy", 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3, 2), }", d12,
            sizeof d12);
}

static void seeds_csv(void)
{
    char p[512];
    mn_signal s = {0};
    make_signal(&s, 2, 6, 0);
    path_of(p, sizeof p, "csv", "two_channels.csv");
    if (mn_csv_write(p, &s) != MN_OK) die("csv");
    mn_signal_free(&s);
    const char *plain = "1,0\n0.5,-0.5\n-1e-3,2.5e2\n0,0\n";
    put("csv", "no_header.csv", plain, strlen(plain));
    const char *crlf = "I,Q\r\n1.0,2.0\r\n-3,4\r\n\r\n";
    put("csv", "crlf.csv", crlf, strlen(crlf));
}

/* Meta + NUL + data, the layout fuzz_sigmf.c splits. */
static void sigmf_seed(const char *name, int nch, int n, const char *dtype, const char *extra)
{
    char base[512], meta[600], dat[600];
    path_of(base, sizeof base, "sigmf", "tmp_pair");
    mn_signal s = {0};
    make_signal(&s, nch, n, 1e6);
    if (mn_sigmf_write(base, &s, dtype, extra) != MN_OK) die("sigmf");
    mn_signal_free(&s);
    snprintf(meta, sizeof meta, "%s.sigmf-meta", base);
    snprintf(dat, sizeof dat, "%s.sigmf-data", base);
    char *m = NULL, *d = NULL;
    size_t mb = 0, db = 0;
    if (mn_file_read_all(meta, 1 << 20, &m, &mb) != MN_OK || mn_file_read_all(dat, 1 << 20, &d, &db) != MN_OK)
        die("sigmf read back");
    unsigned char *all = malloc(mb + 1 + db);
    memcpy(all, m, mb);
    all[mb] = 0;
    memcpy(all + mb + 1, d, db);
    put("sigmf", name, all, mb + 1 + db);
    free(all);
    mn_free(m);
    mn_free(d);
    remove(meta);
    remove(dat);
}

static void seeds_sigmf(void)
{
    sigmf_seed("cf32_1ch", 1, 8, "cf32_le", NULL);
    sigmf_seed("cf32_2ch", 2, 4, "cf32_le", "{\"core:description\": \"seed\"}");
    sigmf_seed("ci16_2ch", 2, 6, "ci16_le", NULL);
}

static void seeds_safetensors(void)
{
    char p[512];
    mn_params t;
    mn_params_init_table(&t);
    const int64_t sa[2] = {2, 3}, sb[1] = {4};
    if (mn_params_add(&t, "a", 2, sa, MN_INIT_UNIFORM, 1.0f, 1, true) < 0 ||
        mn_params_add(&t, "b", 1, sb, MN_INIT_ONES, 1.0f, 1, false) < 0 || mn_params_alloc(&t) != MN_OK)
        die("params");
    mn_rng r;
    mn_rng_seed(&r, 7);
    mn_params_randomize(&t, &r);
    const char *k[2] = {"architecture", "format"}, *v[2] = {"{\"format\":\"mimonet-model\",\"nodes\":[]}", "pt"};
    path_of(p, sizeof p, "safetensors", "ab_meta.safetensors");
    if (mn_safetensors_save(p, &t, k, v, 2) != MN_OK) die("safetensors");
    path_of(p, sizeof p, "safetensors", "ab_nometa.safetensors");
    if (mn_safetensors_save(p, &t, NULL, NULL, 0) != MN_OK) die("safetensors");
    mn_params_free(&t);
}

static void seeds_mat(void)
{
#ifdef MN_HAVE_MATIO
    char p[512];
    mn_signal s = {0};
    make_signal(&s, 2, 5, 0);
    path_of(p, sizeof p, "mat", "x_2x5_v5.mat");
    if (mn_mat_write(p, "x", &s, false) != MN_OK) die("mat");
    mn_signal_free(&s);
    make_signal(&s, 1, 4, 0);
    path_of(p, sizeof p, "mat", "sig_1x4_v5.mat");
    if (mn_mat_write(p, "sig", &s, false) != MN_OK) die("mat");
    mn_signal_free(&s);
#else
    fprintf(stderr, "make_corpus: no matio in this build; MAT seeds not written\n");
#endif
}

static void model_seed(const char *name, mn_model *m)
{
    if (m->status != MN_OK) die(name);
    char *j = mn_model_to_json(m);
    if (!j) die("mn_model_to_json");
    put("model_json", name, j, strlen(j));
    mn_free(j);
    mn_model_free(m);
}

static void seeds_model_json(void)
{
    mn_model m;
    mn_model_init(&m);
    int x = mn_model_input(&m, 2);
    x = mn_model_dsconv(&m, x, "l1", &(mn_dsconv_cfg){.cout = 4, .k = 3, .dil = 2, .act = MN_ACT_LEAKY,
                                                      .norm = MN_NORM_BATCH, .inner_act = true});
    x = mn_model_conv1d(&m, x, "out", &(mn_conv1d_cfg){.cin = 4, .cout = 2, .k = 1, .dil = 1, .groups = 1,
                                                       .pad = MN_PAD_VALID, .bias = true});
    model_seed("dsconv.json", &m);

    mn_model_init(&m);
    int in = mn_model_input(&m, 4);
    int a = mn_model_linear(&m, in, "lin", 4);
    a = mn_model_act(&m, a, MN_ACT_TANH, 0.0f);
    int b = mn_model_lut(&m, in, "lut", 8, -2.0f, 2.0f);
    int c = mn_model_add(&m, a, b);
    c = mn_model_mul(&m, c, in);
    c = mn_model_layernorm(&m, c, "ln", true);
    int d = mn_model_slice(&m, c, 1, 2);
    d = mn_model_concat(&m, d, c);
    d = mn_model_quant(&m, d, 4);
    mn_model_act(&m, d, MN_ACT_SIGMOID, 0.0f);
    model_seed("mixed.json", &m);

    mn_model_init(&m);
    in = mn_model_input(&m, 2);
    int p = mn_model_permute(&m, in, (const int[3]){2, 2, 4}, (const int[3]){1, 0, 2}, 1);
    p = mn_model_linear(&m, p, "mix", 2);
    mn_model_act(&m, p, MN_ACT_RELU, 0.0f);
    model_seed("permute.json", &m);
}

static void seeds_args(void)
{
    static const char a1[] = "--steps\0" "100\0" "--lr\0" "0.001\0" "--flag";
    static const char a2[] = "--seed\0" "0x2a\0" "--offset\0" "-5\0" "--str\0" "out.npy";
    static const char a3[] = "--int\0" "-7\0" "--i64\0" "123456789012\0" "--u64\0" "18446744073709551615\0"
                             "--dbl\0" "1e-300";
    static const char a4[] = "--help";
    put("args", "ranged", a1, sizeof a1 - 1);
    put("args", "mixed", a2, sizeof a2 - 1);
    put("args", "unranged", a3, sizeof a3 - 1);
    put("args", "help", a4, sizeof a4 - 1);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus OUTDIR\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    seeds_npy();
    seeds_csv();
    seeds_sigmf();
    seeds_safetensors();
    seeds_mat();
    seeds_model_json();
    seeds_args();
    return 0;
}
