/*
 * io/safetensors.c — checkpoints in the safetensors format (F32 tensors + string metadata).
 *
 * Format (https://github.com/huggingface/safetensors, "Format"):
 *     bytes [0, 8)         N, the header length, unsigned 64-bit little-endian
 *     bytes [8, 8+N)       UTF-8 JSON object, may be padded at the end with spaces:
 *                            { "<name>": {"dtype": "F32", "shape": [d0, ...],
 *                                          "data_offsets": [begin, end]}, ...,
 *                              "__metadata__": {"<key>": "<string>", ...} }     (optional)
 *     bytes [8+N, EOF)     the data buffer; offsets are relative to its start, tensors are
 *                          row-major little-endian, end - begin = 4 * prod(shape) for F32
 * The reference implementation also requires that the tensors cover the buffer exactly, with
 * no holes and no overlap (this prevents polyglot files), and caps N at 100,000,000 bytes.
 *
 * Writer: tensors in table order (buffers included), header padded with spaces so the data
 * starts at a multiple of 8 bytes, written atomically (io/atomic.c).
 *
 * Readers validate the whole header against the real file size before anything is allocated
 * from a declared size or any caller memory is touched: header length vs file and cap, valid
 * UTF-8, valid JSON with nothing but whitespace after it, every entry an object with a string dtype
 * (F32 only), a shape of non-negative integers, data_offsets of two integers with
 * begin <= end <= buffer length and end - begin = 4 * numel (overflow-checked), no duplicate
 * names, exact coverage of the buffer, and string-only metadata.  mn_safetensors_load then
 * matches the file against the table (same names, same shapes, nothing missing, nothing
 * extra), reads the data buffer into a scratch copy, and only then copies into the table, so
 * a failed load leaves the table as it was.
 *
 * Byte order: the data is little-endian; a big-endian host gets MN_ERR_UNSUPPORTED.
 */
#include "mimonet/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ST_MAX_HEADER 100000000ULL /* the reference implementation's MAX_HEADER_SIZE */
#define ST_META "__metadata__"

static bool host_is_little_endian(void)
{
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* RFC 3629 UTF-8 (the format requires a UTF-8 header): no overlong forms, no surrogates,
 * nothing above U+10FFFF.  On failure *bad is the offset of the offending sequence. */
static bool utf8_valid(const unsigned char *s, size_t n, size_t *bad)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], cp, min;
        size_t len;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            break;
        }
        if (n - i < len) break;
        size_t k = 1;
        for (; k < len && (s[i + k] & 0xC0) == 0x80; k++) cp = cp << 6 | (s[i + k] & 0x3Fu);
        if (k < len || cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) break;
        i += len;
    }
    *bad = i;
    return i == n;
}

static bool cstr_utf8(const char *s)
{
    size_t bad;
    return utf8_valid((const unsigned char *)s, strlen(s), &bad);
}

/* ---------------------------------------------------------------- JSON syntax check
 *
 * A strict RFC 8259 syntax check that allocates nothing.  cJSON allocates (through mn_malloc,
 * see core/alloc.c), so when its parse fails it cannot say whether the text was bad or memory
 * ran out; checking the syntax first lets a later cJSON failure be reported as what it is.
 * The check is at least as strict as cJSON 1.7.15 on everything cJSON rejects: numbers of at
 * most 63 characters (cJSON's number buffer), surrogate escapes in pairs, nesting at most
 * JCHK_DEPTH (cJSON allows 1000); it also refuses \u0000 (a tensor name must be a C string).
 */

#define JCHK_DEPTH 64

typedef struct {
    const char *s;
    size_t n, i;
    int depth;
    const char *why;
} jchk;

static int jpeek(const jchk *c) { return c->i < c->n ? (unsigned char)c->s[c->i] : -1; }

static bool jfail(jchk *c, const char *why)
{
    if (!c->why) c->why = why;
    return false;
}

