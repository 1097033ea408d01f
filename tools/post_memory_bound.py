#!/usr/bin/python3
"""post_memory_bound.py -- how much memory a PIM model needs after its nonlinearity, on the
default scenario of `mimonet pim simulate` (docs/pim.md "Why poly").

    /usr/bin/python3 tools/post_memory_bound.py

The received PIM is the UL channel filter applied to the junction's IM3 product.  A model whose
nonlinear stage formed that product exactly would still have to apply the filter with the
memory it has left after the nonlinearity.  This script estimates the error of the best such
filter: it forms p = u1^2 conj(u2) from two independent carriers with flat spectra over the
occupied band, filters it with the simulator's channel filter to get the target y, and fits
the least-squares FIR of taps -R..R from p to y.  The error of that fit, relative to y, bounds
the APE of any model whose post-product memory is +-R samples (for the cubic core; the higher
orders are wider still).

Parameters are the simulator's defaults (src/pim/sim.c, docs/simulator.md): fs 61.44 Msps; two
NR 10 MHz carriers, 9.36 MHz occupied; the UL channel filter a Kaiser windowed sinc with
passband +-10 MHz, stopband from +-13 MHz, 90 dB (119 taps, cutoff 11.5 MHz).  Needs Debian's
python3-numpy.  Prints one line per R.
"""
import numpy as np

FS = 61.44e6
N = 1 << 18
OCCUPIED = 9.36e6
PASS, TRANSITION, ATTEN = 10e6, 3e6, 90.0


def kaiser_lowpass():
    """The simulator's channel filter (mn_fir_kaiser_len, mn_fir_design_lowpass)."""
    df = TRANSITION / FS
    n = int(np.ceil((ATTEN - 8.0) / (2.285 * 2.0 * np.pi * df))) + 1
    n += n % 2 == 0
    beta = 0.1102 * (ATTEN - 8.7)
    fc = (PASS + TRANSITION / 2) / FS
    t = np.arange(n) - (n - 1) / 2
    h = 2 * fc * np.sinc(2 * fc * t) * np.kaiser(n, beta)
    return h / h.sum()


def main():
    rng = np.random.default_rng(1)
    f = np.fft.fftfreq(N, 1 / FS)

    def carrier():
        spec = (rng.standard_normal(N) + 1j * rng.standard_normal(N)) * (np.abs(f) <= OCCUPIED / 2)
        return np.fft.ifft(spec)

    u1, u2 = carrier(), carrier()
    p = u1 ** 2 * np.conj(u2)  # the IM3 core at the Rx LO (2 f1 - f2)
    y = np.convolve(p, kaiser_lowpass(), mode="same")
    keep = slice(256, N - 256)
    print(f"channel filter: {len(kaiser_lowpass())} taps")
    for R in (1, 3, 5, 8, 15, 31):
        A = np.stack([np.roll(p, k)[keep] for k in range(-R, R + 1)], axis=1)
        c, *_ = np.linalg.lstsq(A, y[keep], rcond=None)
        e = y[keep] - A @ c
        err = 10 * np.log10(np.vdot(e, e).real / np.vdot(y[keep], y[keep]).real)
        print(f"post-product memory +-{R:2d} samples: best filter leaves {err:6.1f} dB of the Rx PIM")


if __name__ == "__main__":
    main()
