// TileCodec of the conv codec with a mean-scale hyperprior (checkpoint kind "conv_hyper_codec":
// core/model/conv_codec with hyper_channels, exported with its tables). The transforms are the
// conv codec's (core/codecs/conv_transforms); each latent is coded as round(u − mean) in step
// units (u = y / Δ of the level) under the Gaussian table its predicted scale picks, after the
// side latents z that predict them (core/entropy/hyper_stream).
// With a checkerboard context (checkerboard_channels > 0) each tile's latents are coded in two
// passes: the anchors under the hyperprior's predictions, then the non-anchors under the ones the
// context refines from the decoded anchors (core/model/checkerboard_context).
// Determinism: the receiver derives means and tables from the decoded ẑ (and anchors) with the
// fixed-point hyper-synthesis and context (core/model/integer_hyper_synthesis,
// integer_checkerboard_context) and integer bounds stored at export, so both sides pick identical
// tables on any machine; the stream's checksum of every mean and table index turns any
// disagreement into DATA_LOSS.
// Thread-safety: as TileCodec.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codecs/conv_transforms.h"
#include "core/codecs/tile_codec.h"
#include "core/entropy/hyper_stream.h"
#include "core/model/integer_checkerboard_context.h"
#include "core/model/integer_hyper_synthesis.h"

namespace mt {

class HyperTileCodec final : public TileCodec {
 public:
  // FAILED_PRECONDITION without a hyperprior, without its tables (a training checkpoint), or with
  // a step that is not > 0.
  static absl::StatusOr<std::shared_ptr<const HyperTileCodec>> Create(
      ConvCodec codec, ComputePrecision compute = ComputePrecision::kFloat32);

  std::string_view name() const override { return "conv_hyper"; }
  bool selects_positions() const override { return false; }
  int64_t default_level() const override;
  absl::Status CheckPairedWith(const MaskedAutoencoderOptions&) const override { return absl::OkStatus(); }

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
  double analysis_flops_per_pixel() const override;
  double synthesis_flops_per_pixel() const override;

  int64_t num_levels() const override { return static_cast<int64_t>(channel_steps_.size()); }
  double step(int64_t level) const override { return mean_steps_.at(static_cast<size_t>(level)); }
  bool has_context() const override { return false; }
  at::Tensor DecodedLatents(const at::Tensor& y, int64_t level) const override;
  // Each position's residual bits plus its share (1/16) of its side cell's bits.
  at::Tensor PositionBits(const at::Tensor& y, int64_t level) const override;
  std::string EncodeTiles(const at::Tensor& y, const at::Tensor& keep, int64_t level,
                          double* estimated_bits = nullptr) const override;
  absl::Status DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                           at::Tensor* latents) const override;

 private:
  // What the sender codes for latents y (N, L, C) with keep (N, L) at a level.
  struct Coded {
    at::Tensor z;          // (N, Z, zg, zg) int32, 0 in side cells that cover no kept position
    at::Tensor mean;       // (N, L, C) int64, fixed point (kHyperFracBits)
    at::Tensor index;      // (N, L, C) int32: Gaussian table of each latent
    at::Tensor residual;   // (N, L, C) int32: round(u − mean)
  };
  HyperTileCodec(ConvCodec codec, ComputePrecision compute) : transforms_(std::move(codec), compute) {}
  Coded Code(const at::Tensor& y, const at::Tensor& keep, int64_t level) const;
  // Means and log-scales (N, C, g, g) int64, fixed point (kHyperFracBits).
  struct Prediction {
    at::Tensor mean, log_scale;
  };
  // ẑ (N, Z, zg, zg) → the hyperprior's predictions.
  Prediction PredictSide(const at::Tensor& z_hat) const;
  // The context's refinement of the non-anchors from the anchors' residuals (N, L, C) int32 of
  // the positions in keep (N, L); the identity without a context.
  Prediction Refine(const Prediction& p, const at::Tensor& residual, const at::Tensor& keep) const;
  // (N, C, g, g) → (N, L, C), contiguous.
  at::Tensor Positions(const at::Tensor& x) const;
  // Fixed-point log-scales (N, C, g, g) → table indices (N, L, C) int32 (integer comparisons only).
  at::Tensor TableIndex(const at::Tensor& log_scale) const;
  // Fixed-point means (N, L, C) and residuals → y (N, L, C) fp32 at `level`.
  at::Tensor Dequantize(const at::Tensor& mean, const at::Tensor& residual, int64_t level) const;
  // Decodes one coding pass of every tile into `residual` (N, L, C) int32 with the tables of
  // `index` (N, L, C), adding each symbol's mean (N, L, C) and table to `checksum`.
  absl::Status DecodePass(HyperStreamDecoder& decoder, const std::vector<int64_t>& pass, const at::Tensor& keep,
                          const at::Tensor& mean, const at::Tensor& index, at::Tensor* residual,
                          uint32_t* checksum) const;
  // Side latents (N, Z, zg, zg) → the z of each tile's HyperTileSide, (cell, channel) order.
  std::vector<int32_t> TileZ(const at::Tensor& z, int64_t tile) const;
  at::Tensor ChannelSteps(int64_t level) const;  // (C) fp64

  ConvTransforms transforms_;
  IntegerHyperSynthesis synthesis_;
  std::optional<IntegerCheckerboardContext> context_;
  std::vector<std::vector<int64_t>> passes_;  // the positions (raster order) each coding pass holds
  HyperTables tables_;
  at::Tensor bounds_;                              // (S − 1) int64, ascending
  std::vector<std::vector<double>> channel_steps_;  // [level][channel]
  std::vector<double> mean_steps_;
  int64_t z_channels_ = 0, z_grid_ = 0;
};

}  // namespace mt
