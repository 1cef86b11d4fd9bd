// The latent MAE: a small transformer over the conv codec's latent grid (one position per 16×16
// pixels) that fills in the positions the sender did not send. Unsent positions enter as a
// learned mask token, sent ones as their embedded decoded latents (the seed's
// E_mod = m ⊙ E + (1 − m) ⊙ t), every token gets the rate level's embedding, and windowed
// self-attention (alternately shifted by half a window, a depthwise 3×3 convolution as position
// encoding) mixes them, so any grid size works and the cost is linear in the positions.
// Thread-safety: not thread-safe while training; concurrent forward() calls in eval mode under
// NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "core/model/vit.h"

namespace mt {

struct LatentMaeOptions {
  int64_t latent_channels = 96;  // C: channels of the codec's latents
  int64_t dim = 192;             // D: token width
  int64_t depth = 4;             // transformer blocks (odd ones shift their windows by window/2)
  int64_t num_heads = 4;         // attention heads; D must be divisible by it
  int64_t window = 8;            // attention window side in positions
  double mlp_ratio = 2.0;        // MLP hidden width = D·ratio
  int64_t levels = 10;           // rate levels of the codec (one embedding each)
};

// Pre-norm transformer block on a grid: x + pos(x); x + window_attn(norm1(x)); x + mlp(norm2(x)).
// Windows of side `window` tile the grid after zero padding; a shifted block pads window/2 more
// at the top and left, so its windows straddle the unshifted ones.
class LatentMaeBlockImpl : public torch::nn::Module {
 public:
  LatentMaeBlockImpl(const LatentMaeOptions& options, bool shifted);
  // x (B, H, W, D) → (B, H, W, D), any H, W >= 1.
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Conv2d pos{nullptr};  // depthwise 3×3: where a token is, relative to its neighbours
  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  SelfAttention attn{nullptr};
  Mlp mlp{nullptr};

 private:
  at::Tensor WindowAttention(const at::Tensor& x);
  int64_t window_, shift_;
};
TORCH_MODULE(LatentMaeBlock);

class LatentMaeImpl : public torch::nn::Module {
 public:
  explicit LatentMaeImpl(const LatentMaeOptions& options = {});

  // latents (B, C, H, W): decoded latents ŷ where sent (values elsewhere are ignored);
  // keep (B, H, W) bool: sent; level (B) int64 in [0, levels): the rate level each was coded at
  // → predicted latents y (B, C, H, W) at every position (sent ones too).
  at::Tensor forward(const at::Tensor& latents, const at::Tensor& keep, const at::Tensor& level);
  // The sent latents as they are, the unsent ones predicted: keep ? latents : forward(...).
  // Same shapes as forward.
  at::Tensor Fill(const at::Tensor& latents, const at::Tensor& keep, const at::Tensor& level);

  const LatentMaeOptions& options() const { return options_; }

  // Buffer (C): each channel's typical magnitude (set by the trainer from data, stored in the
  // checkpoint); the network sees and predicts latents in these units.
  at::Tensor latent_scale;
  torch::nn::Linear embed{nullptr}, head{nullptr};
  torch::nn::Embedding level_embed{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  at::Tensor mask_token;  // (D)
  torch::nn::ModuleList blocks{nullptr};

 private:
  LatentMaeOptions options_;
};
TORCH_MODULE(LatentMae);

// Multiply–accumulates per latent position of one forward pass (attention over full windows).
double LatentMaeMacsPerPosition(const LatentMaeOptions& options);

}  // namespace mt
