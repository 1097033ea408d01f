/* tests/pim/test_sim_svg.c — the SVG line-plot writer used for the simulator's spectrum.svg:
 * nice tick steps, tick labels, XML escaping, NaN breaking a line, legend, bad arguments,
 * and the atomic file write. */
#include "mn_test.h"

#include <string.h>

#include "mimonet/io.h"
#include "mimonet/report.h"

static int count(const char *s, const char *sub)
{
    int n = 0;
    for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
    return n;
}

MN_TEST(report_svg_nice_steps)
{
    MN_CHECK_NEAR(t, mn_report_nice_step(0, 10, 8), 2.0, 1e-12);    /* 1.25 -> 2 */
    MN_CHECK_NEAR(t, mn_report_nice_step(0, 100, 5), 20.0, 1e-12);  /* 20 */
    MN_CHECK_NEAR(t, mn_report_nice_step(-150, -30, 8), 20.0, 1e-12); /* 15 -> 20 */
    MN_CHECK_NEAR(t, mn_report_nice_step(1742.8, 1865.7, 8), 20.0, 1e-12);
    MN_CHECK_NEAR(t, mn_report_nice_step(0, 0.9, 4), 0.25, 1e-12);  /* 0.225 -> 0.25 */
    MN_CHECK_NEAR(t, mn_report_nice_step(0, 1, 1), 1.0, 1e-12);
}

MN_TEST(report_svg_lineplot_content)
{
    float x[5] = {0, 1, 2, 3, 4}, y[5] = {0, 1, NAN, 3, 4}, y2[2] = {-1, 5}, x2[2] = {0, 4};
    mn_plot_series s[2] = {
        {.name = "a < b & \"c\"", .x = x, .y = y, .n = 5},
        {.name = "floor", .x = x2, .y = y2, .n = 2, .dashed = true, .color = "black"},
    };
    mn_plot_cfg c = {.title = "T&itle", .xlabel = "f [MHz]", .ylabel = "dB", .xmin = 0, .xmax = 4, .ymin = -10, .ymax = 10};
    char *svg = mn_report_svg_lineplot(&c, s, 2);
    MN_CHECK(t, svg != NULL);
    if (!svg) return;
    MN_CHECK(t, strncmp(svg, "<?xml", 5) == 0 && strstr(svg, "<svg") && strstr(svg, "</svg>"));
    MN_CHECK(t, strstr(svg, "a &lt; b &amp; &quot;c&quot;") != NULL); /* escaped legend */
    MN_CHECK(t, strstr(svg, "T&amp;itle") != NULL);
    MN_CHECK(t, count(svg, "<polyline") == 3); /* the NaN splits series 0 in two */
    MN_CHECK(t, count(svg, "stroke-dasharray") == 2); /* dashed line + its legend sample */
    /* y ticks every 2.5 from -10 to 10 (nice step for 20 / 8): nine labels, "-7.5" among them */
    MN_CHECK(t, strstr(svg, ">-7.5</text>") != NULL && strstr(svg, ">10.0</text>") != NULL);
    MN_CHECK(t, strstr(svg, ">-0.0<") == NULL);
    /* x = 3 maps to L + 3/4 pw = 80 + 600 = 680 (frame 900 px wide, margins 80 and 20) */
    MN_CHECK(t, strstr(svg, "680.00,") != NULL);
    mn_free(svg);
    /* bad input */
    MN_CHECK(t, mn_report_svg_lineplot(&c, s, 0) == NULL);
    float bad[2] = {NAN, INFINITY};
    mn_plot_series sb = {.name = "x", .y = bad, .n = 2};
    MN_CHECK(t, mn_report_svg_lineplot(&c, &sb, 1) == NULL && strstr(mn_error_msg(), "no finite point"));
    /* file */
    char path[4200];
    snprintf(path, sizeof path, "%s/p.svg", mn_test_tmpdir(t));
    MN_CHECK_OK(t, mn_report_svg_lineplot_write(path, &c, s, 2));
    char *txt = NULL;
    size_t len = 0;
    MN_CHECK_OK(t, mn_file_read_all(path, 1 << 20, &txt, &len));
    MN_CHECK(t, txt && strstr(txt, "</svg>"));
    mn_free(txt);
}
