#include "core/entropy/hyper_stream.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/entropy/keep_mask_coder.h"

namespace mt {
namespace {

constexpr size_t kChecksumBytes = 4;

absl::Status CheckGrids(const HyperTables& tables, int grid, int z_grid) {
  if (absl::Status s = ValidateHyperTables(tables); !s.ok()) return s;
  if (grid < 1 || grid > kMaxKeepGrid || z_grid < 1 || grid % z_grid != 0)
    return absl::InvalidArgumentError(
        absl::StrCat("hyperprior grids ", grid, " / ", z_grid, ": need 1 <= grid <= ", kMaxKeepGrid, ", a multiple of z"));
  return absl::OkStatus();
}

size_t KeptCount(const std::vector<uint8_t>& keep) {
  size_t k = 0;
  for (uint8_t v : keep) k += v != 0;
  return k;
}

// Tile t's side and its residual lists (one per pass: residuals[t], residuals[t + n], ...).
absl::Status CheckTile(const HyperTables& tables, int grid, int z_grid, const HyperTileSide& side,
                       const std::vector<HyperTileResiduals>& residuals, size_t t, size_t tiles) {
  const size_t z_channels = tables.side.size(), cells = static_cast<size_t>(z_grid * z_grid);
  if (side.keep.size() != static_cast<size_t>(grid * grid) || side.z.size() != cells * z_channels)
    return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: keep or z has the wrong size"));
  const std::vector<uint8_t> coded = SideCellsCoded(grid, z_grid, side.keep);
  for (size_t i = 0; i < side.z.size(); ++i)
    if (!coded[i / z_channels] && side.z[i] != 0)
      return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: z is set in a side cell that is not coded"));
  size_t symbols = 0;
  for (size_t i = t; i < residuals.size(); i += tiles) {
    const HyperTileResiduals& r = residuals[i];
    if (r.scale_index.size() != r.residual.size())
      return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: residuals and scale indices differ in size"));
    symbols += r.residual.size();
    for (int32_t s : r.scale_index)
      if (s < 0 || static_cast<size_t>(s) >= tables.scales.size())
        return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: scale index ", s, " is out of range"));
  }
  const size_t kept = KeptCount(side.keep);
  if (kept == 0 ? symbols != 0 : symbols % kept != 0)
    return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: residuals do not match the kept positions"));
  return absl::OkStatus();
}

template <typename Visit>
void ForEachCodedZ(const HyperTables& tables, int grid, int z_grid, const HyperTileSide& side, Visit visit) {
  const std::vector<uint8_t> coded = SideCellsCoded(grid, z_grid, side.keep);
  const size_t z_channels = tables.side.size();
  for (size_t cell = 0; cell < coded.size(); ++cell)
    if (coded[cell])
      for (size_t c = 0; c < z_channels; ++c) visit(tables.side[c], cell * z_channels + c);
}

}  // namespace

absl::Status ValidateHyperTables(const HyperTables& tables) {
  if (tables.side.empty() || tables.scales.empty())
    return absl::InvalidArgumentError("hyperprior tables: no side or no scale tables");
  for (size_t i = 0; i < tables.side.size(); ++i)
    if (absl::Status s = ValidateTable(tables.side[i]); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat("hyperprior side table ", i, ": ", s.message()));
  for (size_t i = 0; i < tables.scales.size(); ++i)
    if (absl::Status s = ValidateTable(tables.scales[i]); !s.ok())
      return absl::InvalidArgumentError(absl::StrCat("hyperprior scale table ", i, ": ", s.message()));
  return absl::OkStatus();
}

std::vector<uint8_t> SideCellsCoded(int grid, int z_grid, const std::vector<uint8_t>& keep) {
  const int ratio = grid / z_grid;
  std::vector<uint8_t> coded(static_cast<size_t>(z_grid * z_grid), 0);
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c)
      if (keep[static_cast<size_t>(r * grid + c)]) coded[static_cast<size_t>((r / ratio) * z_grid + c / ratio)] = 1;
  return coded;
}

uint32_t ChecksumAdd(uint32_t hash, int64_t value) {
  const uint64_t v = static_cast<uint64_t>(value);
  for (int b = 0; b < 8; ++b) {
    hash ^= static_cast<uint32_t>((v >> (8 * b)) & 0xff);
    hash *= 16777619u;
  }
  return hash;
}

