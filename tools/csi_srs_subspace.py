#!/usr/bin/python3
"""How much of the DL channel the uplink's angle-delay structure can carry (docs/csi_e2e.md).

An oracle bound for SRS-aided feedback on `mimonet csi simulate` channels.  For each drop and
user, the P strongest angle-delay components of the UL channel (the SRS, noise-free here) are
found greedily (orthogonal matching pursuit over a 4x oversampled grid of UPA beams and
delays).  The same components, their beams rescaled to the DL carrier, then span the DL
estimate: the DL coefficients are fitted by least squares to the true DL channel at CSI-RS
time, as if the UE had fed them back with infinitely many bits.  The BS precodes with RZF
(loading K sigma^2 / P) on those estimates, per subcarrier, and the sum SE is scored on the
data-time channel, as `mimonet csi eval` scores its schemes (DESIGN.md's formula).

So no scheme whose feedback describes the DL channel only through the UL's P strongest
angle-delay components, however many bits it spends, does better than this on these drops.
Usage:

    mimonet csi simulate --out DIR --drops 256 --seed 1000    # csi eval's test drops
    /usr/bin/python3 tools/csi_srs_subspace.py DIR [--P 4,8,16,32] [--drops N]

Prints, per P, the mean sum SE and that of perfect-CSI RZF on the same drops.  Needs numpy
(Debian's python3-numpy).
"""
import argparse
import json
import os
import sys

import numpy as np


def upa_indices(nh, nv):
    """Element n of the BS array sits at (n // nv, n % nv), as src/csi/chan.c lays it out."""
    n = np.arange(nh * nv)
    return n // nv, n % nv


def atoms(ih, iv, u, v, tau, nf, scale=1.0):
    """[N, F, M] angle-delay atoms: exp(j 2 pi scale (u ih + v iv)) exp(-j 2 pi f tau)."""
    a = np.exp(2j * np.pi * scale * (np.outer(ih, u) + np.outer(iv, v)))
    t = np.exp(-2j * np.pi * np.outer(np.arange(nf), tau))
    return a[:, None, :] * t[None, :, :]


def strongest(h, ih, iv, nh, nv, P, os_=4):
    """Greedy (OMP) choice of P angle-delay components of h [N, F]: arrays u, v, tau."""
    n, nf = h.shape
    uu, vv = np.meshgrid(np.arange(nh * os_) / (nh * os_), np.arange(nv * os_) / (nv * os_), indexing="ij")
    uu, vv = uu.ravel(), vv.ravel()
    taus = np.arange(nf * os_) / (nf * os_)
    beams = np.exp(2j * np.pi * (np.outer(ih, uu) + np.outer(iv, vv)))  # N x G
    delays = np.exp(-2j * np.pi * np.outer(np.arange(nf), taus))        # F x T
    r = h.copy()
    sel = []
    for _ in range(P):
        c = beams.conj().T @ r @ delays.conj()
        g, t = np.unravel_index(np.argmax(np.abs(c)), c.shape)
        sel.append((uu[g], vv[g], taus[t]))
        u, v, tau = map(np.array, zip(*sel))
        a = atoms(ih, iv, u, v, tau, nf).reshape(n * nf, -1)
        coef, *_ = np.linalg.lstsq(a, h.reshape(-1), rcond=None)
        r = (h.reshape(-1) - a @ coef).reshape(n, nf)
    return map(np.array, zip(*sel))


def rzf_se(h_est, h_true, sig2, ptot=1.0):
    """Sum SE [bit/s/Hz] of RZF designed on h_est [K, N, F], scored on h_true, mean over F."""
    k, _, nf = h_est.shape
    total = 0.0
    for f in range(nf):
        a = h_est[:, :, f].conj()                       # rows h_k^H
        w = a.conj().T @ np.linalg.inv(a @ a.conj().T + k * sig2 / ptot * np.eye(k))
        w *= np.sqrt(ptot) / np.linalg.norm(w)          # total power P on the subcarrier
        g = h_true[:, :, f].conj() @ w
        s = np.abs(np.diag(g)) ** 2
        total += np.sum(np.log2(1.0 + s / (np.sum(np.abs(g) ** 2, axis=1) - s + sig2)))
    return total / nf


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="a folder written by mimonet csi simulate")
    ap.add_argument("--P", default="4,8,16,32", help="components per user, comma-separated")
    ap.add_argument("--drops", type=int, default=0, help="first N drops only (default: all)")
    a = ap.parse_args()
    try:
        with open(os.path.join(a.dir, "meta.json")) as f:
            meta = json.load(f)
        h_dl = np.load(os.path.join(a.dir, "h_dl.npy"))
        h_ul = np.load(os.path.join(a.dir, "h_ul.npy"))
        h_data = np.load(os.path.join(a.dir, "h_dl_data.npy"))
    except (OSError, ValueError) as e:
        sys.exit("csi_srs_subspace: %s" % e)
    if meta.get("external") or meta.get("ue_ant", 1) != 1:
        sys.exit("csi_srs_subspace: needs simulated single-antenna users (meta.json: external false, ue_ant 1)")
    nh, nv = (int(x) for x in meta["bs"].split("x"))
    sig2 = 10.0 ** (-meta["snr_db"] / 10.0)
    scale = meta["fc_dl_hz"] / meta["fc_ul_hz"]
    ps = [int(p) for p in a.P.split(",")]
    drops = h_dl.shape[0] if a.drops <= 0 else min(a.drops, h_dl.shape[0])
    ih, iv = upa_indices(nh, nv)
    k, n, nf = h_dl.shape[1], h_dl.shape[3], h_dl.shape[4]
    perfect = np.mean([rzf_se(h_data[d, :, 0], h_data[d, :, 0], sig2) for d in range(drops)])
    aged = np.mean([rzf_se(h_dl[d, :, 0], h_data[d, :, 0], sig2) for d in range(drops)])
    print("%d drops, %s, K %d, %d x %d UPA, %d subcarriers, SNR %g dB" %
          (drops, meta["channel"], k, nh, nv, nf, meta["snr_db"]))
    print("perfect-CSI RZF (the data-time DL itself, as csi eval's rzf_perfect): %.2f bit/s/Hz" % perfect)
    print("RZF on the exact DL at CSI-RS time (aging alone): %.2f bit/s/Hz" % aged)
    for P in ps:
        se = []
        for d in range(drops):
            est = np.zeros((k, n, nf), complex)
            for u in range(k):
                uu, vv, tau = strongest(h_ul[d, u, 0], ih, iv, nh, nv, P)
                at = atoms(ih, iv, uu, vv, tau, nf, scale).reshape(n * nf, -1)
                coef, *_ = np.linalg.lstsq(at, h_dl[d, u, 0].reshape(-1), rcond=None)
                est[u] = (at @ coef).reshape(n, nf)
            se.append(rzf_se(est, h_data[d, :, 0], sig2))
        print("P %2d UL components, exact DL coefficients: %.2f bit/s/Hz (%.0f %% of perfect RZF)" %
              (P, np.mean(se), 100.0 * np.mean(se) / perfect))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
