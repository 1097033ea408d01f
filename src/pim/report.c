/* pim/report.c — the HTML report of a cancellation run, with the paper's figures (arXiv
 * 2509.19382, Figs. 6, 7, 8 and 12) drawn as SVG files beside report.html. */
#include "mimonet/dsp.h"
#include "mimonet/io.h"
#include "mimonet/pim.h"
#include "mimonet/report.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum { HEAT = 20, NFFT = 1024, TIME_SAMPLES = 300 };

/* Write an SVG document (taking ownership) to dir/name. */
static mn_status put_svg(const char *dir, const char *name, char *doc)
{
    if (!doc) return mn_error(MN_ERR_NOMEM, "report: %s: %s", name, mn_error_msg());
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mn_status st = mn_file_write_atomic(path, doc, strlen(doc));
    mn_free(doc);
    return st;
}

/* Sum of |a - b|^2 (or |a|^2 when b is NULL) of channel rows over samples [i0, i1). */
static double energy(const float complex *a, const float complex *b, int nch, int64_t n, int64_t i0, int64_t i1)
{
    double e = 0;
    for (int c = 0; c < nch; c++)
        for (int64_t i = i0; i < i1; i++) {
            float complex d = b ? a[(int64_t)c * n + i] - b[(int64_t)c * n + i] : a[(int64_t)c * n + i];
            e += (double)(crealf(d) * crealf(d) + cimagf(d) * cimagf(d));
        }
    return e;
}

/* Fig. 6: APE (pooled) over chunk ranges [start, start + length) of the test segment. */
static char *fig_heatmap(const mn_pim_report *r)
{
    const int64_t lo = r->border, span = r->n - 2 * r->border, chunk = span / HEAT;
    float z[HEAT * HEAT];
    double ey[HEAT], ee[HEAT];
    for (int k = 0; k < HEAT; k++) {
        ey[k] = energy(r->y, NULL, r->n_rx, r->n, lo + k * chunk, lo + (k + 1) * chunk);
        ee[k] = energy(r->y, r->models[0].pred, r->n_rx, r->n, lo + k * chunk, lo + (k + 1) * chunk);
    }
    for (int s = 0; s < HEAT; s++)
        for (int len = 1; len <= HEAT; len++) {
            float *cell = &z[s * HEAT + (len - 1)];
            if (s + len > HEAT) {
                *cell = NAN;
                continue;
            }
            double a = 0, b = 0;
            for (int k = s; k < s + len; k++) {
                a += ey[k];
                b += ee[k];
            }
            *cell = (float)(10.0 * log10(a / b));
        }
    char title[160];
    snprintf(title, sizeof title, "APE (dB) of %s over test segments (chunks of %lld samples)", r->models[0].name,
             (long long)chunk);
    mn_plot_cfg c = {.title = title, .xlabel = "segment length [chunks]", .ylabel = "segment start [chunk]"};
    return mn_report_svg_heatmap(&c, z, HEAT, HEAT, 1, 1, 0, 1, true);
}

/* The Rx channel with the most interference power: the figures show it. */
static int loudest(const mn_pim_report *r)
{
    int best = 0;
    double pb = -1;
    for (int c = 0; c < r->n_rx; c++) {
        double p = energy(r->y + (int64_t)c * r->n, NULL, 1, r->n, r->border, r->n - r->border);
        if (p > pb) {
            pb = p;
            best = c;
        }
    }
    return best;
}

