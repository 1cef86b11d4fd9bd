// The latent payload's model side: tiles → latents → per-tile entropy-coded streams (sender),
// and streams → latents → reconstructed tiles (receiver), with the integer coding tables the
// codec checkpoint stores (one set per rate level). Two codecs sit behind it: the MAE bottleneck
// (LatentCodec: 32×32 tiles, one latent per 4×4 patch, a scalar step per level) and the conv
// transform codec (ConvCodec: tile_size tiles, one latent per 16×16 pixels, per-channel steps).
// A "patch" below is one latent position: L = grid² per tile.
// Thread-safety: immutable after Create(); every method is const, runs eval-mode models under
// NoGradGuard and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/entropy/latent_context.h"
#include "core/model/conv_codec.h"
#include "core/model/latent_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

class LatentCoder {
 public:
  // FAILED_PRECONDITION if the codec holds no coding tables (train checkpoints: run
  // `mt-train export`) or a stored table is malformed (the message names level and channel).
  // Codes with the codec's spatial-context tables when it has them (latent_context).
  static absl::StatusOr<std::shared_ptr<const LatentCoder>> Create(LatentCodec codec,
                                                                  ComputePrecision compute = ComputePrecision::kFloat32);
  // The same for a conv transform codec (FAILED_PRECONDITION without tables or with bad steps).
  static absl::StatusOr<std::shared_ptr<const LatentCoder>> Create(ConvCodec codec,
                                                                  ComputePrecision compute = ComputePrecision::kFloat32);

  // tiles (N, 3, T, T) in [0,1] → latents y (N, L, C) fp32 (full-context encoder + analysis).
  // Conv codec: `content_rows` / `content_cols` (0: all T) are the most pixel rows / columns of
  // any tile that hold image rather than edge fill; the analysis then runs over those plus its
  // receptive field only (a 32×32 photo: 64×64 pixels, not 512×512), with the same latents at
  // every position that holds image; the others are 0 (they are not sent).
  at::Tensor Analyze(const at::Tensor& tiles, int64_t content_rows = 0, int64_t content_cols = 0) const;
  // Pixels Analyze / Reconstruct run the transforms over for one height×width image (for
  // request_cost): every tile's T² unless the image fits in one tile (conv codec).
  double AnalyzedPixels(int64_t height, int64_t width) const;
  double SynthesizedPixels(int64_t height, int64_t width) const;
  // y (N, L, C) → integer symbols round(y / Δ_level) (N, L, C) int32.
  at::Tensor Quantize(const at::Tensor& y, int64_t level) const;
  // Symbols (N, L, C) → dequantised latents Δ_level·q (N, L, C) float.
  at::Tensor Dequantize(const at::Tensor& symbols, int64_t level) const;
  // Ideal bits of each patch's symbols (N, L) under the level's tables (rate control), with every
  // patch of the tile kept (the spatial contexts of the selection actually sent may differ).
  at::Tensor PatchBits(const at::Tensor& symbols, int64_t level) const;
  // symbols (N, L, C) int32 and keep (N, L) bool, N >= 1 → one stream of all N tiles; adds the
  // tables' ideal bits (keep masks + symbols) to *estimated_bits when given.
  std::string EncodeTiles(const at::Tensor& symbols, const at::Tensor& keep, int64_t level,
                          double* estimated_bits = nullptr) const;
  // A stream of `count` tiles → keep (count, L) bool and dequantised latents Δ·q (count, L, C)
  // (0 where not kept). INVALID_ARGUMENT for a level out of range; DATA_LOSS/INVALID_ARGUMENT
  // naming `tiles[i]` for a corrupt, truncated or extended stream.
  absl::Status DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                           at::Tensor* latents) const;
  // Latents (N, L, C) and keep (N, L) → tiles (N, 3, T, T) clamped to [0,1]. Conv codec: the
  // synthesis runs over the sent rectangle (the top-left positions keep marks, the most of any
  // tile) plus its receptive field only; pixels beyond that are 0 (edge fill: cropped away).
  at::Tensor Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const;

  int64_t num_levels() const { return static_cast<int64_t>(tables_.size()); }
  // Mean step of a level over the channels (the step itself for the MAE codec).
  double step(int64_t level) const;
  // ModelFingerprint of the whole codec (weights and coding tables).
  const std::string& fingerprint() const { return fingerprint_; }
  bool is_conv() const { return static_cast<bool>(conv_); }
  int64_t tile_size() const { return tile_size_; }    // T: pixels per tile side
  int64_t patch_size() const { return patch_size_; }  // pixels per latent position side
  int64_t grid() const { return tile_size_ / patch_size_; }
  int64_t channels() const { return channels_; }      // C
  // FLOPs per tile pixel of Analyze / Reconstruct (core/model/flops; the MAE codec's own MAE
  // encoder or decoder included).
  double analysis_flops_per_pixel() const;
  double synthesis_flops_per_pixel() const;
  // True when the streams use spatial-context tables (not the factorized prior's).
  bool has_context() const { return tables_.empty() ? false : tables_[0].buckets > 0; }

 private:
  explicit LatentCoder(ComputePrecision compute) : compute_(compute) {}

  // mutable: LibTorch's forward is non-const; eval inference changes nothing. Exactly one is set.
  mutable LatentCodec codec_{nullptr};
  mutable ConvCodec conv_{nullptr};
  ComputePrecision compute_;
  // Positions per tile side the conv transforms run over for `content` positions of image.
  int64_t ComputedPositions(int64_t content, int64_t margin) const;
  // Pixels the transform with receptive field `margin` runs over for one height×width image.
  double RegionPixels(int64_t height, int64_t width, int64_t margin) const;

  int64_t tile_size_ = 0, patch_size_ = 0, channels_ = 0;
  std::vector<double> steps_;                      // [level]: MAE codec's Δ
  std::vector<std::vector<double>> channel_steps_;  // [level][channel]: Δ of every channel
  std::vector<LatentTables> tables_;  // [level]: the context tables when the codec has them, else factorized
  std::string fingerprint_;
};

// Loads a codec checkpoint of either kind (`mt_kind` "codec": the MAE bottleneck, or
// "conv_codec") with its coding tables. NOT_FOUND / DATA_LOSS / FAILED_PRECONDITION as the
// checkpoint loaders, FAILED_PRECONDITION for another kind of checkpoint or no tables.
absl::StatusOr<std::shared_ptr<const LatentCoder>> LoadLatentCoder(const std::string& path,
                                                                   ComputePrecision compute = ComputePrecision::kFloat32);

// Conv codec tiles: latents (N, g, g, C) whose unsent positions (keep (N, g, g) false; the sent
// ones are the top-left rectangle over the image) take the nearest sent row/column's values, so
// the synthesis sees the image's edge continued, as the analysis saw its replicated padding,
// instead of zeros. Tiles sent whole or not at all are returned unchanged.
at::Tensor ReplicateIntoUnsent(const at::Tensor& latents, const at::Tensor& keep);

}  // namespace mt
