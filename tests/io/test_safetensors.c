/* tests/io/test_safetensors.c — safetensors checkpoints: bit-exact round trips, the byte layout
 * checked against the format description, a hand-built file, rejection of malformed files
 * (truncation at every header byte, bad lengths, bad JSON, bad entries, table mismatches) with
 * no leak and no change to the table, and allocation-failure sweeps.
 *
 * Set MN_SAFETENSORS_KEEP=/some/file.safetensors to also keep the round-trip checkpoint (for
 * tools/check_safetensors.py); the test then prints the expected checksums. */
#include "mn_test.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mimonet/core.h"
#include "mimonet/io.h"

/* ---------------------------------------------------------------- helpers */

static void join(char *buf, size_t n, const char *dir, const char *name)
{
    snprintf(buf, n, "%s/%s", dir, name);
}

static void put_u64le(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* A file from a header string and a data blob: length, header padded with spaces to a
 * multiple of 8, data.  Built by hand, independently of the writer under test. */
static int write_st(const char *path, const char *header, const void *data, size_t data_len)
{
    size_t h = strlen(header), pad = (8 - h % 8) % 8;
    size_t total = 8 + h + pad + data_len;
    unsigned char *b = malloc(total);
    if (!b) return -1;
    put_u64le(b, h + pad);
    memcpy(b + 8, header, h);
    memset(b + 8 + h, ' ', pad);
    if (data_len) memcpy(b + 8 + h + pad, data, data_len);
    int r = mn_test_write_bytes(path, b, total);
    free(b);
    return r;
}

/* The test table: several ranks, one non-trainable buffer, values covering the awkward bit
 * patterns (negative zero, subnormal, huge, NaN payload) so "bit-identical" means something. */
static const char *const T_NAMES[5] = {"conv.w", "conv.b", "bn.mean", "fc.w", "lut.tab"};
static const int T_NDIM[5] = {3, 1, 1, 2, 4};
static const int64_t T_SHAPE[5][4] = {{4, 2, 3, 0}, {4, 0, 0, 0}, {4, 0, 0, 0}, {3, 5, 0, 0},
                                      {2, 1, 2, 3}};

static int make_table(mn_params *p, uint64_t seed)
{
    mn_params_init_table(p);
    for (int i = 0; i < 5; i++)
        if (mn_params_add(p, T_NAMES[i], T_NDIM[i], T_SHAPE[i], MN_INIT_ZEROS, 0, 0, i != 2) < 0)
            return -1;
    if (mn_params_alloc(p) != MN_OK) return -1;
    mn_rng r;
    mn_rng_seed(&r, seed);
    for (int i = 0; i < p->n; i++) {
        float *w = mn_params_w(p, i);
        for (size_t j = 0; j < p->defs[i].numel; j++) w[j] = (float)mn_rng_normal(&r);
    }
    float *w = mn_params_w(p, 0);
    w[0] = -0.0f;
    w[1] = 1e-40f; /* subnormal */
    w[2] = 3.0e38f;
    uint32_t nan_bits = 0x7fc12345u;
    memcpy(&w[3], &nan_bits, 4);
    return 0;
}

/* Sets every weight to a sentinel pattern so that "untouched" can be checked bitwise. */
static void fill_sentinel(mn_params *p)
{
    for (size_t j = 0; j < p->total; j++) p->w[j] = (float)(j % 7) - 123.5f;
}

static bool is_sentinel(const mn_params *p)
{
    for (size_t j = 0; j < p->total; j++)
        if (p->w[j] != (float)(j % 7) - 123.5f) return false;
    return true;
}

static bool tensors_identical(const mn_params *a, const mn_params *b)
{
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->defs[i].name, b->defs[i].name) != 0 || a->defs[i].numel != b->defs[i].numel)
            return false;
        if (memcmp(mn_params_w(a, i), mn_params_w(b, i), a->defs[i].numel * sizeof(float)) != 0)
            return false;
    }
    return true;
}

/* Load must fail with FORMAT or SHAPE, name the file (and `what`, when given), leak nothing
 * and leave the table as it was. */
