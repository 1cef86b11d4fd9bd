#include "core/entropy/latent_stream.h"

#include <cstddef>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/entropy/keep_mask_coder.h"
#include "core/entropy/rans_coder.h"

namespace mt {
namespace {

absl::Status CheckTablesAndGrid(const LatentTables& tables, int grid) {
  if (absl::Status s = ValidateLatentTables(tables); !s.ok()) return s;
  if (grid < 1 || grid > kMaxKeepGrid)
    return absl::InvalidArgumentError(absl::StrCat("latent tile grid ", grid, " is outside [1, ", kMaxKeepGrid, "]"));
  return absl::OkStatus();
}

// Validates everything EncodeLatentTile needs; returns K, the number of kept patches.
absl::StatusOr<size_t> CheckTile(const LatentTables& tables, int grid, const LatentTile& tile) {
  if (absl::Status s = ValidateLatentTables(tables); !s.ok()) return s;
  return CheckLatentTileShape(grid, tables.channels(), tile);
}

// Calls visit(table, coded value, patch index) for each symbol of a well-formed tile, in stream order.
template <typename Visit>
void ForEachCodedSymbol(const LatentTables& tables, int grid, const LatentTile& tile, Visit visit) {
  ForEachSymbolContext(tables, grid, tile.keep, tile.symbols, [&](int c, int32_t k, int32_t v, SymbolContext ctx) {
    visit(tables.tables[static_cast<size_t>(c)][static_cast<size_t>(ctx.bucket)],
          tables.predict[static_cast<size_t>(c)] ? ToResidual(v, ctx.prediction) : v, k);
  });
}

void EncodeTileInto(RansEncoder& encoder, const LatentTables& tables, int grid, const LatentTile& tile) {
  EncodeKeepMask(encoder, grid, tile.keep);
  ForEachCodedSymbol(tables, grid, tile, [&](const FrequencyTable& table, int32_t value, int32_t) {
    EncodeSymbol(encoder, table, value);
  });
}

absl::StatusOr<LatentTile> DecodeTileFrom(RansDecoder& decoder, const LatentTables& tables, int grid) {
  LatentTile tile;
  absl::StatusOr<std::vector<uint8_t>> keep = DecodeKeepMask(decoder, grid);
  if (!keep.ok()) return keep.status();
  tile.keep = *std::move(keep);
  const std::vector<int32_t> slot = KeptSlots(tile.keep);
  size_t kept = 0;
  for (uint8_t k : tile.keep) kept += k;
  const int channels = static_cast<int>(tables.channels());
  // Bounded by grid²·C whatever the bytes say: the mask has grid² cells.
  tile.symbols.assign(kept * static_cast<size_t>(channels), 0);
  for (int cell = 0; cell < grid * grid; ++cell) {
    const int32_t k = slot[static_cast<size_t>(cell)];
    if (k < 0) continue;
    for (int c = 0; c < channels; ++c) {
      // Only earlier cells are read, and those are decoded already.
      const SymbolContext ctx = ContextOf(tables, grid, slot, tile.symbols.data(), cell, c);
      absl::StatusOr<int32_t> v =
          DecodeSymbol(decoder, tables.tables[static_cast<size_t>(c)][static_cast<size_t>(ctx.bucket)]);
      if (!v.ok()) return v.status();
      tile.symbols[static_cast<size_t>(k) * channels + c] =
          tables.predict[static_cast<size_t>(c)] ? FromResidual(*v, ctx.prediction) : *v;
    }
  }
  return tile;
}

}  // namespace

absl::StatusOr<size_t> CheckLatentTileShape(int grid, size_t channels, const LatentTile& tile) {
  if (grid < 1 || grid > kMaxKeepGrid)
    return absl::InvalidArgumentError(absl::StrCat("latent tile grid ", grid, " is outside [1, ", kMaxKeepGrid, "]"));
  const size_t cells = static_cast<size_t>(grid) * static_cast<size_t>(grid);
  if (tile.keep.size() != cells)
    return absl::InvalidArgumentError(
        absl::StrCat("keep has ", tile.keep.size(), " entries; grid ", grid, " needs ", cells));
  size_t kept = 0;
  for (size_t i = 0; i < cells; ++i) {
    if (tile.keep[i] > 1)
      return absl::InvalidArgumentError(absl::StrCat("keep[", i, "] = ", int{tile.keep[i]}, "; need 0 or 1"));
    kept += tile.keep[i];
  }
  if (tile.symbols.size() != kept * channels)
    return absl::InvalidArgumentError(absl::StrCat("symbols has ", tile.symbols.size(), " entries; ", kept,
                                                   " kept patches × ", channels, " channels need ", kept * channels));
  return kept;
}

absl::StatusOr<std::string> EncodeLatentTile(const LatentTables& tables, int grid,
                                             const LatentTile& tile) {
  return EncodeLatentTiles(tables, grid, {tile});
}

absl::StatusOr<LatentTile> DecodeLatentTile(const LatentTables& tables, int grid,
                                            std::string_view bytes) {
  absl::StatusOr<std::vector<LatentTile>> tiles = DecodeLatentTiles(tables, grid, 1, bytes);
  if (!tiles.ok()) return tiles.status();
  return std::move((*tiles)[0]);
}

absl::StatusOr<std::string> EncodeLatentTiles(const LatentTables& tables, int grid,
                                              const std::vector<LatentTile>& tiles) {
  if (tiles.empty()) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  // The tables once, then each tile's shape (validating the tables is O(table sizes) per call).
  if (absl::Status s = ValidateLatentTables(tables); !s.ok())
    return absl::Status(s.code(), absl::StrCat("tiles[0]: ", s.message()));
  for (size_t t = 0; t < tiles.size(); ++t)
    if (absl::Status s = CheckLatentTileShape(grid, tables.channels(), tiles[t]).status(); !s.ok())
      return absl::Status(s.code(), absl::StrCat("tiles[", t, "]: ", s.message()));
  RansEncoder encoder;
  for (const LatentTile& tile : tiles) EncodeTileInto(encoder, tables, grid, tile);
  return encoder.Finish();
}

absl::StatusOr<std::vector<LatentTile>> DecodeLatentTiles(const LatentTables& tables, int grid,
                                                          size_t count, std::string_view bytes) {
  if (absl::Status s = CheckTablesAndGrid(tables, grid); !s.ok()) return s;
  if (count == 0) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  absl::StatusOr<RansDecoder> decoder = RansDecoder::Open(bytes);
  if (!decoder.ok()) return decoder.status();
  std::vector<LatentTile> tiles;
  for (size_t t = 0; t < count; ++t) {
    // The count is bounded by the caller (the image size it accepted), not by the stream: rANS
    // can decode many symbols from few bytes, so a short stream does not bound the work.
    absl::StatusOr<LatentTile> tile = DecodeTileFrom(*decoder, tables, grid);
    if (!tile.ok()) return absl::Status(tile.status().code(), absl::StrCat("tiles[", t, "]: ", tile.status().message()));
    tiles.push_back(*std::move(tile));
  }
  if (absl::Status s = decoder->Finish(); !s.ok())
    return absl::Status(s.code(), absl::StrCat("after tiles[", count - 1, "]: ", s.message()));
  return tiles;
}

double EstimateLatentTileBits(const LatentTables& tables, int grid, const LatentTile& tile) {
  if (!CheckTile(tables, grid, tile).ok()) return std::numeric_limits<double>::quiet_NaN();
  double bits = KeepMaskBits(grid, tile.keep);
  ForEachCodedSymbol(tables, grid, tile,
                     [&](const FrequencyTable& table, int32_t value, int32_t) { bits += SymbolBits(table, value); });
  return bits;
}

std::vector<double> LatentPatchBits(const LatentTables& tables, int grid, const LatentTile& tile) {
  absl::StatusOr<size_t> kept = CheckTile(tables, grid, tile);
  if (!kept.ok()) return {};
  std::vector<double> bits(*kept, 0.0);
  ForEachCodedSymbol(tables, grid, tile, [&](const FrequencyTable& table, int32_t value, int32_t k) {
    bits[static_cast<size_t>(k)] += SymbolBits(table, value);
  });
  return bits;
}

}  // namespace mt
