// The conv codec's analysis and synthesis as the tile codecs run them (core/codecs/conv_tile_codec,
// hyper_tile_codec): tiles in slices, the transforms only over the content plus its receptive
// field, unsent positions filled from the nearest sent row/column. Shared so each codec adds only
// its entropy model.
// Thread-safety: immutable after construction; every method is const and may run concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

#include "core/model/conv_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

class ConvTransforms {
 public:
  // `codec` in eval mode.
  ConvTransforms(ConvCodec codec, ComputePrecision compute);

  int64_t tile_size() const { return tile_size_; }
  int64_t grid() const { return tile_size_ / kConvCodecDownsample; }
  int64_t channels() const { return channels_; }
  ConvCodec& codec() const { return codec_; }

  // tiles (N, 3, T, T) in [0,1] → y (N, L, C): the analysis over the content plus its receptive
  // field only (a 32×32 photo: 64×64 pixels, not 512×512); positions beyond it are 0. The packet
  // encoder calls it per group of tiles with the same content (core/ops/chunked.h ForwardByRegion).
  at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows, int64_t content_cols) const;
  // Latents (N, L, C) and keep (N, L) → tiles (N, 3, T, T) in [0,1]: unsent positions take the
  // nearest sent row/column (ReplicateIntoUnsent); the synthesis runs over each tile's sent
  // rectangle plus its receptive field only (tiles with the same rectangle together); pixels
  // beyond that are 0 (edge fill).
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const;
  // The pixels each transform runs over for a height × width image: the sum of each tile's region
  // (its content plus the receptive field), as the packet encoder and Reconstruct run them.
  double AnalyzedPixels(int64_t height, int64_t width) const;
  double SynthesizedPixels(int64_t height, int64_t width) const;
  double analysis_flops_per_pixel() const;
  double synthesis_flops_per_pixel() const;
  // The codec's quantisation steps Δ, [level][channel] (unchecked: each codec validates them).
  std::vector<std::vector<double>> LevelSteps() const;

 private:
  int64_t ComputedPositions(int64_t content, int64_t margin) const;
  // Sum over the tiles of each one's content region plus `margin` positions, clipped to the tile.
  double TiledRegionPixels(int64_t height, int64_t width, int64_t margin) const;

  mutable ConvCodec codec_;  // mutable: LibTorch's forward is non-const; eval inference changes nothing
  ComputePrecision compute_;
  int64_t tile_size_, channels_;
};

// Latents (N, g, g, C) whose unsent positions (keep (N, g, g) false; the sent ones are the
// top-left rectangle over the image) take the nearest sent row/column's values, so the
// synthesis sees the image's edge continued, as the analysis saw its replicated padding, instead
// of zeros. Tiles sent whole or not at all are returned unchanged.
at::Tensor ReplicateIntoUnsent(const at::Tensor& latents, const at::Tensor& keep);

// The mean of one level's steps over its channels (TileCodec::step).
double MeanStep(const std::vector<double>& channel_steps);

}  // namespace mt
