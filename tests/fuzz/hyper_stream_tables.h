// The fixed tables and the stand-in receiver of the hyper_stream fuzz target, shared with its seed
// generator (make_hyper_seeds.cc) so the committed seeds decode, and pass the checksum, under
// exactly these tables and predictions.
// The real receiver runs the hyper-synthesis over every tile's decoded sides to get each kept
// symbol's mean and scale index; here a cheap deterministic function of the sides does it instead
// (the z of the side cell covering the position, the position and the channel), so the fuzzer can
// check the sides → tables → residuals → checksum protocol without LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/entropy/gaussian_tables.h"
#include "core/entropy/hyper_stream.h"

namespace mt::fuzz {

inline constexpr int kHyperFuzzGrid = 8;      // positions per tile side
inline constexpr int kHyperFuzzZGrid = 2;     // side cells per tile side (each covers 4×4 positions)
inline constexpr size_t kHyperFuzzChannels = 4;  // residual channels C per kept position

// Side channels: sharp, medium and wide Gaussians (unit bins). Scales: 12 Gaussian tables from
// 0.11 (three symbols and an escape that takes most stray values) to 64 (a few hundred symbols).
inline HyperTables HyperFuzzTables() {
  HyperTables t;
  for (double s : {0.5, 2.0, 7.0}) t.side.push_back(*GaussianTable(s));
  for (double s : GeometricScales(0.11, 64, 12)) t.scales.push_back(*GaussianTable(s));
  return t;
}

// The first byte of a fuzz input picks the tile count 1 + byte % 3 and the coding passes
// 1 + (byte / 3) % 2; the rest is the stream.
inline size_t HyperFuzzTileCount(uint8_t selector) { return 1 + selector % 3; }
inline size_t HyperFuzzPassCount(uint8_t selector) { return 1 + (selector / 3) % 2; }

// The [begin, end) of a tile's `symbols` = K·C kept symbols that pass `pass` of `passes` codes:
// one pass codes all; with two (as a checkerboard context does), the first ⌈K/2⌉ kept positions,
// then the rest.
inline std::pair<size_t, size_t> HyperFuzzPassSymbols(size_t symbols, size_t passes, size_t pass) {
  if (passes == 1) return {0, symbols};
  const size_t half = (symbols / kHyperFuzzChannels + 1) / 2 * kHyperFuzzChannels;
  return pass == 0 ? std::pair<size_t, size_t>{0, half} : std::pair<size_t, size_t>{half, symbols};
}

namespace hyper_detail {

// Sum over channels of the z of the side cell covering position p, in int64 (z may be any int32).
inline int64_t CellZ(const HyperTileSide& side, size_t z_channels, int p) {
  constexpr int kRatio = kHyperFuzzGrid / kHyperFuzzZGrid;
  const int cell = (p / kHyperFuzzGrid / kRatio) * kHyperFuzzZGrid + (p % kHyperFuzzGrid) / kRatio;
  int64_t sum = 0;
  for (size_t c = 0; c < z_channels; ++c) sum += side.z[static_cast<size_t>(cell) * z_channels + c];
  return sum;
}

inline int64_t Mod(int64_t v, int64_t n) { return ((v % n) + n) % n; }

// Calls visit(cell z sum, position, channel) for every kept symbol, in stream order (kept
// positions in raster order, then channel). Requires a well-formed side (keep of grid², z of
// z_grid²·z_channels).
template <typename Visit>
void ForEachKeptSymbol(const HyperTileSide& side, size_t z_channels, Visit visit) {
  for (int p = 0; p < kHyperFuzzGrid * kHyperFuzzGrid; ++p)
    if (side.keep[static_cast<size_t>(p)])
      for (size_t c = 0; c < kHyperFuzzChannels; ++c) visit(CellZ(side, z_channels, p), p, c);
}

}  // namespace hyper_detail

// The scale index of each of the tile's K·C kept symbols, in [0, scales).
inline std::vector<int32_t> HyperFuzzScaleIndex(const HyperTables& tables, const HyperTileSide& side) {
  std::vector<int32_t> index;
  hyper_detail::ForEachKeptSymbol(side, tables.side.size(), [&](int64_t z, int p, size_t c) {
    index.push_back(static_cast<int32_t>(
        hyper_detail::Mod(z + p + static_cast<int64_t>(c), static_cast<int64_t>(tables.scales.size()))));
  });
  return index;
}

// The mean each kept symbol's residual is taken from (only the checksum sees it here).
inline std::vector<int64_t> HyperFuzzMeans(const HyperTables& tables, const HyperTileSide& side) {
  std::vector<int64_t> mean;
  hyper_detail::ForEachKeptSymbol(side, tables.side.size(), [&](int64_t z, int p, size_t c) {
    mean.push_back(hyper_detail::Mod(3 * z - p + 5 * static_cast<int64_t>(c), 9) - 4);
  });
  return mean;
}

// The checksum sender and receiver both compute: every tile's (mean, scale index) in stream order.
// The receiver's checksum over every kept symbol's mean and table, in stream order (pass-major).
inline uint32_t HyperFuzzChecksum(const HyperTables& tables, const std::vector<HyperTileSide>& sides,
                                  size_t passes = 1) {
  uint32_t hash = kChecksumSeed;
  for (size_t pass = 0; pass < passes; ++pass)
    for (const HyperTileSide& side : sides) {
      const std::vector<int32_t> index = HyperFuzzScaleIndex(tables, side);
      const std::vector<int64_t> mean = HyperFuzzMeans(tables, side);
      const auto [begin, end] = HyperFuzzPassSymbols(index.size(), passes, pass);
      for (size_t i = begin; i < end; ++i) hash = ChecksumAdd(ChecksumAdd(hash, mean[i]), index[i]);
    }
  return hash;
}

}  // namespace mt::fuzz