static void expect_reject_into(mn_test_ctx *t, mn_params *p, const char *path, const char *what,
                               const char *label)
{
    fill_sentinel(p);
    long live0 = mn_alloc_live();
    char *meta = (char *)"not reset";
    mn_status st = mn_safetensors_load(p, path, &meta);
    MN_CHECK_MSG(t, st == MN_ERR_FORMAT || st == MN_ERR_SHAPE, "%s: status %d (%s)", label, (int)st,
                 mn_error_msg());
    MN_CHECK_MSG(t, strstr(mn_error_msg(), path) != NULL, "%s: message lacks the path: %s", label,
                 mn_error_msg());
    if (what)
        MN_CHECK_MSG(t, strstr(mn_error_msg(), what) != NULL, "%s: message lacks '%s': %s", label,
                     what, mn_error_msg());
    MN_CHECK_MSG(t, meta == NULL, "%s: meta_json not NULL", label);
    MN_CHECK_MSG(t, mn_alloc_live() == live0, "%s: leaked %ld bytes", label,
                 mn_alloc_live() - live0);
    MN_CHECK_MSG(t, is_sentinel(p), "%s: the table was modified", label);
    /* The other readers must reject it too (with the same leak discipline). */
    mn_params q;
    st = mn_safetensors_load_new(&q, path, NULL);
    MN_CHECK_MSG(t, st != MN_OK && q.w == NULL && q.n == 0, "%s: load_new accepted it", label);
    if (st == MN_OK) mn_params_free(&q);
    MN_CHECK_MSG(t, mn_alloc_live() == live0, "%s: load_new leaked", label);
}

/* The two-tensor table the hand-built files below are checked against: x [2, 1], y [1]. */
static void small_table(mn_params *p)
{
    mn_params_init_table(p);
    int64_t sx[2] = {2, 1}, sy[1] = {1};
    mn_params_add(p, "x", 2, sx, MN_INIT_ZEROS, 0, 0, true);
    mn_params_add(p, "y", 1, sy, MN_INIT_ZEROS, 0, 0, false);
    mn_params_alloc(p);
}

/* 1.5f, -2.25f, 3.0f as little-endian IEEE-754 bytes, written out by hand. */
static const unsigned char SMALL_DATA[12] = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00,
                                             0x10, 0xC0, 0x00, 0x00, 0x40, 0x40};

/* ---------------------------------------------------------------- round trip and layout */

