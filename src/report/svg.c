/* report/svg.c — a small SVG line-plot writer (see mimonet/report.h): frame, nice ticks, axis
 * labels, clipped polylines, legend.  Built in a growing string; written atomically. */
#include "mimonet/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mimonet/io.h"

typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(sbuf *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *p = mn_realloc(b->s, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
}

const char *mn_report_entity(char c)
{
    switch (c) {
    case '&': return "&amp;";
    case '<': return "&lt;";
    case '>': return "&gt;";
    case '"': return "&quot;";
    default: return NULL;
    }
}

/* XML-escaped text. */
static void put_text(sbuf *b, const char *t)
{
    for (; t && *t; t++) {
        const char *e = mn_report_entity(*t);
        if (e) put(b, "%s", e);
        else put(b, "%c", *t);
    }
}

double mn_report_nice_step(double lo, double hi, int max_ticks)
{
    if (!(hi > lo) || max_ticks < 1) return 1.0;
    double raw = (hi - lo) / max_ticks, p = pow(10.0, floor(log10(raw)));
    static const double m[] = {1, 2, 2.5, 5, 10};
    for (int i = 0; i < 5; i++)
        if (m[i] * p >= raw * (1 - 1e-12)) return m[i] * p;
    return 10 * p;
}

/* Decimals needed to print multiples of step exactly (2.5 -> 1, 0.25 -> 2, 50 -> 0). */
static int decimals(double step)
{
    int d = 0;
    while (d < 12 && fabs(step * pow(10.0, d) - floor(step * pow(10.0, d) + 0.5)) > 1e-6 * step * pow(10.0, d)) d++;
    return d;
}

static const char *palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"};

/* Grid, tick labels and axis titles for the frame [L, L + pw] x [T, T + ph] showing
 * [xmin, xmax] x [ymin, ymax]; shared by every chart kind. */
/* The SVG prologue, white background, a clip path for the plot area and the title. */
static void doc_open(sbuf *b, const mn_plot_cfg *cfg, double W, double H, double L, double T, double pw, double ph)
{
    put(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n",
        W, H, W, H);
    put(b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", W, H);
    put(b, "<defs><clipPath id=\"plotarea\"><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
            "</clipPath></defs>\n", L, T, pw, ph);
    if (cfg->title) {
        put(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">", L + pw / 2, T - 18);
        put_text(b, cfg->title);
        put(b, "</text>\n");
    }
}

/* Finish a document: the closing tag, and NOMEM if any append failed. */
static mn_status doc_close(sbuf *b, char **out, const char *what)
{
    put(b, "</svg>\n");
    if (b->failed) {
        mn_free(b->s);
        return mn_error(MN_ERR_NOMEM, "svg %s: document of %zu bytes", what, b->len);
    }
    *out = b->s;
    return MN_OK;
}

/* xstep_min > 0: x ticks at least that far apart (1 for bar groups, which sit at integers). */
static void draw_axes(sbuf *b, const mn_plot_cfg *cfg, double H, double L, double T, double pw, double ph,
                      double xmin, double xmax, double ymin, double ymax, double xstep_min)
{
#define XP(x) (L + ((x) - xmin) / (xmax - xmin) * pw)
#define YP(y) (T + (ymax - (y)) / (ymax - ymin) * ph)
    double xs = fmax(mn_report_nice_step(xmin, xmax, 8), xstep_min), ys = mn_report_nice_step(ymin, ymax, 8);
    int xd = decimals(xs), yd = decimals(ys);
    put(b, "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n");
    /* tick i sits at i * step, for i from ceil(min / step) to floor(max / step) */
    long xi0 = (long)ceil(xmin / xs - 1e-9), xi1 = (long)floor(xmax / xs + 1e-9);
    long yi0 = (long)ceil(ymin / ys - 1e-9), yi1 = (long)floor(ymax / ys + 1e-9);
    for (long i = xi0; i <= xi1; i++)
        put(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", XP(i * xs), T, XP(i * xs), T + ph);
    for (long i = yi0; i <= yi1; i++)
        put(b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", L, YP(i * ys), L + pw, YP(i * ys));
    put(b, "</g>\n<g fill=\"black\">\n");
    for (long i = xi0; i <= xi1; i++)
        put(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%.*f</text>\n", XP(i * xs), T + ph + 16, xd,
            i == 0 ? 0.0 : (double)i * xs);
    for (long i = yi0; i <= yi1; i++)
        put(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%.*f</text>\n", L - 6, YP(i * ys) + 4, yd,
            i == 0 ? 0.0 : (double)i * ys);
    put(b, "</g>\n");
    if (cfg->xlabel) {
        put(b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"13\">", L + pw / 2, H - 18);
        put_text(b, cfg->xlabel);
        put(b, "</text>\n");
    }
    if (cfg->ylabel) {
        put(b, "<text x=\"18\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"13\" transform=\"rotate(-90 18 %.2f)\">",
            T + ph / 2, T + ph / 2);
        put_text(b, cfg->ylabel);
        put(b, "</text>\n");
    }
#undef XP
#undef YP
}

static mn_status render(char **out, const mn_plot_cfg *cfg, const mn_plot_series *s, int n_series)
{
    *out = NULL;
    if (!cfg || !s || n_series < 1) return mn_error(MN_ERR_INVALID, "svg plot: no series given");
    double W = cfg->width > 0 ? cfg->width : 900, H = cfg->height > 0 ? cfg->height : 500;
    double xmin = cfg->xmin, xmax = cfg->xmax, ymin = cfg->ymin, ymax = cfg->ymax;
    bool fitx = !(xmin < xmax), fity = !(ymin < ymax);
    double dx0 = (double)INFINITY, dx1 = -(double)INFINITY, dy0 = (double)INFINITY, dy1 = -(double)INFINITY;
    for (int k = 0; k < n_series; k++) {
        if (s[k].n < 1 || !s[k].y)
            return mn_error(MN_ERR_INVALID, "svg plot: series %d ('%s') has no points", k, s[k].name ? s[k].name : "");
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x ? (double)s[k].x[i] : i, y = (double)s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) continue;
            dx0 = fmin(dx0, x);
            dx1 = fmax(dx1, x);
            dy0 = fmin(dy0, y);
            dy1 = fmax(dy1, y);
        }
    }
    if (!(dx0 <= dx1)) return mn_error(MN_ERR_INVALID, "svg plot: no finite point in %d series", n_series);
    if (fitx) {
        xmin = dx0;
        xmax = dx1 > dx0 ? dx1 : dx0 + 1;
    }
    if (fity) {
        double pad = dy1 > dy0 ? 0.05 * (dy1 - dy0) : 1;
        ymin = dy0 - pad;
        ymax = dy1 + pad;
    }
    const double L = 80, R = 20, T = cfg->title ? 50 : 20, B = 60;
    double pw = W - L - R, ph = H - T - B;
#define XP(x) (L + ((x) - xmin) / (xmax - xmin) * pw)
#define YP(y) (T + (ymax - (y)) / (ymax - ymin) * ph)
    sbuf b = {0};
    doc_open(&b, cfg, W, H, L, T, pw, ph);
    draw_axes(&b, cfg, H, L, T, pw, ph, xmin, xmax, ymin, ymax, 0);
    /* series: one polyline per run of finite points */
    put(&b, "<g clip-path=\"url(#plotarea)\" fill=\"none\" stroke-linejoin=\"round\">\n");
    for (int k = 0; k < n_series; k++) {
        const char *col = s[k].color ? s[k].color : palette[k % 8];
        double w = s[k].width > 0 ? s[k].width : 1.5;
        bool open = false;
        for (int i = 0; i < s[k].n; i++) {
            double x = s[k].x ? (double)s[k].x[i] : i, y = (double)s[k].y[i];
            if (!isfinite(x) || !isfinite(y)) {
                if (open) put(&b, "\"/>\n");
                open = false;
                continue;
            }
            if (!open) {
                put(&b, "<polyline stroke=\"");
                put_text(&b, col);
                put(&b, "\" stroke-width=\"%.2f\"%s points=\"", w, s[k].dashed ? " stroke-dasharray=\"6,4\"" : "");
                open = true;
            }
            put(&b, "%.2f,%.2f ", XP(x), YP(y));
        }
        if (open) put(&b, "\"/>\n");
    }
    put(&b, "</g>\n");
    put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n", L, T, pw, ph);
    /* legend, top right inside the frame */
    int nl = 0;
    size_t longest = 0;
    for (int k = 0; k < n_series; k++)
        if (s[k].name && *s[k].name) {
            nl++;
            longest = strlen(s[k].name) > longest ? strlen(s[k].name) : longest;
        }
    if (nl) {
        double lw = 40 + 7.0 * (double)longest, lh = 8 + 18.0 * nl, lx = L + pw - lw - 8, ly = T + 8;
        put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"white\" fill-opacity=\"0.85\" "
                "stroke=\"#999\"/>\n", lx, ly, lw, lh);
        int row = 0;
        for (int k = 0; k < n_series; k++) {
            if (!s[k].name || !*s[k].name) continue;
            double yy = ly + 16 + 18.0 * row++;
            put(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"", lx + 6, yy - 4, lx + 30, yy - 4);
            put_text(&b, s[k].color ? s[k].color : palette[k % 8]);
            put(&b, "\" stroke-width=\"2\"%s/>\n<text x=\"%.2f\" y=\"%.2f\">", s[k].dashed ? " stroke-dasharray=\"6,4\"" : "",
                lx + 36, yy);
            put_text(&b, s[k].name);
            put(&b, "</text>\n");
        }
    }
#undef XP
#undef YP
    return doc_close(&b, out, "plot");
}

char *mn_report_svg_lineplot(const mn_plot_cfg *cfg, const mn_plot_series *s, int n_series)
{
    char *doc;
    return render(&doc, cfg, s, n_series) == MN_OK ? doc : NULL;
}

mn_status mn_report_svg_lineplot_write(const char *path, const mn_plot_cfg *cfg,
                                       const mn_plot_series *s, int n_series)
{
    char *doc;
    mn_status st = render(&doc, cfg, s, n_series);
    if (st != MN_OK) return mn_error(st, "%s: %s", path, mn_error_msg());
    st = mn_file_write_atomic(path, doc, strlen(doc));
    mn_free(doc);
    return st;
}

/* ------------------------------------------------------------------ grouped bars */

char *mn_report_svg_bars(const mn_plot_cfg *cfg, const float *values, int n_series, int n_groups,
                         const char *const *series_names)
{
    if (!cfg || !values || n_series < 1 || n_groups < 1) {
        mn_error(MN_ERR_INVALID, "svg bars: %d series of %d groups", n_series, n_groups);
        return NULL;
    }
    double lo = 0, hi = 0;
    for (int i = 0; i < n_series * n_groups; i++)
        if (isfinite(values[i])) {
            lo = fmin(lo, (double)values[i]);
            hi = fmax(hi, (double)values[i]);
        }
    if (!(hi > lo)) hi = lo + 1;
    double W = cfg->width > 0 ? cfg->width : 900, H = cfg->height > 0 ? cfg->height : 500;
    double ymin = cfg->ymin < cfg->ymax ? cfg->ymin : lo - 0.05 * (hi - lo);
    double ymax = cfg->ymin < cfg->ymax ? cfg->ymax : hi + 0.05 * (hi - lo);
    double xmin = 0.5, xmax = n_groups + 0.5;
    const double L = 80, T = cfg->title ? 50 : 20, pw = W - L - 20, ph = H - T - 60;
    sbuf b = {0};
    doc_open(&b, cfg, W, H, L, T, pw, ph);
    draw_axes(&b, cfg, H, L, T, pw, ph, xmin, xmax, ymin, ymax, 1);
    /* bars at most 60 px wide, each group's centred on its slot (a single Rx channel would
     * otherwise fill the plot) */
    double slot = pw / n_groups, bw = fmin(0.8 * slot / n_series, 60.0);
    double y0 = T + (ymax - fmax(ymin, 0.0)) / (ymax - ymin) * ph; /* bars grow from 0 */
    put(&b, "<g clip-path=\"url(#plotarea)\">\n");
    for (int k = 0; k < n_series; k++)
        for (int g = 0; g < n_groups; g++) {
            double v = (double)values[(size_t)k * n_groups + g];
            if (!isfinite(v)) continue;
            double yv = T + (ymax - v) / (ymax - ymin) * ph;
            double x = L + g * slot + 0.5 * (slot - n_series * bw) + k * bw;
            put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n", x, fmin(yv, y0),
                bw * 0.95, fabs(y0 - yv), palette[k % 8]);
        }
    put(&b, "</g>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n", L, T,
        pw, ph);
    for (int k = 0; series_names && k < n_series; k++) {
        double lx = L + pw - 200, ly = T + 18 + 18.0 * k;
        put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%.2f\" y=\"%.2f\">", lx,
            ly - 9, palette[k % 8], lx + 20, ly);
        put_text(&b, series_names[k]);
        put(&b, "</text>\n");
    }
    char *doc = NULL;
    return doc_close(&b, &doc, "bars") == MN_OK ? doc : NULL;
}