absl::StatusOr<std::string> EncodeHyperStream(const HyperTables& tables, int grid, int z_grid,
                                              const std::vector<HyperTileSide>& sides,
                                              const std::vector<HyperTileResiduals>& residuals, uint32_t checksum) {
  if (absl::Status s = CheckGrids(tables, grid, z_grid); !s.ok()) return s;
  if (sides.empty() || residuals.empty() || residuals.size() % sides.size() != 0)
    return absl::InvalidArgumentError(
        "a hyperprior stream needs >= 1 tile, one side per tile and one residual list per tile and pass");
  for (size_t t = 0; t < sides.size(); ++t)
    if (absl::Status s = CheckTile(tables, grid, z_grid, sides[t], residuals, t, sides.size()); !s.ok()) return s;
  RansEncoder encoder;
  for (const HyperTileSide& side : sides) {
    EncodeKeepMask(encoder, grid, side.keep);
    ForEachCodedZ(tables, grid, z_grid, side, [&](const FrequencyTable& table, size_t i) {
      EncodeSymbol(encoder, table, side.z[i]);
    });
  }
  for (const HyperTileResiduals& r : residuals)
    for (size_t i = 0; i < r.residual.size(); ++i)
      EncodeSymbol(encoder, tables.scales[static_cast<size_t>(r.scale_index[i])], r.residual[i]);
  std::string out(kChecksumBytes, '\0');
  for (size_t b = 0; b < kChecksumBytes; ++b) out[b] = static_cast<char>((checksum >> (8 * b)) & 0xff);
  return out + encoder.Finish();
}

double HyperSideBits(const HyperTables& tables, int grid, int z_grid, const HyperTileSide& side) {
  double bits = KeepMaskBits(grid, side.keep);
  ForEachCodedZ(tables, grid, z_grid, side, [&](const FrequencyTable& table, size_t i) {
    bits += SymbolBits(table, side.z[i]);
  });
  return bits;
}

absl::StatusOr<HyperStreamDecoder> HyperStreamDecoder::Open(const HyperTables& tables, int grid, int z_grid,
                                                            std::string_view bytes) {
  if (absl::Status s = CheckGrids(tables, grid, z_grid); !s.ok()) return s;
  if (bytes.size() < kChecksumBytes + kRansStateBytes)
    return absl::DataLossError(absl::StrCat("hyperprior stream of ", bytes.size(), " bytes is truncated"));
  uint32_t checksum = 0;
  for (size_t b = 0; b < kChecksumBytes; ++b) checksum |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[b])) << (8 * b);
  absl::StatusOr<RansDecoder> decoder = RansDecoder::Open(bytes.substr(kChecksumBytes));
  if (!decoder.ok()) return decoder.status();
  return HyperStreamDecoder(tables, grid, z_grid, checksum, *std::move(decoder));
}

absl::StatusOr<std::vector<HyperTileSide>> HyperStreamDecoder::DecodeSides(size_t count) {
  if (count < 1) return absl::InvalidArgumentError("a hyperprior stream needs at least one tile");
  const size_t z_size = static_cast<size_t>(z_grid_ * z_grid_) * tables_->side.size();
  tiles_ = count;
  std::vector<HyperTileSide> sides(count);
  for (size_t t = 0; t < count; ++t) {
    absl::StatusOr<std::vector<uint8_t>> keep = DecodeKeepMask(decoder_, grid_);
    if (!keep.ok()) return absl::DataLossError(absl::StrCat("tiles[", t, "]: keep mask: ", keep.status().message()));
    sides[t].keep = *std::move(keep);
    sides[t].z.assign(z_size, 0);
    absl::Status status;
    ForEachCodedZ(*tables_, grid_, z_grid_, sides[t], [&](const FrequencyTable& table, size_t i) {
      if (!status.ok()) return;
      absl::StatusOr<int32_t> v = DecodeSymbol(decoder_, table);
      if (v.ok()) sides[t].z[i] = *v;
      else status = v.status();
    });
    if (!status.ok()) return absl::DataLossError(absl::StrCat("tiles[", t, "]: side latents: ", status.message()));
  }
  return sides;
}

absl::StatusOr<std::vector<int32_t>> HyperStreamDecoder::DecodeResiduals(const std::vector<int32_t>& scale_index) {
  const size_t t = next_list_++ % std::max<size_t>(tiles_, 1);
  std::vector<int32_t> out(scale_index.size());
  for (size_t i = 0; i < scale_index.size(); ++i) {
    if (scale_index[i] < 0 || static_cast<size_t>(scale_index[i]) >= tables_->scales.size())
      return absl::InvalidArgumentError(absl::StrCat("tiles[", t, "]: scale index ", scale_index[i], " is out of range"));
    absl::StatusOr<int32_t> v = DecodeSymbol(decoder_, tables_->scales[static_cast<size_t>(scale_index[i])]);
    if (!v.ok()) return absl::DataLossError(absl::StrCat("tiles[", t, "]: residuals: ", v.status().message()));
    out[i] = *v;
  }
  return out;
}

absl::Status HyperStreamDecoder::Finish(uint32_t checksum) const {
  if (absl::Status s = decoder_.Finish(); !s.ok()) return s;
  if (checksum != checksum_)
    return absl::DataLossError(absl::StrCat("hyperprior checksum mismatch (stream ", checksum_, ", receiver ", checksum,
                                            "): the receiver derived other means or tables than the sender"));
  return absl::OkStatus();
}

}  // namespace mt