MN_TEST(io_safetensors_round_trip)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "model.safetensors");
    long live0 = mn_alloc_live();
    mn_params a, b;
    MN_CHECK(t, make_table(&a, t->seed) == 0);
    MN_CHECK(t, make_table(&b, t->seed + 1) == 0);
    const char *keys[3] = {"arch", "note", "empty"};
    const char *vals[3] = {"light", "quote \" backslash \\ newline \n tab \t unicode \xc3\xa9", ""};
    MN_CHECK_OK(t, mn_safetensors_save(path, &a, keys, vals, 3));
    MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);

    fill_sentinel(&b);
    char *meta = NULL;
    MN_CHECK_OK(t, mn_safetensors_load(&b, path, &meta));
    MN_CHECK(t, tensors_identical(&a, &b)); /* bit-identical, buffer included */
    MN_CHECK(t, !b.defs[2].trainable);      /* the table's flags are the table's, not the file's */
    cJSON *m = meta ? cJSON_Parse(meta) : NULL;
    MN_CHECK(t, m != NULL && cJSON_GetArraySize(m) == 3);
    for (int i = 0; i < 3 && m; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, keys[i]);
        MN_CHECK_MSG(t, cJSON_IsString(v) && strcmp(v->valuestring, vals[i]) == 0,
                     "metadata '%s' did not round-trip", keys[i]);
    }
    cJSON_Delete(m);
    mn_free(meta);

    /* read_meta gives the same map; load_new rebuilds the table in file order. */
    MN_CHECK_OK(t, mn_safetensors_read_meta(path, &meta));
    MN_CHECK(t, meta && strstr(meta, "\"arch\":\"light\"") != NULL);
    mn_free(meta);
    mn_params c;
    MN_CHECK_OK(t, mn_safetensors_load_new(&c, path, &meta));
    MN_CHECK(t, tensors_identical(&a, &c));
    for (int i = 0; i < c.n && i < 5; i++) {
        MN_CHECK(t, c.defs[i].ndim == T_NDIM[i]);
        for (int k = 0; k < T_NDIM[i]; k++) MN_CHECK(t, c.defs[i].shape[k] == T_SHAPE[i][k]);
    }
    MN_CHECK(t, meta != NULL);
    mn_free(meta);
    mn_params_free(&c);

    /* No metadata: the map is absent and meta_json comes back NULL. */
    MN_CHECK_OK(t, mn_safetensors_save(path, &a, NULL, NULL, 0));
    meta = (char *)"x";
    MN_CHECK_OK(t, mn_safetensors_load(&b, path, &meta));
    MN_CHECK(t, meta == NULL && tensors_identical(&a, &b));
    MN_CHECK_OK(t, mn_safetensors_load(&b, path, NULL));

    const char *keep = getenv("MN_SAFETENSORS_KEEP");
    if (keep && *keep) {
        /* Ordinary values only (no NaN / 3e38), so the checksum means something. */
        float *w0 = mn_params_w(&a, 0);
        w0[0] = 0.25f;
        w0[1] = -0.5f;
        w0[2] = 1.0f;
        w0[3] = 2.0f;
        MN_CHECK_OK(t, mn_safetensors_save(keep, &a, keys, vals, 2));
        /* The checksums tools/check_safetensors.py prints: sums in double. */
        double total = 0;
        for (int i = 0; i < a.n; i++) {
            double sum = 0;
            for (size_t j = 0; j < a.defs[i].numel; j++) sum += (double)mn_params_w(&a, i)[j];
            printf("    kept %-10s sum %.17g\n", a.defs[i].name, sum);
            total += sum;
        }
        printf("    kept %s: total sum %.17g\n", keep, total);
    }
    mn_params_free(&a);
    mn_params_free(&b);
    MN_CHECK(t, mn_alloc_live() == live0);
}

MN_TEST(io_safetensors_byte_layout)
{
    /* The bytes the writer produced, read back against the format description. */
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "layout.safetensors");
    mn_params a;
    MN_CHECK(t, make_table(&a, t->seed) == 0);
    const char *k[1] = {"k"}, *v[1] = {"v"};
    MN_CHECK_OK(t, mn_safetensors_save(path, &a, k, v, 1));
    size_t n = 0;
    unsigned char *b = mn_test_read_bytes(path, &n);
    MN_CHECK(t, b != NULL && n > 8);
    if (!b || n <= 8) {
        free(b);
        mn_params_free(&a);
        return;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    MN_CHECK(t, hl % 8 == 0 && 8 + hl <= n);
    MN_CHECK(t, b[8] == '{');
    size_t data_bytes = 0;
    for (int i = 0; i < a.n; i++) data_bytes += 4 * a.defs[i].numel;
    MN_CHECK(t, n == 8 + hl + data_bytes);
    cJSON *h = cJSON_ParseWithLength((const char *)b + 8, (size_t)hl);
    MN_CHECK(t, h != NULL && cJSON_IsObject(h));
    size_t off = 0;
    for (int i = 0; h && i < a.n; i++) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(h, T_NAMES[i]);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        MN_CHECK(t, cJSON_IsString(dt) && strcmp(dt->valuestring, "F32") == 0);
        MN_CHECK(t, cJSON_GetArraySize(sh) == T_NDIM[i]);
        for (int d = 0; d < T_NDIM[i]; d++)
            MN_CHECK(t, cJSON_GetArrayItem(sh, d)->valuedouble == (double)T_SHAPE[i][d]);
        size_t len = 4 * a.defs[i].numel;
        MN_CHECK(t, cJSON_GetArraySize(of) == 2);
        MN_CHECK(t, cJSON_GetArrayItem(of, 0)->valuedouble == (double)off);
        MN_CHECK(t, cJSON_GetArrayItem(of, 1)->valuedouble == (double)(off + len));
        /* The data: this tensor's floats, little-endian, at its offset. */
        MN_CHECK(t, memcmp(b + 8 + hl + off, mn_params_w(&a, i), len) == 0);
        off += len;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(h, "__metadata__");
    MN_CHECK(t, cJSON_IsObject(md) && cJSON_GetArraySize(md) == 1);
    MN_CHECK(t, cJSON_GetArraySize(h) == a.n + 1);
    cJSON_Delete(h);
    free(b);

    /* Padding: metadata values of 8 consecutive lengths give 8 header lengths; every one is
     * padded with spaces (and only spaces) to a multiple of 8. */
    int padded_cases = 0;
    for (int len = 0; len < 8; len++) {
        char val[16] = "vvvvvvvvvvvvvvv";
        val[len] = '\0';
        const char *vv[1] = {val};
        MN_CHECK_OK(t, mn_safetensors_save(path, &a, k, vv, 1));
        b = mn_test_read_bytes(path, &n);
        MN_CHECK(t, b != NULL && n > 8);
        if (!b || n <= 8) break;
        hl = 0;
        for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
        MN_CHECK(t, hl % 8 == 0 && 8 + hl <= n);
        size_t last = 8 + (size_t)hl - 1;
        while (last > 8 && b[last] == ' ') last--;
        MN_CHECK(t, b[last] == '}' && 8 + (size_t)hl - 1 - last < 8);
        if (last != 8 + (size_t)hl - 1) padded_cases++;
        free(b);
    }
    MN_CHECK(t, padded_cases == 7);
    mn_params_free(&a);
}

