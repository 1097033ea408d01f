/*
 * mimonet/report.h — pictures for reports: a small SVG line-plot writer.
 *
 * One call draws one chart: a frame, "nice" axis ticks (1, 2, 2.5, 5 x 10^k) with labels, axis
 * titles, a chart title, any number of named series as polylines (clipped to the frame; a NaN
 * or infinite y breaks the line) and a legend.  The output is a standalone SVG 1.1 document
 * that browsers and the HTML report display directly.
 *
 *     mn_plot_series s[2] = {
 *         {.name = "Tx antenna 0", .x = f_mhz, .y = psd_tx, .n = 1024},
 *         {.name = "noise floor", .x = fx, .y = fy, .n = 2, .dashed = true},
 *     };
 *     mn_plot_cfg c = {.title = "Spectrum", .xlabel = "frequency [MHz]", .ylabel = "dB/Hz"};
 *     mn_report_svg_lineplot_write("spectrum.svg", &c, s, 2);
 *
 * Text is XML-escaped.  Files are written atomically (mn_file_write_atomic).
 */
#ifndef MIMONET_REPORT_H
#define MIMONET_REPORT_H

#include <stdbool.h>
#include "mimonet/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- SVG line plots */

typedef struct {
    const char *name;  /* legend label (NULL or "": not in the legend) */
    const float *x;    /* n abscissae (NULL: 0, 1, ..., n-1) */
    const float *y;    /* n ordinates; NaN/Inf break the line */
    int n;
    const char *color; /* any CSS colour; NULL picks from a fixed palette by series index */
    bool dashed;
    double width;      /* stroke width [px]; 0 selects 1.5 */
} mn_plot_series;

typedef struct {
    const char *title;  /* may be NULL */
    const char *xlabel; /* may be NULL */
    const char *ylabel; /* may be NULL */
    int width, height;  /* [px]; 0 selects 900 x 500 */
    double xmin, xmax;  /* axis range; when xmin >= xmax it is fitted to the data */
    double ymin, ymax;  /* the same for y (with 5 % headroom) */
} mn_plot_cfg;

/* The SVG document as a NUL-terminated string (mn_free it); NULL on a bad argument (no
 * series, n < 1, no finite point) or out of memory, with mn_error_msg() saying which. */
char *mn_report_svg_lineplot(const mn_plot_cfg *cfg, const mn_plot_series *s, int n_series);
/* Render and write to path atomically. */
mn_status mn_report_svg_lineplot_write(const char *path, const mn_plot_cfg *cfg,
                                       const mn_plot_series *s, int n_series);

/* Grouped bars: values[k * n_groups + g] is series k in group g (groups at x = 1..n_groups);
 * bars grow from 0; NaN bars are skipped.  The SVG document (mn_free it) or NULL. */
char *mn_report_svg_bars(const mn_plot_cfg *cfg, const float *values, int n_series, int n_groups,
                         const char *const *series_names);

/* Heatmap of z[j * nx + i] at x = x0 + i dx, y = y0 + j dy (row 0 at the bottom), on a
 * dark-blue -> yellow ramp over the finite range, with a colour bar; NaN cells are left blank;
 * label_cells writes each value in its cell.  The SVG document (mn_free it) or NULL. */
char *mn_report_svg_heatmap(const mn_plot_cfg *cfg, const float *z, int nx, int ny, double x0, double dx,
                            double y0, double dy, bool label_cells);

/* "Nice" tick spacing for a range: the smallest of {1, 2, 2.5, 5} x 10^k that gives at most
 * max_ticks intervals over [lo, hi] (hi > lo, max_ticks >= 1). */
double mn_report_nice_step(double lo, double hi, int max_ticks);
/* The XML/HTML entity that stands for c (&amp; &lt; &gt; &quot;), or NULL when c is itself. */
const char *mn_report_entity(char c);

#ifdef __cplusplus
}
#endif
#endif
