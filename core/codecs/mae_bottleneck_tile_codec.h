// TileCodec of the MAE-bottleneck codec (core/model/latent_codec: checkpoint kind "codec"): the
// paired MAE's 32×32 tiles, one latent per 4×4 patch, one scalar step per level. It codes the
// positions the masker selects, and the MAE decoder fills in the rest.
// Thread-safety: as TileCodec.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codecs/table_tile_codec.h"
#include "core/model/latent_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

class MaeBottleneckTileCodec final : public TableTileCodec {
 public:
  // FAILED_PRECONDITION if the codec holds no coding tables (a training checkpoint: run
  // `mt-train export`), a step is not > 0, or a stored table is malformed (the message names
  // level and channel). Codes with the spatial-context tables when the codec has them.
  static absl::StatusOr<std::shared_ptr<const MaeBottleneckTileCodec>> Create(
      LatentCodec codec, ComputePrecision compute = ComputePrecision::kFloat32);

  std::string_view name() const override { return "mae_bottleneck"; }
  bool selects_positions() const override { return true; }
  int64_t default_level() const override;
  absl::Status CheckPairedWith(const MaskedAutoencoderOptions& mae) const override;

  at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows = 0, int64_t content_cols = 0) const override;
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const override;
  double analysis_flops_per_pixel() const override;
  double synthesis_flops_per_pixel() const override;

  double step(int64_t level) const override { return steps_.at(static_cast<size_t>(level)); }
  at::Tensor Quantize(const at::Tensor& y, int64_t level) const override;
  at::Tensor Dequantize(const at::Tensor& symbols, int64_t level) const override;

 private:
  MaeBottleneckTileCodec(LatentCodec codec, ComputePrecision compute) : codec_(std::move(codec)), compute_(compute) {}

  mutable LatentCodec codec_;  // mutable: LibTorch's forward is non-const; eval inference changes nothing
  ComputePrecision compute_;
  std::vector<double> steps_;  // [level]: Δ
};

// The level a request that names none gets (of the shipped codec's 12, finest = 0): the knee of
// its measured curve on the held-out photos, every patch kept: 1.23 bpp at 29.3 dB, where level 4
// costs 1.39x the bytes for +0.84 dB and level 8 saves a third for -1.65 dB (docs/RESULTS.md).
inline constexpr int64_t kDefaultMaeBottleneckLevel = 6;

}  // namespace mt