MN_TEST(io_safetensors_hand_built_file)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "hand.safetensors");
    MN_CHECK(t, write_st(path,
                         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                         "\"__metadata__\":{\"arch\":\"tiny\"},"
                         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                         SMALL_DATA, 12) == 0);
    long live0 = mn_alloc_live();
    mn_params p;
    small_table(&p);
    char *meta = NULL;
    MN_CHECK_OK(t, mn_safetensors_load(&p, path, &meta));
    MN_CHECK(t, p.w[p.defs[0].offset] == 1.5f && p.w[p.defs[0].offset + 1] == -2.25f);
    MN_CHECK(t, p.w[p.defs[1].offset] == 3.0f);
    MN_CHECK(t, meta && strcmp(meta, "{\"arch\":\"tiny\"}") == 0);
    mn_free(meta);
    mn_params_free(&p);

    /* Tensors listed in the header in another order than in the data, extra whitespace and
     * a header padded with newlines: all valid. */
    MN_CHECK(t, write_st(path,
                         "{ \"y\" : {\"data_offsets\":[8,12],\"shape\":[1],\"dtype\":\"F32\"},\n"
                         "  \"x\" : {\"shape\":[2,1],\"dtype\":\"F32\",\"data_offsets\":[0,8]} }\n\n",
                         SMALL_DATA, 12) == 0);
    mn_params q;
    MN_CHECK_OK(t, mn_safetensors_load_new(&q, path, &meta));
    MN_CHECK(t, meta == NULL);
    MN_CHECK(t, q.n == 2 && strcmp(q.defs[0].name, "y") == 0 && strcmp(q.defs[1].name, "x") == 0);
    MN_CHECK(t, q.n == 2 && q.defs[1].ndim == 2 && q.defs[1].shape[0] == 2 && q.defs[1].shape[1] == 1);
    if (q.n == 2) {
        MN_CHECK(t, mn_params_w(&q, 0)[0] == 3.0f);
        MN_CHECK(t, mn_params_w(&q, 1)[0] == 1.5f && mn_params_w(&q, 1)[1] == -2.25f);
    }
    mn_params_free(&q);
    MN_CHECK_OK(t, mn_safetensors_read_meta(path, &meta));
    MN_CHECK(t, meta == NULL);
    MN_CHECK(t, mn_alloc_live() == live0);
}

/* A file written by another writer (tools/gen_torch_ref.py, PyTorch side), when present:
 * it loads, its sizes add up to the file length, and it survives a save/load round trip. */
