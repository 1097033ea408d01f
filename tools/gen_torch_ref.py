#!/usr/bin/python3
"""gen_torch_ref.py -- write tests/data/light_ref.safetensors, the PyTorch reference that
tests/nn/test_parity.c compares mimonet's light model against (the test needs no Python).

    /usr/bin/python3 tools/gen_torch_ref.py [--out tests/data/light_ref.safetensors]
    /usr/bin/python3 tools/gen_torch_ref.py --check-fp64   # also print fp32-vs-fp64 spread

Needs Debian's python3-torch 1.13 and python3-numpy.  Deterministic: float32, one thread,
seeded, so running it twice gives identical bytes.

What the file holds (all F32; tools/mimonet_torch.py documents the model):
    init.<name>     the initial weights and BN running stats (torch default init, seeded)
    x [2, 64, 48]   input, N(0, 1), seeded
    y [2, 32, 48]   target, N(0, 8^2), seeded: with this scale the pre-clip gradient norm
                    is above max_norm on 9 of the 10 trace steps (and below it on one), so both
                    branches of the clipping are exercised
    out [2, 32, 48] forward output in training mode (BN uses batch statistics)
    loss [1]        MSE over t in [8, 40) (border = the one-sided receptive field 1+2+4+1)
    grad.<name>     d loss / d every trainable parameter; grad.x: d loss / d x
    trace.loss [10], trace.gnorm [10], trace.lr [10]
                    10 training steps from the same init on the same batch: before step s,
                    the loss, the global gradient norm before clipping, and the lr used;
                    AdamW(betas (0.9, 0.999), eps 1e-8, weight_decay 0.01), CyclicLR
                    triangular base 1e-3, max 1e-2, step_size_up 3 (lr of step s = CLR(s)),
                    clip_grad_norm_(max_norm 1.0) before each step
    step.<name>     [9, *shape]: row s = every weight and BN running stat after step s
                    (s = 0..8), i.e. the state each later step starts from.  The C test
                    restarts every step from torch's state, so rounding noise cannot build up
                    (see tests/nn/test_parity.c on why a free-running comparison is chaotic)
    final.<name>    every weight and the BN running stats after the 10 steps
The __metadata__ map records the generator, versions, seed and every setting.
"""

import argparse
import json
import os
import sys
from collections import OrderedDict

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mimonet_torch as mt  # noqa: E402

GENERATOR = "tools/gen_torch_ref.py"
GENERATOR_VERSION = "1"

SETTINGS = OrderedDict([
    ("seed", 1234),
    ("n_tx", 32), ("n_rx", 16),
    ("batch", 2), ("T", 48), ("target_std", 8.0),
    ("border", mt.RECEPTIVE_FIELD),
    ("leaky_slope", mt.LEAKY_SLOPE), ("bn_eps", mt.BN_EPS), ("bn_momentum", mt.BN_MOMENTUM),
    ("steps", 10),
    ("optimizer", "AdamW"), ("betas", [0.9, 0.999]), ("adam_eps", 1e-8),
    ("weight_decay", 0.01),
    ("schedule", "CyclicLR triangular, cycle_momentum=False, scheduler.step() after each "
                 "optimizer step"),
    ("base_lr", 1e-3), ("max_lr", 1e-2), ("step_size_up", 3),
    ("clip_max_norm", 1.0),
])


