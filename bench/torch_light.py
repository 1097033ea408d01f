#!/usr/bin/python3
"""torch_light.py -- the PyTorch 1.13 peer of bench/bench_light.c: the light PIM model of
DESIGN.md (32 Tx -> 16 Rx, 11,835 parameters, 11,424 MAC per output sample), the same
workload, the same JSON fields.

    /usr/bin/python3 bench/torch_light.py --mode infer|train [--threads N] [--reps R]
                                          [--batch 16] [--T 4096] [--warmup W] [--json]

infer: model.eval() under torch.no_grad(), one forward of x [B, 64, T] per repetition.
train: one step per repetition = zero_grad, forward (training mode, BN batch statistics),
       MSE over the border-masked region (8 samples each side), backward,
       clip_grad_norm_(1.0), AdamW(lr 1e-3, weight_decay 0.01).
Each repetition is timed alone (time.perf_counter); the result is the median.  Throughput is
samples/s = B * T output samples / median seconds.  Run it with DESIGN.md's
GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 (bench/compare.sh
does), or torch pays fresh-page faults on every large temporary.
"""

import argparse
import json
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import mimonet_torch as mt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description="PyTorch light-model throughput")
    ap.add_argument("--mode", choices=("infer", "train"), default="infer")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--T", type=int, default=4096)
    ap.add_argument("--n-tx", type=int, default=32)
    ap.add_argument("--n-rx", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print one JSON object (the default "
                    "prints a one-line summary)")
    a = ap.parse_args()
    if a.reps < 1 or a.threads < 1 or a.batch < 1 or a.T <= 2 * mt.RECEPTIVE_FIELD:
        ap.error("reps, threads and batch must be >= 1 and T > 2 * border")

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(a.seed)
    model = mt.make_light(a.n_tx, a.n_rx)
    x = torch.randn(a.batch, 2 * a.n_tx, a.T)
    y = torch.randn(a.batch, 2 * a.n_rx, a.T)

    if a.mode == "infer":
        model.eval()

        def step():
            with torch.no_grad():
                model(x)
    else:
        model.train()
        params = list(model.parameters())
        opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                                weight_decay=0.01)

        def step():
            opt.zero_grad(set_to_none=False)
            loss = mt.masked_mse(model(x), y, mt.RECEPTIVE_FIELD)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, max_norm=1.0)
            opt.step()

    for _ in range(a.warmup):
        step()
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    samples = a.batch * a.T
    out = {
        "engine": "pytorch",
        "version": torch.__version__,
        "model": "light",
        "mode": a.mode,
        "threads": a.threads,
        "batch": a.batch,
        "T": a.T,
        "reps": a.reps,
        "params": mt.count_trainable(model),
        "macs_per_sample": mt.macs_per_sample(a.n_tx, a.n_rx),
        "seconds_median": med,
        "seconds_min": min(times),
        "samples_per_s": samples / med,
    }
    if a.json:
        print(json.dumps(out, separators=(",", ":")))
    else:
        print("pytorch %s light %s threads=%d: %.3f Msamples/s (median of %d, %.2f ms/rep)"
              % (torch.__version__, a.mode, a.threads, out["samples_per_s"] / 1e6, a.reps,
                 med * 1e3))


if __name__ == "__main__":
    main()
