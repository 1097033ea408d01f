/* cli/cmd_csi.c — `mimonet csi simulate | train | eval | sweep` (issue 5; docs/csi_e2e.md).
 *
 *   csi simulate --out DIR [channel options] [--drops N]
 *       writes DIR/h_dl.npy (CSI-RS time), DIR/h_dl_data.npy (data time), DIR/h_ul.npy (SRS,
 *       UL carrier): complex64 [drops, ue, ue_ant, bs_ant, subcarriers], and DIR/meta.json.
 *   csi train --out MODEL.safetensors [--scheme fusion|feedback|srs] [--bits B] [--pilots L] ...
 *   csi eval --model MODEL [--json] [--drops N]: SE of the learned scheme and of every
 *       classical baseline on the same drops, bits/UE and pilot overhead.
 *   csi sweep --out DIR [--bits 1,2,4,8,...] [--pilots 4,8] [--schemes feedback,fusion]:
 *       trains and evaluates every combination, writes DIR/sweep.csv and DIR/se_vs_bits.svg.
 * Channels come from the built-in models (--channel cdl-a..cdl-e | sv | say) or from files
 * (--channels H.npy [--channels-ul HUL.npy] [--channels-data HDATA.npy]).
 * Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad input. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "mimonet/csi_e2e.h"
#include "mimonet/io.h"
#include "mimonet/report.h"
#include "progress.h"

/* ------------------------------------------------------------------ channel options */

typedef struct {
    const char *channel;  /* cdl-a .. cdl-e, sv, say */
    const char *bs;       /* NHxNV */
    int users, ue_ant, sc;
    double gap_pct, snr_db, speed_kmh, delay_ms, ds_ns, sc_khz;
    const char *h_dl, *h_ul, *h_dat; /* external channel files */
} chan_opts;

enum { CH_OPTS = 14 };

static void chan_defaults(chan_opts *c)
{
    memset(c, 0, sizeof *c);
    c->channel = "cdl-c";
    c->bs = "8x4";
    c->users = 2;
    c->ue_ant = 1;
    c->sc = 48;
    c->gap_pct = 5;
    c->snr_db = 10;
    c->speed_kmh = 3;
    c->delay_ms = 5;
    c->ds_ns = 100;
    c->sc_khz = 360;
}

/* Fill opts[0..CH_OPTS) with the channel options. */
static void chan_opt_table(mn_opt *o, chan_opts *c)
{
    mn_opt t[CH_OPTS] = {
        {"--channel", MN_OPT_STR, &c->channel, 0, -1, "cdl-a..cdl-e (default cdl-c), sv, or say (the SAY preset)", false},
        {"--bs", MN_OPT_STR, &c->bs, 0, -1, "BS UPA NHxNV (default 8x4 = 32 antennas; NHx1 is a ULA)", false},
        {"--users", MN_OPT_INT, &c->users, 1, 16, "single-stream users K (default 2)", false},
        {"--ue-ant", MN_OPT_INT, &c->ue_ant, 1, MN_CSI_MAX_UE_ANT, "UE antennas (default 1; >1: eigen-mode combining)", false},
        {"--sc", MN_OPT_INT, &c->sc, 1, 1024, "subcarriers (default 48)", false},
        {"--sc-khz", MN_OPT_DOUBLE, &c->sc_khz, 0, 1e5, "subcarrier spacing [kHz] (default 360: one per 30 kHz PRB)", false},
        {"--gap", MN_OPT_DOUBLE, &c->gap_pct, 0, 50, "UL/DL carrier gap [%] (default 5)", false},
        {"--snr", MN_OPT_DOUBLE, &c->snr_db, -30, 60, "P / sigma^2 [dB] (default 10)", false},
        {"--speed", MN_OPT_DOUBLE, &c->speed_kmh, 0, 500, "UE speed [km/h] (default 3)", false},
        {"--delay", MN_OPT_DOUBLE, &c->delay_ms, 0, 1000, "data time after CSI-RS and SRS [ms] (channel aging, default 5)", false},
        {"--ds", MN_OPT_DOUBLE, &c->ds_ns, 1, 1e4, "CDL delay spread [ns] (default 100)", false},
        {"--channels", MN_OPT_STR, &c->h_dl, 0, -1, "external DL channels H.npy [drops, ue, ue_ant, bs_ant, sc] instead", false},
        {"--channels-ul", MN_OPT_STR, &c->h_ul, 0, -1, "their UL twin (default: the DL, i.e. reciprocity)", false},
        {"--channels-data", MN_OPT_STR, &c->h_dat, 0, -1, "their data-time DL (default: the DL, no aging)", false},
    };
    memcpy(o, t, sizeof t);
}

/* Build a channel configuration; 0 or an exit code (message printed). */
static int chan_config(const char *cmd, mn_csi_chan_cfg *cc, chan_opts *c, const mn_opt *o)
{
    static const char *const models[] = {"cdl-a", "cdl-b", "cdl-c", "cdl-d", "cdl-e", "sv"};
    if (!strcmp(c->channel, "say")) {
        mn_csi_chan_cfg_say(cc);
        /* the preset's values unless given explicitly */
        if (!o[1].seen) c->bs = "64x1";
        if (!o[4].seen) c->sc = 1;
        if (!o[6].seen) c->gap_pct = 0;
        if (!o[8].seen) c->speed_kmh = 0;
        if (!o[9].seen) c->delay_ms = 0;
    } else {
        mn_csi_chan_cfg_default(cc);
        int m = -1;
        for (int i = 0; i < 6; i++)
            if (!strcmp(c->channel, models[i])) m = i;
        if (m < 0) return mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown --channel '%s' (cdl-a..cdl-e, sv, say)", c->channel);
        cc->model = (mn_csi_model)m;
    }
    int nh = 0, nv = 0;
    char x = 0;
    if (sscanf(c->bs, "%d%c%d", &nh, &x, &nv) != 3 || x != 'x' || nh < 1 || nv < 1 || nh * nv > 1024)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--bs expects NHxNV such as 8x4 (at most 1024 antennas), got '%s'", c->bs);
    cc->bs_nh = nh;
    cc->bs_nv = nv;
    cc->users = c->users;
    cc->ue_ant = c->ue_ant;
    cc->n_sc = c->sc;
    cc->sc_spacing_hz = c->sc_khz * 1e3;
    cc->fc_ul_hz = cc->fc_dl_hz * (1.0 - c->gap_pct / 100.0);
    cc->speed_mps = c->speed_kmh / 3.6;
    cc->ds_sec = c->ds_ns * 1e-9;
    if (cc->users > nh * nv) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--users %d exceeds the %d BS antennas", cc->users, nh * nv);
    return 0;
}

