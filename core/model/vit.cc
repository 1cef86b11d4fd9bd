#include "core/model/vit.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "core/ops/int8_linear.h"

namespace mt {

torch::nn::LayerNorm MakeLayerNorm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(kLayerNormEps));
}

void InitLinear(torch::nn::Linear& linear) {
  torch::NoGradGuard no_grad;
  torch::nn::init::xavier_uniform_(linear->weight);
  if (linear->bias.defined()) linear->bias.zero_();
}

void InitLayerNorm(torch::nn::LayerNorm& norm) {
  torch::NoGradGuard no_grad;
  norm->weight.fill_(1.0);
  norm->bias.zero_();
}

PatchEmbedImpl::PatchEmbedImpl(const PatchEmbedOptions& opts) : options(opts) {
  proj = register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(opts.in_chans, opts.embed_dim,
                                                         opts.patch_size)
                                    .stride(opts.patch_size)));
  // Official MAE: xavier_uniform on the (D, C·p·p) view of the conv weight.
  torch::NoGradGuard no_grad;
  at::Tensor w = proj->weight.view({opts.embed_dim, -1});
  torch::nn::init::xavier_uniform_(w);
  proj->bias.zero_();
}

at::Tensor PatchEmbedImpl::forward(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options.in_chans,
              "PatchEmbed expects (B, ", options.in_chans, ", H, W), got ", images.sizes());
  return proj->forward(images).flatten(2).transpose(1, 2);  // (B, D, gh, gw) → (B, L, D)
}

SelfAttentionImpl::SelfAttentionImpl(const BlockOptions& opts) : options(opts) {
  TORCH_CHECK(opts.dim % opts.num_heads == 0, "dim ", opts.dim, " not divisible by heads ",
              opts.num_heads);
  qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(opts.dim, 3 * opts.dim)));
  proj = register_module("proj", torch::nn::Linear(opts.dim, opts.dim));
  InitLinear(qkv);
  InitLinear(proj);
}

at::Tensor SelfAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), l = x.size(1), d = x.size(2), h = options.num_heads;
  // (B, L, 3D) → (3, B, H, L, d)
  at::Tensor t = ApplyLinear(qkv, x).reshape({b, l, 3, h, d / h}).permute({2, 0, 3, 1, 4});
  at::Tensor out = ScaledDotProductAttention(t[0], t[1], t[2], options.kernel);
  return ApplyLinear(proj, out.transpose(1, 2).reshape({b, l, d}));
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
  InitLinear(fc1);
  InitLinear(fc2);
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  return ApplyLinear(fc2, at::gelu(ApplyLinear(fc1, x)));
}

BlockImpl::BlockImpl(const BlockOptions& opts) {
  norm1 = register_module("norm1", MakeLayerNorm(opts.dim));
  attn = register_module("attn", SelfAttention(opts));
  norm2 = register_module("norm2", MakeLayerNorm(opts.dim));
  mlp = register_module("mlp", Mlp(opts.dim, static_cast<int64_t>(std::lround(opts.dim * opts.mlp_ratio))));
}

at::Tensor BlockImpl::forward(const at::Tensor& x) {
  at::Tensor y = x + attn->forward(norm1->forward(x));
  return y + mlp->forward(norm2->forward(y));
}

}  // namespace mt
