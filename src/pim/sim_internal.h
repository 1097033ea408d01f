/* pim/sim_internal.h — private to the PIM scenario simulator (sim*.c). */
#ifndef MN_PIM_SIM_INTERNAL_H
#define MN_PIM_SIM_INTERNAL_H

#include "mimonet/dsp.h"
#include "mimonet/pim.h"

/* OpenMP pragmas that vanish (without an unknown-pragma warning) when built without OpenMP. */
#ifdef _OPENMP
#define SIM_OMP(x) _Pragma(x)
#else
#define SIM_OMP(x)
#endif

enum {
    SIM_BLOCK = 8192, /* internal block [samples at fs] */
    SIM_GRID = 256,   /* drift grid step [samples at fs]; divides SIM_BLOCK */
    SIM_STEPS = SIM_BLOCK / SIM_GRID
};

/* ---------------------------------------------------------------- random streams
 * Parts of the scenario draw from separate xoshiro256** streams: part p is the seed's stream
 * advanced by p long jumps (2^192 draws each), and item i within a part is further advanced
 * by i jumps (2^128).  So the Tx signals depend only on (seed, carrier, layer), and the noise
 * on (seed, rx antenna): changing n_rx leaves tx unchanged, and no two streams overlap. */
enum { SIM_PART_SETUP = 0, SIM_PART_DRIFT, SIM_PART_TRAFFIC, SIM_PART_NOISE, SIM_PART_CARRIER0 };
void sim_rng_part(mn_rng *r, uint64_t seed, int part);
/* Uniform [0, 1) from a hash of (key, a, b, c): stateless draws for traffic patterns. */
double sim_hash_uniform(uint64_t key, uint64_t a, uint64_t b, uint64_t c);

/* ---------------------------------------------------------------- carriers */

typedef struct {
    mn_rng rng, rng0;    /* the stream, and its state at the start of the recording */
    mn_ofdm_mod *mod;
    float complex *sym;  /* the current symbol with its CP */
    float complex *grid; /* n_sc subcarrier values */
    int len, pos;        /* samples in sym, next to read */
    long l;              /* symbols made so far */
} sim_layer;

typedef struct {
    mn_ofdm_cfg ofdm;
    int qam;
    int L;               /* layers */
    bool identity;       /* no beamforming: layer a drives antenna a only */
    double offset_hz, amp; /* centre offset; amplitude sqrt(p_c / sum p) */
    float complex *W;    /* [n_tx, L] beamforming weights (NULL when identity) */
    sim_layer *layers;   /* [L] */
    int start;           /* samples of the first symbol skipped at reset */
    mn_nco *nco;
    float complex *lo;   /* [SIM_BLOCK] the NCO for this block */
    float complex *lay;  /* [L, SIM_BLOCK] layer samples for this block */
} sim_carrier;

struct mn_pim_sim;
mn_status sim_carriers_init(struct mn_pim_sim *q);
void sim_carriers_reset(struct mn_pim_sim *q);
/* Next SIM_BLOCK samples of every Tx antenna into x (n_tx rows, stride ld). */
void sim_carriers_block(struct mn_pim_sim *q, float complex *x, int64_t ld);
void sim_carriers_free(struct mn_pim_sim *q);
/* Traffic: the RB allocation [rb0, rb0 + nrb) of carrier c in symbol l (nrb = 0: idle), and
 * whether layer a (= antenna a without beamforming) is muted in traffic block tb. */
void sim_traffic_alloc(const struct mn_pim_sim *q, int c, long l, int *rb0, int *nrb);
bool sim_traffic_muted(const struct mn_pim_sim *q, int a, long tb);

/* ---------------------------------------------------------------- drift */

typedef struct {
    int n;            /* processes */
    double *sigma;    /* [n] stationary std */
    double *val;      /* [SIM_STEPS + 1, n] values on the grid points of the current block */
    double rho, innov; /* AR(1) per grid step: x' = rho x + innov sigma e, innov = sqrt(1-rho^2) */
    bool fresh;       /* val[0] holds the start state (just reset) */
    mn_rng rng;
} sim_drift;

mn_status sim_drift_init(struct mn_pim_sim *q);
void sim_drift_reset(struct mn_pim_sim *q);
/* Advance the drift over the next block and fill Cg, Dg, gag, gbg on its grid points. */
void sim_drift_block(struct mn_pim_sim *q);
void sim_drift_free(struct mn_pim_sim *q);

/* ---------------------------------------------------------------- the simulator */

struct mn_pim_sim {
    mn_pim_sim_cfg cfg;
    int R;               /* oversampling */
    int nj;              /* junctions */
    int D;               /* compensated delay [samples at fs] */
    int pre_blocks;      /* blocks discarded at reset */
    double span_hz;      /* DL occupied half-span (max |offset| + bw/2) */
    int interp_m, decim_m, chan_len;
    uint64_t traffic_key;
    /* carriers */
    sim_carrier car[MN_PIM_MAX_CARRIERS];
    /* geometry and couplings */
    double *tx_xy, *rx_xy, *j_xyz; /* [n_tx,2], [n_rx,2], [nj,3] positions [wavelengths] */
    double complex *C0;  /* [nj, n_tx] Tx antenna -> junction */
    double complex *D0;  /* [n_rx, nj] junction -> Rx antenna */
    /* junctions */
    mn_pim_junction_kind kind[MN_PIM_MAX_JUNCTIONS];
    double ja[MN_PIM_MAX_JUNCTIONS], jb[MN_PIM_MAX_JUNCTIONS], jdrive[MN_PIM_MAX_JUNCTIONS];
    float complex *pre, *post; /* [nj, memory_taps] */
    mn_pim_junction *jn[MN_PIM_MAX_JUNCTIONS];
    mn_interp *ip[MN_PIM_MAX_JUNCTIONS];
    mn_decim *dc[MN_PIM_MAX_JUNCTIONS];
    mn_firfilt *ch[MN_PIM_MAX_JUNCTIONS];
    float complex lo_rx[16]; /* e^{+j 2 pi p / R}: the Rx LO at the oversampled rate */
    /* drift (dynamic) and its per-block products on the grid */
    sim_drift drift;
    double complex *Cg;  /* [SIM_STEPS + 1, nj, n_tx] */
    double complex *Dg;  /* [SIM_STEPS + 1, n_rx, nj] */
    double *gag, *gbg;   /* [SIM_STEPS + 1, nj] */
    /* work */
    float complex *txq;  /* [n_tx, D + SIM_BLOCK]: delay line, new samples at column D */
    int64_t ldq;
    float complex *v;    /* [nj, SIM_BLOCK] coupled junction inputs, then outputs at fs */
    float complex *v4;   /* [nj, R SIM_BLOCK] */
    float *ga4, *gb4;    /* [nj, R SIM_BLOCK] drift multipliers */
    float complex *pim;  /* [n_rx, SIM_BLOCK] current output block */
    int64_t blk_pos;     /* samples of the current block already handed out */
    int64_t k_abs;       /* chain input samples since reset (drift time) */
};

#endif