static char *chan_json(const chan_opts *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "channel", c->channel);
    cJSON_AddStringToObject(o, "bs", c->bs);
    cJSON_AddNumberToObject(o, "users", c->users);
    cJSON_AddNumberToObject(o, "ue_ant", c->ue_ant);
    cJSON_AddNumberToObject(o, "sc", c->sc);
    cJSON_AddNumberToObject(o, "sc_khz", c->sc_khz);
    cJSON_AddNumberToObject(o, "gap_pct", c->gap_pct);
    cJSON_AddNumberToObject(o, "snr_db", c->snr_db);
    cJSON_AddNumberToObject(o, "speed_kmh", c->speed_kmh);
    cJSON_AddNumberToObject(o, "delay_ms", c->delay_ms);
    cJSON_AddNumberToObject(o, "ds_ns", c->ds_ns);
    cJSON_AddBoolToObject(o, "external", c->h_dl != NULL);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t; /* cJSON_free */
}

/* Channel options from a model's metadata, for every option the user did not give. */
static char g_bs[32], g_channel[16];
static void chan_from_json(chan_opts *c, const mn_opt *o, const char *txt)
{
    cJSON *j = txt ? cJSON_Parse(txt) : NULL;
    if (!j) return;
    const cJSON *v;
#define NUM(key, idx, field) \
    if (!o[idx].seen && cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, key))) c->field = v->valuedouble
#define INT(key, idx, field) \
    if (!o[idx].seen && cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, key))) c->field = v->valueint
    if (!o[0].seen && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "channel"))) {
        snprintf(g_channel, sizeof g_channel, "%s", v->valuestring);
        c->channel = g_channel;
    }
    if (!o[1].seen && cJSON_IsString(v = cJSON_GetObjectItemCaseSensitive(j, "bs"))) {
        snprintf(g_bs, sizeof g_bs, "%s", v->valuestring);
        c->bs = g_bs;
    }
    INT("users", 2, users);
    INT("ue_ant", 3, ue_ant);
    INT("sc", 4, sc);
    NUM("sc_khz", 5, sc_khz);
    NUM("gap_pct", 6, gap_pct);
    NUM("snr_db", 7, snr_db);
    NUM("speed_kmh", 8, speed_kmh);
    NUM("delay_ms", 9, delay_ms);
    NUM("ds_ns", 10, ds_ns);
#undef NUM
#undef INT
    cJSON_Delete(j);
}

/* Drops from the channel model or from files; 0 or an exit code.  *geo receives the array
 * geometry (0 x 0 for external channels unless --bs was given). */
static int load_drops(const char *cmd, mn_e2e_data *d, chan_opts *c, const mn_opt *o, int drops, uint64_t seed,
                      mn_csi_chan_cfg *cc)
{
    memset(d, 0, sizeof *d);
    int code = chan_config(cmd, cc, c, o);
    if (code) return code;
    if (c->h_dl) {
        float complex *H[3] = {NULL, NULL, NULL};
        int64_t sh[3][5];
        const char *paths[3] = {c->h_dl, c->h_ul, c->h_dat};
        mn_status st = MN_OK;
        for (int i = 0; i < 3 && st == MN_OK; i++) {
            if (!paths[i]) continue;
            st = mn_csi_npy_read(&H[i], sh[i], paths[i]);
            if (st == MN_OK && i > 0 && memcmp(sh[i], sh[0], sizeof sh[0]))
                st = mn_error(MN_ERR_SHAPE, "%s: shape differs from %s", paths[i], paths[0]);
        }
        if (st == MN_OK && sh[0][1] > sh[0][3]) st = mn_error(MN_ERR_SHAPE, "%s: %lld users exceed %lld BS antennas", c->h_dl,
                                                            (long long)sh[0][1], (long long)sh[0][3]);
        if (st == MN_OK) st = mn_e2e_data_from_channels(d, H[0], H[1], H[2], sh[0]);
        for (int i = 0; i < 3; i++) mn_free(H[i]);
        if (st != MN_OK) return mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
        if (!o[1].seen || cc->bs_nh * cc->bs_nv != d->M) cc->bs_nh = cc->bs_nv = 0; /* unknown geometry */
        return 0;
    }
    if (c->h_ul || c->h_dat) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--channels-ul / --channels-data need --channels");
    mn_csi_chan *ch = mn_csi_chan_create(cc);
    if (!ch) return mn_cli_fail(MN_EXIT_USAGE, cmd, "%s", mn_error_msg());
    mn_status st = mn_e2e_data_alloc(d, drops, cc->users, cc->bs_nh * cc->bs_nv, cc->n_sc);
    if (st == MN_OK) st = mn_e2e_data_simulate(d, ch, seed, c->delay_ms * 1e-3, mn_threads_get());
    mn_csi_chan_destroy(ch);
    if (st != MN_OK) {
        mn_e2e_data_free(d);
        return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    }
    return 0;
}

/* ------------------------------------------------------------------ csi simulate */

