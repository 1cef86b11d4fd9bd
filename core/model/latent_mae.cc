#include "core/model/latent_mae.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

namespace mt {

LatentMaeBlockImpl::LatentMaeBlockImpl(const LatentMaeOptions& o, bool shifted)
    : window_(o.window), shift_(shifted ? o.window / 2 : 0) {
  pos = register_module("pos", torch::nn::Conv2d(torch::nn::Conv2dOptions(o.dim, o.dim, 3).padding(1).groups(o.dim)));
  norm1 = register_module("norm1", MakeLayerNorm(o.dim));
  norm2 = register_module("norm2", MakeLayerNorm(o.dim));
  attn = register_module("attn", SelfAttention(BlockOptions{o.dim, o.num_heads, o.mlp_ratio, AttentionKernel::kAuto}));
  mlp = register_module("mlp", Mlp(o.dim, static_cast<int64_t>(static_cast<double>(o.dim) * o.mlp_ratio)));
  InitLayerNorm(norm1);
  InitLayerNorm(norm2);
}

at::Tensor LatentMaeBlockImpl::WindowAttention(const at::Tensor& x) {
  const int64_t b = x.size(0), h = x.size(1), w = x.size(2), d = x.size(3), s = window_;
  // Pad `shift_` before and up to a multiple of the window after: (B, Hp, Wp, D).
  const int64_t hp = (h + shift_ + s - 1) / s * s, wp = (w + shift_ + s - 1) / s * s;
  const at::Tensor padded = at::constant_pad_nd(x, {0, 0, shift_, wp - w - shift_, shift_, hp - h - shift_});
  // (B, Hp/s, s, Wp/s, s, D) → (B·windows, s², D)
  const at::Tensor windows = padded.view({b, hp / s, s, wp / s, s, d}).permute({0, 1, 3, 2, 4, 5}).reshape({-1, s * s, d});
  const at::Tensor out = attn->forward(windows)
                             .view({b, hp / s, wp / s, s, s, d})
                             .permute({0, 1, 3, 2, 4, 5})
                             .reshape({b, hp, wp, d});
  return out.narrow(1, shift_, h).narrow(2, shift_, w);
}

at::Tensor LatentMaeBlockImpl::forward(const at::Tensor& input) {
  at::Tensor x = input + pos->forward(input.permute({0, 3, 1, 2})).permute({0, 2, 3, 1});
  x = x + WindowAttention(norm1->forward(x));
  return x + mlp->forward(norm2->forward(x));
}

LatentMaeImpl::LatentMaeImpl(const LatentMaeOptions& o) : options_(o) {
  TORCH_CHECK(o.latent_channels > 0 && o.dim > 0 && o.depth >= 0 && o.num_heads > 0 && o.dim % o.num_heads == 0 &&
                  o.window > 0 && o.levels > 0,
              "LatentMaeOptions: invalid shape");
  latent_scale = register_buffer("latent_scale", at::ones({o.latent_channels}));
  embed = register_module("embed", torch::nn::Linear(o.latent_channels, o.dim));
  level_embed = register_module("level_embed", torch::nn::Embedding(o.levels, o.dim));
  mask_token = register_parameter("mask_token", at::zeros({o.dim}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i) blocks->push_back(LatentMaeBlock(o, /*shifted=*/i % 2 == 1));
  norm = register_module("norm", MakeLayerNorm(o.dim));
  head = register_module("head", torch::nn::Linear(o.dim, o.latent_channels));
  InitLinear(embed);
  InitLinear(head);
  InitLayerNorm(norm);
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(mask_token, 0.0, 0.02);
  torch::nn::init::normal_(level_embed->weight, 0.0, 0.02);
}

at::Tensor LatentMaeImpl::forward(const at::Tensor& latents, const at::Tensor& keep, const at::Tensor& level) {
  TORCH_CHECK(latents.dim() == 4 && latents.size(1) == options_.latent_channels && keep.dim() == 3 &&
                  keep.size(0) == latents.size(0) && keep.size(1) == latents.size(2) && keep.size(2) == latents.size(3) &&
                  level.dim() == 1 && level.size(0) == latents.size(0),
              "LatentMae: latents ", latents.sizes(), ", keep ", keep.sizes(), ", level ", level.sizes());
  const at::Tensor scale = latent_scale.view({1, 1, 1, -1});
  const at::Tensor sent = keep.unsqueeze(-1);                                       // (B, H, W, 1)
  const at::Tensor units = latents.permute({0, 2, 3, 1}) / scale;                   // (B, H, W, C)
  at::Tensor x = at::where(sent, embed->forward(at::where(sent, units, at::zeros_like(units))),
                           mask_token.view({1, 1, 1, -1}));                         // (B, H, W, D)
  x = x + level_embed->forward(level).view({level.size(0), 1, 1, -1});
  for (const auto& block : *blocks) x = block->as<LatentMaeBlock>()->forward(x);
  return (head->forward(norm->forward(x)) * scale).permute({0, 3, 1, 2});          // (B, C, H, W)
}

at::Tensor LatentMaeImpl::Fill(const at::Tensor& latents, const at::Tensor& keep, const at::Tensor& level) {
  return at::where(keep.unsqueeze(1), latents, forward(latents, keep, level));
}

double LatentMaeMacsPerPosition(const LatentMaeOptions& o) {
  const double d = static_cast<double>(o.dim), c = static_cast<double>(o.latent_channels);
  const double window = static_cast<double>(o.window * o.window);
  // qkv + proj (4D²), attention scores and mixing (2·window·D), MLP (2·ratio·D²), pos conv (9D).
  const double block = 4 * d * d + 2 * window * d + 2 * o.mlp_ratio * d * d + 9 * d;
  return 2 * c * d + static_cast<double>(o.depth) * block;
}

}  // namespace mt