static void jws(jchk *c)
{
    int ch;
    while ((ch = jpeek(c)) == ' ' || ch == '\t' || ch == '\n' || ch == '\r') c->i++;
}

static bool jlit(jchk *c, const char *lit)
{
    size_t k = strlen(lit);
    if (c->n - c->i < k || memcmp(c->s + c->i, lit, k) != 0) return jfail(c, "unknown literal");
    c->i += k;
    return true;
}

static bool jhex4(jchk *c, unsigned *u)
{
    *u = 0;
    for (int k = 0; k < 4; k++) {
        int ch = jpeek(c), d;
        if (ch >= '0' && ch <= '9') d = ch - '0';
        else if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
        else if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
        else return jfail(c, "bad \\u escape");
        *u = *u << 4 | (unsigned)d;
        c->i++;
    }
    return true;
}

static bool jstring(jchk *c)
{
    c->i++; /* the opening quote */
    for (;;) {
        int ch = jpeek(c);
        if (ch < 0) return jfail(c, "unterminated string");
        c->i++;
        if (ch == '"') return true;
        if (ch < 0x20) return jfail(c, "control character in a string");
        if (ch != '\\') continue;
        ch = jpeek(c);
        c->i++;
        if (ch == '"' || ch == '\\' || ch == '/' || ch == 'b' || ch == 'f' || ch == 'n' ||
            ch == 'r' || ch == 't')
            continue;
        if (ch != 'u') return jfail(c, "bad escape in a string");
        unsigned u, lo;
        if (!jhex4(c, &u)) return false;
        if (u == 0) return jfail(c, "\\u0000 in a string");
        if (u >= 0xDC00 && u <= 0xDFFF) return jfail(c, "unpaired surrogate in a string");
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (jpeek(c) != '\\' || c->i + 1 >= c->n || c->s[c->i + 1] != 'u')
                return jfail(c, "unpaired surrogate in a string");
            c->i += 2;
            if (!jhex4(c, &lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return jfail(c, "unpaired surrogate in a string");
        }
    }
}

static bool jdigits(jchk *c)
{
    if (jpeek(c) < '0' || jpeek(c) > '9') return jfail(c, "bad number");
    while (jpeek(c) >= '0' && jpeek(c) <= '9') c->i++;
    return true;
}

static bool jnumber(jchk *c)
{
    size_t start = c->i;
    if (jpeek(c) == '-') c->i++;
    if (jpeek(c) == '0') c->i++;
    else if (!jdigits(c)) return false;
    if (jpeek(c) == '.') {
        c->i++;
        if (!jdigits(c)) return false;
    }
    if (jpeek(c) == 'e' || jpeek(c) == 'E') {
        c->i++;
        if (jpeek(c) == '+' || jpeek(c) == '-') c->i++;
        if (!jdigits(c)) return false;
    }
    if (c->i - start > 63) return jfail(c, "number longer than 63 characters");
    return true;
}

static bool jvalue(jchk *c);

static bool jcontainer(jchk *c, int close)
{
    if (++c->depth > JCHK_DEPTH) return jfail(c, "nested too deeply");
    c->i++; /* '{' or '[' */
    jws(c);
    if (jpeek(c) == close) {
        c->i++;
        c->depth--;
        return true;
    }
    for (;;) {
        if (close == '}') {
            jws(c);
            if (jpeek(c) != '"') return jfail(c, "expected a string key");
            if (!jstring(c)) return false;
            jws(c);
            if (jpeek(c) != ':') return jfail(c, "expected ':'");
            c->i++;
        }
        if (!jvalue(c)) return false;
        jws(c);
        int ch = jpeek(c);
        c->i++;
        if (ch == close) break;
        if (ch != ',') return jfail(c, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    c->depth--;
    return true;
}

static bool jvalue(jchk *c)
{
    jws(c);
    int ch = jpeek(c);
    if (ch == '{') return jcontainer(c, '}');
    if (ch == '[') return jcontainer(c, ']');
    if (ch == '"') return jstring(c);
    if (ch == 't') return jlit(c, "true");
    if (ch == 'f') return jlit(c, "false");
    if (ch == 'n') return jlit(c, "null");
    if (ch == '-' || (ch >= '0' && ch <= '9')) return jnumber(c);
    return jfail(c, ch < 0 ? "unexpected end" : "unexpected character");
}

/* The whole header: one JSON value, then only whitespace (the padding). */
static bool json_check(const char *s, size_t n, size_t *at, const char **why)
{
    jchk c = {.s = s, .n = n};
    bool ok = jvalue(&c);
    if (ok) {
        jws(&c);
        if (c.i < n) ok = jfail(&c, "bytes other than padding after the JSON");
    }
    *at = c.i < n ? c.i : n;
    *why = c.why;
    return ok;
}

/* ---------------------------------------------------------------- header validation */

typedef struct {
    const char *name; /* owned by the cJSON tree */
    int ndim;         /* as declared; only the first MN_MAX_DIMS dims are kept in shape[] */
    int64_t shape[MN_MAX_DIMS];
    bool has_zero_dim;
    uint64_t numel, begin, end;
} st_entry;

typedef struct {
    FILE *f;
    const char *path;
    uint64_t file_size, header_len, data_len; /* data starts at 8 + header_len */
    char *header;                             /* mn_malloc'ed, header_len + 1 bytes */
    cJSON *root;
    const cJSON *meta; /* "__metadata__", or NULL */
    st_entry *e;       /* mn_malloc'ed, in file (header) order */
    int n;
} st_file;

static void st_close(st_file *s)
{
    if (s->f) fclose(s->f);
    if (s->root) cJSON_Delete(s->root);
    mn_free(s->header);
    mn_free(s->e);
    memset(s, 0, sizeof *s);
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static bool json_uint(const cJSON *x, uint64_t *out)
{
    if (!cJSON_IsNumber(x)) return false;
    double d = x->valuedouble;
    if (!isfinite(d) || d < 0 || d > 9007199254740992.0 || floor(d) != d) return false;
    *out = (uint64_t)d;
    return true;
}

static mn_status parse_entry(st_file *s, const cJSON *item, st_entry *e)
{
    const char *path = s->path, *name = item->string;
    e->name = name;
    if (!cJSON_IsObject(item))
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': entry is not a JSON object", path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    if (!cJSON_IsString(dtype))
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': missing or non-string \"dtype\"", path,
                        name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': dtype \"%.32s\" is not supported (F32 only)",
                        path, name, dtype->valuestring);
    if (!cJSON_IsArray(shape))
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': missing or non-array \"shape\"", path,
                        name);
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2)
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': \"data_offsets\" must be [begin, end]",
                        path, name);
    if (!json_uint(offs->child, &e->begin) || !json_uint(offs->child->next, &e->end))
        return mn_error(MN_ERR_FORMAT,
                        "%s: tensor '%s': \"data_offsets\" must be non-negative integers", path,
                        name);
    if (e->begin > e->end)
        return mn_error(MN_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] run backwards",
                        path, name, (unsigned long long)e->begin, (unsigned long long)e->end);
    if (e->end > s->data_len)
        return mn_error(MN_ERR_FORMAT,
                        "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data buffer "
                        "(%llu bytes; the file may be truncated)",
                        path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)s->data_len);
    /* numel = prod(shape), checked against the (already bounded) byte range as it grows, so
     * it can neither overflow nor exceed what the file holds. */
    const uint64_t nbytes = e->end - e->begin;
    uint64_t numel = 1; /* product of the non-zero dims, while it fits in nbytes / 4 */
    bool too_big = false;
    int k = 0;
    for (const cJSON *d = shape->child; d; d = d->next, k++) {
        uint64_t v;
        if (!json_uint(d, &v))
            return mn_error(MN_ERR_FORMAT,
                            "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name,
                            k);
        if (k < MN_MAX_DIMS) e->shape[k] = (int64_t)v;
        if (v == 0) e->has_zero_dim = true;
        else if (!too_big && numel > (nbytes / 4) / v) too_big = true;
        else if (!too_big) numel *= v;
    }
    e->ndim = k;
    bool ok = e->has_zero_dim ? nbytes == 0 : (!too_big && numel * 4 == nbytes);
    if (!ok)
        return mn_error(MN_ERR_FORMAT,
                        "%s: tensor '%s': shape does not match data_offsets [%llu, %llu] "
                        "(%llu bytes; F32 needs 4 bytes per element)",
                        path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                        (unsigned long long)nbytes);
    e->numel = e->has_zero_dim ? 0 : numel;
    return MN_OK;
}

