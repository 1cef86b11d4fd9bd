// Learned latent codec around a frozen MAE encoder: the full-context encoder's tokens go
// through an analysis projection to C channels, are quantised with step Δ (ŷ = Δ·round(y/Δ))
// and coded under a factorized prior; the receiver's synthesis projection maps ŷ back to the
// decoder's width, mask tokens fill the patches that were not sent, and the (fine-tuned) MAE
// decoder reconstructs the whole tile. Coding tables (integer CDFs, one set per step Δ) are
// computed once at export and stored as buffers, so sender and receiver code identically.
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/latent_context.h"
#include "core/model/factorized_prior.h"
#include "core/model/mae.h"

namespace mt {

struct LatentCodecOptions {
  MaskedAutoencoderOptions mae;  // the MAE inside (encoder frozen from mae.pt, decoder fine-tuned)
  int64_t latent_channels = 16;  // C: channels per patch after the analysis projection
  int64_t bottleneck_hidden = 128;  // hidden width of the analysis / synthesis MLPs
  bool analysis_pixels = false;  // the analysis also sees each patch's pixels (the sender has them)
  bool pixel_skip = false;       // kept patches add a linear map of ŷ to the decoder's pixels (zero at init)
  int64_t table_levels = 0;      // step levels with coding tables (set by BuildTables; 0 = none yet)
  int64_t table_width = 0;       // longest table's CDF length (set by BuildTables)
  int64_t context_buckets = 0;   // spatial-context magnitude buckets (latent_context; set by SetContextTables; 0 = none)
  int64_t context_width = 0;     // longest context table's CDF length (set by SetContextTables)
};

// Symbols beyond this are clamped: the tables' escape codes any int32, but a latent this far out
// means a broken model, and clamping keeps round() → int32 defined.
inline constexpr double kMaxLatentSymbol = 1 << 24;

// y (…) float → integer symbols round(y / step), clamped to ±kMaxLatentSymbol, int32: what the
// sender codes at a step (and what export fits the context tables to).
at::Tensor QuantizeLatents(const at::Tensor& y, double step);
// The same with one step per channel: steps (C) broadcast over y (…, C), in fp32.
at::Tensor QuantizeLatents(const at::Tensor& y, const at::Tensor& steps);

class LatentCodecImpl : public torch::nn::Module {
 public:
  explicit LatentCodecImpl(const LatentCodecOptions& options = {});

  // Full-context encoder tokens (B, 1+L, D_enc) of images (B, 3, S, S) → latents y (B, L, C)
  // (the cls token is not sent; the images are read only with analysis_pixels).
  at::Tensor Analyze(const at::Tensor& encoded, const at::Tensor& images);
  // Latents ŷ (B, L, C) and keep (B, L) → patches (B, L, p·p·3): synthesis, mask tokens where
  // keep is false, the learned decoder cls token, the MAE decoder (+ pixel_skip(ŷ) where kept).
  at::Tensor Decode(const at::Tensor& latents, const at::Tensor& keep);
  // Images (B, 3, S, S) → y (B, L, C): EncodeFull then Analyze.
  at::Tensor EncodeImages(const at::Tensor& images);

  // Computes and stores the integer coding tables for each step in `steps` (ascending, > 0).
  void BuildTables(const std::vector<double>& steps);
  // Stores spatial-context tables, one LatentTables per step level (after BuildTables; same
  // channels; each passes ValidateLatentTables; all with the same buckets >= 1). The coders then
  // use them instead of the factorized tables.
  void SetContextTables(const std::vector<LatentTables>& per_level);
  // The stored context tables per level, checked (UnpackTables); FAILED_PRECONDITION when there
  // are none or one is malformed (the message names the level).
  absl::StatusOr<std::vector<LatentTables>> ContextTables() const;
  // Number of stored step levels (0 before BuildTables).
  int64_t num_levels() const { return quant_steps.numel(); }
  // Step Δ of level i.
  double step(int64_t level) const;

  const LatentCodecOptions& options() const { return options_; }

  MaskedAutoencoder mae{nullptr};
  torch::nn::Sequential analysis{nullptr}, synthesis{nullptr};
  // With pixel_skip: a linear inverse transform of ŷ straight to the patch's pixels. Why: the
  // decoder starts as an inpainter whose output for kept patches is untrained, and a linear path
  // from the latent to its own patch (as in a transform codec) learns in a few hundred steps.
  torch::nn::Linear skip{nullptr};
  FactorizedPrior prior{nullptr};
  at::Tensor decoder_cls_token;  // (1, 1, D_dec): replaces the encoder's cls, which is not sent
  // Coding tables, filled by BuildTables (empty before): per level s and channel c, the CDF
  // cdf_tables[s][c][0..cdf_sizes[s][c]] (int32, total 1<<16) for symbols from cdf_offsets[s][c].
  at::Tensor quant_steps, cdf_tables, cdf_sizes, cdf_offsets;
  // Context tables (only with context_buckets > 0): per level s, channel c and bucket b the CDF
  // ctx_cdf_tables[s][c][b][0..ctx_cdf_sizes[s][c][b]] from ctx_cdf_offsets[s][c][b], and
  // ctx_predict[s][c] = 1 where channel c codes the residual from its spatial prediction.
  at::Tensor ctx_predict, ctx_cdf_tables, ctx_cdf_sizes, ctx_cdf_offsets;

 private:
  void RegisterContextBuffers(int64_t levels, int64_t per_channel, int64_t width);
  LatentCodecOptions options_;
};
TORCH_MODULE(LatentCodec);

}  // namespace mt
