// Writes the hyper_stream seed corpus: valid streams under the fuzz target's tables (selector byte
// = tile count − 1, then the stream) of 1–3 tiles — empty, full, a blob, one position, one side
// cell, sparse random masks — with side latents and residuals mostly near 0 and some escapes up to
// the int32 extremes, each carrying the checksum the fuzz target's stand-in receiver computes; plus
// one well-formed stream with a wrong checksum (Finish's mismatch path).
// Usage: mt_fuzz_make_hyper_seeds OUT_DIR (writes OUT_DIR/hyper_stream/seed*.bin). Deterministic:
// raw mt19937 draws only.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/entropy/hyper_stream.h"
#include "tests/fuzz/hyper_stream_tables.h"

namespace {

constexpr int kGrid = mt::fuzz::kHyperFuzzGrid, kZGrid = mt::fuzz::kHyperFuzzZGrid;
using KeepCell = std::function<bool(int r, int c)>;

// Mostly small values, 1 in `rare` an escape (int32 extremes or far outside every table).
int32_t Draw(std::mt19937& rng, int rare, int spread) {
  const int32_t extremes[] = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(),
                              100000, -1000, 1000};
  if (rng() % static_cast<uint32_t>(rare) == 0) return extremes[rng() % 5];
  return static_cast<int32_t>(rng() % static_cast<uint32_t>(2 * spread + 1)) - spread;
}

mt::HyperTileSide MakeSide(std::mt19937& rng, const mt::HyperTables& tables, const KeepCell& keep_cell, int rare) {
  mt::HyperTileSide side;
  for (int i = 0; i < kGrid * kGrid; ++i) side.keep.push_back(keep_cell(i / kGrid, i % kGrid) ? 1 : 0);
  const std::vector<uint8_t> coded = mt::SideCellsCoded(kGrid, kZGrid, side.keep);
  for (uint8_t cell : coded)
    for (size_t c = 0; c < tables.side.size(); ++c) side.z.push_back(cell ? Draw(rng, rare, 2) : 0);
  return side;
}

mt::HyperTileResiduals MakeResiduals(std::mt19937& rng, const mt::HyperTables& tables, const mt::HyperTileSide& side,
                                     int rare) {
  mt::HyperTileResiduals r;
  r.scale_index = mt::fuzz::HyperFuzzScaleIndex(tables, side);
  for (size_t i = 0; i < r.scale_index.size(); ++i) r.residual.push_back(Draw(rng, rare, 1 + r.scale_index[i]));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mt_fuzz_make_hyper_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = std::filesystem::path(argv[1]) / "hyper_stream";
  std::filesystem::create_directories(out);
  const mt::HyperTables tables = mt::fuzz::HyperFuzzTables();
  std::mt19937 rng(0);
  const KeepCell none = [](int, int) { return false; };
  const KeepCell all = [](int, int) { return true; };
  const KeepCell blob = [](int r, int c) { return r >= 2 && r < 5 && c >= 3 && c < 7; };
  const KeepCell one = [](int r, int c) { return r == 6 && c == 1; };
  const KeepCell quadrant = [](int r, int c) { return r >= 4 && c < 4; };  // one side cell coded
  const KeepCell sparse = [&](int, int) { return rng() % 7 == 0; };
  const KeepCell dense = [&](int, int) { return rng() % 3 != 0; };
  // Each seed: its tiles' masks and 1-in-`rare` escapes (1 << 30: effectively none).
  struct Seed {
    std::vector<KeepCell> masks;
    int rare;
    bool wrong_checksum = false;
    size_t passes = 1;  // 2: each tile's kept symbols in two halves, as a checkerboard context codes
  };
  const std::vector<Seed> seeds = {
      {{none}, 1 << 30},
      {{all}, 1 << 30},
      {{all}, 8},
      {{blob}, 16},
      {{one}, 1 << 30},
      {{one}, 1},  // every z and residual escapes
      {{quadrant}, 12},
      {{sparse}, 16},
      {{dense}, 10},
      {{none, none}, 1 << 30},
      {{none, all}, 16},
      {{blob, sparse}, 6},
      {{quadrant, one}, 1 << 30},
      {{none, none, none}, 1 << 30},
      {{all, none, blob}, 16},
      {{sparse, dense, quadrant}, 8},
      {{dense, dense, dense}, 1 << 30},
      {{blob, none, one}, 3},
      {{blob}, 16, true},
      {{all}, 8, false, 2},
      {{blob, sparse}, 6, false, 2},
      {{dense, none, one}, 1 << 30, false, 2},
      {{quadrant}, 12, true, 2},
  };
  int n = 0;
  for (const Seed& seed : seeds) {
    std::vector<mt::HyperTileSide> sides;
    std::vector<mt::HyperTileResiduals> residuals;
    for (const KeepCell& mask : seed.masks) sides.push_back(MakeSide(rng, tables, mask, seed.rare));
    std::vector<mt::HyperTileResiduals> whole;
    for (const mt::HyperTileSide& side : sides) whole.push_back(MakeResiduals(rng, tables, side, seed.rare));
    for (size_t pass = 0; pass < seed.passes; ++pass)  // pass-major, each tile's share of the pass
      for (const mt::HyperTileResiduals& r : whole) {
        const auto [begin, end] = mt::fuzz::HyperFuzzPassSymbols(r.residual.size(), seed.passes, pass);
        const auto b = static_cast<std::ptrdiff_t>(begin), e = static_cast<std::ptrdiff_t>(end);
        residuals.push_back({std::vector<int32_t>(r.residual.begin() + b, r.residual.begin() + e),
                             std::vector<int32_t>(r.scale_index.begin() + b, r.scale_index.begin() + e)});
      }
    const uint32_t checksum =
        mt::fuzz::HyperFuzzChecksum(tables, sides, seed.passes) ^ (seed.wrong_checksum ? 0x5au : 0u);
    absl::StatusOr<std::string> bytes = mt::EncodeHyperStream(tables, kGrid, kZGrid, sides, residuals, checksum);
    if (!bytes.ok()) {
      std::fprintf(stderr, "seed %d: %s\n", n, std::string(bytes.status().message()).c_str());
      return 1;
    }
    std::ofstream(out / ("seed" + std::to_string(n++) + ".bin"), std::ios::binary)
        << static_cast<char>(seed.masks.size() - 1 + 3 * (seed.passes - 1)) << *bytes;
  }
  std::printf("wrote %d seeds to %s\n", n, out.c_str());
  return 0;
}