/* Fig. 7: real part of the true and predicted interference, from the middle of the segment. */
static char *fig_time(const mn_pim_report *r, int ch)
{
    int64_t m = r->n < TIME_SAMPLES ? r->n : TIME_SAMPLES, i0 = (r->n - m) / 2;
    float t[TIME_SAMPLES], yt[TIME_SAMPLES], yp[TIME_SAMPLES];
    for (int64_t i = 0; i < m; i++) {
        t[i] = (float)(i0 + i);
        yt[i] = crealf(r->y[(int64_t)ch * r->n + i0 + i]);
        yp[i] = crealf(r->models[0].pred[(int64_t)ch * r->n + i0 + i]);
    }
    char title[128], pname[64];
    snprintf(title, sizeof title, "Rx channel %d, real part: true vs predicted (%s)", ch, r->models[0].name);
    snprintf(pname, sizeof pname, "predicted (%s)", r->models[0].name);
    mn_plot_series s[2] = {{.name = "true interference", .x = t, .y = yt, .n = (int)m},
                           {.name = pname, .x = t, .y = yp, .n = (int)m, .dashed = true}};
    mn_plot_cfg c = {.title = title, .xlabel = "sample", .ylabel = "amplitude"};
    return mn_report_svg_lineplot(&c, s, 2);
}

/* Fig. 8: PSD of interference, prediction, residual; the noise floor when known. */
static char *fig_psd(const mn_pim_report *r, int ch)
{
    const int64_t n = r->n;
    if (n < NFFT) {
        mn_error(MN_ERR_SHAPE, "report: %lld test samples are fewer than the %d-point PSD", (long long)n, NFFT);
        return NULL;
    }
    double fs = r->fs > 0 ? r->fs : 1.0, fscale = r->fs > 0 ? 1e-6 : 1.0;
    float *f = mn_malloc(4 * NFFT * sizeof *f);
    float complex *d = mn_malloc((size_t)n * sizeof *d);
    char *doc = NULL;
    if (f && d) {
        float *py = f + NFFT, *pp = f + 2 * NFFT, *pr = f + 3 * NFFT;
        const float complex *y = r->y + (int64_t)ch * n, *p = r->models[0].pred + (int64_t)ch * n;
        for (int64_t i = 0; i < n; i++) d[i] = y[i] - p[i];
        for (int k = 0; k < NFFT; k++) f[k] = (float)(mn_psd_freq(k, NFFT, fs) * fscale);
        if (mn_psd_welch(py, y, (size_t)n, NFFT, fs, MN_PSD_DENSITY_DB) == MN_OK &&
            mn_psd_welch(pp, p, (size_t)n, NFFT, fs, MN_PSD_DENSITY_DB) == MN_OK &&
            mn_psd_welch(pr, d, (size_t)n, NFFT, fs, MN_PSD_DENSITY_DB) == MN_OK) {
            float nf[2] = {NAN, NAN}, fx[2] = {f[0], f[NFFT - 1]};
            if (isfinite(r->noise_power)) nf[0] = nf[1] = (float)(10.0 * log10(r->noise_power / fs));
            mn_plot_series s[4] = {{.name = "interference", .x = f, .y = py, .n = NFFT},
                                   {.name = "prediction", .x = f, .y = pp, .n = NFFT},
                                   {.name = "residual", .x = f, .y = pr, .n = NFFT},
                                   {.name = "noise floor", .x = fx, .y = nf, .n = 2, .dashed = true, .color = "#555"}};
            char title[128];
            snprintf(title, sizeof title, "Rx channel %d spectrum (%s)", ch, r->models[0].name);
            mn_plot_cfg c = {.title = title, .xlabel = r->fs > 0 ? "frequency [MHz]" : "frequency [cycles/sample]",
                             .ylabel = "PSD [dB/Hz]"};
            doc = mn_report_svg_lineplot(&c, s, isfinite(r->noise_power) ? 4 : 3);
        }
    } else
        mn_error(MN_ERR_NOMEM, "report: PSD buffers");
    mn_free(f);
    mn_free(d);
    return doc;
}

