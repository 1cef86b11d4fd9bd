// The fixed frequency tables of the latent_stream fuzz target, shared with its seed generator
// (make_latent_seeds.cc) so the committed seeds decode under exactly these tables.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/entropy/frequency_table.h"
#include "core/entropy/latent_context.h"

namespace mt::fuzz {

inline constexpr int kLatentFuzzGrid = 8;

// Shapes chosen to reach every decoder path: sharp and wide Laplacians (the entropy model's
// shape), a two-entry table, an escape-dominated table with frequency-1 entries (gamma codes),
// a geometric one and a uniform one.
inline std::vector<FrequencyTable> LatentFuzzTablePool() {
  const auto laplace = [](int n, double scale) {
    std::vector<double> pmf(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) pmf[static_cast<size_t>(i)] = std::exp(-std::abs(i - (n - 2) / 2.0) / scale);
    pmf.back() = 1e-3;
    return pmf;
  };
  std::vector<FrequencyTable> pool;
  pool.push_back(*QuantizePmf(laplace(33, 1.0), -15));
  pool.push_back(*QuantizePmf(laplace(257, 20.0), -128));
  pool.push_back(*QuantizePmf({0.9, 0.1}, 0));
  FrequencyTable escapes{-3, std::vector<uint32_t>(65, 0)};  // 63 values of frequency 1, escape the rest
  for (size_t i = 1; i < escapes.cdf.size(); ++i) escapes.cdf[i] = static_cast<uint32_t>(i);
  escapes.cdf.back() = kProbTotal;
  pool.push_back(escapes);
  std::vector<double> geometric(17);
  for (size_t i = 0; i < geometric.size(); ++i) geometric[i] = std::pow(0.5, static_cast<double>(i));
  pool.push_back(*QuantizePmf(geometric, 0));
  pool.push_back(*QuantizePmf(std::vector<double>(17, 1.0), -8));
  return pool;
}

// Distinct first bytes the target tells apart: pool size × 4 tile counts × 2 models.
inline size_t LatentFuzzSelectors() { return LatentFuzzTablePool().size() * 8; }

// The first byte of a fuzz input picks the channel count C = 1 + byte % pool size, the tile count
// 1 + (byte / pool size) % 4, and the model: factorized (tables[0..C)) when (byte / (4 · pool
// size)) is even, else spatial contexts with 2 buckets (channel c's bucket tables are pool
// entries c, c+1, c+2) and prediction on the odd channels.
inline LatentTables LatentFuzzTables(uint8_t selector) {
  const std::vector<FrequencyTable> pool = LatentFuzzTablePool();
  const size_t channels = 1 + selector % pool.size();
  const bool context = (selector / (4 * pool.size())) % 2 == 1;
  if (!context) return FactorizedTables(std::vector<FrequencyTable>(pool.begin(), pool.begin() + channels));
  LatentTables t;
  t.buckets = 2;
  for (size_t c = 0; c < channels; ++c) {
    t.predict.push_back(static_cast<uint8_t>(c % 2));
    t.tables.push_back({pool[c % pool.size()], pool[(c + 1) % pool.size()], pool[(c + 2) % pool.size()]});
  }
  return t;
}

inline size_t LatentFuzzTileCount(uint8_t selector) { return 1 + (selector / LatentFuzzTablePool().size()) % 4; }

}  // namespace mt::fuzz
