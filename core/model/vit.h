// ViT building blocks with the official MAE / timm parameter names.
// Thread-safety: modules are not thread-safe while training; concurrent
// forward() calls in eval mode under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include "core/model/attention.h"

namespace mt {

inline constexpr double kLayerNormEps = 1e-6;

// LayerNorm over the last dim with the MAE epsilon.
torch::nn::LayerNorm MakeLayerNorm(int64_t dim);

// xavier_uniform weight / zero bias on a Linear; weight 1 / bias 0 on a LayerNorm.
void InitLinear(torch::nn::Linear& linear);
void InitLayerNorm(torch::nn::LayerNorm& norm);

struct PatchEmbedOptions {
  int64_t patch_size = 2;  // p: kernel and stride of the projection
  int64_t in_chans = 3;    // input channels
  int64_t embed_dim = 192; // D: output width
};

// Conv2d(in_chans, D, kernel=stride=p) flattened to tokens. Parameter: `proj`.
class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const PatchEmbedOptions& options);
  // images (B, C, H, W) → tokens (B, L, D), L = (H/p)(W/p) row-major.
  at::Tensor forward(const at::Tensor& images);

  PatchEmbedOptions options;
  torch::nn::Conv2d proj{nullptr};
};
TORCH_MODULE(PatchEmbed);

struct BlockOptions {
  int64_t dim = 192;                           // D: token width
  int64_t num_heads = 3;                       // heads; D must be divisible by it
  double mlp_ratio = 4.0;                      // hidden width of the MLP = D·ratio
  AttentionKernel kernel = AttentionKernel::kAuto;  // attention implementation
};

// Multi-head self-attention: `qkv` Linear(D, 3D, bias) and `proj` Linear(D, D).
class SelfAttentionImpl : public torch::nn::Module {
 public:
  explicit SelfAttentionImpl(const BlockOptions& options);
  // x (B, L, D) → (B, L, D)
  at::Tensor forward(const at::Tensor& x);

  BlockOptions options;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(SelfAttention);

// fc1 → GELU → fc2 with hidden width D·mlp_ratio.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  // x (B, L, D) → (B, L, D)
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-norm transformer block: x + attn(norm1(x)); x + mlp(norm2(x)).
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const BlockOptions& options);
  // x (B, L, D) → (B, L, D)
  at::Tensor forward(const at::Tensor& x);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  SelfAttention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

}  // namespace mt
