/* src/csi/e2e_internal.h — helpers shared by the files of the end-to-end CSI system (not public
 * API): network declarations (e2e_nets.c) and the CSI-RS observation with its backward
 * (projection.c). */
#ifndef MIMONET_CSI_E2E_INTERNAL_H
#define MIMONET_CSI_E2E_INTERNAL_H

#include "mimonet/csi_e2e.h"

/* ---------------------------------------------------------------- networks (e2e_nets.c) */

/* Length of the projection net's output column: 2 Nb M + 2 L F + 2 Nb L. */
int csi_e2e_proj_out_len(int M, int F, int L, int Nb);
void csi_e2e_declare_proj(mn_model *m, const mn_e2e_cfg *c, int L, int Nb);
void csi_e2e_declare_enc(mn_model *m, const mn_e2e_cfg *c, int L, int nfeat);
void csi_e2e_declare_fb(mn_model *m, const mn_e2e_cfg *c, int nfeat);
void csi_e2e_declare_srs(mn_model *m, const mn_e2e_cfg *c);
void csi_e2e_declare_fus(mn_model *m, const mn_e2e_cfg *c);
void csi_e2e_init_gates(mn_model *m);

/* ---------------------------------------------------------------- CSI-RS observation (projection.c) */

/* Drop b: from the projection net's raw output praw (csi_e2e_proj_out_len floats) build
 * A, Pi, Phi, X = A Pi and the normalized pilots in e's per-drop caches, then ADD the noiseless
 * observation of every user to y [K][L][Nc][2] (Re, Im) from Gcsi [K][M][F]. */
void csi_e2e_obs_forward(mn_e2e *e, int b, const float *praw, const float complex *Gcsi, float *y);
/* The backward of drop b: dy [K][L][Nc][2] -> dpraw (overwritten). */
void csi_e2e_obs_backward(mn_e2e *e, int b, float *dpraw, const float *dy, const float complex *Gcsi);

#endif
