/* cli/cmd_simulate.c — `mimonet pim simulate`: record a PIM scenario to DIR.
 *
 *   mimonet pim simulate --out DIR [--scenario static|dynamic] [--tx 32] [--rx 16]
 *                        [--samples 200000] [--pnr 40] [--seed 1] [--format npy|sigmf] ...
 *
 * Writes DIR/tx.npy (complex64 [n_tx, N], DL baseband at f_dl), DIR/rx.npy (PIM + noise,
 * complex64 [n_rx, N], UL baseband at f_rx = f_dl - fs), DIR/pim.npy (noise-free PIM),
 * DIR/meta.json (the scenario: rates, carriers, junctions, couplings, noise power) and
 * DIR/spectrum.svg (Welch PSDs of a Tx antenna, of the PIM and rx at the strongest Rx antenna,
 * and the noise floor, on one absolute-frequency axis).  --format sigmf also writes SigMF pairs
 * DIR/{tx,rx,pim}.sigmf-{meta,data}.  Existing files are not replaced without --force. */
#include "cli_simulate.h"

#include <cjson/cJSON.h>
#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "mimonet/dsp.h"
#include "mimonet/io.h"
#include "mimonet/pim.h"
#include "mimonet/report.h"

static const char *const CMD = "pim simulate";

typedef struct {
    bool quiet, tty;
    int last;
} progress_state;

static void progress(double frac, void *user)
{
    progress_state *p = user;
    if (p->quiet) return;
    int pct = (int)(100 * frac);
    if (p->tty) {
        fprintf(stderr, "\rsimulating: %3d%%", pct);
        if (frac >= 1) fputc('\n', stderr);
    } else if (pct / 25 > p->last / 25 || frac >= 1) {
        fprintf(stderr, "simulating: %d%%\n", pct);
    }
    p->last = pct;
}

/* Welch PSD in dB/Hz of one row, as float MHz/dB arrays on an absolute axis centred at fc. */
static mn_status psd_series(float *f_mhz, float *db, const float complex *x, int64_t n, int nf, double fs, double fc)
{
    mn_status st = mn_psd_welch(db, x, (size_t)n, nf, fs, MN_PSD_DENSITY_DB);
    for (int k = 0; k < nf; k++) f_mhz[k] = (float)((fc + mn_psd_freq(k, nf, fs)) / 1e6);
    return st;
}

static mn_status write_plot(const char *path, const mn_pim_sim_cfg *c, const float complex *tx,
                            const float complex *pim, const float complex *rx, int64_t n,
                            const mn_pim_sim_info *info)
{
    int nf = 1024;
    while (nf > 16 && (int64_t)nf > n) nf /= 2;
    if ((int64_t)nf > n) return MN_OK; /* too short to draw */
    /* the Rx antenna with the strongest PIM */
    int best = 0;
    double bp = -1;
    for (int r = 0; r < c->n_rx; r++) {
        double s = 0;
        for (int64_t i = 0; i < n; i += 7) s += (double)(cabsf(pim[r * n + i]) * cabsf(pim[r * n + i]));
        if (s > bp) {
            bp = s;
            best = r;
        }
    }
    double f_rx = c->f_dl - c->fs;
    float *buf = mn_malloc((size_t)nf * 6 * sizeof *buf);
    if (!buf) return mn_error(MN_ERR_NOMEM, "%s: plot buffers", path);
    float *ftx = buf, *ptx = buf + nf, *frx = buf + 2 * nf, *ppim = buf + 3 * nf, *prx = buf + 4 * nf;
    mn_status st = psd_series(ftx, ptx, tx, n, nf, c->fs, c->f_dl);
    if (st == MN_OK) st = psd_series(frx, ppim, pim + best * n, n, nf, c->fs, f_rx);
    if (st == MN_OK) st = psd_series(frx, prx, rx + best * n, n, nf, c->fs, f_rx);
    float floor_db = (float)(10 * log10(info->noise_power / c->fs));
    float nfx[2] = {frx[0], frx[nf - 1]}, nfy[2] = {floor_db, floor_db};
    double top = -1e300;
    for (int k = 0; k < nf; k++) top = fmax(top, fmax((double)ptx[k], (double)ppim[k]));
    double ylo = floor((double)((floor_db - 25) / 10)) * 10;
    double yhi = ceil((top + 0.3 * (top - ylo)) / 10) * 10; /* room for the legend */
    float ulx[2] = {1785.0f, 1785.0f}, uly[2] = {(float)ylo, (float)yhi};
    char rxname[96], pimname[96], title[256];
    snprintf(rxname, sizeof rxname, "rx = PIM + noise at Rx %d", best);
    snprintf(pimname, sizeof pimname, "PIM at Rx %d, UL frame (re mean PIM power 1)", best);
    snprintf(title, sizeof title, "PIM scenario (%s, seed %llu): DL carriers and the IM3 in the UL channel at %.2f MHz",
             c->scenario == MN_PIM_DYNAMIC ? "dynamic" : "static", (unsigned long long)c->seed, f_rx / 1e6);
    mn_plot_series s[5] = {
        {.name = "Tx antenna 0, DL frame (re unit power)", .x = ftx, .y = ptx, .n = nf, .color = "#1f77b4"},
        {.name = rxname, .x = frx, .y = prx, .n = nf, .color = "#aaaaaa"},
        {.name = pimname, .x = frx, .y = ppim, .n = nf, .color = "#d62728"},
        {.name = "noise floor", .x = nfx, .y = nfy, .n = 2, .color = "black", .dashed = true},
        {.name = "band 3 UL edge (1785 MHz)", .x = ulx, .y = uly, .n = 2, .color = "#2ca02c", .dashed = true, .width = 1},
    };
    bool band3 = c->f_dl >= 1805e6 && c->f_dl <= 1880e6;
    mn_plot_cfg pc = {
        .title = title,
        .xlabel = "frequency [MHz]",
        .ylabel = "PSD [dB/Hz]",
        .width = 1000,
        .height = 520,
        .xmin = (double)frx[0],
        .xmax = (double)ftx[nf - 1],
        .ymin = ylo,
        .ymax = yhi,
    };
    if (st == MN_OK) st = mn_report_svg_lineplot_write(path, &pc, s, band3 ? 5 : 4);
    mn_free(buf);
    return st;
}