/* Fig. 12: per-channel interference power before and after cancellation (dB). */
static char *fig_channels(const mn_pim_report *r)
{
    float *v = mn_malloc((size_t)2 * r->n_rx * sizeof *v);
    if (!v) return NULL;
    int64_t i0 = r->border, i1 = r->n - r->border;
    for (int c = 0; c < r->n_rx; c++) {
        const float complex *y = r->y + (int64_t)c * r->n, *p = r->models[0].pred + (int64_t)c * r->n;
        double cnt = (double)(i1 - i0);
        v[c] = (float)(10.0 * log10(energy(y, NULL, 1, r->n, i0, i1) / cnt));
        v[r->n_rx + c] = (float)(10.0 * log10(energy(y, p, 1, r->n, i0, i1) / cnt));
    }
    const char *names[2] = {"before (PIM + noise)", "after cancellation"};
    char title[128];
    snprintf(title, sizeof title, "Per-channel power before and after cancellation (%s)", r->models[0].name);
    mn_plot_cfg c = {.title = title, .xlabel = "Rx channel (1-based)", .ylabel = "power [dB]"};
    char *doc = mn_report_svg_bars(&c, v, 2, r->n_rx, names);
    mn_free(v);
    return doc;
}

/* Training curves: validation APE of every model that has one. */
static char *fig_training(const mn_pim_report *r, bool val)
{
    mn_plot_series s[8];
    int ns = 0;
    for (int k = 0; k < r->n_models && ns < 8; k++) {
        const mn_pim_report_model *m = &r->models[k];
        if (!m->curve_n || !m->curve_step) continue;
        s[ns++] = (mn_plot_series){.name = m->name, .x = m->curve_step, .y = val ? m->curve_val : m->curve_loss,
                                   .n = m->curve_n};
    }
    if (!ns) return NULL;
    mn_plot_cfg c = {.title = val ? "Validation APE during training" : "Training loss (scaled MSE, border excluded)",
                     .xlabel = "step", .ylabel = val ? "APE [dB]" : "loss"};
    return mn_report_svg_lineplot(&c, s, ns);
}

typedef struct {
    char *s;
    size_t len, cap;
    bool failed;
} text;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void tput(text *t, const char *fmt, ...)
{
    if (t->failed) return;
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    const int n = vsnprintf(NULL, 0, fmt, ap); /* any length: a title holds the user's paths */
    va_end(ap);
    if (n < 0) t->failed = true;
    if (!t->failed && t->len + (size_t)n + 1 > t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 8192;
        while (cap < t->len + (size_t)n + 1) cap *= 2;
        char *p = mn_realloc(t->s, cap);
        if (!p) t->failed = true;
        else {
            t->s = p;
            t->cap = cap;
        }
    }
    if (!t->failed) {
        vsnprintf(t->s + t->len, (size_t)n + 1, fmt, aq);
        t->len += (size_t)n;
    }
    va_end(aq);
}

/* s with &, <, > and " escaped for HTML, appended to t. */
static void tput_escaped(text *t, const char *s)
{
    for (; s && *s; s++) {
        const char *e = mn_report_entity(*s);
        if (e) tput(t, "%s", e);
        else tput(t, "%c", *s);
    }
}

