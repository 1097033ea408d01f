#!/usr/bin/python3
"""The noise floor of an OpenDPD recording, as a test NMSE no model can beat.

A PA's output is its signal, the distortion a model can learn, and the measurement's noise.
Far outside the signal's band (and beyond its spectral regrowth) only the noise is left, and
it is white: so its level there, times the whole sample rate, is the noise power in every
model's residual.  Divided by the output's power, it is the NMSE of a perfect model.

Usage: tools/opendpd_floor.py [DATASETS]   (DATASETS holds opendpd/; default ../shared/datasets)

Prints, for each set, that floor measured from several band edges.  A low edge still holds
spectral regrowth, so it overstates the noise; an edge near fs / 2 may see the receiver's
anti-alias roll-off, which understates it.  The figures bracket the floor rather than fix it.
The published "about -39 dB" for APA_200MHz is what the 300 MHz edge gives.  Needs
python3-numpy.
"""
import json
import os
import sys

import numpy as np

SEGMENT = 512  # Welch segment: 1.6 MHz bins at 800 MHz


def load(path):
    a = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    return a[:, 0] + 1j * a[:, 1]


def psd(v, n=SEGMENT):
    """Welch estimate with a Hann window, no overlap, centred frequencies."""
    segs = v[: len(v) // n * n].reshape(-1, n) * np.hanning(n)
    return np.fft.fftshift(np.mean(np.abs(np.fft.fft(segs, axis=1)) ** 2, axis=0))


def floor_db(y, fs, edge):
    """Noise-only NMSE: the mean PSD beyond |f| >= edge over the mean PSD of the whole band."""
    p = psd(y)
    f = np.fft.fftshift(np.fft.fftfreq(SEGMENT, 1.0 / fs))
    far = np.abs(f) >= edge
    return 10.0 * np.log10(p[far].mean() / p.mean()), int(far.sum())


def main():
    root = os.path.join(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets", "opendpd")
    if not os.path.isdir(root):
        print(f"opendpd_floor: {root} not found")
        return 0
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        if not os.path.isfile(os.path.join(d, "spec.json")):
            continue
        fs = float(json.load(open(os.path.join(d, "spec.json")))["input_signal_fs"])
        y = np.concatenate([load(os.path.join(d, f"{s}_output.csv")) for s in ("train", "val", "test")])
        cells = []
        for edge_mhz in (200, 250, 300, 350):
            if edge_mhz * 1e6 >= fs / 2:
                continue
            db, bins = floor_db(y, fs, edge_mhz * 1e6)
            cells.append(f"|f| >= {edge_mhz} MHz: {db:.2f} dB ({bins} bins)")
        print(f"{name} (fs {fs / 1e6:.0f} MHz) noise floor, as test NMSE: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