static int cmd_simulate(int argc, char **argv)
{
    const char *cmd = "csi simulate", *out = NULL;
    chan_opts c;
    chan_defaults(&c);
    int drops = 100;
    uint64_t seed = 1;
    bool help = false;
    mn_opt opts[CH_OPTS + 4];
    chan_opt_table(opts, &c);
    mn_opt more[4] = {
        {"--out", MN_OPT_STR, &out, 0, -1, "folder to write h_dl.npy, h_dl_data.npy, h_ul.npy, meta.json", false},
        {"--drops", MN_OPT_INT, &drops, 1, 1000000, "drops (default 100)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "random seed (default 1)", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    memcpy(opts + CH_OPTS, more, sizeof more);
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--out DIR [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!out) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out DIR is required");
    if (c.h_dl || c.h_ul || c.h_dat) return mn_cli_fail(MN_EXIT_USAGE, cmd, "simulate draws channels; --channels is for train/eval");
    mn_csi_chan_cfg cc;
    int code = chan_config(cmd, &cc, &c, opts);
    if (code) return code;
    if (!mn_cli_mkdirs(cmd, out)) return MN_EXIT_USAGE;
    mn_csi_chan *ch = mn_csi_chan_create(&cc);
    if (!ch) return mn_cli_fail(MN_EXIT_USAGE, cmd, "%s", mn_error_msg());
    const int K = cc.users, Nr = cc.ue_ant, M = cc.bs_nh * cc.bs_nv, F = cc.n_sc;
    const size_t per = mn_csi_chan_response_len(ch);
    float complex *H[3];
    mn_status st = MN_OK;
    for (int i = 0; i < 3; i++) H[i] = mn_malloc((size_t)drops * per * sizeof(float complex));
    if (!H[0] || !H[1] || !H[2]) st = mn_error(MN_ERR_NOMEM, "%d drops of %zu channel coefficients", drops, per);
    /* drop i from its own seed, as mn_e2e_data_simulate does */
    for (int i = 0; i < drops && st == MN_OK; i++) {
        mn_rng r;
        mn_rng_seed(&r, seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(i + 1)));
        st = mn_csi_chan_draw(ch, &r);
        if (st == MN_OK) st = mn_csi_chan_response(ch, H[0] + i * per, MN_CSI_DL, 0.0);
        if (st == MN_OK) st = mn_csi_chan_response(ch, H[1] + i * per, MN_CSI_DL, c.delay_ms * 1e-3);
        if (st == MN_OK) st = mn_csi_chan_response(ch, H[2] + i * per, MN_CSI_UL, 0.0);
    }
    mn_csi_chan_destroy(ch);
    const char *names[3] = {"h_dl.npy", "h_dl_data.npy", "h_ul.npy"};
    int64_t shape[5] = {drops, K, Nr, M, F};
    char path[4200];
    for (int i = 0; i < 3 && st == MN_OK; i++) {
        snprintf(path, sizeof path, "%s/%s", out, names[i]);
        st = mn_csi_npy_write(path, H[i], shape);
    }
    for (int i = 0; i < 3; i++) mn_free(H[i]);
    if (st == MN_OK) {
        char *cj = chan_json(&c);
        cJSON *m = cJSON_Parse(cj);
        cJSON_free(cj);
        cJSON_AddNumberToObject(m, "drops", drops);
        cJSON_AddNumberToObject(m, "seed", (double)seed);
        cJSON_AddNumberToObject(m, "fc_dl_hz", cc.fc_dl_hz);
        cJSON_AddNumberToObject(m, "fc_ul_hz", cc.fc_ul_hz);
        cJSON_AddStringToObject(m, "layout", "[drops, ue, ue_ant, bs_ant, subcarriers] complex64; row r of user k's DL matrix: y_k = H_k x + n");
        cJSON_AddStringToObject(m, "h_dl", "DL at CSI-RS time (t = 0)");
        cJSON_AddStringToObject(m, "h_dl_data", "DL at data time (t = delay_ms)");
        cJSON_AddStringToObject(m, "h_ul", "UL at SRS time (t = 0), UL carrier, same layout");
        char *txt = cJSON_Print(m);
        cJSON_Delete(m);
        snprintf(path, sizeof path, "%s/meta.json", out);
        st = txt ? mn_file_write_atomic(path, txt, strlen(txt)) : mn_error(MN_ERR_NOMEM, "meta.json");
        cJSON_free(txt);
    }
    if (st != MN_OK) return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    fprintf(stderr, "%s: %d drops of %d users x %d UE antennas x %d BS antennas x %d subcarriers in %s\n", cmd, drops, K, Nr,
            M, F, out);
    return MN_EXIT_OK;
}

/* ------------------------------------------------------------------ training */

typedef struct {
    const char *cmd;
    bool quiet, tty;
    double t0, last;
} prog_state;

static int on_progress(const mn_e2e_progress *p, void *user)
{
    prog_state *s = user;
    double now = mn_time_sec();
    bool last = p->step == p->steps;
    if (!s->quiet && (last || now - s->last >= (s->tty ? 0.3 : 5.0))) {
        s->last = now;
        char val[32] = "--";
        if (isfinite(p->val_se)) snprintf(val, sizeof val, "%.3f", p->val_se);
        fprintf(stderr, "%s%s: stage %d  step %5ld/%ld  SE %6.3f  val %s bit/s/Hz  lr %.1e  |g| %.2g  %5.1fs%s",
                s->tty ? "\r" : "", s->cmd, p->stage, p->step, p->steps, p->se, val, (double)p->lr, p->grad_norm,
                now - s->t0, s->tty ? "\033[K" : "\n");
        if (s->tty && last) fputc('\n', stderr);
        fflush(stderr);
    }
    return mn_cli_interrupted() ? 1 : 0;
}

typedef struct {
    int bits, pilots, subbands, q, beams, width, blocks, hidden, batch, drops, val_drops, threads;
    int64_t steps;
    double lr;
    bool fixed_pilots, quiet;
    uint64_t seed;
    const char *scheme, *head;
} train_opts;

static void train_defaults(train_opts *t)
{
    memset(t, 0, sizeof *t);
    t->bits = 8;
    t->pilots = 8;
    t->subbands = 1;
    t->q = 1;
    t->width = 16;
    t->blocks = 2;
    t->hidden = 256;
    t->batch = 32;
    t->drops = 2048;
    t->val_drops = 256;
    t->steps = 600;
    t->lr = 2e-3;
    t->seed = 1;
    t->scheme = "fusion";
    t->head = "direct";
}

enum { TR_OPTS = 19 };

static void train_opt_table(mn_opt *o, train_opts *t)
{
    mn_opt x[TR_OPTS] = {
        {"--scheme", MN_OPT_STR, &t->scheme, 0, -1, "fusion (default), feedback or srs", false},
        {"--bits", MN_OPT_INT, &t->bits, 1, 4096, "feedback bits per UE (default 8)", false},
        {"--pilots", MN_OPT_INT, &t->pilots, 1, 1024, "CSI-RS pilot symbols L (default 8)", false},
        {"--subbands", MN_OPT_INT, &t->subbands, 1, 4096, "UE observation subbands Nc per pilot (default 1: the whole band)", false},
        {"--q", MN_OPT_INT, &t->q, 0, 8, "bits per feedback feature (default 1: sign; 0: unquantized ablation)", false},
        {"--beams", MN_OPT_INT, &t->beams, 0, 4096, "beam-domain columns Nb (default min(M, L))", false},
        {"--fixed-pilots", MN_OPT_FLAG, &t->fixed_pilots, 0, -1, "learned constant pilots (no SRS input; the SAY setting)", false},
        {"--width", MN_OPT_INT, &t->width, 2, 1024, "gated-MLP feature channels (even, default 16)", false},
        {"--blocks", MN_OPT_INT, &t->blocks, 1, 16, "gated blocks per SRS-reading net (default 2)", false},
        {"--hidden", MN_OPT_INT, &t->hidden, 1, 8192, "encoder / feedback-precoder hidden width (default 256)", false},
        {"--head", MN_OPT_STR, &t->head, 0, -1, "precoder nets output: direct (the precoder; default) or rzf (a channel estimate, then RZF)", false},
        {"--steps", MN_OPT_I64, &t->steps, 1, 1e8, "stage-1 steps (default 600; stages 2 and 3 get half each)", false},
        {"--batch", MN_OPT_INT, &t->batch, 1, 4096, "drops per step (default 32)", false},
        {"--lr", MN_OPT_DOUBLE, &t->lr, 1e-6, 1, "peak learning rate (default 2e-3; stage 3 a quarter)", false},
        {"--drops", MN_OPT_INT, &t->drops, 1, 10000000, "training drops (default 2048)", false},
        {"--val-drops", MN_OPT_INT, &t->val_drops, 1, 1000000, "validation drops (default 256)", false},
        {"--seed", MN_OPT_U64, &t->seed, 0, -1, "random seed (default 1)", false},
        {"--threads", MN_OPT_INT, &t->threads, 0, 1024, "threads (default: all cores)", false},
        {"--quiet", MN_OPT_FLAG, &t->quiet, 0, -1, "no progress on stderr", false},
    };
    memcpy(o, x, sizeof x);
}

/* Train one system on fresh drops; 0 or an exit code.  e is left initialized on success. */
static int train_system(const char *cmd, mn_e2e *e, mn_e2e_scheme s, const train_opts *t, const chan_opts *c,
                        const mn_e2e_data *tr_in, const mn_e2e_data *va_in, double *val_se)
{
    mn_e2e_cfg ec;
    mn_e2e_cfg_default(&ec, tr_in->K, tr_in->M, tr_in->F);
    ec.bits = t->bits;
    ec.pilots = t->pilots;
    ec.subbands = t->subbands;
    if (ec.subbands > ec.F) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--subbands %d exceeds the %d subcarriers", ec.subbands, ec.F);
    ec.q = t->q;
    ec.beams = t->beams;
    ec.srs_pilots = !t->fixed_pilots;
    ec.sigma2 = pow(10.0, -c->snr_db / 10.0);
    ec.srs_noise = ec.sigma2 / ec.P;
    ec.width = t->width;
    ec.blocks = t->blocks;
    ec.hidden = t->hidden;
    int head = mn_e2e_head_from_name(t->head);
    if (head < 0) return mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown --head '%s' (direct, rzf)", t->head);
    ec.head = (mn_e2e_head)head;
    if (ec.beams > ec.M) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--beams %d exceeds the %d BS antennas", ec.beams, ec.M);
    if (ec.q > 0 && ec.bits % ec.q) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--bits %d must be a multiple of --q %d", ec.bits, ec.q);
    mn_rng rng;
    mn_rng_seed(&rng, t->seed);
    int max_batch = t->batch > 64 ? t->batch : 64;
    mn_status st = mn_e2e_init(e, &ec, max_batch, &rng);
    if (st != MN_OK) return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    mn_e2e_train_cfg tc;
    mn_e2e_train_cfg_default(&tc);
    tc.steps[0] = t->steps;
    tc.steps[1] = t->steps / 2;
    tc.steps[2] = t->steps / 2;
    tc.batch = t->batch;
    tc.lr[0] = tc.lr[1] = (float)t->lr;
    tc.lr[2] = (float)(t->lr / 4);
    tc.warmup = t->steps / 10 < 50 ? t->steps / 10 : 50;
    tc.eval_every = t->steps / 6 > 0 ? t->steps / 6 : 1;
    prog_state ps = {cmd, t->quiet, isatty(2) != 0, mn_time_sec(), -1e9};
    mn_cli_catch_sigint();
    st = mn_e2e_train(e, s, tr_in, va_in, &tc, on_progress, &ps, &rng);
    if (st != MN_OK && st != MN_ERR_INTERRUPTED) {
        mn_e2e_free(e);
        return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    }
    if (st == MN_ERR_INTERRUPTED && !t->quiet) fprintf(stderr, "%s: interrupted; keeping the weights so far\n", cmd);
    mn_rng vr;
    mn_rng_seed(&vr, t->seed ^ 0x5eedULL);
    st = mn_e2e_eval(e, s, va_in, &vr, val_se, NULL);
    if (st != MN_OK) {
        mn_e2e_free(e);
        return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    }
    return 0;
}

static int cmd_train(int argc, char **argv)
{
    const char *cmd = "csi train", *out = NULL;
    chan_opts c;
    chan_defaults(&c);
    train_opts t;
    train_defaults(&t);
    bool force = false, json = false, help = false;
    mn_opt opts[CH_OPTS + TR_OPTS + 4];
    chan_opt_table(opts, &c);
    train_opt_table(opts + CH_OPTS, &t);
    mn_opt more[4] = {
        {"--out", MN_OPT_STR, &out, 0, -1, "model file to write (.safetensors)", false},
        {"--force", MN_OPT_FLAG, &force, 0, -1, "replace an existing --out", false},
        {"--json", MN_OPT_FLAG, &json, 0, -1, "print one JSON object with the validation SE", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    memcpy(opts + CH_OPTS + TR_OPTS, more, sizeof more);
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--out MODEL.safetensors [--scheme fusion|feedback|srs] [--bits B] [--pilots L] [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!out) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out MODEL.safetensors is required");
    int si = mn_e2e_scheme_from_name(t.scheme);
    if (si < 0) return mn_cli_fail(MN_EXIT_USAGE, cmd, "unknown --scheme '%s' (fusion, feedback, srs)", t.scheme);
    if (!force && mn_cli_exists(out)) return mn_cli_fail(MN_EXIT_USAGE, cmd, "'%s' exists; pass --force to replace it", out);
    if (!mn_cli_out_dir_ok(cmd, out)) return MN_EXIT_USAGE;
    if (t.threads > 0) mn_threads_set(t.threads);
    mn_csi_chan_cfg cc;
    mn_e2e_data all;
    double t0 = mn_time_sec();
    int code = load_drops(cmd, &all, &c, opts, t.drops + t.val_drops, t.seed, &cc);
    if (code) return code;
    if (all.n < 2) {
        mn_e2e_data_free(&all);
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "need at least 2 drops (training and validation)");
    }
    int nval = c.h_dl ? (all.n / 8 > 0 ? all.n / 8 : 1) : t.val_drops;
    if (nval >= all.n) nval = all.n / 2;
    mn_e2e_data tr = mn_e2e_data_view(&all, 0, all.n - nval), va = mn_e2e_data_view(&all, all.n - nval, nval);
    if (!t.quiet)
        fprintf(stderr, "%s: %s, %d x %d BS antennas, K = %d, %d subcarriers, %d + %d drops (%.1fs); scheme %s, B = %d, L = %d\n",
                cmd, c.h_dl ? c.h_dl : c.channel, cc.bs_nh, cc.bs_nv, all.K, all.F, tr.n, va.n, mn_time_sec() - t0,
                t.scheme, t.bits, t.pilots);
    mn_e2e e;
    double val_se = (double)NAN;
    code = train_system(cmd, &e, (mn_e2e_scheme)si, &t, &c, &tr, &va, &val_se);
    mn_e2e_data_free(&all);
    if (code) return code;
    char *cj = chan_json(&c);
    const char *k[1] = {"csi.channel"}, *v[1] = {cj};
    mn_status st = mn_e2e_save(&e, (mn_e2e_scheme)si, out, k, v, 1);
    cJSON_free(cj);
    double secs = mn_time_sec() - t0;
    if (st != MN_OK) {
        mn_e2e_free(&e);
        return mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
    }
    if (json)
        printf("{\"scheme\":\"%s\",\"head\":\"%s\",\"val_se\":%.6g,\"bits_per_ue\":%d,\"pilot_symbols\":%d,\"seconds\":%.3f}\n",
               t.scheme, mn_e2e_head_name(e.cfg.head), val_se, e.cfg.bits * (si != MN_E2E_SRS), si != MN_E2E_SRS ? e.L : 0,
               secs);
    else
        printf("%s: validation sum SE %.3f bit/s/Hz (%s, %s head, %d bits/UE, %d pilots); wrote %s (%.1fs)\n", cmd, val_se,
               t.scheme, mn_e2e_head_name(e.cfg.head), si != MN_E2E_SRS ? e.cfg.bits : 0, si != MN_E2E_SRS ? e.L : 0, out,
               secs);
    mn_e2e_free(&e);
    return MN_EXIT_OK;
}

/* ------------------------------------------------------------------ evaluation */

typedef struct {
    char name[48];
    double se, se_stderr, bits, pilots;
} row;

/* Learned scheme + baselines on d; rows[0] is the learned one.  Returns the number of rows or
 * -1 (message printed). */
static int evaluate_all(const char *cmd, row *rows, mn_e2e *e, mn_e2e_scheme s, const mn_e2e_data *d,
                        const mn_csi_chan_cfg *cc, uint64_t seed, bool baselines, bool wmmse)
{
    mn_rng r;
    mn_rng_seed(&r, seed);
    double se = 0, sd = 0;
    mn_status st = mn_e2e_eval(e, s, d, &r, &se, &sd);
    if (st != MN_OK) {
        mn_cli_fail(mn_cli_exit_code(st), cmd, "%s", mn_error_msg());
        return -1;
    }
    int n = 0;
    snprintf(rows[n].name, sizeof rows[n].name, "learned_%s%s", mn_e2e_scheme_name(s),
             e->cfg.head == MN_E2E_HEAD_RZF ? "_rzf" : "");
    rows[n].se = se;
    rows[n].se_stderr = sd;
    rows[n].bits = s == MN_E2E_SRS ? 0 : e->cfg.bits;
    rows[n].pilots = s == MN_E2E_SRS ? 0 : e->L;
    n++;
    if (!baselines) return n;
    mn_e2e_result res[MN_E2E_BL_COUNT];
    mn_e2e_baseline_cfg bc = {.bs_nh = cc->bs_nh, .bs_nv = cc->bs_nv, .fc_dl_hz = cc->fc_dl_hz, .fc_ul_hz = cc->fc_ul_hz,
                              .P = e->cfg.P, .sigma2 = e->cfg.sigma2, .srs_noise = e->cfg.srs_noise, .sb_size = 4,
                              .wmmse = wmmse};
    mn_rng_seed(&r, seed ^ 0xba5eULL);
    st = mn_e2e_baselines(res, d, &bc, &r);
    if (st != MN_OK) {
        mn_cli_fail(mn_cli_exit_code(st), cmd, "baselines: %s", mn_error_msg());
        return -1;
    }
    for (int i = 0; i < MN_E2E_BL_COUNT; i++) {
        if (!res[i].valid) continue;
        snprintf(rows[n].name, sizeof rows[n].name, "%s", res[i].name);
        rows[n].se = res[i].se;
        rows[n].se_stderr = res[i].se_stderr;
        rows[n].bits = res[i].bits_per_ue;
        rows[n].pilots = res[i].pilot_symbols;
        n++;
    }
    return n;
}

static int cmd_eval(int argc, char **argv)
{
    const char *cmd = "csi eval", *model = NULL;
    chan_opts c;
    chan_defaults(&c);
    int drops = 256, threads = 0;
    uint64_t seed = 1000;
    bool json = false, help = false, no_bl = false, wmmse = false;
    mn_opt opts[CH_OPTS + 8];
    chan_opt_table(opts, &c);
    mn_opt more[8] = {
        {"--model", MN_OPT_STR, &model, 0, -1, "model from 'csi train'", false},
        {"--drops", MN_OPT_INT, &drops, 1, 10000000, "test drops (default 256)", false},
        {"--seed", MN_OPT_U64, &seed, 0, -1, "test seed (default 1000; training used others)", false},
        {"--json", MN_OPT_FLAG, &json, 0, -1, "print one JSON object", false},
        {"--no-baselines", MN_OPT_FLAG, &no_bl, 0, -1, "only the learned scheme", false},
        {"--wmmse", MN_OPT_FLAG, &wmmse, 0, -1, "include perfect-CSI WMMSE (slow)", false},
        {"--threads", MN_OPT_INT, &threads, 0, 1024, "threads (default: all cores)", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    memcpy(opts + CH_OPTS, more, sizeof more);
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--model MODEL [--json] [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!model) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--model MODEL is required");
    if (threads > 0) mn_threads_set(threads);
    mn_e2e e;
    mn_e2e_scheme s;
    mn_status st = mn_e2e_load(&e, &s, model, 64);
    if (st != MN_OK) return mn_cli_fail(mn_cli_input_exit_code(st), cmd, "%s", mn_error_msg());
    char *meta = NULL;
    if (mn_safetensors_read_meta(model, &meta) == MN_OK && meta) {
        cJSON *j = cJSON_Parse(meta);
        const cJSON *ch = cJSON_GetObjectItemCaseSensitive(j, "csi.channel");
        if (cJSON_IsString(ch)) chan_from_json(&c, opts, ch->valuestring);
        cJSON_Delete(j);
    }
    mn_free(meta);
    if (opts[7].seen) { /* --snr given: evaluate at that SNR (noise of the UE, the SRS and the SE) */
        e.cfg.sigma2 = pow(10.0, -c.snr_db / 10.0);
        e.cfg.srs_noise = e.cfg.sigma2 / e.cfg.P;
    }
    mn_csi_chan_cfg cc;
    mn_e2e_data d;
    int code = load_drops(cmd, &d, &c, opts, drops, seed, &cc);
    if (code) {
        mn_e2e_free(&e);
        return code;
    }
    if (d.K != e.cfg.K || d.M != e.cfg.M || d.F != e.cfg.F) {
        code = mn_cli_fail(MN_EXIT_USAGE, cmd, "the channels have K = %d, M = %d, F = %d; the model was trained for %d, %d, %d", d.K,
                           d.M, d.F, e.cfg.K, e.cfg.M, e.cfg.F);
        mn_e2e_free(&e);
        mn_e2e_data_free(&d);
        return code;
    }
    row rows[1 + MN_E2E_BL_COUNT];
    double t0 = mn_time_sec();
    int n = evaluate_all(cmd, rows, &e, s, &d, &cc, seed, !no_bl, wmmse);
    double secs = mn_time_sec() - t0;
    if (n < 0) {
        mn_e2e_free(&e);
        mn_e2e_data_free(&d);
        return MN_EXIT_RUNTIME;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", model);
        cJSON_AddStringToObject(o, "scheme", mn_e2e_scheme_name(s));
        char *cj = chan_json(&c);
        cJSON_AddItemToObject(o, "setting", cJSON_Parse(cj));
        cJSON_free(cj);
        cJSON_AddNumberToObject(o, "drops", d.n);
        cJSON_AddNumberToObject(o, "bits_per_ue", s == MN_E2E_SRS ? 0 : e.cfg.bits);
        cJSON_AddNumberToObject(o, "pilot_symbols", s == MN_E2E_SRS ? 0 : e.L);
        cJSON_AddNumberToObject(o, "pilot_overhead", s == MN_E2E_SRS ? 0.0 : (double)e.L / d.M);
        cJSON *arr = cJSON_AddArrayToObject(o, "schemes");
        for (int i = 0; i < n; i++) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "name", rows[i].name);
            cJSON_AddNumberToObject(r, "se", rows[i].se);
            cJSON_AddNumberToObject(r, "se_stderr", rows[i].se_stderr);
            if (isfinite(rows[i].bits)) cJSON_AddNumberToObject(r, "bits_per_ue", rows[i].bits);
            else cJSON_AddNullToObject(r, "bits_per_ue");
            cJSON_AddNumberToObject(r, "pilot_symbols", rows[i].pilots);
            cJSON_AddItemToArray(arr, r);
        }
        cJSON_AddNumberToObject(o, "seconds", secs);
        char *txt = cJSON_PrintUnformatted(o);
        if (txt) puts(txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        printf("%d drops, %d users, %d BS antennas, %d subcarriers, SNR %.1f dB (sum SE on the data-time channel)\n", d.n, d.K,
               d.M, d.F, c.snr_db);
        printf("%-24s %9s %8s %8s %7s\n", "scheme", "sum SE", "+-s.e.", "bits/UE", "pilots");
        for (int i = 0; i < n; i++) {
            char b[16];
            if (isfinite(rows[i].bits)) snprintf(b, sizeof b, "%.1f", rows[i].bits);
            else snprintf(b, sizeof b, "-");
            printf("%-24s %9.3f %8.3f %8s %7.0f\n", rows[i].name, rows[i].se, rows[i].se_stderr, b, rows[i].pilots);
        }
    }
    mn_e2e_free(&e);
    mn_e2e_data_free(&d);
    return MN_EXIT_OK;
}

/* ------------------------------------------------------------------ sweep */

/* Parse "1,2,4" into v (at most max values, each in [lo, hi]); count or -1. */
static int parse_list(const char *s, int *v, int max, int lo, int hi)
{
    int n = 0;
    const char *p = s;
    while (*p) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < lo || x > hi || n == max || (*end && *end != ',')) return -1;
        v[n++] = (int)x;
        p = *end ? end + 1 : end;
    }
    return n;
}

static int cmd_sweep(int argc, char **argv)
{
    const char *cmd = "csi sweep", *out = NULL, *bits_s = "1,2,4,8,16,32", *pilots_s = "8", *schemes_s = "feedback,fusion";
    chan_opts c;
    chan_defaults(&c);
    train_opts t;
    train_defaults(&t);
    t.steps = 300;
    int test_drops = 256;
    bool help = false;
    mn_opt opts[CH_OPTS + TR_OPTS + 5];
    chan_opt_table(opts, &c);
    train_opt_table(opts + CH_OPTS, &t);
    /* the sweep takes a list of schemes instead of --scheme */
    opts[CH_OPTS] = (mn_opt){"--schemes", MN_OPT_STR, &schemes_s, 0, -1, "learned schemes (default feedback,fusion; srs is bit-free)", false};
    mn_opt more[5] = {
        {"--out", MN_OPT_STR, &out, 0, -1, "folder for sweep.csv and se_vs_bits.svg", false},
        {"--bits-list", MN_OPT_STR, &bits_s, 0, -1, "feedback bits per UE to sweep (default 1,2,4,8,16,32)", false},
        {"--pilots-list", MN_OPT_STR, &pilots_s, 0, -1, "pilot counts to sweep (default 8)", false},
        {"--test-drops", MN_OPT_INT, &test_drops, 1, 1000000, "test drops (default 256)", false},
        {NULL, 0, NULL, 0, 0, NULL, false},
    };
    memcpy(opts + CH_OPTS + TR_OPTS, more, sizeof more);
    if (!mn_args_parse(cmd, argc, argv, 1, opts, &help)) {
        if (help) mn_args_usage(cmd, "--out DIR [--bits-list 1,2,4,8] [--pilots-list 4,8] [--schemes feedback,fusion] [options]", opts);
        return help ? MN_EXIT_OK : MN_EXIT_USAGE;
    }
    if (!out) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--out DIR is required");
    int bits[32], pil[16], sch[3], nb, np, ns = 0;
    if ((nb = parse_list(bits_s, bits, 32, 1, 4096)) < 1)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--bits-list expects integers 1..4096 such as 1,2,4,8, got '%s'", bits_s);
    if ((np = parse_list(pilots_s, pil, 16, 1, 1024)) < 1)
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "--pilots-list expects integers 1..1024 such as 4,8, got '%s'", pilots_s);
    {
        char buf[128];
        snprintf(buf, sizeof buf, "%s", schemes_s);
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
            int s = mn_e2e_scheme_from_name(tok);
            if (s < 0 || ns == 3) return mn_cli_fail(MN_EXIT_USAGE, cmd, "--schemes: unknown or repeated '%s' (feedback, fusion, srs)", tok);
            sch[ns++] = s;
        }
    }
    for (int i = 0; i < nb; i++)
        if (t.q > 0 && bits[i] % t.q) return mn_cli_fail(MN_EXIT_USAGE, cmd, "bits %d is not a multiple of --q %d", bits[i], t.q);
    if (t.threads > 0) mn_threads_set(t.threads);
    if (!mn_cli_mkdirs(cmd, out)) return MN_EXIT_USAGE;
    mn_csi_chan_cfg cc;
    mn_e2e_data all, test;
    int code = load_drops(cmd, &all, &c, opts, t.drops + t.val_drops, t.seed, &cc);
    if (code) return code;
    if (c.h_dl) {
        mn_e2e_data_free(&all);
        return mn_cli_fail(MN_EXIT_USAGE, cmd, "the sweep simulates its channels; use 'csi train' / 'csi eval' with --channels");
    }
    code = load_drops(cmd, &test, &c, opts, test_drops, t.seed + 1000003ULL, &cc);
    if (code) {
        mn_e2e_data_free(&all);
        return code;
    }
    mn_e2e_data tr = mn_e2e_data_view(&all, 0, t.drops), va = mn_e2e_data_view(&all, t.drops, t.val_drops);
    char path[4200];
    snprintf(path, sizeof path, "%s/sweep.csv", out);
    FILE *csv = fopen(path, "w");
    if (!csv) {
        mn_e2e_data_free(&all);
        mn_e2e_data_free(&test);
        return mn_cli_fail(MN_EXIT_RUNTIME, cmd, "cannot write %s", path);
    }
    fprintf(csv, "scheme,bits_per_ue,pilots,se,se_stderr\n");
    /* curves: one per (scheme, pilots) */
    float *cx = mn_calloc((size_t)ns * np * nb, sizeof *cx), *cy = mn_calloc((size_t)ns * np * nb, sizeof *cy);
    row base[1 + MN_E2E_BL_COUNT];
    int nbase = 0;
    for (int a = 0; a < ns && code == 0; a++)
        for (int p = 0; p < np && code == 0; p++)
            for (int b = 0; b < nb && code == 0; b++) {
                if (sch[a] == MN_E2E_SRS && (b > 0 || p > 0)) { /* bit- and pilot-free: train once */
                    cx[(a * np + p) * nb + b] = (float)bits[b];
                    cy[(a * np + p) * nb + b] = cy[a * np * nb];
                    continue;
                }
                train_opts tt = t;
                tt.bits = bits[b];
                tt.pilots = pil[p];
                mn_e2e e;
                double val = (double)NAN;
                char label[64];
                snprintf(label, sizeof label, "%s %s B=%d L=%d", cmd, mn_e2e_scheme_name((mn_e2e_scheme)sch[a]), bits[b], pil[p]);
                code = train_system(label, &e, (mn_e2e_scheme)sch[a], &tt, &c, &tr, &va, &val);
                if (code) break;
                row rows[1 + MN_E2E_BL_COUNT];
                bool first = nbase == 0;
                int n = evaluate_all(cmd, rows, &e, (mn_e2e_scheme)sch[a], &test, &cc, t.seed + 77, first, false);
                mn_e2e_free(&e);
                if (n < 0) {
                    code = MN_EXIT_RUNTIME;
                    break;
                }
                if (first) {
                    nbase = n - 1;
                    memcpy(base, rows + 1, (size_t)nbase * sizeof *rows);
                }
                fprintf(csv, "%s,%d,%d,%.6f,%.6f\n", rows[0].name, sch[a] == MN_E2E_SRS ? 0 : bits[b],
                        sch[a] == MN_E2E_SRS ? 0 : pil[p], rows[0].se, rows[0].se_stderr);
                fflush(csv);
                cx[(a * np + p) * nb + b] = (float)bits[b];
                cy[(a * np + p) * nb + b] = (float)rows[0].se;
                if (!t.quiet) fprintf(stderr, "%s: %s, B = %d, L = %d: test SE %.3f\n", cmd, rows[0].name, bits[b], pil[p], rows[0].se);
            }
    for (int i = 0; i < nbase; i++)
    {
        char b[32] = "";
        if (isfinite(base[i].bits)) snprintf(b, sizeof b, "%.2f", base[i].bits);
        fprintf(csv, "%s,%s,%g,%.6f,%.6f\n", base[i].name, b, base[i].pilots, base[i].se, base[i].se_stderr);
    }
    fclose(csv);
    if (code == 0) {
        /* the plot: learned curves, perfect-CSI RZF and SRS-only as flat references, codebooks as points */
        mn_plot_series ser[16 + 3 * 16];
        int nser = 0;
        char names[64][64];
        float hx[MN_E2E_BL_COUNT][2], hy[MN_E2E_BL_COUNT][2];
        /* x range: the swept bits and the codebooks' payloads */
        double xlo = bits[0], xhi = bits[0];
        for (int b = 0; b < nb; b++) {
            xlo = fmin(xlo, bits[b]);
            xhi = fmax(xhi, bits[b]);
        }
        for (int i = 0; i < nbase; i++)
            if (isfinite(base[i].bits) && base[i].bits > 0) xhi = fmax(xhi, base[i].bits);
        const double dash = (xhi - xlo) / 80.0 + 1e-3; /* half-width of a codebook's mark */
        for (int a = 0; a < ns; a++)
            for (int p = 0; p < np; p++) {
                if (sch[a] == MN_E2E_SRS && p > 0) continue;
                if (sch[a] == MN_E2E_SRS) snprintf(names[nser], sizeof names[nser], "learned srs (0 bits)");
                else snprintf(names[nser], sizeof names[nser], "learned %s, L = %d", mn_e2e_scheme_name((mn_e2e_scheme)sch[a]), pil[p]);
                ser[nser] = (mn_plot_series){.name = names[nser], .x = cx + (a * np + p) * nb, .y = cy + (a * np + p) * nb, .n = nb};
                nser++;
            }
        for (int i = 0; i < nbase && nser < 60; i++) {
            bool flat = !strcmp(base[i].name, "rzf_perfect") || !strcmp(base[i].name, "srs_angle_zf");
            bool point = isfinite(base[i].bits) && base[i].bits > 0;
            if (!flat && !point) continue;
            snprintf(names[nser], sizeof names[nser], "%.47s", base[i].name);
            hx[i][0] = (float)(flat ? xlo : base[i].bits - dash);
            hx[i][1] = (float)(flat ? xhi : base[i].bits + dash);
            hy[i][0] = hy[i][1] = (float)base[i].se;
            ser[nser] = (mn_plot_series){.name = names[nser], .x = hx[i], .y = hy[i], .n = 2, .dashed = flat,
                                         .width = flat ? 1.5 : 6};
            nser++;
        }
        mn_plot_cfg pc = {.title = "Sum SE vs feedback bits per UE", .xlabel = "feedback bits per UE", .ylabel = "sum SE [bit/s/Hz]"};
        snprintf(path, sizeof path, "%s/se_vs_bits.svg", out);
        mn_status st = mn_report_svg_lineplot_write(path, &pc, ser, nser);
        if (st != MN_OK) code = mn_cli_fail(mn_cli_exit_code(st), cmd, "plot: %s", mn_error_msg());
        else if (!t.quiet) fprintf(stderr, "%s: wrote %s/sweep.csv and %s/se_vs_bits.svg\n", cmd, out, out);
    }
    mn_free(cx);
    mn_free(cy);
    mn_e2e_data_free(&all);
    mn_e2e_data_free(&test);
    return code;
}

/* ------------------------------------------------------------------ dispatch */


int mn_cli_csi(int argc, char **argv)
{
    const char *usage = "usage: mimonet csi simulate|train|eval|sweep [options]  ('mimonet csi SUB --help' for options)\n";
    if (argc < 2)
        return mn_cli_fail(MN_EXIT_USAGE, "csi", "give a subcommand (simulate, train, eval, sweep); run 'mimonet csi --help'");
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(usage, stdout);
        return MN_EXIT_OK;
    }
    if (!strcmp(sub, "simulate")) return cmd_simulate(argc - 1, argv + 1);
    if (!strcmp(sub, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(sub, "eval")) return cmd_eval(argc - 1, argv + 1);
    if (!strcmp(sub, "sweep")) return cmd_sweep(argc - 1, argv + 1);
    return mn_cli_fail(MN_EXIT_USAGE, "csi", "unknown subcommand '%s' (simulate, train, eval, sweep)", sub);
}