mn_status mn_pim_report_write(const char *dir, const mn_pim_report *r)
{
    if (!r || r->n_models < 1 || !r->y || r->n_rx < 1 || r->n - 2 * r->border < HEAT)
        return mn_error(MN_ERR_INVALID, "report: needs a test segment longer than %d samples and a model", HEAT);
    int ch = loudest(r);
    mn_status st = put_svg(dir, "heatmap.svg", fig_heatmap(r));
    if (st == MN_OK) st = put_svg(dir, "time.svg", fig_time(r, ch));
    if (st == MN_OK) st = put_svg(dir, "psd.svg", fig_psd(r, ch));
    if (st == MN_OK) st = put_svg(dir, "channels.svg", fig_channels(r));
    char *tr_val = fig_training(r, true), *tr_loss = fig_training(r, false);
    bool curves = tr_val && tr_loss;
    if (st == MN_OK && curves) st = put_svg(dir, "training.svg", tr_val);
    else mn_free(tr_val);
    if (st == MN_OK && curves) st = put_svg(dir, "loss.svg", tr_loss);
    else mn_free(tr_loss);
    if (st != MN_OK) return st;

    text t = {0};
    tput(&t, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>mimonet PIM cancellation report</title>\n"
             "<style>body{font-family:Helvetica,Arial,sans-serif;max-width:960px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:4px 10px;text-align:right}"
             "th{background:#eee}td:first-child{text-align:left}img{max-width:100%%;border:1px solid #ddd;margin:6px 0}"
             ".note{color:#555;font-size:90%%}</style></head><body>\n");
    tput(&t, "<h1>PIM cancellation report</h1>\n<p>");
    tput_escaped(&t, r->title);
    tput(&t, ". Test segment: %lld samples per Rx channel, %d Rx channels; %d samples excluded at each end "
             "(receptive field).</p>\n",
         (long long)r->n, r->n_rx, r->border);
    tput(&t, "<h2>Models on the held-out test segment</h2>\n<table><tr><th>model</th><th>APE pooled [dB]</th>"
             "<th>APE mean [dB]</th><th>NMSE [dB]</th><th>parameters</th><th>MAC/sample</th><th>fit time [s]</th></tr>\n");
    for (int k = 0; k < r->n_models; k++) {
        const mn_pim_report_model *m = &r->models[k];
        mn_pim_metrics mt;
        if (mn_pim_metrics_compute(&mt, NULL, r->y, m->pred, r->n_rx, r->n, r->n, r->border) != MN_OK) continue;
        char fit[32] = "&ndash;"; /* not known (a model scored by pim eval) */
        if (isfinite(m->train_seconds)) snprintf(fit, sizeof fit, "%.1f", m->train_seconds);
        tput(&t, "<tr><td>");
        tput_escaped(&t, m->name);
        tput(&t, "</td><td>%.2f</td><td>%.2f</td><td>%.2f</td><td>%ld</td><td>%ld</td><td>%s</td></tr>\n", mt.ape_db,
             mt.ape_mean_db, mt.nmse_db, m->params, m->macs, fit);
    }
    tput(&t, "</table>\n");
    if (isfinite(r->noise_power)) {
        double py = energy(r->y, NULL, r->n_rx, r->n, r->border, r->n - r->border) /
                    ((double)r->n_rx * (double)(r->n - 2 * r->border));
        tput(&t, "<p>Noise ceiling: <b>%.2f dB</b> (no canceller can exceed 10 log10 of interference power over "
                 "noise power).</p>\n",
             mn_pim_noise_ceiling_db(py, r->noise_power));
    }
    tput(&t, "<p class=\"note\">APE pooled = 10 log10(&Sigma;|y|&sup2; / &Sigma;|y &minus; &ycirc;|&sup2;) over all channels; "
             "APE mean averages the per-channel APE in dB; NMSE = &minus;APE pooled.</p>\n");
    tput(&t, "<h2>APE over test segments (Fig. 6)</h2>\n<img src=\"heatmap.svg\" alt=\"APE heatmap\">\n"
             "<h2>Time domain (Fig. 7)</h2>\n<img src=\"time.svg\" alt=\"time domain\">\n"
             "<h2>Spectrum (Fig. 8)</h2>\n<img src=\"psd.svg\" alt=\"PSD\">\n"
             "<h2>Per-channel cancellation (Fig. 12)</h2>\n<img src=\"channels.svg\" alt=\"per-channel bars\">\n");
    if (curves)
        tput(&t, "<h2>Training</h2>\n<img src=\"loss.svg\" alt=\"training loss\">\n<img src=\"training.svg\" "
                 "alt=\"validation APE\">\n");
    tput(&t, "<p class=\"note\">Written by mimonet %s.</p>\n</body></html>\n", MN_VERSION_STRING);
    if (t.failed) {
        mn_free(t.s);
        return mn_error(MN_ERR_NOMEM, "report: HTML page");
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/report.html", dir);
    st = mn_file_write_atomic(path, t.s, t.len);
    mn_free(t.s);
    return st;
}