static mn_status parse_metadata(st_file *s, const cJSON *meta)
{
    if (s->meta)
        return mn_error(MN_ERR_FORMAT, "%s: \"" ST_META "\" appears twice", s->path);
    if (!cJSON_IsObject(meta))
        return mn_error(MN_ERR_FORMAT, "%s: \"" ST_META "\" is not a JSON object", s->path);
    for (const cJSON *kv = meta->child; kv; kv = kv->next)
        if (!cJSON_IsString(kv))
            return mn_error(MN_ERR_FORMAT, "%s: metadata value '%s' is not a string", s->path,
                            kv->string);
    s->meta = meta;
    return MN_OK;
}

typedef struct {
    uint64_t begin, end;
    const char *name;
} st_range;

static int cmp_range_name(const void *a, const void *b)
{
    return strcmp(((const st_range *)a)->name, ((const st_range *)b)->name);
}

static int cmp_range_offset(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Names unique; ranges cover [0, data_len) exactly, without holes or overlap. */
static mn_status check_layout(st_file *s)
{
    if (s->n == 0) {
        if (s->data_len != 0)
            return mn_error(MN_ERR_FORMAT, "%s: %llu bytes of data but no tensors", s->path,
                            (unsigned long long)s->data_len);
        return MN_OK;
    }
    st_range *r = mn_calloc((size_t)s->n, sizeof *r);
    if (!r) return mn_error(MN_ERR_NOMEM, "%s: %d tensor ranges", s->path, s->n);
    for (int i = 0; i < s->n; i++) r[i] = (st_range){s->e[i].begin, s->e[i].end, s->e[i].name};
    mn_status st = MN_OK;
    qsort(r, (size_t)s->n, sizeof *r, cmp_range_name);
    for (int i = 1; i < s->n && st == MN_OK; i++)
        if (strcmp(r[i - 1].name, r[i].name) == 0)
            st = mn_error(MN_ERR_FORMAT, "%s: tensor '%s' appears twice", s->path, r[i].name);
    if (st == MN_OK) qsort(r, (size_t)s->n, sizeof *r, cmp_range_offset);
    uint64_t at = 0;
    const char *prev = NULL;
    for (int i = 0; i < s->n && st == MN_OK; i++) {
        if (r[i].begin < at)
            st = mn_error(MN_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap at data bytes [%llu, %llu)",
                          s->path, prev, r[i].name, (unsigned long long)r[i].begin,
                          (unsigned long long)at);
        else if (r[i].begin > at)
            st = mn_error(MN_ERR_FORMAT,
                          "%s: data bytes [%llu, %llu) belong to no tensor (before tensor '%s')",
                          s->path, (unsigned long long)at, (unsigned long long)r[i].begin,
                          r[i].name);
        at = r[i].end;
        prev = r[i].name;
    }
    if (st == MN_OK && at != s->data_len)
        st = mn_error(MN_ERR_FORMAT,
                      "%s: data bytes [%llu, %llu) after the last tensor belong to no tensor",
                      s->path, (unsigned long long)at, (unsigned long long)s->data_len);
    mn_free(r);
    return st;
}

/* Open `path` and validate its header completely (see the file comment).  On error the
 * message names the file and the tensor or field, and nothing stays allocated. */
static mn_status st_open(st_file *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    if (!host_is_little_endian())
        return mn_error(MN_ERR_UNSUPPORTED, "%s: safetensors needs a little-endian host", path);
    s->f = fopen(path, "rb");
    if (!s->f) return mn_error(MN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    mn_status st;
    struct stat sb;
    if (fstat(fileno(s->f), &sb) != 0) {
        st = mn_error(MN_ERR_IO, "%s: stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = mn_error(MN_ERR_IO, "%s: not a regular file", path);
        goto fail;
    }
    s->file_size = (uint64_t)sb.st_size;
    unsigned char len8[8];
    if (s->file_size < 8) {
        st = mn_error(MN_ERR_FORMAT, "%s: %llu bytes, shorter than the 8-byte header length",
                      path, (unsigned long long)s->file_size);
        goto fail;
    }
    if (fread(len8, 1, 8, s->f) != 8) {
        st = mn_error(MN_ERR_IO, "%s: reading the header length: %s", path,
                      ferror(s->f) ? strerror(errno) : "unexpected end of file");
        goto fail;
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | len8[i];
    if (n > s->file_size - 8) {
        st = mn_error(MN_ERR_FORMAT,
                      "%s: header length %llu exceeds the %llu bytes after it (truncated or "
                      "not a safetensors file)",
                      path, (unsigned long long)n, (unsigned long long)(s->file_size - 8));
        goto fail;
    }
    if (n > ST_MAX_HEADER) {
        st = mn_error(MN_ERR_FORMAT, "%s: header length %llu exceeds the limit of %llu bytes",
                      path, (unsigned long long)n, ST_MAX_HEADER);
        goto fail;
    }
    if (n < 2) {
        st = mn_error(MN_ERR_FORMAT, "%s: header length %llu is too short for a JSON object",
                      path, (unsigned long long)n);
        goto fail;
    }
    s->header_len = n;
    s->data_len = s->file_size - 8 - n;
    s->header = mn_malloc((size_t)n + 1); /* n is bounded by the real file size and the cap */
    if (!s->header) {
        st = mn_error(MN_ERR_NOMEM, "%s: %llu-byte header", path, (unsigned long long)n);
        goto fail;
    }
    if (fread(s->header, 1, (size_t)n, s->f) != (size_t)n) {
        st = mn_error(MN_ERR_IO, "%s: reading the header: %s", path,
                      ferror(s->f) ? strerror(errno) : "unexpected end of file");
        goto fail;
    }
    s->header[n] = '\0';

    size_t at;
    const char *why;
    if (!utf8_valid((const unsigned char *)s->header, (size_t)n, &at)) {
        st = mn_error(MN_ERR_FORMAT, "%s: header is not valid UTF-8 at header byte %zu", path, at);
        goto fail;
    }
    if (!json_check(s->header, (size_t)n, &at, &why)) {
        st = mn_error(MN_ERR_FORMAT, "%s: header is not valid JSON: %s at header byte %zu", path,
                      why, at);
        goto fail;
    }
    /* The syntax is valid, so a failure here can only be cJSON running out of memory. */
    s->root = cJSON_ParseWithLength(s->header, (size_t)n);
    if (!s->root) {
        st = mn_error(MN_ERR_NOMEM, "%s: parsing the %llu-byte JSON header", path,
                      (unsigned long long)n);
        goto fail;
    }
    if (!cJSON_IsObject(s->root)) {
        st = mn_error(MN_ERR_FORMAT, "%s: header is not a JSON object", path);
        goto fail;
    }
    int count = 0;
    for (const cJSON *it = s->root->child; it; it = it->next)
        if (strcmp(it->string, ST_META) != 0) count++;
    /* count is bounded by the header's length (each entry takes bytes of it). */
    s->e = mn_calloc(count ? (size_t)count : 1, sizeof *s->e);
    if (!s->e) {
        st = mn_error(MN_ERR_NOMEM, "%s: %d tensor entries", path, count);
        goto fail;
    }
    for (const cJSON *it = s->root->child; it; it = it->next) {
        if (strcmp(it->string, ST_META) == 0) st = parse_metadata(s, it);
        else st = parse_entry(s, it, &s->e[s->n++]);
        if (st != MN_OK) goto fail;
    }
    st = check_layout(s);
    if (st != MN_OK) goto fail;
    return MN_OK;
fail:
    st_close(s);
    return st;
}

/* The "__metadata__" object as JSON text in a new mn_malloc buffer, or NULL when absent. */
static mn_status st_meta_text(const st_file *s, char **out)
{
    *out = NULL;
    if (!s->meta) return MN_OK;
    char *txt = cJSON_PrintUnformatted(s->meta);
    if (!txt) return mn_error(MN_ERR_NOMEM, "%s: printing the metadata", s->path);
    *out = mn_strdup(txt);
    cJSON_free(txt);
    if (!*out) return mn_error(MN_ERR_NOMEM, "%s: metadata text", s->path);
    return MN_OK;
}

/* Read the data bytes [begin, end) into dst. */
static mn_status st_read(st_file *s, void *dst, uint64_t begin, uint64_t end, const char *what)
{
    if (end == begin) return MN_OK;
    if (fseeko(s->f, (off_t)(8 + s->header_len + begin), SEEK_SET) != 0 ||
        fread(dst, 1, (size_t)(end - begin), s->f) != (size_t)(end - begin))
        return mn_error(MN_ERR_IO, "%s: reading %s: %s", s->path, what,
                        ferror(s->f) ? strerror(errno) : "unexpected end of file");
    return MN_OK;
}

static void shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t at = 0;
    at += (size_t)snprintf(buf + at, n - at, "[");
    for (int i = 0; i < ndim && at < n; i++) {
        if (i >= MN_MAX_DIMS) {
            at += (size_t)snprintf(buf + at, n - at, ", ...");
            break;
        }
        at += (size_t)snprintf(buf + at, n - at, i ? ", %lld" : "%lld", (long long)shape[i]);
    }
    if (at < n) snprintf(buf + at, n - at, "]");
}

/* ---------------------------------------------------------------- public readers */

mn_status mn_safetensors_read_meta(const char *path, char **meta_json)
{
    *meta_json = NULL;
    st_file s;
    mn_status st = st_open(&s, path);
    if (st != MN_OK) return st;
    st = st_meta_text(&s, meta_json);
    st_close(&s);
    return st;
}

mn_status mn_safetensors_load(mn_params *p, const char *path, char **meta_json)
{
    if (meta_json) *meta_json = NULL;
    if (!p->w) return mn_error(MN_ERR_INVALID, "%s: load into a table that is not allocated", path);
    st_file s;
    mn_status st = st_open(&s, path);
    if (st != MN_OK) return st;
    char *meta = NULL, *scratch = NULL;

    /* The file against the table: nothing extra, same shapes, nothing missing. */
    for (int i = 0; i < s.n; i++) {
        const st_entry *e = &s.e[i];
        int k = mn_params_find(p, e->name);
        if (k < 0) {
            st = mn_error(MN_ERR_FORMAT, "%s: tensor '%s' is not part of this model", path,
                          e->name);
            goto done;
        }
        const mn_param_def *d = &p->defs[k];
        bool same = e->ndim == d->ndim;
        for (int j = 0; same && j < d->ndim; j++) same = e->shape[j] == d->shape[j];
        if (!same) {
            char fs[96], ms[96];
            shape_str(fs, sizeof fs, e->ndim, e->shape);
            shape_str(ms, sizeof ms, d->ndim, d->shape);
            st = mn_error(MN_ERR_SHAPE, "%s: tensor '%s' has shape %s in the file but %s in the model",
                          path, e->name, fs, ms);
            goto done;
        }
    }
    if (s.n != p->n) { /* names are unique on both sides, so some table tensor is absent */
        for (int k = 0; k < p->n; k++) {
            bool found = false;
            for (int i = 0; i < s.n && !found; i++) found = strcmp(s.e[i].name, p->defs[k].name) == 0;
            if (!found) {
                st = mn_error(MN_ERR_FORMAT, "%s: tensor '%s' of the model is missing from the file",
                              path, p->defs[k].name);
                goto done;
            }
        }
    }

    /* Everything allocates and reads before the table is touched. */
    if (meta_json && (st = st_meta_text(&s, &meta)) != MN_OK) goto done;
    scratch = mn_malloc((size_t)s.data_len); /* == 4 * the table's element count, checked above */
    if (!scratch) {
        st = mn_error(MN_ERR_NOMEM, "%s: %llu-byte data buffer", path,
                      (unsigned long long)s.data_len);
        goto done;
    }
    if ((st = st_read(&s, scratch, 0, s.data_len, "the data buffer")) != MN_OK) goto done;
    for (int i = 0; i < s.n; i++) {
        const st_entry *e = &s.e[i];
        int k = mn_params_find(p, e->name);
        memcpy(p->w + p->defs[k].offset, scratch + e->begin, (size_t)(e->end - e->begin));
    }
    if (meta_json) {
        *meta_json = meta;
        meta = NULL;
    }
done:
    mn_free(meta);
    mn_free(scratch);
    st_close(&s);
    return st;
}

mn_status mn_safetensors_load_new(mn_params *p, const char *path, char **meta_json)
{
    if (meta_json) *meta_json = NULL;
    mn_params_init_table(p);
    st_file s;
    mn_status st = st_open(&s, path);
    if (st != MN_OK) return st;
    char *meta = NULL;
    for (int i = 0; i < s.n; i++) {
        const st_entry *e = &s.e[i];
        if (e->ndim < 1 || e->ndim > MN_MAX_DIMS || e->has_zero_dim) {
            char fs[96];
            shape_str(fs, sizeof fs, e->ndim, e->shape);
            st = mn_error(MN_ERR_UNSUPPORTED,
                          "%s: tensor '%s': shape %s (mimonet tables hold 1 to %d dimensions, "
                          "none of them 0)",
                          path, e->name, fs, MN_MAX_DIMS);
            goto done;
        }
        if (strlen(e->name) >= MN_NAME_MAX) {
            st = mn_error(MN_ERR_UNSUPPORTED, "%s: tensor name '%.80s...' is longer than %d bytes",
                          path, e->name, MN_NAME_MAX - 1);
            goto done;
        }
        if (mn_params_add(p, e->name, e->ndim, e->shape, MN_INIT_ZEROS, 0.0f, 0, true) < 0) {
            st = mn_error(MN_ERR_NOMEM, "%s: tensor '%s': adding it to the table", path, e->name);
            goto done;
        }
    }
    if ((st = mn_params_alloc(p)) != MN_OK) {
        st = mn_error(st, "%s: allocating the table (4 x %zu floats)", path, p->total);
        goto done;
    }
    if (meta_json && (st = st_meta_text(&s, &meta)) != MN_OK) goto done;
    for (int i = 0; i < s.n && st == MN_OK; i++)
        st = st_read(&s, p->w + p->defs[i].offset, s.e[i].begin, s.e[i].end, s.e[i].name);
    if (st == MN_OK && meta_json) {
        *meta_json = meta;
        meta = NULL;
    }
done:
    if (st != MN_OK) mn_params_free(p);
    mn_free(meta);
    st_close(&s);
    return st;
}

/* ---------------------------------------------------------------- writer */

/* The header JSON (cJSON-allocated; cJSON_free it): tensors in table order with offsets in the
 * same order, so they tile the data buffer, then the metadata map.  Fails only for memory. */
static mn_status build_header(char **json, const mn_params *p, const char *const *keys,
                              const char *const *values, int n_meta)
{
    *json = NULL;
    cJSON *root = cJSON_CreateObject();
    if (!root) return MN_ERR_NOMEM;
    uint64_t off = 0;
    for (int i = 0; i < p->n; i++) {
        const mn_param_def *d = &p->defs[i];
        cJSON *t = cJSON_AddObjectToObject(root, d->name);
        cJSON *shape = t ? cJSON_AddArrayToObject(t, "shape") : NULL;
        cJSON *offs = shape ? cJSON_AddArrayToObject(t, "data_offsets") : NULL;
        if (!offs || !cJSON_AddStringToObject(t, "dtype", "F32")) goto nomem;
        for (int j = 0; j < d->ndim; j++) {
            cJSON *x = cJSON_CreateNumber((double)d->shape[j]);
            if (!x) goto nomem;
            cJSON_AddItemToArray(shape, x);
        }
        uint64_t end = off + 4 * (uint64_t)d->numel;
        cJSON *b = cJSON_CreateNumber((double)off);
        if (!b) goto nomem;
        cJSON_AddItemToArray(offs, b);
        cJSON *e = cJSON_CreateNumber((double)end);
        if (!e) goto nomem;
        cJSON_AddItemToArray(offs, e);
        off = end;
    }
    if (n_meta > 0) {
        cJSON *m = cJSON_AddObjectToObject(root, ST_META);
        if (!m) goto nomem;
        for (int i = 0; i < n_meta; i++)
            if (!cJSON_AddStringToObject(m, keys[i], values[i])) goto nomem;
    }
    *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return *json ? MN_OK : MN_ERR_NOMEM;
nomem:
    cJSON_Delete(root);
    return MN_ERR_NOMEM;
}

mn_status mn_safetensors_save(const char *path, const mn_params *p, const char *const *keys,
                              const char *const *values, int n_meta)
{
    if (!host_is_little_endian())
        return mn_error(MN_ERR_UNSUPPORTED, "%s: safetensors needs a little-endian host", path);
    if (!p->w) return mn_error(MN_ERR_INVALID, "%s: save of a table that is not allocated", path);
    if (n_meta < 0 || (n_meta > 0 && (!keys || !values)))
        return mn_error(MN_ERR_INVALID, "%s: metadata: %d pairs with keys %p, values %p", path,
                        n_meta, (const void *)keys, (const void *)values);
    for (int i = 0; i < n_meta; i++) {
        if (!keys[i] || !values[i])
            return mn_error(MN_ERR_INVALID, "%s: metadata pair %d has a NULL key or value", path, i);
        if (!cstr_utf8(keys[i]) || !cstr_utf8(values[i]))
            return mn_error(MN_ERR_INVALID, "%s: metadata pair %d ('%.64s') is not valid UTF-8",
                            path, i, keys[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(keys[i], keys[j]) == 0)
                return mn_error(MN_ERR_INVALID, "%s: metadata key '%s' given twice", path, keys[i]);
    }
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->defs[i].name, ST_META) == 0 || !cstr_utf8(p->defs[i].name))
            return mn_error(MN_ERR_INVALID,
                            "%s: tensor name '%s' is \"" ST_META "\" or not valid UTF-8", path,
                            p->defs[i].name);

    char *json = NULL;
    if (build_header(&json, p, keys, values, n_meta) != MN_OK)
        return mn_error(MN_ERR_NOMEM, "%s: building the JSON header", path);

    const size_t hlen = strlen(json), padded = (hlen + 7) & ~(size_t)7;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    static const char spaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

    mn_atomic_file af;
    mn_status st = mn_atomic_open(&af, path);
    if (st == MN_OK) {
        mn_atomic_write(&af, len8, 8);
        mn_atomic_write(&af, json, hlen);
        mn_atomic_write(&af, spaces, padded - hlen);
        for (int i = 0; i < p->n; i++)
            mn_atomic_write(&af, p->w + p->defs[i].offset, p->defs[i].numel * sizeof(float));
        st = mn_atomic_commit(&af); /* reports the first failed write, if any, and cleans up */
    }
    cJSON_free(json);
    return st;
}
