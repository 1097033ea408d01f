"""mimonet_torch.py -- the PyTorch twin of mimonet's light PIM model, and a dependency-free
safetensors reader/writer (json + numpy; Debian 12 has no python3-safetensors).

Used by tools/gen_torch_ref.py (the parity reference for tests/nn/test_parity.c) and by
bench/torch_light.py (the PyTorch peer of `make bench`).  Needs Debian's python3-torch 1.13
and python3-numpy; run with /usr/bin/python3.

The light model (DESIGN.md; mimonet's mn_pim_model_light builds the same graph), layout
[B, C, T] as torch.nn.Conv1d, for n_tx transmit and n_rx receive antennas (IQ as 2 channels):

    l1  dw Conv1d(2n_tx, 2n_tx, 3, dil 1, groups 2n_tx, 'same') -> LeakyReLU(0.01)
        -> pw Conv1d(2n_tx, 32, 1) -> BatchNorm1d(32, affine=False) -> LeakyReLU(0.01)
    l2  the same, 32 -> 32, dilation 2
    fc1 Linear(32, 91) per time step -> Sigmoid
    fc2 Linear(91, 32) per time step -> Sigmoid
    l3  DS block 32 -> 32, dilation 4, BN, LeakyReLU
    l4  dw Conv1d(32, 32, 3, dil 1, groups 32, 'same') -> LeakyReLU(0.01) -> pw Conv1d(32, 2n_rx, 1)
        (linear output)

For 32 Tx -> 16 Rx: 11,835 trainable parameters, 11,424 multiply-accumulates per output sample.
One-sided receptive field 1 + 2 + 4 + 1 = 8 samples ('same' padding with k = 3 reaches dil on
each side).

safetensors format (https://github.com/huggingface/safetensors, "Format" section):
    8 bytes  N, unsigned little-endian 64-bit: the header length
    N bytes  JSON object {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]},
             "__metadata__": {str: str}}, padded with spaces to a multiple of 8
    rest     the tensor bytes, little-endian, offsets relative to the end of the header
"""

import json
import struct
from collections import OrderedDict

import numpy as np
import torch
from torch import nn

LEAKY_SLOPE = 0.01
BN_EPS = 1e-5
BN_MOMENTUM = 0.1
HIDDEN = 32      # channels of the inner layers
FC_HIDDEN = 91   # width of the fully connected bottleneck


class DSBlock(nn.Module):
    """Depthwise-separable dilated block: dw conv (k, dil, 'same') -> LeakyReLU -> pw conv
    -> [BatchNorm1d(affine=False)] -> [LeakyReLU].  Children are named dw, pw, bn as in the
    state_dict names mimonet uses (l1.dw.weight, l1.bn.running_mean, ...)."""

    def __init__(self, cin, cout, k=3, dil=1, norm=True, act=True):
        super().__init__()
        self.dw = nn.Conv1d(cin, cin, k, dilation=dil, groups=cin, padding="same", bias=True)
        self.pw = nn.Conv1d(cin, cout, 1, bias=True)
        self.bn = (nn.BatchNorm1d(cout, eps=BN_EPS, momentum=BN_MOMENTUM, affine=False)
                   if norm else None)
        self.act = act

    def forward(self, x):
        x = nn.functional.leaky_relu(self.dw(x), LEAKY_SLOPE)
        x = self.pw(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.act:
            x = nn.functional.leaky_relu(x, LEAKY_SLOPE)
        return x


class LightModel(nn.Module):
    """The light PIM canceller: x [B, 2 n_tx, T] -> z [B, 2 n_rx, T]."""

    def __init__(self, n_tx=32, n_rx=16):
        super().__init__()
        self.l1 = DSBlock(2 * n_tx, HIDDEN, dil=1)
        self.l2 = DSBlock(HIDDEN, HIDDEN, dil=2)
        self.fc1 = nn.Linear(HIDDEN, FC_HIDDEN)
        self.fc2 = nn.Linear(FC_HIDDEN, HIDDEN)
        self.l3 = DSBlock(HIDDEN, HIDDEN, dil=4)
        self.l4 = DSBlock(HIDDEN, 2 * n_rx, dil=1, norm=False, act=False)

    def forward(self, x):
        x = self.l2(self.l1(x))
        # Linear per time step: [B, C, T] -> [B, T, C] -> Linear -> back.
        x = torch.sigmoid(self.fc1(x.transpose(1, 2)))
        x = torch.sigmoid(self.fc2(x)).transpose(1, 2)
        return self.l4(self.l3(x))


def make_light(n_tx=32, n_rx=16):
    """A fresh light model with PyTorch's default initializers (draws from torch's global RNG,
    so call torch.manual_seed first for reproducible weights)."""
    return LightModel(n_tx, n_rx)


RECEPTIVE_FIELD = 1 + 2 + 4 + 1  # one-sided, samples


def light_state(model):
    """The model's tensors in state_dict order, as float32 numpy arrays, without
    num_batches_tracked (mimonet does not store it)."""
    out = OrderedDict()
    for name, t in model.state_dict().items():
        if name.endswith("num_batches_tracked"):
            continue
        out[name] = t.detach().cpu().numpy().astype(np.float32, copy=True)
    return out


def count_trainable(model):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def macs_per_sample(n_tx=32, n_rx=16, k=3):
    """Multiply-accumulates per output time sample (convs and linears)."""
    c0, h, f, c5 = 2 * n_tx, HIDDEN, FC_HIDDEN, 2 * n_rx
    ds = lambda cin, cout: cin * k + cin * cout
    return ds(c0, h) + ds(h, h) + h * f + f * h + ds(h, h) + ds(h, c5)


def masked_mse(pred, target, border=RECEPTIVE_FIELD):
    """MSE over t in [border, T - border) of every (b, c): mimonet's mn_loss_mse."""
    T = pred.shape[-1]
    d = pred[..., border:T - border] - target[..., border:T - border]
    return (d * d).mean()


# ---------------------------------------------------------------- safetensors (json + numpy)

def safetensors_bytes(tensors, metadata=None):
    """Serialize an ordered mapping name -> float32 ndarray (and a str -> str metadata map)
    to safetensors bytes.  Tensors are stored in the mapping's order, both in the header and
    in the data; the JSON is compact, so equal inputs give identical bytes."""
    header = OrderedDict()
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("safetensors metadata must map str to str (%r)" % (k,))
        header["__metadata__"] = OrderedDict(metadata)
    chunks, off = [], 0
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, dtype="<f4")
        raw = a.tobytes()
        header[name] = OrderedDict([("dtype", "F32"), ("shape", list(a.shape)),
                                    ("data_offsets", [off, off + len(raw)])])
        chunks.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(chunks)


def save_safetensors(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, metadata))


def load_safetensors(path):
    """Read a safetensors file of F32 tensors: returns (OrderedDict name -> ndarray, metadata)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("%s: shorter than the 8-byte header length" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise ValueError("%s: header length %d exceeds the file" % (path, n))
    header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", {})
    data = blob[8 + n:]
    out = OrderedDict()
    for name, d in header.items():
        if d["dtype"] != "F32":
            raise ValueError("%s: tensor %s has dtype %s, only F32 is supported"
                             % (path, name, d["dtype"]))
        b, e = d["data_offsets"]
        shape = tuple(d["shape"])
        if not (0 <= b <= e <= len(data)) or e - b != 4 * int(np.prod(shape, dtype=np.int64)):
            raise ValueError("%s: tensor %s has bad data_offsets" % (path, name))
        out[name] = np.frombuffer(data[b:e], dtype="<f4").reshape(shape).copy()
    return out, meta
