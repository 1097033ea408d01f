#!/usr/bin/python3
"""tools/fit_tanh.py - the coefficients of mn_act_tanh_fast (src/nn/act.c).

tanh(x) ~ x P(x^2) / Q(x^2) on [0, 9], P of degree 4 in x^2 (x .. x^9), Q of degree 4 with
Q(0) = 1.  The fit minimizes the largest relative error: linearized least squares
(P - tanh Q) / (Q_prev tanh) iterated (Sanathanan-Koerner), then Lawson's reweighting toward
the minimax solution.  In double precision the result is within about 2e-8 of tanh
everywhere on [0, 9]; beyond 9, tanh rounds to 1 in float.

    /usr/bin/python3 tools/fit_tanh.py        (Debian's python3-numpy)

prints the largest relative error and the coefficients, highest power first, as act.c writes
them.
"""
import numpy as np

X = 9.0
M, K = 5, 5  # coefficients of P and of Q (Q's first is 1)


def fit(iters=60):
    x = np.concatenate([np.linspace(0, 1, 4000), np.linspace(1, X, 20000)])[1:]
    t = np.tanh(x)
    q_prev = np.ones_like(x)
    w = np.ones_like(x)
    cols = [x * x ** (2 * i) for i in range(M)] + [-t * x ** (2 * j) for j in range(1, K)]
    A = np.array(cols).T
    for it in range(iters):
        s = np.sqrt(w) / (q_prev * t)
        c, *_ = np.linalg.lstsq(A * s[:, None], t * s, rcond=None)
        p, q = c[:M], np.concatenate([[1.0], c[M:]])
        P = x * sum(p[i] * x ** (2 * i) for i in range(M))
        Q = sum(q[j] * x ** (2 * j) for j in range(K))
        e = np.abs(P / Q - t) / t
        q_prev = Q
        if it > 10:  # Lawson: weight the worst points up
            w = w * np.sqrt(e / e.max())
            w /= w.mean()
    return p, q, e.max()


if __name__ == "__main__":
    p, q, err = fit()
    print("largest relative error on (0, %g]: %.3g" % (X, err))
    print("P:", ", ".join("%.9e" % v for v in p[::-1]))
    print("Q:", ", ".join("%.9e" % v for v in q[::-1]))
