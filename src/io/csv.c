/*
 * src/io/csv.c — CSV signals: columns I,Q (one channel) or I0,Q0,I1,Q1,... (several).
 *
 * Reader rules:
 *   - comma separated; spaces and tabs around a value are ignored; \n or \r\n line ends;
 *     a UTF-8 byte-order mark at the very start is skipped;
 *   - header optional: a first line in which no field is a number is a header (its names are
 *     not interpreted, only counted); a first line mixing numbers and text is an error;
 *   - every row has the same, even number of columns (2 per channel);
 *   - blank lines are allowed only at the end of the file;
 *   - numbers are parsed with strtod (C locale: '.' is the decimal point) and rounded to
 *     float32; NaN, Inf and values beyond float32 range are MN_ERR_NUMERIC;
 *   - every error names the file, the line and the column.
 * The file is parsed as a stream, twice: a first pass validates it and counts the rows, a
 * second fills a signal allocated to the exact size.  The text is never held in memory (only
 * one line at a time), and nothing is allocated from anything but the rows actually present.
 *
 * The writer prints each value with 9 significant digits, enough for float32 to round-trip
 * exactly (IEEE 754-2008, 5.12.2: 9 digits for binary32).
 */
#include "source_internal.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *f;
    const char *path;
    char *line;      /* current line, NUL-terminated, without its '\n' */
    size_t cap, len; /* bytes */
    int64_t lineno;  /* 1-based number of the current line */
} csv_reader;

