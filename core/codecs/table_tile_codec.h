// The entropy half shared by codecs that quantise each latent channel with a fixed step per
// level and code the symbols with integer tables stored at export (factorized, or spatial
// context: core/entropy/latent_stream). Implementations add the transforms and how a level's
// step applies (Quantize / Dequantize); a codec with another entropy model (a hyperprior)
// implements TileCodec directly.
// Thread-safety: as TileCodec (immutable after the implementation's Create).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "core/codecs/tile_codec.h"
#include "core/entropy/latent_context.h"

namespace mt {

class TableTileCodec : public TileCodec {
 public:
  int64_t num_levels() const override { return static_cast<int64_t>(tables_.size()); }
  bool has_context() const override { return tables_.empty() ? false : tables_[0].buckets > 0; }
  at::Tensor DecodedLatents(const at::Tensor& y, int64_t level) const override {
    return Dequantize(Quantize(y, level), level);
  }
  at::Tensor PositionBits(const at::Tensor& y, int64_t level) const override;
  std::string EncodeTiles(const at::Tensor& y, const at::Tensor& keep, int64_t level,
                          double* estimated_bits = nullptr) const override;
  absl::Status DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                           at::Tensor* latents) const override;

  // y (N, L, C) → integer symbols (N, L, C) int32 at `level`.
  virtual at::Tensor Quantize(const at::Tensor& y, int64_t level) const = 0;
  // Symbols (N, L, C) → dequantised latents (N, L, C) float, as the sender's rate control sees them.
  virtual at::Tensor Dequantize(const at::Tensor& symbols, int64_t level) const = 0;

 protected:
  // Stores each level's step of every channel and its tables. FAILED_PRECONDITION (naming the
  // level and channel) for a step that is not finite and > 0, or tables that do not cover every
  // level with channels() channels. Call after setting channels_.
  absl::Status SetLevels(std::vector<std::vector<double>> channel_steps, std::vector<LatentTables> tables);
  const std::vector<double>& channel_steps(int64_t level) const {
    return channel_steps_.at(static_cast<size_t>(level));
  }

 private:
  // Symbols (N, L, C) → the level's tables' ideal bits per position (N, L).
  at::Tensor SymbolBits(const at::Tensor& symbols, int64_t level) const;

  std::vector<std::vector<double>> channel_steps_;  // [level][channel]: Δ, what the receiver multiplies by
  std::vector<LatentTables> tables_;                // [level]: context tables when exported with them, else factorized
};

}  // namespace mt
