// TileCodec of the conv transform codec (core/model/conv_codec: checkpoint kind "conv_codec"):
// its own tile_size tiles, one latent per 16×16 pixels, a step per level and channel, every
// position that covers image coded (no masker: the rate is the level).
// Thread-safety: as TileCodec.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
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

  // The analysis runs over the content plus its receptive field only (a 32×32 photo: 64×64
  // pixels, not 512×512); positions beyond it are 0 (they are not sent).
  at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows = 0, int64_t content_cols = 0) const override;
  // Unsent positions take the nearest sent row/column (ReplicateIntoUnsent); the synthesis runs
  // over the sent rectangle plus its receptive field only; pixels beyond that are 0 (edge fill).
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const override;
  // Every tile's T² unless the image fits in one tile: then the region the transform runs over.
  double AnalyzedPixels(int64_t height, int64_t width) const override;
  double SynthesizedPixels(int64_t height, int64_t width) const override;
  double analysis_flops_per_pixel() const override;
  double synthesis_flops_per_pixel() const override;

  double step(int64_t level) const override { return mean_steps_.at(static_cast<size_t>(level)); }
  at::Tensor Quantize(const at::Tensor& y, int64_t level) const override;
  at::Tensor Dequantize(const at::Tensor& symbols, int64_t level) const override;

 private:
  ConvTileCodec(ConvCodec codec, ComputePrecision compute) : conv_(std::move(codec)), compute_(compute) {}
  // Positions per tile side the transforms run over for `content` positions of image.
  int64_t ComputedPositions(int64_t content, int64_t margin) const;
  // Pixels the transform with receptive field `margin` runs over for one height×width image.
  double RegionPixels(int64_t height, int64_t width, int64_t margin) const;

  mutable ConvCodec conv_;  // mutable: LibTorch's forward is non-const; eval inference changes nothing
  ComputePrecision compute_;
  std::vector<double> mean_steps_;  // [level]: mean Δ over the channels
};

// The level a request that names none gets (of the shipped codec's 10, finest = 0), just under
// 0.5 bpp on the held-out photos: 0.459 bpp at 31.14 dB, where level 2 costs 1.42x the bytes for
// +1.08 dB and level 6 saves 35 % for -1.64 dB (docs/RESULTS.md, "Conv codec").
inline constexpr int64_t kDefaultConvLevel = 4;

// Latents (N, g, g, C) whose unsent positions (keep (N, g, g) false; the sent ones are the
// top-left rectangle over the image) take the nearest sent row/column's values, so the
// synthesis sees the image's edge continued, as the analysis saw its replicated padding, instead
// of zeros. Tiles sent whole or not at all are returned unchanged.
at::Tensor ReplicateIntoUnsent(const at::Tensor& latents, const at::Tensor& keep);

}  // namespace mt
