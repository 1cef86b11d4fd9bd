// TileCodec of the conv transform codec (core/model/conv_codec: checkpoint kind "conv_codec"):
// its own tile_size tiles, one latent per 16×16 pixels, a step per level and channel, every
// position that covers image coded (no masker: the rate is the level).
// Thread-safety: as TileCodec.
#pragma once

#include <algorithm>
#include <memory>

#include "absl/status/statusor.h"
#include "core/codecs/conv_transforms.h"
#include "core/codecs/table_tile_codec.h"
#include "core/model/conv_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

class ConvTileCodec final : public TableTileCodec {
 public:
  // FAILED_PRECONDITION without coding tables or with a step that is not > 0 (naming level and channel).
  static absl::StatusOr<std::shared_ptr<const ConvTileCodec>> Create(ConvCodec codec,
                                                                    ComputePrecision compute = ComputePrecision::kFloat32);

  std::string_view name() const override { return "conv"; }
  bool selects_positions() const override { return false; }
  int64_t default_level() const override;
  absl::Status CheckPairedWith(const MaskedAutoencoderOptions&) const override { return absl::OkStatus(); }

  // The transforms: core/codecs/conv_transforms.
  at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows = 0, int64_t content_cols = 0) const override {
    return transforms_.Analyze(tiles, content_rows, content_cols);
  }
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const override {
    return transforms_.Reconstruct(latents, keep);
  }
  double AnalyzedPixels(int64_t height, int64_t width) const override { return transforms_.AnalyzedPixels(height, width); }
  double SynthesizedPixels(int64_t height, int64_t width) const override {
    return transforms_.SynthesizedPixels(height, width);
  }
  double analysis_flops_per_pixel() const override { return transforms_.analysis_flops_per_pixel(); }
  double synthesis_flops_per_pixel() const override { return transforms_.synthesis_flops_per_pixel(); }

  double step(int64_t level) const override { return mean_steps_.at(static_cast<size_t>(level)); }
  at::Tensor Quantize(const at::Tensor& y, int64_t level) const override;
  at::Tensor Dequantize(const at::Tensor& symbols, int64_t level) const override;

 private:
  ConvTileCodec(ConvCodec codec, ComputePrecision compute) : transforms_(std::move(codec), compute) {}

  ConvTransforms transforms_;
  std::vector<double> mean_steps_;  // [level]: mean Δ over the channels
};

// The level a request that names none gets (of the shipped codec's 10, finest = 0), just under
// 0.5 bpp on the held-out photos: 0.459 bpp at 31.14 dB, where level 2 costs 1.42x the bytes for
// +1.08 dB and level 6 saves 35 % for -1.64 dB (docs/RESULTS.md, "Conv codec").
inline constexpr int64_t kDefaultConvLevel = 4;

// The default level of a conv codec with these options: its stored default_level, else
// kDefaultConvLevel (or its coarsest level when it has fewer).
inline int64_t DefaultConvLevel(const ConvCodecOptions& options) {
  return options.default_level >= 0 ? options.default_level : std::min(kDefaultConvLevel, options.levels - 1);
}

}  // namespace mt
