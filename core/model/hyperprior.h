// Mean-scale hyperprior (Minnen et al. 2018) for the conv codec's latents: a small side
// transform sends z (1/4 of the latent grid per side, factorized prior) from which the receiver
// predicts each latent's mean and scale; the latent is coded as round(u − mean) under a zero-mean
// Gaussian of that scale. Everything runs in units of the rate level's steps (u = y / Δ_s), so
// one hyperprior serves every level of the variable-rate codec.
// Why: the factorized prior (and the magnitude-bucket contexts fitted at export) spend bits where
// the image is flat; Minnen's mean-scale model saves ~20 % at equal PSNR on Kodak over the
// factorized prior (../shared/notes/codec-facts.md).
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/hyper_stream.h"
#include "core/model/factorized_prior.h"

namespace mt {

struct HyperpriorOptions {
  int64_t latent_channels = 96;  // C of the latents it models
  int64_t hidden_channels = 64;  // N of its side transforms
  int64_t side_channels = 64;    // Z: channels of the side latents z
  double min_scale = 0.11;       // floor on each latent's scale, in steps: bounds the coding tables
  // Integer coding tables (set at export; 0 = none, a training checkpoint): Gaussian tables, and
  // the entries of the ragged side and scale CDF buffers.
  int64_t scale_count = 0;
  int64_t side_entries = 0;
  int64_t scale_entries = 0;
};

// The scale grid the Gaussian tables cover at export: min_scale .. kHyperMaxScale steps.
inline constexpr int kHyperScaleCount = 64;
inline constexpr double kHyperMaxScale = 256.0;

// The side latents are at 1/4 of the latent grid per side (two stride-2 layers).
inline constexpr int64_t kHyperpriorDownsample = 4;

class HyperpriorImpl : public torch::nn::Module {
 public:
  explicit HyperpriorImpl(const HyperpriorOptions& options = {});

  // u (B, C, h, w) latents in step units, h and w multiples of 4 → z (B, Z, h/4, w/4), unquantised.
  at::Tensor Analyze(const at::Tensor& u);
  // ẑ (B, Z, h/4, w/4) → {mean, log_scale}, each (B, C, h, w), in step units.
  std::pair<at::Tensor, at::Tensor> Synthesize(const at::Tensor& z_hat);
  // Bits of z̃ (B, Z, hz, wz) under the side prior (unit bins); differentiable.
  at::Tensor SideBits(const at::Tensor& z_tilde);
  // Bits of residuals r (any shape) = ũ − mean under zero-mean Gaussians with log-scales of the
  // same shape (floored at min_scale), unit bins, each bin's probability floored at 1e-9 (as the
  // factorized prior's likelihood_bound), summed; differentiable.
  at::Tensor ResidualBits(const at::Tensor& r, const at::Tensor& log_scale) const;
  // The same bits per element, not summed (same shape as r).
  at::Tensor ResidualBitsMap(const at::Tensor& r, const at::Tensor& log_scale) const;
  // Adds shift[c] (C values, in natural log units) to every predicted log-scale of channel c, by
  // moving the synthesis's last bias: an export-time calibration (core/pipeline/hyper_scale_fit).
  void ShiftLogScales(const at::Tensor& shift);

  // Computes the integer tables: the side prior's per channel (unit bins, all but `tail_mass`)
  // and kHyperScaleCount Gaussian ones (GaussianTable) from min_scale to kHyperMaxScale, with their bounds
  // (core/entropy/gaussian_tables) at kHyperFracBits. Export only: mutates the buffers.
  void BuildTables(double tail_mass = 1e-6);
  // The stored tables. FAILED_PRECONDITION when there are none (a training checkpoint) or they
  // are malformed (naming which).
  absl::StatusOr<HyperTables> Tables() const;
  // The stored scale bounds (scale_count − 1, ascending fixed-point log-scales).
  std::vector<int64_t> ScaleBounds() const;

  const HyperpriorOptions& options() const { return options_; }

  torch::nn::Sequential analysis{nullptr}, synthesis{nullptr};
  FactorizedPrior side_prior{nullptr};
  // Table buffers, registered only with options.scale_count > 0 (so training checkpoints, which
  // have none, keep loading): ragged CDFs, sizes and offsets of the side (Z) and scale (S)
  // tables, and the S − 1 scale bounds (int64).
  at::Tensor side_cdf, side_sizes, side_offsets, scale_cdf, scale_sizes, scale_offsets, scale_bounds;

 private:
  void RegisterTables(int64_t side_entries, int64_t scale_count, int64_t scale_entries);
  HyperpriorOptions options_;
};
TORCH_MODULE(Hyperprior);

}  // namespace mt
