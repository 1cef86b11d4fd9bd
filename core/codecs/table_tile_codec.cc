#include "core/codecs/table_tile_codec.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/entropy/latent_stream.h"

namespace mt {

absl::Status TableTileCodec::SetLevels(std::vector<std::vector<double>> channel_steps,
                                       std::vector<LatentTables> tables) {
  for (size_t s = 0; s < channel_steps.size(); ++s)
    for (size_t c = 0; c < channel_steps[s].size(); ++c)
      if (!(channel_steps[s][c] > 0) || !std::isfinite(channel_steps[s][c]))
        return absl::FailedPreconditionError(
            absl::StrCat("codec level ", s, " channel ", c, " has step ", channel_steps[s][c]));
  if (tables.size() != channel_steps.size())
    return absl::FailedPreconditionError(absl::StrCat("the codec's coding tables cover ", tables.size(),
                                                      " step levels; it has ", channel_steps.size()));
  for (const LatentTables& t : tables)
    if (static_cast<int64_t>(t.channels()) != channels_)
      return absl::FailedPreconditionError(
          absl::StrCat("the codec's coding tables have ", t.channels(), " channels, not ", channels_));
  channel_steps_ = std::move(channel_steps);
  tables_ = std::move(tables);
  return absl::OkStatus();
}

at::Tensor TableTileCodec::PositionBits(const at::Tensor& y, int64_t level) const {
  return SymbolBits(Quantize(y, level), level);
}

at::Tensor TableTileCodec::SymbolBits(const at::Tensor& symbols, int64_t level) const {
  const LatentTables& tables = tables_.at(static_cast<size_t>(level));
  at::Tensor q = symbols.to(at::kInt).contiguous();
  const int64_t n = q.size(0), l = q.size(1), c = q.size(2);
  const int grid = static_cast<int>(this->grid());
  at::Tensor bits = at::zeros({n, l}, at::kDouble);
  double* out = bits.data_ptr<double>();
  LatentTile tile;
  tile.keep.assign(static_cast<size_t>(l), 1);
  for (int64_t t = 0; t < n; ++t) {
    const int32_t* v = q[t].data_ptr<int32_t>();
    tile.symbols.assign(v, v + l * c);
    const std::vector<double> patch = LatentPatchBits(tables, grid, tile);
    TORCH_CHECK(static_cast<int64_t>(patch.size()) == l, "PositionBits: latents do not match the codec");
    std::copy(patch.begin(), patch.end(), out + t * l);
  }
  return bits;
}

std::string TableTileCodec::EncodeTiles(const at::Tensor& y, const at::Tensor& keep, int64_t level,
                                        double* estimated_bits) const {
  const LatentTables& tables = tables_.at(static_cast<size_t>(level));
  at::Tensor q = Quantize(y, level).to(at::kInt).contiguous();
  at::Tensor k = keep.to(at::kByte).contiguous();
  const int64_t n = q.size(0), l = q.size(1), c = q.size(2);
  const int grid = static_cast<int>(this->grid());
  std::vector<LatentTile> tiles(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    LatentTile& tile = tiles[static_cast<size_t>(t)];
    const uint8_t* kp = k[t].data_ptr<uint8_t>();
    const int32_t* qp = q[t].data_ptr<int32_t>();
    tile.keep.assign(kp, kp + l);
    for (int64_t i = 0; i < l; ++i)
      if (kp[i]) tile.symbols.insert(tile.symbols.end(), qp + i * c, qp + (i + 1) * c);
    if (estimated_bits != nullptr) *estimated_bits += EstimateLatentTileBits(tables, grid, tile);
  }
  absl::StatusOr<std::string> bytes = EncodeLatentTiles(tables, grid, tiles);
  TORCH_CHECK(bytes.ok(), "EncodeLatentTiles: ", bytes.status().ToString());  // inputs are ours: a bug
  return *std::move(bytes);
}

absl::Status TableTileCodec::DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                                         at::Tensor* latents) const {
  if (level < 0 || level >= num_levels())
    return absl::InvalidArgumentError(
        absl::StrCat("latent_level ", level, " is outside the codec's levels 0..", num_levels() - 1));
  const LatentTables& tables = tables_[static_cast<size_t>(level)];
  const int64_t n = count, l = grid() * grid(), c = channels_;
  if (n < 1) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  const int grid = static_cast<int>(this->grid());
  absl::StatusOr<std::vector<LatentTile>> tiles = DecodeLatentTiles(tables, grid, static_cast<size_t>(n), stream);
  if (!tiles.ok()) return absl::Status(tiles.status().code(), absl::StrCat("latent: ", tiles.status().message()));
  *keep = at::zeros({n, l}, at::kBool);
  *latents = at::zeros({n, l, c}, at::kFloat);
  bool* kp = keep->data_ptr<bool>();
  float* yp = latents->data_ptr<float>();
  const std::vector<double>& delta = channel_steps(level);
  for (int64_t t = 0; t < n; ++t) {
    const LatentTile* tile = &(*tiles)[static_cast<size_t>(t)];
    size_t next = 0;
    for (int64_t i = 0; i < l; ++i) {
      if (!tile->keep[static_cast<size_t>(i)]) continue;
      kp[t * l + i] = true;
      for (int64_t ch = 0; ch < c; ++ch)
        yp[(t * l + i) * c + ch] = static_cast<float>(delta[static_cast<size_t>(ch)] * tile->symbols[next++]);
    }
  }
  return absl::OkStatus();
}

}  // namespace mt