/* ------------------------------------------------------------------ heatmap */

/* A perceptually ordered colour ramp (dark blue -> teal -> yellow), t in [0, 1]. */
static void ramp(double t, int rgb[3])
{
    static const double k[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    t = fmin(1.0, fmax(0.0, t)) * 4.0;
    int i = t >= 4.0 ? 3 : (int)t;
    double f = t - i;
    for (int c = 0; c < 3; c++) rgb[c] = (int)lround(k[i][c] + f * (k[i + 1][c] - k[i][c]));
}

char *mn_report_svg_heatmap(const mn_plot_cfg *cfg, const float *z, int nx, int ny, double x0, double dx,
                            double y0, double dy, bool label_cells)
{
    if (!cfg || !z || nx < 1 || ny < 1 || !(dx > 0) || !(dy > 0)) {
        mn_error(MN_ERR_INVALID, "svg heatmap: %d x %d cells", nx, ny);
        return NULL;
    }
    double lo = (double)INFINITY, hi = -(double)INFINITY;
    for (int i = 0; i < nx * ny; i++)
        if (isfinite(z[i])) {
            lo = fmin(lo, (double)z[i]);
            hi = fmax(hi, (double)z[i]);
        }
    if (!(lo <= hi)) {
        mn_error(MN_ERR_INVALID, "svg heatmap: no finite cell");
        return NULL;
    }
    if (!(hi > lo)) hi = lo + 1;
    double W = cfg->width > 0 ? cfg->width : 900, H = cfg->height > 0 ? cfg->height : 500;
    const double L = 80, T = cfg->title ? 50 : 20, pw = W - L - 110, ph = H - T - 60;
    double xmin = x0 - dx / 2, xmax = x0 + (nx - 0.5) * dx, ymin = y0 - dy / 2, ymax = y0 + (ny - 0.5) * dy;
    sbuf b = {0};
    doc_open(&b, cfg, W, H, L, T, pw, ph);
    double cw = pw / nx, chh = ph / ny;
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            double v = (double)z[(size_t)j * nx + i];
            if (!isfinite(v)) continue;
            int c[3];
            ramp((v - lo) / (hi - lo), c);
            double x = L + i * cw, y = T + (ny - 1 - j) * chh; /* row 0 at the bottom */
            put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"rgb(%d,%d,%d)\"/>\n", x, y,
                cw + 0.5, chh + 0.5, c[0], c[1], c[2]);
            if (label_cells)
                put(&b, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" font-size=\"10\" fill=\"%s\">%.1f</text>\n",
                    x + cw / 2, y + chh / 2 + 4, (v - lo) / (hi - lo) > 0.6 ? "black" : "white", v);
        }
    draw_axes(&b, cfg, H, L, T, pw, ph, xmin, xmax, ymin, ymax, 0);
    put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"black\"/>\n", L, T, pw, ph);
    /* colour bar */
    double bx = L + pw + 30;
    for (int s_ = 0; s_ < 50; s_++) {
        int c[3];
        ramp(s_ / 49.0, c);
        put(&b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"18\" height=\"%.2f\" fill=\"rgb(%d,%d,%d)\"/>\n", bx,
            T + ph - (s_ + 1) * ph / 50, ph / 50 + 0.5, c[0], c[1], c[2]);
    }
    put(&b, "<text x=\"%.2f\" y=\"%.2f\">%.1f</text>\n<text x=\"%.2f\" y=\"%.2f\">%.1f</text>\n", bx + 22, T + 10, hi,
        bx + 22, T + ph, lo);
    char *doc = NULL;
    return doc_close(&b, &doc, "heatmap") == MN_OK ? doc : NULL;
}
