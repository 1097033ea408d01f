/* dsp/ofdm.c — NR/LTE OFDM numerology (resource-block tables, FFT size, cyclic prefixes) and the
 * OFDM modulator/demodulator.
 *
 * NR (TS 38.211 §5.3.1, normal CP): with kappa = 64 and Tc = 1/(480 kHz * 4096),
 *   N_u = 2048 kappa 2^-mu Tc,  N_cp = 144 kappa 2^-mu Tc, plus 16 kappa Tc for the first
 *   symbol of every 0.5 ms (l = 0 and l = 7 * 2^mu within a subframe).
 * At a sample rate fs with nfft = fs / scs samples per useful symbol, that is
 *   cp = 144 nfft / 2048,   cp_first = cp + 16 * 2^mu * nfft / 2048.
 * LTE (TS 36.211 Table 6.12-1, normal CP) has the same structure at 15 kHz: 160 / 144 samples
 * at nfft 2048, 7 symbols per 0.5 ms slot; its DC subcarrier carries nothing.
 *
 * WOLA (e.g. Zayani et al., "WOLA-OFDM", 2016; 3GPP R1-165173): symbol l extended past its end
 * by its cyclic continuation with a falling raised-cosine ramp, overlapped with the rising
 * ramp of symbol l+1's CP.  The complementary ramps r + (1 - r) = 1 keep the signal inside
 * each symbol unchanged beyond the first W CP samples, and the smooth transitions make the
 * sidelobes fall off fast instead of as sinc^2. */
#include "mimonet/dsp.h"

#include <math.h>
#include <string.h>

/* TS 38.101-1 Table 5.3.2-1 (FR1 maximum transmission bandwidth N_RB). */
static const struct { int mhz, rb[3]; } nr_rb[] = {
    /* MHz   15 kHz 30 kHz 60 kHz   (-1: not defined) */
    {5, {25, 11, -1}},    {10, {52, 24, 11}},   {15, {79, 38, 18}},   {20, {106, 51, 24}},
    {25, {133, 65, 31}},  {30, {160, 78, 38}},  {35, {188, 92, 44}},  {40, {216, 106, 51}},
    {45, {242, 119, 58}}, {50, {270, 133, 65}}, {60, {-1, 162, 79}},  {70, {-1, 189, 93}},
    {80, {-1, 217, 107}}, {90, {-1, 245, 121}}, {100, {-1, 273, 135}},
};

int mn_nr_n_rb(double bw_hz, int mu)
{
    if (mu < 0 || mu > 2) return -1;
    for (size_t i = 0; i < sizeof nr_rb / sizeof nr_rb[0]; i++)
        if (fabs(bw_hz - 1e6 * nr_rb[i].mhz) < 1.0) return nr_rb[i].rb[mu];
    return -1;
}