MN_TEST(io_safetensors_reads_python_written_file)
{
    const char *ref = mn_test_data_path("light_ref.safetensors");
    FILE *f = fopen(ref, "rb");
    MN_CHECK(t, true);
    if (!f) return; /* not shipped in this tree: nothing to compare against */
    fseek(f, 0, SEEK_END);
    long file_len = ftell(f);
    unsigned char len8[8] = {0};
    fseek(f, 0, SEEK_SET);
    MN_CHECK(t, fread(len8, 1, 8, f) == 8);
    fclose(f);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | len8[i];

    long live0 = mn_alloc_live();
    mn_params p, q;
    char *meta = NULL;
    MN_CHECK_OK(t, mn_safetensors_load_new(&p, ref, &meta));
    size_t floats = 0;
    for (int i = 0; i < p.n; i++) floats += p.defs[i].numel;
    MN_CHECK(t, p.n > 0 && (uint64_t)file_len == 8 + hl + 4 * (uint64_t)floats);
    MN_CHECK(t, meta != NULL);
    mn_free(meta);
    char path[4200];
    join(path, sizeof path, mn_test_tmpdir(t), "again.safetensors");
    MN_CHECK_OK(t, mn_safetensors_save(path, &p, NULL, NULL, 0));
    MN_CHECK_OK(t, mn_safetensors_load_new(&q, path, NULL));
    MN_CHECK(t, tensors_identical(&p, &q));
    fill_sentinel(&q);
    MN_CHECK_OK(t, mn_safetensors_load(&q, ref, NULL)); /* into an existing table */
    MN_CHECK(t, tensors_identical(&p, &q));
    mn_params_free(&p);
    mn_params_free(&q);
    MN_CHECK(t, mn_alloc_live() == live0);
}

/* ---------------------------------------------------------------- rejection */

MN_TEST(io_safetensors_rejects_truncation)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], cut[4200];
    join(path, sizeof path, dir, "full.safetensors");
    join(cut, sizeof cut, dir, "cut.safetensors");
    mn_params a;
    MN_CHECK(t, make_table(&a, t->seed) == 0);
    const char *k[1] = {"arch"}, *v[1] = {"light"};
    MN_CHECK_OK(t, mn_safetensors_save(path, &a, k, v, 1));
    size_t n = 0;
    unsigned char *b = mn_test_read_bytes(path, &n);
    MN_CHECK(t, b != NULL && n > 16);
    if (!b || n <= 16) {
        free(b);
        mn_params_free(&a);
        return;
    }
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    /* Every cut through the length and the header, then several through the data. */
    size_t data0 = 8 + (size_t)hl;
    size_t cuts_data[] = {data0, data0 + 1, data0 + 4, data0 + (n - data0) / 2, n - 4, n - 1};
    char label[64];
    for (size_t c = 0; c <= data0; c++) {
        MN_CHECK(t, mn_test_write_bytes(cut, b, c) == 0);
        snprintf(label, sizeof label, "cut at %zu of %zu", c, n);
        expect_reject_into(t, &a, cut, NULL, label);
    }
    for (size_t i = 0; i < sizeof cuts_data / sizeof cuts_data[0]; i++) {
        MN_CHECK(t, mn_test_write_bytes(cut, b, cuts_data[i]) == 0);
        snprintf(label, sizeof label, "cut at %zu of %zu", cuts_data[i], n);
        expect_reject_into(t, &a, cut, "data", label);
    }
    /* And trailing bytes after the data belong to no tensor. */
    unsigned char *longer = malloc(n + 4);
    MN_CHECK(t, longer != NULL);
    if (longer) {
        memcpy(longer, b, n);
        memset(longer + n, 0, 4);
        MN_CHECK(t, mn_test_write_bytes(cut, longer, n + 4) == 0);
        expect_reject_into(t, &a, cut, "no tensor", "4 trailing bytes");
        free(longer);
    }
    /* The intact file still loads into the same table. */
    MN_CHECK_OK(t, mn_safetensors_load(&a, path, NULL));
    free(b);
    mn_params_free(&a);
}

