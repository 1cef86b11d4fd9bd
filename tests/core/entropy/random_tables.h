// Seeded random frequency tables and symbols for the entropy-coder tests (header-only).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/entropy/frequency_table.h"

namespace mt::test {

// A table of n entries (escape last) of one of several shapes: Laplacian around the middle
// (sharp or flat), random with zeros (which QuantizePmf raises to frequency 1), or one dominant
// entry with every other frequency exactly 1 (built directly, not through QuantizePmf).
inline FrequencyTable RandomTable(std::mt19937& rng, int n, int32_t offset) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const int shape = static_cast<int>(rng() % 4);
  if (shape == 3) {
    FrequencyTable t;
    t.offset = offset;
    const int big = static_cast<int>(rng() % static_cast<uint32_t>(n));
    t.cdf.assign(static_cast<size_t>(n) + 1, 0);
    for (int i = 0; i < n; ++i)
      t.cdf[static_cast<size_t>(i) + 1] = t.cdf[static_cast<size_t>(i)] + (i == big ? kProbTotal - (n - 1) : 1);
    return t;
  }
  std::vector<double> pmf(static_cast<size_t>(n));
  const double scale = shape == 0 ? 0.3 : 3.0 + 10 * u(rng);
  for (int i = 0; i < n; ++i) {
    if (shape == 2)
      pmf[static_cast<size_t>(i)] = u(rng) < 0.3 ? 0.0 : u(rng);
    else
      pmf[static_cast<size_t>(i)] = std::exp(-std::abs(i - (n - 1) / 2.0) / scale);
  }
  if (shape == 2)
    pmf[0] = 1.0;  // never all zeros
  else
    pmf.back() = 1e-3;  // the escape: rare but possible
  return *QuantizePmf(pmf, offset);
}

// A value drawn from `table`'s own distribution; an escape draw becomes an out-of-range value,
// sometimes just outside the range and sometimes as far as int32 allows.
inline int32_t RandomValue(std::mt19937& rng, const FrequencyTable& table) {
  const uint32_t slot = rng() % kProbTotal;
  const auto it = std::upper_bound(table.cdf.begin(), table.cdf.end(), slot);
  const auto i = static_cast<size_t>(it - table.cdf.begin() - 1);
  const int64_t lo = table.offset, hi = int64_t{table.offset} + static_cast<int64_t>(table.cdf.size()) - 3;
  if (i + 2 < table.cdf.size()) return static_cast<int32_t>(lo + static_cast<int64_t>(i));
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();
  const int64_t candidates[] = {lo - 1, hi + 1, lo - 1 - static_cast<int64_t>(rng() % 1000),
                                hi + 1 + static_cast<int64_t>(rng() % 100000), kMin, kMax};
  for (int tries = 0; tries < 16; ++tries) {
    const int64_t v = candidates[rng() % 6];
    if (v >= kMin && v <= kMax && (v < lo || v > hi)) return static_cast<int32_t>(v);
  }
  return static_cast<int32_t>(lo > kMin ? kMin : kMax);  // the range covers one end of int32
}

}  // namespace mt::test
