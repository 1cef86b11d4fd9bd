#!/usr/bin/env python3
"""Independent NumPy reference for core/model/factorized_prior.cc (tests/core/model/factorized_prior_test.cc).

A factorized prior (Balle et al. 2018) with C = 2 channels and filters (3, 3, 3): per channel,
logits = x; for each layer: logits = softplus(H) @ logits + b; logits += tanh(a) * tanh(logits)
(all but the last layer). P(bin of width step centred on v) = sigmoid(L(v + step/2)) - sigmoid(L(v - step/2)).
The test sets the i-th effective parameter tensor (registration order matrix0, bias0, factor0, ...,
matrix3, bias3) to linspace(-0.9 + 0.05 i, -0.3 + 0.05 i, numel) reshaped; so does this script.
"""
import numpy as np

C, FILTERS = 2, (3, 3, 3)
widths = (1,) + FILTERS + (1,)
shapes = []
for i in range(len(widths) - 1):
    shapes.append(("matrix", (C, widths[i + 1], widths[i])))
    shapes.append(("bias", (C, widths[i + 1], 1)))
    if i < len(widths) - 2:
        shapes.append(("factor", (C, widths[i + 1], 1)))
params = []
for i, (_, shape) in enumerate(shapes):
    n = int(np.prod(shape))
    params.append(np.linspace(-0.9 + 0.05 * i, -0.3 + 0.05 * i, n).reshape(shape))


def softplus(x):
    return np.log1p(np.exp(x))


def logits_cumulative(x):  # x: (C, 1, N)
    k = 0
    out = x
    for i in range(len(widths) - 1):
        h, b = params[k], params[k + 1]
        k += 2
        out = softplus(h) @ out + b
        if i < len(widths) - 2:
            out = out + np.tanh(params[k]) * np.tanh(out)
            k += 1
    return out


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


VALUES = np.array([[-1.3, 0.0, 0.4, 2.7], [0.9, -0.6, 3.5, -2.2]])  # (C, N)
for step in (1.0, 0.5):
    v = VALUES[:, None, :]
    lik = sigmoid(logits_cumulative(v + step / 2)) - sigmoid(logits_cumulative(v - step / 2))
    print(f"step {step}: " + " ".join(f"{x:.10g}" for x in np.abs(lik[:, 0, :]).reshape(-1)))