/* Read the next line; *eof is set when there is none. */
static mn_status csv_getline(csv_reader *r, bool *eof)
{
    r->len = 0;
    int c = getc_unlocked(r->f);
    if (c == EOF) {
        if (ferror(r->f)) return mn_error(MN_ERR_IO, "%s: read error after line %lld (%s)", r->path, (long long)r->lineno, strerror(errno));
        *eof = true;
        return MN_OK;
    }
    *eof = false;
    r->lineno++;
    while (c != EOF && c != '\n') {
        if (r->len + 2 > r->cap) {
            if (r->cap >= MN_IO_CSV_LINE_MAX)
                return mn_error(MN_ERR_FORMAT, "%s: line %lld is longer than %u bytes; expected rows of I,Q numbers",
                                r->path, (long long)r->lineno, MN_IO_CSV_LINE_MAX);
            size_t ncap = r->cap ? 2 * r->cap : 256;
            char *nl = mn_realloc(r->line, ncap);
            if (!nl) return mn_error(MN_ERR_NOMEM, "%s: out of memory for line %lld", r->path, (long long)r->lineno);
            r->line = nl;
            r->cap = ncap;
        }
        r->line[r->len++] = (char)c;
        c = getc_unlocked(r->f);
    }
    if (c == EOF && ferror(r->f))
        return mn_error(MN_ERR_IO, "%s: read error in line %lld (%s)", r->path, (long long)r->lineno, strerror(errno));
    if (!r->line) { /* an empty first line still needs a buffer */
        r->line = mn_malloc(16);
        if (!r->line) return mn_error(MN_ERR_NOMEM, "%s: out of memory for line %lld", r->path, (long long)r->lineno);
        r->cap = 16;
    }
    r->line[r->len] = '\0';
    return MN_OK;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static bool line_blank(const char *s)
{
    for (; *s; s++)
        if (!is_ws(*s)) return false;
    return true;
}

/* Field `col` (0-based) of a line: [*b, *e) trimmed; returns the pointer after its ',' or NULL
 * at the end of the line. */
static const char *next_field(const char *p, const char **b, const char **e)
{
    while (is_ws(*p)) p++;
    *b = p;
    while (*p && *p != ',') p++;
    const char *end = p;
    while (end > *b && is_ws(end[-1])) end--;
    *e = end;
    return *p == ',' ? p + 1 : NULL;
}

/* Parse [b, e) as a number; false when it is not exactly one. */
static bool field_number(const char *b, const char *e, double *v)
{
    if (b == e) return false;
    char *stop;
    errno = 0;
    *v = strtod(b, &stop);
    return stop == e;
}

static void field_copy(char *out, size_t cap, const char *b, const char *e)
{
    size_t n = (size_t)(e - b);
    if (n >= cap) n = cap - 1;
    memcpy(out, b, n);
    out[n] = '\0';
}

/* One pass over the file.  s == NULL: validate and fill `info`.  Otherwise: fill s (sized
 * from a previous pass) and check the file still agrees with `info`. */
static mn_status csv_pass(const char *path, FILE *f, mn_io_csv_info *info, mn_signal *s)
{
    csv_reader r = {f, path, NULL, 0, 0, 0};
    mn_status st = MN_OK;
    int64_t rows = 0, blank_line = 0, cols_line = 0;
    int cols = 0;
    bool first = true, has_header = false;
    char header[sizeof info->header] = "";
    float *dst = s ? (float *)s->x : NULL;
    for (;;) {
        bool eof = false;
        st = csv_getline(&r, &eof);
        if (st) goto done;
        if (eof) break;
        char *line = r.line;
        if (r.lineno == 1 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
            (unsigned char)line[2] == 0xBF)
            line += 3;
        if (memchr(r.line, '\0', r.len)) {
            st = mn_error(MN_ERR_FORMAT, "%s: line %lld contains a NUL byte; expected text", path, (long long)r.lineno);
            goto done;
        }
        if (line_blank(line)) {
            if (!blank_line) blank_line = r.lineno;
            continue;
        }
        if (blank_line) {
            st = mn_error(MN_ERR_FORMAT, "%s: line %lld is blank but data follows on line %lld; blank lines are "
                          "allowed only at the end", path, (long long)blank_line, (long long)r.lineno);
            goto done;
        }
        if (first) {
            /* Header or data?  Count fields and how many are numbers. */
            first = false;
            int n_fields = 0, n_num = 0, first_text = -1, first_num = -1;
            const char *p = line, *b, *e;
            char bad[48] = "";
            do {
                p = next_field(p, &b, &e);
                double v;
                if (b == e) {
                    st = mn_error(MN_ERR_FORMAT, "%s: line %lld, column %d is empty; expected a number or a column name",
                                  path, (long long)r.lineno, n_fields + 1);
                    goto done;
                }
                if (field_number(b, e, &v)) {
                    n_num++;
                    if (first_num < 0) first_num = n_fields;
                } else if (first_text < 0) {
                    first_text = n_fields;
                    field_copy(bad, sizeof bad, b, e);
                }
                n_fields++;
                if (n_fields > 2 * MN_IO_MAX_CHANNELS) {
                    st = mn_error(MN_ERR_FORMAT, "%s: line %lld has more than %d columns", path, (long long)r.lineno,
                                  2 * MN_IO_MAX_CHANNELS);
                    goto done;
                }
            } while (p);
            if (n_num > 0 && first_text >= 0) {
                st = mn_error(MN_ERR_FORMAT, "%s: line %lld, column %d: '%s' is not a number (column %d is); expected "
                              "either a header of column names or a row of numbers", path, (long long)r.lineno,
                              first_text + 1, bad, first_num + 1);
                goto done;
            }
            if (n_fields % 2 != 0) {
                st = mn_error(MN_ERR_FORMAT, "%s: line %lld has %d columns; expected an even number (I,Q or "
                              "I0,Q0,I1,Q1,...)", path, (long long)r.lineno, n_fields);
                goto done;
            }
            cols = n_fields;
            cols_line = r.lineno;
            if (n_num == 0) {
                has_header = true;
                field_copy(header, sizeof header, line, line + strlen(line));
                continue;
            }
        }
        /* A data row. */
        if (s && rows >= s->n) {
            st = mn_error(MN_ERR_IO, "%s: the file grew while it was read (more than %lld rows at line %lld)", path,
                          (long long)s->n, (long long)r.lineno);
            goto done;
        }
        int col = 0;
        const char *p = line, *b, *e;
        do {
            p = next_field(p, &b, &e);
            if (col >= cols) {
                int total = col;
                while (p) {
                    p = next_field(p, &b, &e);
                    total++;
                }
                st = mn_error(MN_ERR_FORMAT, "%s: line %lld has %d columns; expected %d as on line %lld", path,
                              (long long)r.lineno, total + 1, cols, (long long)cols_line);
                goto done;
            }
            double v;
            if (!field_number(b, e, &v)) {
                char txt[48];
                field_copy(txt, sizeof txt, b, e);
                st = mn_error(MN_ERR_FORMAT, "%s: line %lld, column %d: '%s' is not a number; expected a decimal value",
                              path, (long long)r.lineno, col + 1, txt);
                goto done;
            }
            float fv;
            if (!mn_io_to_float(v, &fv)) {
                st = mn_error(MN_ERR_NUMERIC, "%s: line %lld, column %d (channel %d, sample %lld, %s part): value is %s; "
                              "every value must be finite and within float32 range", path, (long long)r.lineno,
                              col + 1, col / 2, (long long)rows, col % 2 ? "imaginary" : "real",
                              isnan(v) ? "NaN" : isinf(v) ? "Inf" : "too large");
                goto done;
            }
            if (dst) dst[2 * ((int64_t)(col / 2) * s->n + rows) + col % 2] = fv;
            col++;
        } while (p);
        if (col != cols) {
            st = mn_error(MN_ERR_FORMAT, "%s: line %lld has %d columns; expected %d as on line %lld", path,
                          (long long)r.lineno, col, cols, (long long)cols_line);
            goto done;
        }
        rows++;
    }
    if (rows == 0) {
        st = mn_error(MN_ERR_FORMAT, "%s: no data rows; expected lines of I,Q values (optionally after a header)", path);
        goto done;
    }
    if (s && rows != s->n) {
        st = mn_error(MN_ERR_IO, "%s: the file changed while it was read (%lld rows, then %lld)", path,
                      (long long)s->n, (long long)rows);
        goto done;
    }
    if (!s) {
        info->rows = rows;
        info->cols = cols;
        info->has_header = has_header;
        memcpy(info->header, header, sizeof header);
    }
done:
    mn_free(r.line);
    return st;
}

static mn_status csv_open(const char *path, FILE **f)
{
    *f = fopen(path, "rb");
    if (!*f) return mn_error(MN_ERR_IO, "%s: cannot open (%s)", path, strerror(errno));
    uint64_t size;
    mn_status st = mn_io_file_size(*f, path, &size);
    if (st) {
        fclose(*f);
        *f = NULL;
    }
    return st;
}

mn_status mn_io_csv_probe(const char *path, mn_io_csv_info *info)
{
    memset(info, 0, sizeof *info);
    FILE *f;
    mn_status st = csv_open(path, &f);
    if (st) return st;
    st = csv_pass(path, f, info, NULL);
    fclose(f);
    return st;
}

mn_status mn_io_csv_read(mn_signal *s, const char *path)
{
    memset(s, 0, sizeof *s);
    mn_io_csv_info info;
    memset(&info, 0, sizeof info);
    FILE *f;
    mn_status st = csv_open(path, &f);
    if (st) return st;
    st = csv_pass(path, f, &info, NULL);
    if (!st) {
        st = mn_signal_alloc(s, info.cols / 2, info.rows);
        if (st) st = mn_io_error_chain(st, "%s: cannot hold %d x %lld samples", path, info.cols / 2, (long long)info.rows);
    }
    if (!st && fseek(f, 0, SEEK_SET) != 0) st = mn_error(MN_ERR_IO, "%s: cannot rewind (%s)", path, strerror(errno));
    if (!st) st = csv_pass(path, f, &info, s);
    fclose(f);
    if (st) mn_signal_free(s);
    return st;
}

/* ---------------------------------------------------------------- writer */

typedef struct {
    mn_atomic_file *af;
    char buf[16384];
    size_t len;
} csv_out;

static mn_status out_flush(csv_out *o)
{
    mn_status st = o->len ? mn_atomic_write(o->af, o->buf, o->len) : MN_OK;
    o->len = 0;
    return st;
}

/* Make room for at least 64 more bytes. */
static mn_status out_reserve(csv_out *o)
{
    return sizeof o->buf - o->len < 64 ? out_flush(o) : MN_OK;
}

#define OUT_PRINTF(o, ...) ((o)->len += (size_t)snprintf((o)->buf + (o)->len, sizeof (o)->buf - (o)->len, __VA_ARGS__))

mn_status mn_csv_write(const char *path, const mn_signal *s)
{
    if (!path || !s) return mn_error(MN_ERR_INVALID, "mn_csv_write: path or signal is NULL");
    if (s->nch < 1 || s->n < 1 || !s->x)
        return mn_error(MN_ERR_INVALID, "%s: signal has %d channels of %lld samples; expected at least 1 of 1", path,
                        s->nch, (long long)s->n);
    mn_status st = mn_io_signal_check_finite(s, path);
    if (st) return st;
    mn_atomic_file af;
    st = mn_atomic_open(&af, path);
    if (st) return st;
    csv_out *o = mn_malloc(sizeof *o);
    if (!o) {
        mn_atomic_abort(&af);
        return mn_error(MN_ERR_NOMEM, "%s: out of memory for the write buffer", path);
    }
    o->af = &af;
    o->len = 0;
    if (s->nch == 1) {
        OUT_PRINTF(o, "I,Q\n");
    } else {
        for (int c = 0; c < s->nch && !st; c++) {
            st = out_reserve(o);
            if (!st) OUT_PRINTF(o, "%sI%d,Q%d", c ? "," : "", c, c);
        }
        if (!st) OUT_PRINTF(o, "\n");
    }
    const float *v = (const float *)s->x;
    for (int64_t i = 0; i < s->n && !st; i++) {
        for (int c = 0; c < s->nch && !st; c++) {
            const float *z = v + 2 * ((int64_t)c * s->n + i);
            st = out_reserve(o);
            if (!st) OUT_PRINTF(o, "%s%.9g,%.9g", c ? "," : "", (double)z[0], (double)z[1]);
        }
        if (!st) OUT_PRINTF(o, "\n");
    }
    if (!st) st = out_flush(o);
    mn_free(o);
    if (st) {
        mn_atomic_abort(&af);
        return st;
    }
    return mn_atomic_commit(&af);
}
