#!/usr/bin/env python3
"""bench/gmp_numpy.py — the GMP baseline fitted with numpy, the peer of bench/bench_gmp.c.

    python3 bench/gmp_numpy.py --data DIR [--threads N] [--method lstsq|normal]
                               [--reps R] [--warmup W] [--M 7] [--K 3] [--L 0] [--P 1]
                               [--linear 0|1] [--ridge 1e-7] [--json]

DIR holds tx.npy [n_tx, N] and rx.npy [n_rx, N] (complex64), written by
`bench_gmp --save DIR` (so both engines fit exactly the same data), and optionally coef.npy
[n_rx, columns] (complex128), mimonet's fit, to check that this basis is the same.

The basis is pim.h's, column (a, m, j) = (a * M + m) * terms + j, with u = x_a[n - m] and the
terms in the order linear u, self u|u|^(2k) (k = 1..K), lagging u|x_a[n-m-l]|^2 (l = 1..L),
cross u|x_(a+p mod A)[n-m]|^2 (p = 1..P); samples before the start are zero.  It is built in
double in a Fortran-ordered array (what LAPACK takes without a copy).

Methods (one repetition = build the basis, then solve; both are timed and reported apart):
  lstsq   numpy.linalg.lstsq(Phi, Y, rcond=None): LAPACK zgelsd (SVD), the usual numpy way.
  normal  mimonet's algorithm in numpy: G = Phi^H Phi and R = Phi^H Y by matmul, columns
          scaled to unit norm, ridge on the diagonal, numpy.linalg.solve.
The thread count goes to OpenBLAS through OPENBLAS_NUM_THREADS (set before numpy loads).
Each repetition is timed alone after W warm-up repetitions (the warm-up also pays the first
touch of the large buffers; run it with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:
glibc.malloc.trim_threshold=68719476736 so that later repetitions reuse them, as compare.sh
does).  Output: one line, or a JSON object with --json: the times, the NMSE of the fit over the
first 20,000 samples (as bench_gmp reports it), and pred_vs_mimonet_db,
10 log10(|Phi (c_numpy - c_mimonet)|^2 / |Phi c_numpy|^2) over all samples and Rx channels.
"""
import argparse
import json
import os
import sys
import time


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--method", choices=["lstsq", "normal"], default="lstsq")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--M", type=int, default=7)
    ap.add_argument("--K", type=int, default=3)
    ap.add_argument("--L", type=int, default=0)
    ap.add_argument("--P", type=int, default=1)
    ap.add_argument("--linear", type=int, choices=[0, 1], default=0)
    ap.add_argument("--ridge", type=float, default=1e-7)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads < 1 or a.reps < 1 or a.warmup < 0 or a.M < 1 or min(a.K, a.L, a.P) < 0:
        ap.error("bad value")
    return a


