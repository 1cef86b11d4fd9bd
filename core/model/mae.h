// Masked Autoencoder (He et al. 2021) with the official structure and names.
// Thread-safety: not thread-safe while training; concurrent forward calls in
// eval mode under torch::NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <ATen/core/Generator.h>

#include <vector>

#include "core/model/vit.h"

namespace mt {

struct MaskedAutoencoderOptions {
  int64_t img_size = 32;            // H = W of the model's input
  int64_t patch_size = 2;           // p
  int64_t in_chans = 3;             // C
  int64_t embed_dim = 192;          // D_enc: encoder width
  int64_t depth = 12;               // encoder blocks
  int64_t num_heads = 3;            // encoder heads
  int64_t decoder_embed_dim = 192;  // D_dec: decoder width (may differ from D_enc)
  int64_t decoder_depth = 4;        // decoder blocks
  int64_t decoder_num_heads = 3;    // decoder heads
  double mlp_ratio = 4.0;           // MLP hidden = width·ratio
  bool norm_pix_loss = false;       // per-patch normalised targets (keep off: receivers need pixels)
  AttentionKernel attention = AttentionKernel::kAuto;  // attention implementation
  // Per-channel normalisation the weights expect: the encoder sees (x − mean)/std and the decoder's
  // patches are mapped back (·std + mean), so every public input and output stays in [0,1] pixels.
  // Empty (identity) for our models; ImageNet's for imported official MAE weights (kImageNetMean/Std).
  std::vector<double> input_mean;   // empty, or one value per input channel
  std::vector<double> input_std;    // empty, or one value (> 0) per input channel
  bool normalizes_input() const { return !input_mean.empty(); }

  int64_t grid_size() const { return img_size / patch_size; }
  int64_t num_patches() const { return grid_size() * grid_size(); }
  int64_t patch_dim() const { return patch_size * patch_size * in_chans; }
};

inline const std::vector<double> kImageNetMean{0.485, 0.456, 0.406};
inline const std::vector<double> kImageNetStd{0.229, 0.224, 0.225};

// Result of random masking.
struct RandomMaskingResult {
  at::Tensor ids_keep;     // (B, K) patch indices kept, in shuffle order
  at::Tensor ids_restore;  // (B, L) inverse permutation of the shuffle
  at::Tensor mask;         // (B, L) 1 = removed, 0 = kept (original order)
};

// Result of the pretraining forward pass.
struct MaePretrainOutput {
  at::Tensor loss;  // scalar: MSE over removed patches
  at::Tensor pred;  // (B, L, p·p·C) predicted patches (pixel space unless norm_pix_loss)
  at::Tensor mask;  // (B, L) 1 = removed
};

// Keeps int(L·(1−ratio)) patches per row chosen by argsort of uniform noise.
RandomMaskingResult RandomMasking(int64_t batch, int64_t num_patches, double mask_ratio,
                                  const at::TensorOptions& options,
                                  c10::optional<at::Generator> generator = c10::nullopt);

class MaskedAutoencoderImpl : public torch::nn::Module {
 public:
  explicit MaskedAutoencoderImpl(const MaskedAutoencoderOptions& options = {});

  // Pretraining: random masking at `mask_ratio`, loss on removed patches.
  // images (B, C, H, W) in [0,1].
  MaePretrainOutput forward(const at::Tensor& images, double mask_ratio = 0.75,
                            c10::optional<at::Generator> generator = c10::nullopt);

  // Full-context encode: every patch, no masking. (B, C, H, W) → (B, 1+L, D_enc), cls first.
  at::Tensor EncodeFull(const at::Tensor& images);
  // Visible-only encode: only patches `ids_keep` (B, K). → (B, 1+K, D_enc), cls first.
  at::Tensor EncodeVisible(const at::Tensor& images, const at::Tensor& ids_keep);

  // decoder_embed on encoder tokens: (B, N, D_enc) → (B, N, D_dec).
  at::Tensor EmbedForDecoder(const at::Tensor& latent);
  // Places per-patch decoder tokens `kept` (B, K, D_dec) at `ids_keep` (B, K) on a grid of
  // mask tokens → (B, L, D_dec).
  at::Tensor ScatterToGrid(const at::Tensor& kept, const at::Tensor& ids_keep);
  // Replaces tokens (B, L, D_dec) where keep (B, L) is false by the mask token.
  at::Tensor ApplyKeepMask(const at::Tensor& tokens, const at::Tensor& keep);
  // Soft interpolation for masker training, after decoder_embed:
  // m·decoder_embed(E) + (1−m)·mask_token. latent (B, 1+L, D_enc), m (B, L) → (B, L, D_dec).
  at::Tensor SoftMix(const at::Tensor& latent, const at::Tensor& m);
  // Decoder: cls token (B, 1, D_dec) and patch tokens (B, L, D_dec) → patches (B, L, p·p·C).
  at::Tensor Decode(const at::Tensor& cls, const at::Tensor& patch_tokens);
  // The MAE's native regime end to end: EncodeVisible(ids_keep), mask tokens elsewhere, Decode.
  // images (B, C, H, W), ids_keep (B, K) → patches (B, L, p·p·C).
  at::Tensor DecodeVisible(const at::Tensor& images, const at::Tensor& ids_keep);

  // Per-patch MSE averaged over patches where mask (B, L) is 1 (norm_pix_loss aware).
  at::Tensor ReconstructionLoss(const at::Tensor& images, const at::Tensor& pred,
                                const at::Tensor& mask);
  // Predicted patches (B, L, p·p·C) → images (B, C, H, W) (no clamping).
  at::Tensor PatchesToImages(const at::Tensor& pred) const;

  const MaskedAutoencoderOptions& options() const { return options_; }

  // Parameter names follow models_mae.py.
  PatchEmbed patch_embed{nullptr};
  at::Tensor cls_token, pos_embed;  // pos_embed fixed (requires_grad = false)
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear decoder_embed{nullptr};
  at::Tensor mask_token, decoder_pos_embed;
  torch::nn::ModuleList decoder_blocks{nullptr};
  torch::nn::LayerNorm decoder_norm{nullptr};
  torch::nn::Linear decoder_pred{nullptr};

 private:
  // Patch tokens plus position embedding: (B, C, H, W) → (B, L, D_enc).
  at::Tensor EmbedPatches(const at::Tensor& images);
  // Runs tokens (B, 1+N, D_enc) with cls first through blocks and norm.
  at::Tensor RunEncoder(at::Tensor tokens);

  MaskedAutoencoderOptions options_;
};
TORCH_MODULE(MaskedAutoencoder);

}  // namespace mt
