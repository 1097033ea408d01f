#!/usr/bin/python3
"""torch_csi.py -- the PyTorch 1.13 peer of bench/bench_csi.c: one training step of the
end-to-end CSI system's fusion scheme (all five networks, stage 3 of mn_e2e_train; docs/csi_e2e.md),
the same networks, pilots, UE observation and sum-SE loss (tools/csi_torch.py), the same JSON
fields; and the parity check of that PyTorch twin against a step dumped by the C implementation.

    /usr/bin/python3 bench/torch_csi.py [--mode train] [--threads N] [--reps R] [--warmup W]
                                        [--steps S] [--batch 32] [--drops 256] [--K 2] [--M 32]
                                        [--F 48] [--pilots 8] [--bits 8] [--q 1] [--subbands 1]
                                        [--width 16] [--blocks 2] [--hidden 256] [--seed 1] [--json]
                                        [--blas-threads N]
    /usr/bin/python3 bench/torch_csi.py --check DIR      (DIR from `build/bench_csi --dump DIR`)

train: PyTorch's default initialization (plus the C's gate initialization, csi_torch.init_gates),
       --drops drops of i.i.d. CN(0, 1) UL, CSI-time DL and data-time DL channels.  One step =
       draw --batch drop indices uniformly with replacement (torch.randint), gather, zero_grad,
       forward of the fusion scheme in training mode with fresh SRS and UE noise (torch.randn),
       loss = -mean sum SE on the data-time channel, backward, clip_grad_norm_(all parameters,
       1.0), AdamW(lr 5e-4, weight_decay 1e-4).  Each repetition times --steps steps
       (time.perf_counter); --warmup repetitions first, then --reps; the result is the median
       seconds per step, and drops/s = batch / median.  --threads sets torch's intra-op threads
       and OpenBLAS's (Debian's torch runs its GEMMs there, see set_blas_threads; --blas-threads
       sets those apart), with one inter-op thread.  Run it with DESIGN.md's
       GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
       (bench/compare.sh does), or torch pays fresh-page faults on every large temporary; even
       so, the first steps fault in the heap's pages, which the warm-up repetitions absorb.
check: rebuilds the networks from DIR/model.safetensors and checks, printing one line each with
       the max relative error max|a - b| / max|b| (forward tensors, tolerance 1e-4) or
       ||g_t - g_c|| / ||g_c|| (gradients, tolerance 1e-3):
       a. parameters per network, and every checkpoint tensor loaded into a parameter of its shape;
       b. each network on the C's own input: proj(S) = praw, enc(y) = feat (differing levels
          counted), fb(feat) = W_fb, srs(S) = W_srs, fus_in rebuilt, fus(fus_in) = W, per-drop SE,
          the loss;
       c. the UE noise y - observation(praw, H_csi): variance sigma2 / 2 per real (a sanity check,
          FAIL only beyond a factor 2);
       d. the whole fusion forward from S with the UE noise of (c), backward of -mean SE, every
          parameter gradient against DIR/grad.safetensors (the worst five printed).
       Exit status 1 when any check fails.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import csi_torch as ct  # noqa: E402
import mimonet_torch as mt  # noqa: E402

FWD_TOL = 1e-4   # forward tensors: float32 here, float32 with double accumulations in the C
GRAD_TOL = 1e-3  # gradients, per tensor


def set_blas_threads(n):
    """Debian's torch (BLAS_INFO=generic) runs its float GEMMs in the system libblas.so.3, which
    is OpenBLAS with its own thread pool (one thread per core unless OPENBLAS_NUM_THREADS says
    otherwise); torch.set_num_threads does not reach it.  Set it to n as well, so that --threads
    bounds the whole process.  Returns False where the library has no such call (another BLAS)."""
    try:
        fn = ctypes.CDLL("libblas.so.3").openblas_set_num_threads
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int]
    fn.restype = None
    fn(n)
    return True


# ---------------------------------------------------------------- train (throughput)

def run_train(a):
    torch.manual_seed(a.seed)
    cfg = ct.Cfg(a.K, a.M, a.F, pilots=a.pilots, bits=a.bits, q=a.q, subbands=a.subbands,
                 width=a.width, blocks=a.blocks, hidden=a.hidden)
    system = ct.CsiSystem(cfg)
    ct.init_gates(system)
    system.train()
    shape = (a.drops, cfg.K, cfg.M, cfg.F)
    # i.i.d. CN(0, 1): torch.randn of a complex dtype gives real and imaginary parts of variance 1/2
    h_ul, h_csi, h_dat = (torch.randn(shape, dtype=torch.complex64) for _ in range(3))
    params = list(system.parameters())
    opt = torch.optim.AdamW(params, lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)

    def step():
        idx = torch.randint(a.drops, (a.batch,))
        hu, hc, hd = h_ul[idx], h_csi[idx], h_dat[idx]
        S = ct.srs_observation(hu, cfg.srs_noise)
        noise = system.ue_noise(a.batch)
        opt.zero_grad(set_to_none=False)
        loss = system(S, hc, hd, noise)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
        opt.step()

    for _ in range(a.warmup):
        for _ in range(a.steps):
            step()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        for _ in range(a.steps):
            step()
        times.append((time.perf_counter() - t0) / a.steps)
    med = statistics.median(times)
    out = {
        "engine": "pytorch",
        "version": torch.__version__,
        "workload": "csi_fusion_train",
        "threads": a.threads,
        "batch": a.batch,
        "K": cfg.K,
        "M": cfg.M,
        "F": cfg.F,
        "params": ct.count_trainable(system),
        "params_by_net": ct.params_by_net(system),
        "steps_per_rep": a.steps,
        "reps": a.reps,
        "seconds_per_step_median": med,
        "seconds_per_step_min": min(times),
        "drops_per_s": a.batch / med,
    }
    if a.json:
        print(json.dumps(out, separators=(",", ":")))
    else:
        print("pytorch %s csi fusion training step, threads=%d: %.2f ms/step, %.0f drops/s "
              "(median of %d x %d steps, batch %d, %d params)"
              % (torch.__version__, a.threads, 1e3 * med, out["drops_per_s"], a.reps, a.steps,
                 a.batch, out["params"]))
    return 0


# ---------------------------------------------------------------- check (parity with the C)

class Report:
    """One line per check; remembers whether any failed."""

    def __init__(self):
        self.failed = 0

    def line(self, name, ok, detail):
        print("%-44s %-52s %s" % (name, detail, "PASS" if ok else "FAIL"))
        if not ok:
            self.failed += 1

    def close(self, name, got, ref, tol=FWD_TOL, extra="", ok=True):
        """max|got - ref| / max|ref|, in double; ok = False fails the line whatever the error."""
        g = got.detach().double()
        r = torch.as_tensor(ref).double()
        if g.shape != r.shape:
            self.line(name, False, "shape %s, C %s" % (tuple(g.shape), tuple(r.shape)))
            return float("inf")
        den = r.abs().max().item()
        err = (g - r).abs().max().item() / (den if den > 0 else 1.0)
        self.line(name, ok and err <= tol, "max rel err %.3e%s" % (err, extra))
        return err


def run_check(a):
    d = a.check
    load = lambda n: np.load(os.path.join(d, n))  # noqa: E731
    tensors, meta = mt.load_safetensors(os.path.join(d, "model.safetensors"))
    grads, _ = mt.load_safetensors(os.path.join(d, "grad.safetensors"))
    if "csi.cfg" not in meta:
        print("torch_csi: %s/model.safetensors has no csi.cfg metadata" % d, file=sys.stderr)
        return 2
    cfg = ct.Cfg.from_json(meta["csi.cfg"])
    if meta.get("mimonet.scheme", "fusion") != "fusion":
        print("torch_csi: note: the checkpoint's scheme is %s; checking the fusion forward"
              % meta["mimonet.scheme"])
    system = ct.CsiSystem(cfg)
    rep = Report()
    print("config: %s" % meta["csi.cfg"])

    # a. parameter counts per network, names and shapes
    params = dict(system.named_parameters())
    for net, mod in system.nets():
        n_c = sum(t.size for k, t in tensors.items() if k.startswith(net + "."))
        n_t = ct.count_trainable(mod)
        rep.line("a. params %s" % net, n_c == n_t, "C %d, torch %d" % (n_c, n_t))
    missing = sorted(set(params) - set(tensors))
    extra = sorted(set(tensors) - set(params))
    bad = [k for k in tensors if k in params and tuple(params[k].shape) != tensors[k].shape]
    rep.line("a. checkpoint -> torch parameters", not (missing or extra or bad),
             "%d tensors; unloaded %d, unknown %d, shape mismatch %d"
             % (len(tensors), len(missing), len(extra), len(bad)))
    for k in (missing + extra + bad)[:10]:
        print("    %s" % k)
    if missing or extra or bad:
        return 1
    ct.load_tensors(system, tensors)
    system.train()  # the dump's forward ran in training mode (no node depends on it)

    # the dump
    M, F, K = cfg.M, cfg.F, cfg.K
    hs = {}
    for n in ("h_ul", "h_csi", "h_dat"):
        h = load(n + ".npy")
        if h.ndim != 5 or h.shape[2] != 1:
            print("torch_csi: %s.npy has shape %s, expected [B, K, 1, M, F]" % (n, h.shape),
                  file=sys.stderr)
            return 2
        hs[n] = torch.from_numpy(np.ascontiguousarray(h[:, :, 0]).astype(np.complex64))
    S_c, y_c, praw_c = load("S.npy"), load("y.npy"), load("praw.npy")
    feat_c, Wfb_c, Wsrs_c = load("feat.npy"), load("Wfb.npy"), load("Wsrs.npy")
    W_c, fus_in_c, se_c = load("W.npy"), load("fus_in.npy"), load("se.npy")
    B = S_c.shape[0]
    S = ct.to_cl(torch.from_numpy(S_c), M, F)
    print("dump: %d drops, K %d, M %d, F %d, L %d, Nb %d, nfeat %d, fus_ch %d"
          % (B, K, M, F, cfg.L, cfg.Nb, cfg.nfeat, cfg.fus_ch))

    # b. each network on the C's own input
    with torch.no_grad():
        rep.close("b. proj(S) = praw", system.proj(S), praw_c)
        feat = system.enc(torch.from_numpy(y_c))
        if cfg.q > 0:  # quantized levels must match exactly
            ndiff = int((feat != torch.from_numpy(feat_c)).sum())
            rep.close("b. enc(y) = feat", feat, feat_c, ok=ndiff == 0,
                      extra=", %d of %d levels differ" % (ndiff, feat_c.size))
        else:          # q = 0: unquantized features
            rep.close("b. enc(y) = feat (unquantized)", feat, feat_c)
        fbin = torch.from_numpy(feat_c).reshape(B, K * cfg.nfeat)
        rep.close("b. fb(feat) = W_fb", ct.from_cl(system.fb(fbin)), Wfb_c)
        rep.close("b. srs(S) = W_srs", ct.from_cl(system.srs(S)), Wsrs_c)
        fus_in = system.fus_input(ct.to_cl(torch.from_numpy(Wfb_c), M, F),
                                  ct.to_cl(torch.from_numpy(Wsrs_c), M, F), S, fbin)
        rep.close("b. fus_in from (W_fb, W_srs, S, feat)", ct.from_cl(fus_in), fus_in_c)
        W = system.fus(ct.to_cl(torch.from_numpy(fus_in_c), M, F))
        rep.close("b. fus(fus_in) = W", ct.from_cl(W), W_c)
        se = ct.sum_se(ct.to_cl(torch.from_numpy(W_c), M, F), hs["h_dat"], cfg.P, cfg.sigma2)
        rep.close("b. SE(W, H_dat) = se (per drop)", se, se_c)
        loss_c = -float(np.mean(se_c.astype(np.float64)))
        rep.close("b. loss = -mean(se)", -se.mean().reshape(1), np.array([loss_c]),
                  extra=" (torch %.7f, C %.7f)" % (-se.mean().item(), loss_c))

    # c. the UE noise of the dump
    with torch.no_grad():
        y_sig = ct.observation(torch.from_numpy(praw_c), hs["h_csi"], cfg)
        noise = torch.from_numpy(y_c) - y_sig
    var, half = noise.double().var().item(), cfg.sigma2 / 2.0
    rep.line("c. UE noise y - observation(praw, H_csi)", half / 2 <= var <= 2 * half,
             "variance %.4g per real (sigma2/2 = %.4g, n = %d)" % (var, half, noise.numel()))

    # d. the whole forward with the C's noise, and every gradient
    out = system(S, hs["h_csi"], hs["h_dat"], noise)
    rep.close("d. full forward: praw", out["praw"], praw_c)
    rep.close("d. full forward: y", out["y"], y_c)
    if cfg.q > 0:  # a level flipped by rounding near a threshold would change everything after it
        flips = int((out["feat"].detach() != torch.from_numpy(feat_c)).sum())
        rep.line("d. full forward: feedback levels", flips == 0,
                 "%d of %d levels differ from the C's" % (flips, feat_c.size))
    else:
        rep.close("d. full forward: feat (unquantized)", out["feat"], feat_c)
    rep.close("d. full forward: W", ct.from_cl(out["W"]), W_c)
    rep.close("d. full forward: loss", out["loss"].reshape(1), np.array([loss_c]),
              extra=" (torch %.7f)" % out["loss"].item())
    system.zero_grad(set_to_none=False)
    out["loss"].backward()
    errs = []
    for name, p in system.named_parameters():
        gc = torch.from_numpy(grads[name]).double()
        gt = p.grad.double()
        nc = gc.norm().item()
        e = (gt - gc).norm().item() / nc if nc > 0 else gt.norm().item()
        errs.append((e, name, nc))
    errs.sort(reverse=True)
    worst = errs[0][0]
    rep.line("d. gradients (%d tensors)" % len(errs), worst <= GRAD_TOL,
             "worst rel err %.3e (%s)" % (worst, errs[0][1]))
    for e, name, nc in errs[:5]:
        print("    %-30s rel err %.3e  |g_c| %.3e" % (name, e, nc))
    nfail = sum(1 for e, _, _ in errs if e > GRAD_TOL)
    if nfail:
        print("    %d tensors above %.0e" % (nfail, GRAD_TOL))
    print("torch_csi check: %s (%d failed)" % ("PASS" if rep.failed == 0 else "FAIL", rep.failed))
    return 1 if rep.failed else 0


def main():
    ap = argparse.ArgumentParser(description="PyTorch CSI fusion training-step throughput, and "
                                 "its parity check against bench_csi --dump")
    ap.add_argument("--mode", choices=("train",), default="train")
    ap.add_argument("--check", metavar="DIR", help="check against DIR from bench_csi --dump")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--blas-threads", type=int, default=-1, metavar="N",
                    help="OpenBLAS threads (default: --threads; 0 leaves OpenBLAS's own default)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="training steps per repetition")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--drops", type=int, default=256)
    ap.add_argument("--K", type=int, default=2)
    ap.add_argument("--M", type=int, default=32)
    ap.add_argument("--F", type=int, default=48)
    ap.add_argument("--pilots", type=int, default=8)
    ap.add_argument("--bits", type=int, default=8)
    ap.add_argument("--q", type=int, default=1)
    ap.add_argument("--subbands", type=int, default=1)
    ap.add_argument("--width", type=int, default=16)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object (the default "
                    "prints a one-line summary)")
    a = ap.parse_args()
    if min(a.threads, a.reps, a.steps, a.batch, a.drops, a.K, a.M, a.F, a.pilots, a.bits,
           a.subbands, a.blocks, a.hidden) < 1 or a.warmup < 0 or a.q < 0 or a.width < 2:
        ap.error("sizes, counts and threads must be >= 1 (warmup, q >= 0; width >= 2)")

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    if a.blas_threads != 0:
        set_blas_threads(a.threads if a.blas_threads < 0 else a.blas_threads)
    if a.check:
        return run_check(a)
    try:
        return run_train(a)
    except ValueError as e:
        ap.error(str(e))


if __name__ == "__main__":
    sys.exit(main())