int mn_cli_pim_simulate(int argc, char **argv)
{
    const char *out = NULL, *scenario = "static", *format = "npy", *kind = "mixed";
    int n_tx = 32, n_rx = 16, threads = 0, junctions = 4, oversample = 8;
    int64_t samples = 200000;
    double pnr = 40.0, drive = 1.0, drift_tau = 0;
    uint64_t seed = 1;
    bool force = false, quiet = false, plot = true, no_plot = false;
    mn_opt opts[] = {
        {"--out", MN_OPT_STR, &out, 0, -1, "output folder (required; created if missing)", false},
        {"--scenario", MN_OPT_STR, &scenario, 0, -1, "static (fixed coefficients) or dynamic (drift + traffic); default static", false},
        {"--tx", MN_OPT_INT, &n_tx, 1, 1024, "Tx antennas (default 32)", false},
        {"--rx", MN_OPT_INT, &n_rx, 1, 1024, "Rx antennas (default 16)", false},
        {"--samples", MN_OPT_I64, &samples, 1024, 1e9, "samples per antenna at 61.44 Msps, >= 1024 (default 200000)", false},
        {"--pnr", MN_OPT_DOUBLE, &pnr, -50, 200, "PIM-to-noise ratio over the Rx band [dB] (default 40)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "random seed (default 1)", false},
        {"--format", MN_OPT_STR, &format, 0, -1, "npy, or sigmf (npy plus SigMF pairs); default npy", false},
        {"--junctions", MN_OPT_INT, &junctions, 1, MN_PIM_MAX_JUNCTIONS, "PIM junctions (default 4)", false},
        {"--junction-kind", MN_OPT_STR, &kind, 0, -1, "mixed, tunnel, contact or cubic (default mixed)", false},
        {"--drift-tau", MN_OPT_DOUBLE, &drift_tau, 1, 1e12, "dynamic: drift correlation time in samples (default 50000, 0.8 ms)", false},
        {"--drive", MN_OPT_DOUBLE, &drive, 1e-3, 20, "junction drive, rms of b|v| (default 1.0)", false},
        {"--oversample", MN_OPT_INT, &oversample, 4, 16, "oversampling of the nonlinearity: 4, 8, 12, 16 (default 8)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all; output does not depend on it)", false},
        {"--plot", MN_OPT_FLAG, &plot, 0, -1, "write DIR/spectrum.svg (the default)", false},
        {"--no-plot", MN_OPT_FLAG, &no_plot, 0, -1, "skip DIR/spectrum.svg", false},
        {"--force", MN_OPT_FLAG, &force, 0, -1, "replace existing output files", false},
        {"--quiet", MN_OPT_FLAG, &quiet, 0, -1, "no progress on stderr", false},
        {NULL, MN_OPT_FLAG, NULL, 0, 0, NULL, false},
    };
    bool help = false;
    if (!mn_args_parse(CMD, argc, argv, 1, opts, &help)) {
        if (help) {
            mn_args_usage(CMD, "--out DIR [options]", opts);
            return MN_EXIT_OK;
        }
        return MN_EXIT_USAGE;
    }
    if (!out) return mn_cli_fail(MN_EXIT_USAGE, CMD, "--out DIR is required (the folder for tx.npy, rx.npy, pim.npy, meta.json)");
    mn_pim_sim_cfg c = mn_pim_sim_default();
    if (!strcmp(scenario, "static")) c.scenario = MN_PIM_STATIC;
    else if (!strcmp(scenario, "dynamic")) c.scenario = MN_PIM_DYNAMIC;
    else return mn_cli_fail(MN_EXIT_USAGE, CMD, "--scenario must be static or dynamic, got '%s'", scenario);
    bool sigmf;
    if (!strcmp(format, "npy")) sigmf = false;
    else if (!strcmp(format, "sigmf")) sigmf = true;
    else return mn_cli_fail(MN_EXIT_USAGE, CMD, "--format must be npy or sigmf, got '%s'", format);
    int jk = mn_pim_junction_from_name(kind);
    if (jk < 0) return mn_cli_fail(MN_EXIT_USAGE, CMD, "--junction-kind must be mixed, tunnel, contact or cubic, got '%s'", kind);
    if (oversample % 4) return mn_cli_fail(MN_EXIT_USAGE, CMD, "--oversample must be 4, 8, 12 or 16, got %d", oversample);
    c.n_tx = n_tx;
    c.n_rx = n_rx;
    c.seed = seed;
    c.pnr_db = pnr;
    c.n_junctions = junctions;
    c.junction_kind = (mn_pim_junction_kind)jk;
    c.drive = drive;
    c.oversample = oversample;
    if (drift_tau > 0) c.drift_tau = drift_tau;
    if (drift_tau > 0 && c.scenario != MN_PIM_DYNAMIC)
        return mn_cli_fail(MN_EXIT_USAGE, CMD, "--drift-tau applies to --scenario dynamic (the static scenario does not drift)");
    if (threads > 0) mn_threads_set(threads);

    /* outputs: refuse to clobber without --force */
    if (!mn_cli_mkdirs(CMD, out)) return MN_EXIT_USAGE;
    const char *names[] = {"tx.npy", "rx.npy", "pim.npy", "meta.json", "spectrum.svg", "tx.sigmf-meta", "tx.sigmf-data",
                           "rx.sigmf-meta", "rx.sigmf-data", "pim.sigmf-meta", "pim.sigmf-data"};
    int n_names = sigmf ? 11 : 5;
    char path[4096 + 64];
    if (strlen(out) > 4096) return mn_cli_fail(MN_EXIT_USAGE, CMD, "--out path is too long");
    for (int i = 0; i < n_names && !force; i++) {
        if (i == 4 && no_plot) continue;
        snprintf(path, sizeof path, "%s/%s", out, names[i]);
        if (mn_cli_exists(path))
            return mn_cli_fail(MN_EXIT_USAGE, CMD, "%s exists; add --force to replace it or choose another --out", path);
    }

    progress_state ps = {.quiet = quiet, .tty = isatty(2) != 0, .last = -1};
    c.progress = progress;
    c.progress_user = &ps;
    mn_pim_sim *s = mn_pim_sim_create(&c);
    if (!s) return mn_cli_fail(mn_cli_exit_code(MN_ERR_INVALID), CMD, "%s", mn_error_msg());
    double gb = (double)samples * (double)(n_tx + 2 * n_rx) * 8 / 1e9;
    float complex *tx = mn_malloc((size_t)samples * (size_t)n_tx * sizeof *tx);
    float complex *pim = mn_malloc((size_t)samples * (size_t)n_rx * sizeof *pim);
    float complex *rx = mn_malloc((size_t)samples * (size_t)n_rx * sizeof *rx);
    int rc = MN_EXIT_OK;
    if (!tx || !pim || !rx) {
        rc = mn_cli_fail(MN_EXIT_RUNTIME, CMD, "out of memory: %lld samples x %d rows (tx, rx, pim) need %.1f GB; lower --samples",
                         (long long)samples, n_tx + 2 * n_rx, gb);
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "mimonet pim simulate: %s, %d Tx x %d Rx, %lld samples (%.2f ms at %.2f Msps), PNR %.1f dB, seed %llu\n",
                scenario, n_tx, n_rx, (long long)samples, 1e3 * (double)samples / c.fs, c.fs / 1e6, pnr,
                (unsigned long long)seed);
    mn_pim_sim_info info;
    mn_status st = mn_pim_sim_record(s, tx, pim, rx, samples, &info);
    if (st != MN_OK) {
        rc = mn_cli_fail(mn_cli_exit_code(st), CMD, "%s", mn_error_msg());
        goto done;
    }
    /* data files */
    struct { const char *name; float complex *x; int nch; double fc; const char *what; } files[3] = {
        {"tx", tx, n_tx, c.f_dl, "DL baseband of every Tx antenna, centred on f_dl"},
        {"rx", rx, n_rx, c.f_dl - c.fs, "PIM + AWGN at every Rx antenna, UL baseband centred on f_rx"},
        {"pim", pim, n_rx, c.f_dl - c.fs, "noise-free PIM at every Rx antenna, UL baseband centred on f_rx"},
    };
    for (int i = 0; i < 3 && st == MN_OK; i++) {
        mn_signal sig = {.x = files[i].x, .nch = files[i].nch, .n = samples, .sample_rate = c.fs};
        snprintf(path, sizeof path, "%s/%s.npy", out, files[i].name);
        st = mn_npy_write_c64(path, &sig, false);
        if (st == MN_OK && sigmf) {
            char extra[512], base[4096 + 16];
            snprintf(extra, sizeof extra,
                     "{\"core:description\": \"mimonet pim simulate: %s\", \"mimonet:center_frequency_hz\": %.17g, "
                     "\"mimonet:seed\": %llu}", files[i].what, files[i].fc, (unsigned long long)seed);
            snprintf(base, sizeof base, "%s/%s", out, files[i].name);
            st = mn_sigmf_write(base, &sig, "cf32_le", extra);
        }
    }
    if (st != MN_OK) {
        rc = mn_cli_fail(mn_cli_exit_code(st), CMD, "%s", mn_error_msg());
        goto done;
    }
    /* meta.json: the simulator's description plus the file list */
    char *meta = mn_pim_sim_meta_json(s, &info);
    cJSON *mj = meta ? cJSON_Parse(meta) : NULL;
    mn_free(meta);
    if (!mj) {
        rc = mn_cli_fail(MN_EXIT_RUNTIME, CMD, "out of memory describing the scenario");
        goto done;
    }
    cJSON *fo = cJSON_AddObjectToObject(mj, "files");
    cJSON_AddStringToObject(fo, "tx", "tx.npy");
    cJSON_AddStringToObject(fo, "rx", "rx.npy");
    cJSON_AddStringToObject(fo, "pim", "pim.npy");
    cJSON_AddStringToObject(fo, "format", sigmf ? "npy+sigmf" : "npy");
    cJSON_AddNumberToObject(mj, "simulation_seconds", info.seconds);
    char *txt = cJSON_Print(mj);
    cJSON_Delete(mj);
    snprintf(path, sizeof path, "%s/meta.json", out);
    st = txt ? mn_file_write_atomic(path, txt, strlen(txt)) : MN_ERR_NOMEM;
    cJSON_free(txt);
    if (st == MN_OK && !no_plot) {
        snprintf(path, sizeof path, "%s/spectrum.svg", out);
        st = write_plot(path, mn_pim_sim_config(s), tx, pim, rx, samples, &info);
    }
    if (st != MN_OK) {
        rc = mn_cli_fail(mn_cli_exit_code(st), CMD, "%s", mn_error_msg());
        goto done;
    }
    if (!quiet)
        fprintf(stderr, "wrote %s/{tx,rx,pim}.npy%s, meta.json%s: PNR %.2f dB (noise power %.3g), %.2f s = %.3f Msamples/s\n",
                out, sigmf ? " (+ SigMF)" : "", no_plot ? "" : ", spectrum.svg", info.pnr_measured_db,
                info.noise_power, info.seconds, (double)samples / info.seconds / 1e6);
done:
    mn_free(tx);
    mn_free(pim);
    mn_free(rx);
    mn_pim_sim_destroy(s);
    return rc;
}