int mn_lte_n_rb(double bw_hz)
{
    static const struct { double hz; int rb; } t[] = {
        {1.4e6, 6}, {3e6, 15}, {5e6, 25}, {10e6, 50}, {15e6, 75}, {20e6, 100}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (fabs(bw_hz - t[i].hz) < 1.0) return t[i].rb;
    return -1;
}

static mn_status numerology(mn_ofdm_cfg *c, int n_rb, int mu, double fs, bool dc_null)
{
    double scs = 15e3 * (double)(1 << mu);
    double nf = fs / scs;
    if (!(fs > 0) || fabs(nf - floor(nf + 0.5)) > 1e-9 * nf)
        return mn_error(MN_ERR_INVALID,
                        "ofdm: sample rate %.6g Hz is not an integer multiple of the %.0f Hz "
                        "subcarrier spacing", fs, scs);
    int nfft = (int)floor(nf + 0.5);
    int n_sc = 12 * n_rb + (dc_null ? 1 : 0);
    if (nfft < n_sc)
        return mn_error(MN_ERR_INVALID,
                        "ofdm: FFT size %d at %.6g Hz is smaller than the %d occupied subcarriers; "
                        "raise the sample rate", nfft, fs, n_sc);
    long num = 144L * nfft, num2 = 16L * (1L << mu) * nfft;
    if (num % 2048 || num2 % 2048)
        return mn_error(MN_ERR_INVALID,
                        "ofdm: FFT size %d gives a fractional cyclic prefix; use a sample rate "
                        "that is a multiple of %.0f Hz", nfft, scs * 128 / (1 << mu));
    memset(c, 0, sizeof *c);
    c->mu = mu;
    c->n_rb = n_rb;
    c->nfft = nfft;
    c->fs = fs;
    c->cp = (int)(num / 2048);
    c->cp_first = c->cp + (int)(num2 / 2048);
    c->sym_per_half_ms = 7 * (1 << mu);
    c->dc_null = dc_null;
    return MN_OK;
}

mn_status mn_ofdm_numerology_nr(mn_ofdm_cfg *c, double bw_hz, int mu, double fs)
{
    int n_rb = mn_nr_n_rb(bw_hz, mu);
    if (n_rb < 0)
        return mn_error(MN_ERR_INVALID,
                        "ofdm: %.6g MHz at numerology mu = %d is not an NR FR1 channel "
                        "(TS 38.101-1 Table 5.3.2-1)", bw_hz / 1e6, mu);
    return numerology(c, n_rb, mu, fs, false);
}

mn_status mn_ofdm_numerology_lte(mn_ofdm_cfg *c, double bw_hz, double fs)
{
    int n_rb = mn_lte_n_rb(bw_hz);
    if (n_rb < 0)
        return mn_error(MN_ERR_INVALID,
                        "ofdm: %.6g MHz is not an LTE channel bandwidth (1.4, 3, 5, 10, 15, 20)",
                        bw_hz / 1e6);
    return numerology(c, n_rb, 0, fs, true);
}

double mn_ofdm_occupied_hz(const mn_ofdm_cfg *c)
{
    double scs = 15e3 * (double)(1 << c->mu);
    return (12.0 * c->n_rb + (c->dc_null ? 1 : 0)) * scs;
}

/* FFT bin (0 .. nfft-1) of grid entry i. */
static int subcarrier_bin(const mn_ofdm_cfg *c, int i)
{
    int n_sc = 12 * c->n_rb;
    int k = i - n_sc / 2;
    if (c->dc_null && k >= 0) k += 1;
    return k < 0 ? k + c->nfft : k;
}

static int symbol_cp(const mn_ofdm_cfg *c, long l)
{
    return (l % c->sym_per_half_ms) == 0 ? c->cp_first : c->cp;
}

static mn_status check_cfg(const mn_ofdm_cfg *c)
{
    if (!c || c->n_rb < 1 || c->nfft < 12 * c->n_rb + (c->dc_null ? 1 : 0) || c->cp < 0 ||
        c->cp_first < c->cp || c->cp_first > c->nfft || c->sym_per_half_ms < 1 || c->wola < 0 ||
        c->wola > c->cp)
        return mn_error(MN_ERR_INVALID, "ofdm: inconsistent numerology (use "
                                        "mn_ofdm_numerology_nr/_lte to fill it)");
    return MN_OK;
}

struct mn_ofdm_mod {
    mn_ofdm_cfg c;
    long sym;
    float scale;
    float complex *buf;
    float complex *prev; /* [wola] the previous symbol's first useful samples */
    float *ramp;         /* [wola] rising raised cosine */
    mn_fft *fft;
};

mn_ofdm_mod *mn_ofdm_mod_create(const mn_ofdm_cfg *c)
{
    if (check_cfg(c) != MN_OK) return NULL;
    mn_ofdm_mod *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->c = *c;
    q->scale = (float)(1.0 / sqrt(12.0 * c->n_rb));
    q->buf = mn_calloc((size_t)c->nfft, sizeof *q->buf);
    q->prev = mn_calloc((size_t)c->wola + 1, sizeof *q->prev);
    q->ramp = mn_malloc(((size_t)c->wola + 1) * sizeof *q->ramp);
    if (!q->buf || !q->prev || !q->ramp) goto nomem;
    for (int n = 0; n < c->wola; n++) {
        double s = sin(M_PI * (n + 0.5) / (2.0 * c->wola));
        q->ramp[n] = (float)(s * s);
    }
    q->fft = mn_fft_create(c->nfft, MN_FFT_BACKWARD);
    if (!q->fft) {
        mn_ofdm_mod_destroy(q);
        return NULL;
    }
    return q;
nomem:
    mn_ofdm_mod_destroy(q);
    mn_error(MN_ERR_NOMEM, "ofdm: modulator buffers");
    return NULL;
}

int mn_ofdm_mod_next_len(const mn_ofdm_mod *q) { return symbol_cp(&q->c, q->sym) + q->c.nfft; }

int mn_ofdm_mod_execute(mn_ofdm_mod *q, float complex *y, const float complex *grid)
{
    const mn_ofdm_cfg *c = &q->c;
    int n_sc = 12 * c->n_rb, cp = symbol_cp(c, q->sym);
    memset(q->buf, 0, (size_t)c->nfft * sizeof *q->buf);
    for (int i = 0; i < n_sc; i++) q->buf[subcarrier_bin(c, i)] = q->scale * grid[i];
    mn_fft_execute(q->fft, y + cp, q->buf);
    memcpy(y, y + c->nfft, (size_t)cp * sizeof *y); /* CP = the last cp samples */
    for (int n = 0; n < c->wola; n++) {
        y[n] = q->ramp[n] * y[n] + (1.0f - q->ramp[n]) * q->prev[n];
        q->prev[n] = y[cp + n]; /* this symbol's continuation past its end */
    }
    q->sym++;
    return cp + c->nfft;
}

void mn_ofdm_mod_reset(mn_ofdm_mod *q)
{
    q->sym = 0;
    memset(q->prev, 0, ((size_t)q->c.wola + 1) * sizeof *q->prev);
}

void mn_ofdm_mod_destroy(mn_ofdm_mod *q)
{
    if (!q) return;
    mn_fft_destroy(q->fft);
    mn_free(q->buf);
    mn_free(q->prev);
    mn_free(q->ramp);
    mn_free(q);
}

struct mn_ofdm_demod {
    mn_ofdm_cfg c;
    long sym;
    float scale;
    float complex *buf;
    mn_fft *fft;
};

mn_ofdm_demod *mn_ofdm_demod_create(const mn_ofdm_cfg *c)
{
    if (check_cfg(c) != MN_OK) return NULL;
    mn_ofdm_demod *q = mn_calloc(1, sizeof *q);
    if (!q) goto nomem;
    q->c = *c;
    q->scale = (float)(sqrt(12.0 * c->n_rb) / c->nfft);
    q->buf = mn_calloc((size_t)c->nfft, sizeof *q->buf);
    if (!q->buf) goto nomem;
    q->fft = mn_fft_create(c->nfft, MN_FFT_FORWARD);
    if (!q->fft) {
        mn_ofdm_demod_destroy(q);
        return NULL;
    }
    return q;
nomem:
    mn_ofdm_demod_destroy(q);
    mn_error(MN_ERR_NOMEM, "ofdm: demodulator buffers");
    return NULL;
}

int mn_ofdm_demod_next_len(const mn_ofdm_demod *q)
{
    return symbol_cp(&q->c, q->sym) + q->c.nfft;
}

int mn_ofdm_demod_execute(mn_ofdm_demod *q, float complex *grid, const float complex *y)
{
    const mn_ofdm_cfg *c = &q->c;
    int n_sc = 12 * c->n_rb, cp = symbol_cp(c, q->sym);
    mn_fft_execute(q->fft, q->buf, y + cp);
    for (int i = 0; i < n_sc; i++) grid[i] = q->scale * q->buf[subcarrier_bin(c, i)];
    q->sym++;
    return cp + c->nfft;
}

void mn_ofdm_demod_reset(mn_ofdm_demod *q) { q->sym = 0; }

void mn_ofdm_demod_destroy(mn_ofdm_demod *q)
{
    if (!q) return;
    mn_fft_destroy(q->fft);
    mn_free(q->buf);
    mn_free(q);
}
