// libFuzzer target: arbitrary bytes as a latent stream of 1–4 tiles (grid 8; the first byte picks
// the tables (C, factorized or spatial contexts) and the tile count, the rest is the rANS stream) → DecodeLatentTiles. Whatever arrives, the decoder must return a status without
// crashing or reading out of bounds. When it accepts a stream, the tile must be well formed and
// re-encode to exactly the same bytes (rANS decoding is the inverse of encoding on every stream
// it accepts: the state check pins the start, the byte check the end), and decode back to itself.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/entropy/latent_stream.h"
#include "tests/fuzz/latent_stream_tables.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<mt::LatentTables>* by_selector = [] {
    auto* v = new std::vector<mt::LatentTables>;
    for (size_t s = 0; s < mt::fuzz::LatentFuzzSelectors(); ++s)
      v->push_back(mt::fuzz::LatentFuzzTables(static_cast<uint8_t>(s)));
    return v;
  }();
  if (size == 0) return 0;
  const uint8_t selector = static_cast<uint8_t>(data[0] % by_selector->size());
  const mt::LatentTables& tables = (*by_selector)[selector];
  const size_t count = mt::fuzz::LatentFuzzTileCount(selector);
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr int kGrid = mt::fuzz::kLatentFuzzGrid;
  absl::StatusOr<std::vector<mt::LatentTile>> tiles = mt::DecodeLatentTiles(tables, kGrid, count, bytes);
  if (!tiles.ok()) return 0;
  if (tiles->size() != count) __builtin_trap();
  double bits = 0;
  for (const mt::LatentTile& tile : *tiles) {
    size_t kept = 0;
    for (uint8_t k : tile.keep) {
      if (k > 1) __builtin_trap();
      kept += k;
    }
    if (tile.keep.size() != kGrid * kGrid || tile.symbols.size() != kept * tables.channels()) __builtin_trap();
    bits += mt::EstimateLatentTileBits(tables, kGrid, tile);
  }
  absl::StatusOr<std::string> again = mt::EncodeLatentTiles(tables, kGrid, *tiles);
  if (!again.ok() || *again != bytes) __builtin_trap();
  absl::StatusOr<std::vector<mt::LatentTile>> back = mt::DecodeLatentTiles(tables, kGrid, count, *again);
  if (!back.ok()) __builtin_trap();
  for (size_t t = 0; t < count; ++t)
    if ((*back)[t].keep != (*tiles)[t].keep || (*back)[t].symbols != (*tiles)[t].symbols) __builtin_trap();
  // rANS can beat the ideal length of a stream by at most ~0.55 % (M·ln2 / 2^23 per bit of
  // information), far less than the >= 23 bits of state it always carries.
  if (!std::isfinite(bits) || bits < 0 || bits / 8 > 1.01 * static_cast<double>(bytes.size())) __builtin_trap();
  return 0;
}
