#include "core/entropy/latent_stream.h"

#include <cstddef>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/entropy/keep_mask_coder.h"
#include "core/entropy/rans_coder.h"

namespace mt {
namespace {

absl::Status CheckTablesAndGrid(const std::vector<FrequencyTable>& tables, int grid) {
  if (tables.empty()) return absl::InvalidArgumentError("latent tile needs at least one channel table");
  for (size_t c = 0; c < tables.size(); ++c)
    if (absl::Status s = ValidateTable(tables[c]); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat("tables[", c, "]: ", s.message()));
  if (grid < 1 || grid > kMaxKeepGrid)
    return absl::InvalidArgumentError(absl::StrCat("latent tile grid ", grid, " is outside [1, ", kMaxKeepGrid, "]"));
  return absl::OkStatus();
}

// Validates everything EncodeLatentTile needs; returns K, the number of kept patches.
absl::StatusOr<size_t> CheckTile(const std::vector<FrequencyTable>& tables, int grid, const LatentTile& tile) {
  if (absl::Status s = CheckTablesAndGrid(tables, grid); !s.ok()) return s;
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
  if (tile.symbols.size() != kept * tables.size())
    return absl::InvalidArgumentError(absl::StrCat("symbols has ", tile.symbols.size(), " entries; ", kept,
                                                   " kept patches × ", tables.size(), " channels need ",
                                                   kept * tables.size()));
  return kept;
}

void EncodeTileInto(RansEncoder& encoder, const std::vector<FrequencyTable>& tables, int grid, const LatentTile& tile) {
  EncodeKeepMask(encoder, grid, tile.keep);
  const size_t channels = tables.size();
  for (size_t i = 0; i < tile.symbols.size(); ++i) EncodeSymbol(encoder, tables[i % channels], tile.symbols[i]);
}

absl::StatusOr<LatentTile> DecodeTileFrom(RansDecoder& decoder, const std::vector<FrequencyTable>& tables, int grid) {
  LatentTile tile;
  absl::StatusOr<std::vector<uint8_t>> keep = DecodeKeepMask(decoder, grid);
  if (!keep.ok()) return keep.status();
  tile.keep = *std::move(keep);
  size_t kept = 0;
  for (uint8_t k : tile.keep) kept += k;
  const size_t channels = tables.size();
  // Bounded by grid²·C whatever the bytes say: the mask has grid² cells.
  tile.symbols.reserve(kept * channels);
  for (size_t i = 0; i < kept * channels; ++i) {
    absl::StatusOr<int32_t> v = DecodeSymbol(decoder, tables[i % channels]);
    if (!v.ok()) return v.status();
    tile.symbols.push_back(*v);
  }
  return tile;
}

}  // namespace

absl::StatusOr<std::string> EncodeLatentTile(const std::vector<FrequencyTable>& tables, int grid,
                                             const LatentTile& tile) {
  return EncodeLatentTiles(tables, grid, {tile});
}

absl::StatusOr<LatentTile> DecodeLatentTile(const std::vector<FrequencyTable>& tables, int grid,
                                            std::string_view bytes) {
  absl::StatusOr<std::vector<LatentTile>> tiles = DecodeLatentTiles(tables, grid, 1, bytes);
  if (!tiles.ok()) return tiles.status();
  return std::move((*tiles)[0]);
}

absl::StatusOr<std::string> EncodeLatentTiles(const std::vector<FrequencyTable>& tables, int grid,
                                              const std::vector<LatentTile>& tiles) {
  for (size_t t = 0; t < tiles.size(); ++t)
    if (absl::Status s = CheckTile(tables, grid, tiles[t]).status(); !s.ok())
      return absl::Status(s.code(), absl::StrCat("tiles[", t, "]: ", s.message()));
  if (tiles.empty()) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  RansEncoder encoder;
  for (const LatentTile& tile : tiles) EncodeTileInto(encoder, tables, grid, tile);
  return encoder.Finish();
}

absl::StatusOr<std::vector<LatentTile>> DecodeLatentTiles(const std::vector<FrequencyTable>& tables, int grid,
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

double EstimateLatentTileBits(const std::vector<FrequencyTable>& tables, int grid, const LatentTile& tile) {
  if (!CheckTile(tables, grid, tile).ok()) return std::numeric_limits<double>::quiet_NaN();
  double bits = KeepMaskBits(grid, tile.keep);
  const size_t channels = tables.size();
  for (size_t i = 0; i < tile.symbols.size(); ++i) bits += SymbolBits(tables[i % channels], tile.symbols[i]);
  return bits;
}

}  // namespace mt
