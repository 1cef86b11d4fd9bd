#!/usr/bin/env python3
"""Independent NumPy reference for core/metrics/bd_rate.cc (tests/core/metrics/bd_rate_test.cc).

Piecewise-linear Bjontegaard delta rate: Pareto front of each curve, ln(rate) interpolated
linearly in PSNR (np.interp), mean difference over the common PSNR range by exact integration
of the piecewise-linear difference (np.trapz on the union of breakpoints), 100*(exp(mean)-1).
Prints the values the test pastes in.
"""
import numpy as np


def front(points):
    pts = sorted([p for p in points if p[0] > 0], key=lambda p: (p[0], -p[1]))
    out = []
    for r, q in pts:
        if not out or q > out[-1][1]:
            out.append((r, q))
    return np.array(out)


def bd_rate(anchor, test):
    a, t = front(anchor), front(test)
    lo, hi = max(a[0, 1], t[0, 1]), min(a[-1, 1], t[-1, 1])
    knots = np.unique(np.concatenate([a[:, 1], t[:, 1], [lo, hi]]))
    knots = knots[(knots >= lo) & (knots <= hi)]
    diff = np.interp(knots, t[:, 1], np.log(t[:, 0])) - np.interp(knots, a[:, 1], np.log(a[:, 0]))
    return 100.0 * (np.exp(np.trapz(diff, knots) / (hi - lo)) - 1.0)


CASES = {
    # Same curve shifted to half the rate everywhere: exactly -50 %.
    "half_rate": ([(0.2, 25), (0.4, 28), (0.8, 31), (1.6, 34)], [(0.1, 25), (0.2, 28), (0.4, 31), (0.8, 34)]),
    # Uneven curves with partial overlap and a dominated point in the test curve.
    "uneven": ([(0.15, 23.8), (0.3, 26.0), (0.45, 27.9), (0.9, 31.2)],
               [(0.08, 22.5), (0.12, 24.9), (0.2, 26.7), (0.25, 26.1), (0.35, 28.4), (0.6, 30.0)]),
}

if __name__ == "__main__":
    for name, (anchor, test) in CASES.items():
        print(f"{name} {bd_rate(anchor, test):.10f}")