MN_TEST(io_safetensors_rejects_bad_lengths)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "len.safetensors");
    mn_params p;
    small_table(&p);
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
                      "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    MN_CHECK(t, write_st(path, hdr, SMALL_DATA, 12) == 0);
    MN_CHECK_OK(t, mn_safetensors_load(&p, path, NULL)); /* the unmodified file is fine */
    size_t n = 0;
    unsigned char *b = mn_test_read_bytes(path, &n);
    MN_CHECK(t, b != NULL);
    if (!b) {
        mn_params_free(&p);
        return;
    }
    const uint64_t lens[] = {n - 7, n, 1u << 20, 200000000ULL, 0xFFFFFFFFFFFFFFFFULL,
                             0x8000000000000000ULL, 0, 1};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        put_u64le(b, lens[i]);
        MN_CHECK(t, mn_test_write_bytes(path, b, n) == 0);
        char label[64];
        snprintf(label, sizeof label, "header length %llu", (unsigned long long)lens[i]);
        expect_reject_into(t, &p, path, NULL, label);
    }
    /* The 100 MB cap, on a sparse 150 MB file whose header length claims 120 MB (inside the
     * file): refused before anything is allocated for it. */
    put_u64le(b, 120000000ULL);
    MN_CHECK(t, mn_test_write_bytes(path, b, n) == 0);
    MN_CHECK(t, truncate(path, 150000000) == 0);
    long live0 = mn_alloc_live();
    mn_alloc_fail_at(1); /* any allocation at all would fail the load with NOMEM instead */
    mn_status st = mn_safetensors_load(&p, path, NULL);
    mn_alloc_fail_at(0);
    MN_CHECK(t, st == MN_ERR_FORMAT && strstr(mn_error_msg(), "limit") != NULL);
    MN_CHECK(t, mn_alloc_live() == live0);
    unlink(path);
    free(b);
    mn_params_free(&p);
}

typedef struct {
    const char *label;
    const char *header;
    size_t data_len; /* bytes of SMALL_DATA-like data after the header (<= 16) */
    const char *what; /* must appear in the message (NULL: just the path) */
} bad_case;