def main():
    a = parse()
    os.environ["OPENBLAS_NUM_THREADS"] = str(a.threads)
    os.environ["OMP_NUM_THREADS"] = str(a.threads)
    import numpy as np  # after the thread count is in the environment

    tx = np.load(os.path.join(a.data, "tx.npy")).astype(np.complex128)
    rx = np.load(os.path.join(a.data, "rx.npy"))
    A, N = tx.shape
    nrx = rx.shape[0]
    if a.P >= A and a.P > 0:
        sys.exit("gmp_numpy.py: P must be < n_tx")
    T = a.linear + a.K + a.L + a.P
    C = A * a.M * T
    Y = np.asfortranarray(rx.T.astype(np.complex128))  # [N, n_rx]
    pw = tx.real ** 2 + tx.imag ** 2  # |x_a[n]|^2

    def delayed(v, s):
        """v[n - s] with zeros before the start."""
        if s == 0:
            return v
        out = np.zeros_like(v)
        out[s:] = v[:N - s]
        return out

    def basis(phi):
        for ant in range(A):
            for m in range(a.M):
                col = (ant * a.M + m) * T
                u = delayed(tx[ant], m)
                p = delayed(pw[ant], m)
                if a.linear:
                    phi[:, col] = u
                    col += 1
                pk = np.ones(N)
                for _ in range(a.K):
                    pk = pk * p
                    np.multiply(u, pk, out=phi[:, col])
                    col += 1
                for l in range(1, a.L + 1):
                    np.multiply(u, delayed(pw[ant], m + l), out=phi[:, col])
                    col += 1
                for q in range(1, a.P + 1):
                    np.multiply(u, delayed(pw[(ant + q) % A], m), out=phi[:, col])
                    col += 1
        return phi

    def solve(phi):
        if a.method == "lstsq":
            return np.linalg.lstsq(phi, Y, rcond=None)[0]  # [C, n_rx]
        ph = phi.conj().T
        G = ph @ phi
        R = ph @ Y
        d = np.sqrt(np.real(np.diag(G)))
        d[d == 0] = 1
        G = G / np.outer(d, d)
        G[np.diag_indices(C)] += a.ridge
        return np.linalg.solve(G, R / d[:, None]) / d[:, None]

    t_basis, t_solve = [], []
    for r in range(-a.warmup, a.reps):
        t0 = time.perf_counter()
        phi = basis(np.empty((N, C), dtype=np.complex128, order="F"))
        t1 = time.perf_counter()
        coef = solve(phi)
        t2 = time.perf_counter()
        if os.environ.get("GMP_NUMPY_VERBOSE"):
            print("  rep %d: basis %.3f s, solve %.3f s" % (r, t1 - t0, t2 - t1), file=sys.stderr)
        if r >= 0:
            t_basis.append(t1 - t0)
            t_solve.append(t2 - t1)
        if r < a.reps - 1:
            del phi

    pred = phi @ coef  # [N, n_rx]
    nchk = min(N, 20000)  # the NMSE over the first 20,000 samples, as bench_gmp reports it
    nmse_db = 10 * np.log10(np.sum(np.abs(Y[:nchk] - pred[:nchk]) ** 2) / np.sum(np.abs(Y[:nchk]) ** 2))
    cmp_db = None
    coef_path = os.path.join(a.data, "coef.npy")
    if os.path.exists(coef_path):
        cm = np.load(coef_path)  # [n_rx, C]
        if cm.shape == (nrx, C):
            diff = phi @ (coef - cm.T)
            cmp_db = float(10 * np.log10(np.sum(np.abs(diff) ** 2) / np.sum(np.abs(pred) ** 2)))
        else:
            print("gmp_numpy.py: coef.npy has shape %s, not (%d, %d); not compared" % (cm.shape, nrx, C),
                  file=sys.stderr)

    med = lambda v: float(np.median(v))
    tot = [b + s for b, s in zip(t_basis, t_solve)]
    res = {"engine": "numpy", "version": np.__version__, "benchmark": "gmp_fit", "method": a.method,
           "threads": a.threads, "samples": N, "n_tx": A, "n_rx": nrx, "M": a.M, "K": a.K, "L": a.L,
           "P": a.P, "linear": a.linear, "columns": C, "reps": a.reps,
           "seconds_median": med(tot), "seconds_min": float(min(tot)),
           "seconds_basis_median": med(t_basis), "seconds_solve_median": med(t_solve),
           "nmse_db": float(nmse_db), "pred_vs_mimonet_db": cmp_db}
    if a.json:
        print(json.dumps(res))
    else:
        print("numpy %s GMP fit (%s), %d samples x %d columns -> %d Rx, threads=%d: %.3f s "
              "(basis %.3f s + solve %.3f s, median of %d), NMSE %.2f dB%s"
              % (np.__version__, a.method, N, C, nrx, a.threads, res["seconds_median"],
                 res["seconds_basis_median"], res["seconds_solve_median"], a.reps, nmse_db,
                 "" if cmp_db is None else ", prediction vs mimonet %.1f dB" % cmp_db))


if __name__ == "__main__":
    main()
