// Learned transform codec for whole images (Ballé et al. 2018, factorized prior): a conv
// analysis transform with GDN maps an image to C latent channels at 1/16 resolution, the latents
// are quantised with learned per-channel steps of one of S rate levels (ŷ = Δ_s·round(y/Δ_s),
// "gain units" tied to their inverse), coded under a factorized prior, and a conv synthesis with
// inverse GDN maps them back. One model serves every level: each level trained at its own λ.
// Why next to the MAE codec: the MAE codes every 4×4 patch of a 32×32 tile alone and caps at
// ~30 dB; overlapping convolutions with 16× downsampling spend bits where the image needs them
// and leave no tile grid (docs/RESULTS.md, "Conv codec"). Coding tables: core/model/coding_tables.
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "core/entropy/latent_context.h"
#include "core/model/checkerboard_context.h"
#include "core/model/coding_tables.h"
#include "core/model/factorized_prior.h"
#include "core/model/hyperprior.h"

namespace mt {

struct ConvCodecOptions {
  int64_t hidden_channels = 64;  // N: channels of the transforms' hidden layers
  int64_t latent_channels = 96;  // C: latent channels per 16×16 pixels
  int64_t levels = 8;            // S: rate levels (0 = finest), each with learned per-channel steps
  int64_t tile_size = 512;       // coding tile side in pixels at inference (multiple of 16; bounds memory)
  int64_t table_width = 0;       // longest factorized CDF (set at export)
  int64_t context_buckets = 0;   // spatial-context buckets (set at export; 0 = factorized tables)
  int64_t context_width = 0;     // longest context CDF (set at export)
  int64_t table_entries = 0;     // entries of the ragged factorized CDFs (set at export; 0 = padded, as older checkpoints store them)
  int64_t context_entries = 0;   // entries of the ragged context CDFs (set at export; 0 = padded)
  int64_t hyper_channels = 0;    // Z > 0: a mean-scale hyperprior with Z side channels models the latents
                                 // (core/model/hyperprior); 0: the factorized prior alone
  int64_t hyper_scales = 0;        // the hyperprior's Gaussian tables (set at export; 0 = none)
  int64_t hyper_side_entries = 0;  // entries of its ragged side CDFs (set at export)
  int64_t hyper_scale_entries = 0; // entries of its ragged Gaussian CDFs (set at export)
  int64_t checkerboard_channels = 0;  // H > 0 (needs hyper_channels): a checkerboard context with H hidden
                                      // channels refines the hyperprior (core/model/checkerboard_context)
  int64_t default_level = -1;  // the level a request that names none gets (-1: kDefaultConvLevel, or the
                               // coarsest when there are fewer); models with levels added before
                               // level 0 set it, so the default stays at the same rate
};

// Pixels per latent position along each side (four stride-2 layers).
inline constexpr int64_t kConvCodecDownsample = 16;

class ConvCodecImpl : public torch::nn::Module {
 public:
  explicit ConvCodecImpl(const ConvCodecOptions& options = {});

  // Images (B, 3, H, W) in [0,1], H and W multiples of 16 → latents y (B, C, H/16, W/16).
  at::Tensor Analyze(const at::Tensor& images);
  // The same latents one row per position, raster order: (B, h·w, C), what the coders code.
  at::Tensor AnalyzePositions(const at::Tensor& images);
  // Latents ŷ (B, C, h, w) → images (B, 3, 16h, 16w) (not clamped).
  at::Tensor Synthesize(const at::Tensor& latents);
  // Steps Δ of every level and channel (S, C), > 0.
  at::Tensor Steps() const;
  // Computes the integer factorized tables of every level from the prior and stores them.
  void BuildTables(double tail_mass = 1e-6);
  // Stores context tables (one per level; see CodingTablesImpl::SetContext).
  void SetContextTables(const std::vector<LatentTables>& per_level) { tables->SetContext(per_level); }

  // The options, with the table fields as the stored tables have them.
  ConvCodecOptions options() const;

  torch::nn::Sequential analysis{nullptr}, synthesis{nullptr};
  FactorizedPrior prior{nullptr};
  Hyperprior hyper{nullptr};  // null without hyper_channels
  CheckerboardContext context{nullptr};  // null without checkerboard_channels
  CodingTables tables{nullptr};
  at::Tensor log_steps;  // (S, C): Δ = exp(log_steps)

 private:
  ConvCodecOptions options_;
};
TORCH_MODULE(ConvCodec);

}  // namespace mt