MN_TEST(io_safetensors_rejects_bad_headers)
{
    static const bad_case cases[] = {
        {"invalid JSON", "{\"x\":{\"dtype\":\"F32\",", 12, "JSON"},
        {"not an object", "[1,2,3]", 12, "object"},
        {"invalid UTF-8",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "UTF-8"},
        {"overlong UTF-8",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\xc0\xaf\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "UTF-8"},
        {"NUL escape in a name",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\\u0000z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "JSON"},
        {"lone surrogate",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "surrogate"},
        {"deep nesting",
         "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
         "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
         12, "deep"},
        {"garbage after JSON",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}xx",
         12, "after the JSON"},
        {"entry not an object", "{\"x\":5,\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "'x'"},
        {"wrong dtype",
         "{\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "F64"},
        {"missing dtype",
         "{\"x\":{\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "dtype"},
        {"missing shape",
         "{\"x\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "shape"},
        {"missing offsets",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "data_offsets"},
        {"three offsets",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,4,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "data_offsets"},
        {"negative dim",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[-2,-1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "shape"},
        {"fractional offset",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8.5]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "data_offsets"},
        {"string dim",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[\"2\",1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "shape"},
        {"shape/offset mismatch",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[3,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "'x'"},
        {"overflowing shape",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
         "\"data_offsets\":[0,8]},\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "'x'"},
        {"offsets backwards",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[8,0]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "'x'"},
        {"overlapping offsets",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "overlap"},
        {"offsets beyond the buffer",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
         12, "'y'"},
        {"hole in the buffer",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
         16, "no tensor"},
        {"duplicate tensor",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "twice"},
        {"metadata value not a string",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
         "\"__metadata__\":{\"epochs\":3}}",
         12, "epochs"},
        {"metadata not an object",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},\"__metadata__\":\"v\"}",
         12, "__metadata__"},
        {"missing tensor", "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}}", 8,
         "'y'"},
        {"extra tensor",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
         "\"z\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
         16, "'z'"},
        {"wrong shape (rank)",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "'x'"},
        {"wrong shape (size)",
         "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
         16, "'y'"},
    };
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "bad.safetensors");
    unsigned char data[16];
    memcpy(data, SMALL_DATA, 12);
    memcpy(data + 12, SMALL_DATA, 4);
    mn_params p;
    small_table(&p);
    const int n_cases = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < n_cases; i++) {
        MN_CHECK(t, write_st(path, cases[i].header, data, cases[i].data_len) == 0);
        bool table_level = strstr(cases[i].label, "missing tensor") ||
                           strstr(cases[i].label, "extra tensor") ||
                           strstr(cases[i].label, "wrong shape");
        if (!table_level) {
            expect_reject_into(t, &p, path, cases[i].what, cases[i].label);
        } else {
            /* Valid files that do not fit this table: load refuses, load_new accepts. */
            fill_sentinel(&p);
            long live0 = mn_alloc_live();
            mn_status st = mn_safetensors_load(&p, path, NULL);
            MN_CHECK_MSG(t, st == MN_ERR_FORMAT || st == MN_ERR_SHAPE, "%s: status %d", cases[i].label,
                         (int)st);
            MN_CHECK_MSG(t, strstr(mn_error_msg(), path) && strstr(mn_error_msg(), cases[i].what),
                         "%s: message '%s'", cases[i].label, mn_error_msg());
            MN_CHECK_MSG(t, is_sentinel(&p) && mn_alloc_live() == live0, "%s: table or leak",
                         cases[i].label);
            mn_params q;
            MN_CHECK_OK(t, mn_safetensors_load_new(&q, path, NULL));
            mn_params_free(&q);
        }
    }
    /* Shape mismatches are SHAPE errors that print both shapes. */
    MN_CHECK(t, write_st(path, cases[n_cases - 1].header, data, 16) == 0);
    MN_CHECK(t, mn_safetensors_load(&p, path, NULL) == MN_ERR_SHAPE);
    MN_CHECK(t, strstr(mn_error_msg(), "[2]") && strstr(mn_error_msg(), "[1]"));
    mn_params_free(&p);
}

MN_TEST(io_safetensors_argument_errors)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200], missing[4200];
    join(path, sizeof path, dir, "arg.safetensors");
    join(missing, sizeof missing, dir, "missing.safetensors");
    long live0 = mn_alloc_live();
    mn_params p, unalloc;
    small_table(&p);
    mn_params_init_table(&unalloc);
    const char *k2[2] = {"a", "a"}, *v2[2] = {"1", "2"};
    MN_CHECK(t, mn_safetensors_save(path, &p, k2, v2, 2) == MN_ERR_INVALID);
    MN_CHECK(t, mn_safetensors_save(path, &p, NULL, NULL, 1) == MN_ERR_INVALID);
    const char *kb[1] = {"k"}, *vb[1] = {"bad \xe9 latin-1"};
    MN_CHECK(t, mn_safetensors_save(path, &p, kb, vb, 1) == MN_ERR_INVALID);
    MN_CHECK(t, strstr(mn_error_msg(), "UTF-8") != NULL);
    MN_CHECK(t, mn_safetensors_save(path, &unalloc, NULL, NULL, 0) == MN_ERR_INVALID);
    MN_CHECK(t, access(path, F_OK) != 0); /* nothing was written */
    MN_CHECK_OK(t, mn_safetensors_save(path, &p, NULL, NULL, 0));
    MN_CHECK(t, mn_safetensors_load(&unalloc, path, NULL) == MN_ERR_INVALID);
    char *meta = NULL;
    MN_CHECK(t, mn_safetensors_load(&p, missing, &meta) == MN_ERR_IO);
    MN_CHECK(t, strstr(mn_error_msg(), missing) != NULL && meta == NULL);
    MN_CHECK(t, mn_safetensors_read_meta(missing, &meta) == MN_ERR_IO && meta == NULL);
    MN_CHECK(t, mn_safetensors_load(&p, dir, NULL) == MN_ERR_IO); /* a folder */
    /* A table with a rank-0 or zero-size tensor cannot come from load_new. */
    MN_CHECK(t, write_st(path, "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}",
                         SMALL_DATA, 4) == 0);
    mn_params q;
    MN_CHECK(t, mn_safetensors_load_new(&q, path, NULL) == MN_ERR_UNSUPPORTED && q.w == NULL);
    MN_CHECK(t, strstr(mn_error_msg(), "'s'") != NULL);
    MN_CHECK(t, write_st(path,
                         "{\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
                         "\"s\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                         SMALL_DATA, 4) == 0);
    MN_CHECK_OK(t, mn_safetensors_read_meta(path, &meta)); /* a valid file, though */
    MN_CHECK(t, mn_safetensors_load_new(&q, path, NULL) == MN_ERR_UNSUPPORTED);
    mn_params_free(&p);
    MN_CHECK(t, mn_alloc_live() == live0);
}

/* ---------------------------------------------------------------- allocation failures */

MN_TEST(io_safetensors_alloc_failure_sweep)
{
    const char *dir = mn_test_tmpdir(t);
    char path[4200];
    join(path, sizeof path, dir, "sweep.safetensors");
    mn_params a, b;
    MN_CHECK(t, make_table(&a, t->seed) == 0);
    MN_CHECK(t, make_table(&b, t->seed + 7) == 0);
    const char *k[2] = {"arch", "steps"}, *v[2] = {"light", "1000"};
    MN_CHECK_OK(t, mn_safetensors_save(path, &b, k, v, 2)); /* the "previous" checkpoint */
    size_t n_old = 0;
    unsigned char *old = mn_test_read_bytes(path, &n_old);
    long live0 = mn_alloc_live();

    /* save */
    int failures = 0;
    mn_status st = MN_ERR_NOMEM;
    for (long n = 1; n < 200; n++) {
        mn_alloc_fail_at(n);
        st = mn_safetensors_save(path, &a, k, v, 2);
        mn_alloc_fail_at(0);
        if (st == MN_OK) break;
        failures++;
        MN_CHECK(t, st == MN_ERR_NOMEM);
        MN_CHECK(t, mn_alloc_live() == live0);
        size_t n_now = 0;
        unsigned char *now = mn_test_read_bytes(path, &n_now);
        MN_CHECK(t, now && n_now == n_old && memcmp(now, old, n_old) == 0);
        free(now);
        MN_CHECK(t, mn_test_count_files(dir, ".tmp.") == 0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 1);

    /* load */
    failures = 0;
    for (long n = 1; n < 200; n++) {
        char *meta = NULL;
        fill_sentinel(&b);
        mn_alloc_fail_at(n);
        st = mn_safetensors_load(&b, path, &meta);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, tensors_identical(&a, &b) && meta != NULL);
            mn_free(meta);
            break;
        }
        failures++;
        MN_CHECK_MSG(t, st == MN_ERR_NOMEM && meta == NULL, "load, allocation %ld failing: %d %s",
                     n, (int)st, mn_error_msg());
        MN_CHECK(t, is_sentinel(&b));
        MN_CHECK(t, mn_alloc_live() == live0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 3); /* header, ranges, metadata, data: 4 points */

    /* load_new */
    failures = 0;
    for (long n = 1; n < 200; n++) {
        mn_params c;
        char *meta = NULL;
        mn_alloc_fail_at(n);
        st = mn_safetensors_load_new(&c, path, &meta);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, tensors_identical(&a, &c) && meta != NULL);
            mn_free(meta);
            mn_params_free(&c);
            break;
        }
        failures++;
        MN_CHECK(t, st == MN_ERR_NOMEM && meta == NULL && c.w == NULL && c.defs == NULL);
        MN_CHECK(t, mn_alloc_live() == live0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 3);

    /* read_meta */
    failures = 0;
    for (long n = 1; n < 200; n++) {
        char *meta = NULL;
        mn_alloc_fail_at(n);
        st = mn_safetensors_read_meta(path, &meta);
        mn_alloc_fail_at(0);
        if (st == MN_OK) {
            MN_CHECK(t, meta && strstr(meta, "\"steps\":\"1000\""));
            mn_free(meta);
            break;
        }
        failures++;
        MN_CHECK(t, st == MN_ERR_NOMEM && meta == NULL);
        MN_CHECK(t, mn_alloc_live() == live0);
    }
    MN_CHECK(t, st == MN_OK && failures >= 1);
    free(old);
    mn_params_free(&a);
    mn_params_free(&b);
}