def run(dtype=torch.float32):
    """Build everything from the seed and return (ordered tensors, model) in `dtype`."""
    s = SETTINGS
    torch.manual_seed(s["seed"])
    model = mt.make_light(s["n_tx"], s["n_rx"]).to(dtype)
    init_state = OrderedDict((k, v.detach().clone()) for k, v in model.state_dict().items())
    x = torch.randn(s["batch"], 2 * s["n_tx"], s["T"]).to(dtype)
    y = (s["target_std"] * torch.randn(s["batch"], 2 * s["n_rx"], s["T"])).to(dtype)

    out = OrderedDict()
    for name, a in mt.light_state(model).items():
        out["init." + name] = a
    out["x"] = x.numpy().astype(np.float32)
    out["y"] = y.numpy().astype(np.float32)

    # One forward/backward in training mode.
    model.train()
    xg = x.clone().requires_grad_(True)
    pred = model(xg)
    loss = mt.masked_mse(pred, y, s["border"])
    loss.backward()
    out["out"] = pred.detach().numpy().astype(np.float32)
    out["loss"] = np.array([loss.item()], dtype=np.float32)
    for name, p in model.named_parameters():
        out["grad." + name] = p.grad.numpy().astype(np.float32)
    out["grad.x"] = xg.grad.numpy().astype(np.float32)

    # The 10-step trace from the same init (running stats included) on the same batch.
    model.load_state_dict(init_state)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=s["base_lr"], betas=tuple(s["betas"]),
                            eps=s["adam_eps"], weight_decay=s["weight_decay"])
    # cycle_momentum must be off: in torch 1.13 it needs an optimizer with 'momentum'.
    sched = torch.optim.lr_scheduler.CyclicLR(opt, base_lr=s["base_lr"], max_lr=s["max_lr"],
                                              step_size_up=s["step_size_up"],
                                              mode="triangular", cycle_momentum=False)
    tl, tg, tr = [], [], []
    states = []
    for _ in range(s["steps"]):
        opt.zero_grad(set_to_none=False)
        l = mt.masked_mse(model(x), y, s["border"])
        l.backward()
        gn = torch.nn.utils.clip_grad_norm_(params, max_norm=s["clip_max_norm"])
        tl.append(l.item())
        tg.append(float(gn))
        tr.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        states.append(mt.light_state(model))
    out["trace.loss"] = np.array(tl, dtype=np.float32)
    out["trace.gnorm"] = np.array(tg, dtype=np.float32)
    out["trace.lr"] = np.array(tr, dtype=np.float32)
    for name in states[0]:
        out["step." + name] = np.stack([st[name] for st in states[:-1]])
    for name, a in states[-1].items():
        out["final." + name] = a
    return out, model


def check_fp64(ref32):
    """Print how far the float32 reference lies from the same computation in float64: the
    scale of rounding noise any float32 implementation (mimonet's included) should show.
    tests/nn/test_parity.c derives its tolerances from these numbers."""
    ref64, _ = run(torch.float64)  # same float32 draws, then converted
    for name, a in ref32.items():
        b = ref64[name]
        scale = float(np.max(np.abs(b))) or 1.0
        err = float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        rms = float(np.linalg.norm(a.astype(np.float64) - b.astype(np.float64)))
        rms_rel = rms / (float(np.linalg.norm(b.astype(np.float64))) or 1.0)
        print("%-28s max|fp32-fp64| %.3e  /max|fp64| %.3e  rms(diff)/rms(fp64) %.3e"
              % (name, err, err / scale, rms_rel))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--out", default=os.path.normpath(os.path.join(here, "..", "tests", "data",
                                                  "light_ref.safetensors")))
    ap.add_argument("--check-fp64", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    ref, model = run(torch.float32)
    assert mt.count_trainable(model) == 11835, mt.count_trainable(model)

    meta = OrderedDict([
        ("format", "mimonet PyTorch parity reference"),
        ("generator", GENERATOR),
        ("generator_version", GENERATOR_VERSION),
        ("torch_version", torch.__version__),
        ("numpy_version", np.__version__),
        ("seed", str(SETTINGS["seed"])),
        ("settings", json.dumps(SETTINGS, separators=(",", ":"))),
        ("model", "light"),
        ("trainable_params", str(mt.count_trainable(model))),
        ("macs_per_sample", str(mt.macs_per_sample(SETTINGS["n_tx"], SETTINGS["n_rx"]))),
    ])
    blob = mt.safetensors_bytes(ref, meta)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(blob)
    os.replace(tmp, args.out)
    print("wrote %s (%d bytes, %d tensors); loss %.6f; trace.loss %s"
          % (args.out, len(blob), len(ref), ref["loss"][0],
             " ".join("%.5f" % v for v in ref["trace.loss"])))
    if args.check_fp64:
        check_fp64(ref)


if __name__ == "__main__":
    main()
