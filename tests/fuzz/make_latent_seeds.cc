// Writes the latent_stream seed corpus: valid tiles under the fuzz target's tables (selector byte,
// then the stream) — empty, full, a blob, sparse and dense random masks, escapes up to the int32
// extremes — for every channel count, under the factorized and the context model. Usage: mt_fuzz_make_latent_seeds OUT_DIR
// (writes OUT_DIR/latent_stream/seed*.bin). Deterministic: raw mt19937 draws only.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/entropy/latent_stream.h"
#include "tests/fuzz/latent_stream_tables.h"

namespace {

constexpr int kGrid = mt::fuzz::kLatentFuzzGrid;

// A tile keeping the cells `keep_cell` selects; symbols mostly near 0, some out of every table.
template <typename KeepCell>
mt::LatentTile MakeTile(std::mt19937& rng, size_t channels, KeepCell keep_cell) {
  mt::LatentTile tile;
  for (int i = 0; i < kGrid * kGrid; ++i) tile.keep.push_back(keep_cell(i / kGrid, i % kGrid) ? 1 : 0);
  const int32_t extremes[] = {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max(), 1000, -1000};
  for (uint8_t k : tile.keep)
    for (size_t c = 0; k && c < channels; ++c)
      tile.symbols.push_back(rng() % 16 == 0 ? extremes[rng() % 4] : static_cast<int32_t>(rng() % 7) - 3);
  return tile;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: mt_fuzz_make_latent_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = std::filesystem::path(argv[1]) / "latent_stream";
  std::filesystem::create_directories(out);
  std::mt19937 rng(0);
  const size_t pool = mt::fuzz::LatentFuzzTablePool().size();
  int n = 0;
  // Factorized seeds (selectors 0..pool-1), then the same shapes under the context model.
  std::vector<size_t> selectors;
  for (size_t s = 0; s < pool; ++s) selectors.push_back(s);
  for (size_t s = 0; s < pool; ++s) selectors.push_back(4 * pool + s);
  for (size_t selector : selectors) {
    const mt::LatentTables tables = mt::fuzz::LatentFuzzTables(static_cast<uint8_t>(selector));
    std::vector<mt::LatentTile> tiles;
    if (selector % pool == 0) tiles.push_back(MakeTile(rng, tables.channels(), [](int, int) { return false; }));
    if (selector % pool == 1) tiles.push_back(MakeTile(rng, tables.channels(), [](int, int) { return true; }));
    tiles.push_back(MakeTile(rng, tables.channels(), [](int r, int c) { return r >= 2 && r < 5 && c >= 3 && c < 7; }));
    tiles.push_back(MakeTile(rng, tables.channels(), [&](int, int) { return rng() % 7 == 0; }));
    for (const mt::LatentTile& tile : tiles) {
      absl::StatusOr<std::string> bytes = mt::EncodeLatentTile(tables, kGrid, tile);
      if (!bytes.ok()) return 1;
      std::ofstream(out / ("seed" + std::to_string(n++) + ".bin"), std::ios::binary)
          << static_cast<char>(selector) << *bytes;
    }
  }
  std::printf("wrote %d seeds to %s\n", n, out.c_str());
  return 0;
}
