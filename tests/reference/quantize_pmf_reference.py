#!/usr/bin/env python3
"""Independent NumPy reference for mt::QuantizePmf (core/entropy/frequency_table.h).

Written from the rule stated in the header, sharing no code with core/:
  1. total = sum(pmf), summed left to right (as the C++ does, so the floats agree bit for bit);
  2. scaled = pmf / total * 2^16; freq = max(1, floor(scaled)); remainder = scaled - freq;
  3. shortfall (2^16 - sum freq > 0): +1 to the entries with the largest remainder
     (ties: lower index), cycling if needed;
     excess (< 0, from raising zeros to 1): -1 from the largest frequency (ties: lower index),
     one at a time.
Prints, for each case, the pmf and the resulting frequencies; tests/core/entropy/
frequency_table_test.cc pastes these numbers. Run: /usr/bin/python3 tests/reference/quantize_pmf_reference.py
"""
import numpy as np

TOTAL = 1 << 16


def quantize_pmf(pmf):
    pmf = np.asarray(pmf, dtype=np.float64)
    total = 0.0
    for p in pmf:           # left-to-right, not np.sum's pairwise summation
        total += float(p)
    scaled = pmf / total * float(TOTAL)
    freq = np.maximum(1.0, np.floor(scaled))
    remainder = scaled - freq
    freq = freq.astype(np.int64)
    diff = TOTAL - int(freq.sum())
    if diff > 0:
        order = sorted(range(len(pmf)), key=lambda i: (-remainder[i], i))
        for j in range(diff):
            freq[order[j % len(pmf)]] += 1
    while diff < 0:
        i = int(np.argmax(freq))  # first maximum: the lowest index among ties
        assert freq[i] >= 2
        freq[i] -= 1
        diff += 1
    assert int(freq.sum()) == TOTAL and int(freq.min()) >= 1
    return freq


CASES = {
    "uniform3": [1.0, 1.0, 1.0],
    "skewed4": [0.7, 0.2, 0.0999, 0.0001],
    "zeros5": [0.0, 1.0, 0.0, 0.0, 1e-9],
    "unnormalised6": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0],
    "laplace8": [float(np.exp(-abs(k - 3) / 0.8)) for k in range(7)] + [1e-4],
    "tiny2": [1e-300, 3e-300],
    "ties6": [1.0, 1.0, 0.0, 0.0, 0.0, 0.0],
}

if __name__ == "__main__":
    for name, pmf in CASES.items():
        freq = quantize_pmf(pmf)
        print(f"{name}: pmf = {{{', '.join(repr(float(p)) for p in pmf)}}}")
        print(f"{name}: freq = {{{', '.join(str(int(f)) for f in freq)}}}")
