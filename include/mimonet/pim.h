/*
 * mimonet/pim.h — passive-intermodulation (PIM) cancellation: the scenario simulator, the
 * neural models and classical baselines, training, and metrics.
 *
 * The problem (arXiv 2509.19382): downlink carriers on n_tx antennas pass through passive
 * nonlinear junctions; their intermodulation products (mainly IM3 at 2 f1 - f2) land in the
 * uplink band of n_rx receive antennas.  A canceller learns z = f(x) from the transmitted
 * baseband x to the interference z and subtracts it.
 */
#ifndef MIMONET_PIM_H
#define MIMONET_PIM_H

#include <complex.h>
#include "mimonet/core.h"
#include "mimonet/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- models
 * The light model of DESIGN.md (11,835 parameters, 11,424 MAC/sample for 32 Tx -> 16 Rx):
 *   l1  DS-conv 2*n_tx -> 32, k3 d1, BN(affine=False), LeakyReLU(0.01)
 *   l2  DS-conv 32 -> 32, k3 d2, BN, LeakyReLU
 *   fc1 linear 32 -> 91, sigmoid
 *   fc2 linear 91 -> 32, sigmoid
 *   l3  DS-conv 32 -> 32, k3 d4, BN, LeakyReLU
 *   l4  DS-conv 32 -> 2*n_rx, k3 d1, linear output
 * where DS-conv = depthwise conv (same padding) -> LeakyReLU -> pointwise conv. */
int mn_pim_model_light(mn_model *m, int n_tx, int n_rx);

/* ---------------------------------------------------------------- simulator
 * (section owned by the simulator work) */

#ifdef __cplusplus
}
#endif
#endif
