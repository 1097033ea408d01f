#!/usr/bin/python3
"""check_safetensors.py -- load a mimonet checkpoint (.safetensors) into PyTorch and print
what it holds: each tensor's name, dtype, shape and checksums, then the metadata.

    /usr/bin/python3 tools/check_safetensors.py MODEL.safetensors [--expect-sum S] [--rtol R]

Debian 12 ships no python3-safetensors, so the format is parsed here with json + numpy,
following https://github.com/huggingface/safetensors ("Format"): an 8-byte little-endian
header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...,
"__metadata__": {str: str}}, then the data buffer, which the tensors must tile exactly.
The same structural checks as the reference implementation are applied; tensors are then
built with torch.from_numpy, so a successful run shows PyTorch can use the file.  When the
`safetensors` package happens to be importable, its own loader is run too and compared.

Checksums per tensor: `sum` = sum of the finite values in float64; `crc32` = zlib.crc32 of
the raw little-endian bytes (bit-exact fingerprint).  --expect-sum S compares the total of
the per-tensor sums with S (relative tolerance --rtol, default 1e-9) and exits 1 on a
mismatch.  Exit status 2 means the file is malformed.

This is a manual/validation tool (needs numpy and torch 1.13, /usr/bin/python3 on Debian);
the C test suite never runs it.
"""
import argparse
import json
import math
import struct
import sys
import zlib

import numpy as np

try:
    import torch
except ImportError:  # still useful as a format checker without torch
    torch = None

MAX_HEADER = 100_000_000  # the reference implementation's limit
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
          "I8": "i1", "U8": "u1", "BOOL": "?"}


class FormatError(Exception):
    pass


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise FormatError("key %r appears twice" % k)
        d[k] = v
    return d


def parse(path):
    """Returns (list of (name, dtype, shape, ndarray) in header order, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise FormatError("%d bytes, shorter than the 8-byte header length" % len(blob))
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise FormatError("header length %d exceeds the %d bytes after it" % (n, len(blob) - 8))
    if n > MAX_HEADER:
        raise FormatError("header length %d exceeds %d" % (n, MAX_HEADER))
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError("header is not valid UTF-8 JSON: %s" % e)
    if not isinstance(header, dict):
        raise FormatError("header is not a JSON object")
    meta = header.pop("__metadata__", None)
    if meta is not None and (not isinstance(meta, dict) or
                             not all(isinstance(v, str) for v in meta.values())):
        raise FormatError("__metadata__ must map strings to strings")
    data = blob[8 + n:]
    out, ranges = [], []
    for name, e in header.items():
        if not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}:
            raise FormatError("tensor %r: entry must hold exactly dtype, shape, data_offsets" % name)
        dt, shape, offs = e["dtype"], e["shape"], e["data_offsets"]
        if dt not in DTYPES:
            raise FormatError("tensor %r: dtype %r not handled here" % (name, dt))
        if not (isinstance(shape, list) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise FormatError("tensor %r: bad shape %r" % (name, shape))
        if not (isinstance(offs, list) and len(offs) == 2 and
                all(isinstance(o, int) and o >= 0 for o in offs)):
            raise FormatError("tensor %r: bad data_offsets %r" % (name, offs))
        b, end = offs
        item = np.dtype(DTYPES[dt]).itemsize
        if not b <= end <= len(data) or end - b != item * math.prod(shape):
            raise FormatError("tensor %r: data_offsets %r do not fit shape %r / buffer %d"
                              % (name, offs, shape, len(data)))
        arr = np.frombuffer(data[b:end], dtype=DTYPES[dt]).reshape(shape).copy()
        out.append((name, dt, tuple(shape), arr))
        ranges.append((b, end, name))
    at = 0
    for b, end, name in sorted(ranges):
        if b != at:
            raise FormatError("data bytes around offset %d: %s before tensor %r"
                              % (b, "overlap" if b < at else "hole", name))
        at = end
    if at != len(data):
        raise FormatError("data buffer is %d bytes but tensors cover %d" % (len(data), at))
    return out, meta or {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("path")
    ap.add_argument("--expect-sum", type=float, default=None,
                    help="expected total of the per-tensor sums of finite values")
    ap.add_argument("--rtol", type=float, default=1e-9)
    args = ap.parse_args()
    try:
        tensors, meta = parse(args.path)
    except (FormatError, OSError) as e:
        print("%s: %s" % (args.path, e), file=sys.stderr)
        return 2

    total, nparams = 0.0, 0
    print("%-32s %-5s %-16s %24s  %s" % ("tensor", "dtype", "shape", "sum(finite)", "crc32"))
    for name, dt, shape, arr in tensors:
        t = torch.from_numpy(arr) if torch is not None else None
        if t is not None:
            assert tuple(t.shape) == shape
            v = t.double() if dt != "BOOL" else t.to(torch.float64)
            s = float(v[torch.isfinite(v)].sum())
        else:
            v = arr.astype(np.float64)
            s = float(v[np.isfinite(v)].sum())
        total += s
        nparams += arr.size
        crc = zlib.crc32(arr.astype(DTYPES[dt], copy=False).tobytes()) & 0xFFFFFFFF
        print("%-32s %-5s %-16s %24.17g  %08x" % (name, dt, list(shape), s, crc))
    print("%d tensors, %d values, total sum(finite) %.17g  (loaded with %s)"
          % (len(tensors), nparams, total,
             "torch %s" % torch.__version__ if torch is not None else "numpy only"))
    print("metadata:")
    for k, v in meta.items():
        print("  %s = %s" % (k, v if len(v) <= 200 else v[:200] + "..."))

    try:  # the reference implementation, when installed (not in Debian 12)
        from safetensors.numpy import load_file
        ref = load_file(args.path)
        same = set(ref) == {n for n, _, _, _ in tensors} and all(
            np.array_equal(ref[n].view(np.uint8), a.view(np.uint8)) for n, _, _, a in tensors)
        print("reference safetensors loader: %s" % ("identical" if same else "DIFFERENT"))
        if not same:
            return 1
    except ImportError:
        pass

    if args.expect_sum is not None:
        ok = abs(total - args.expect_sum) <= args.rtol * max(abs(args.expect_sum), 1e-300)
        print("expect-sum %.17g: %s" % (args.expect_sum, "ok" if ok else "MISMATCH"))
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
