#include "core/model/masker.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

#include "core/model/pos_embed.h"

namespace mt {

std::string MaskerKindName(MaskerKind kind) {
  return kind == MaskerKind::kCnn ? "cnn" : "transformer";
}

TransformerScorer::TransformerScorer(const MaskerOptions& o) {
  const int64_t g = o.grid_size();
  const auto hidden = static_cast<int64_t>(std::lround(o.embed_dim * o.mlp_ratio));
  patch_embed_ = register_module("patch_embed", PatchEmbed(PatchEmbedOptions{o.patch_size, o.in_chans, o.embed_dim}));
  pos_embed_ = register_buffer("pos_embed", SinCos2d(o.embed_dim, g, g, false).unsqueeze(0));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i)
    blocks_->push_back(Block(BlockOptions{o.embed_dim, o.num_heads, o.mlp_ratio, o.attention}));
  norm_ = register_module("norm", MakeLayerNorm(o.embed_dim));
  head_fc1_ = register_module("head_fc1", torch::nn::Linear(o.embed_dim, hidden));
  head_fc2_ = register_module("head_fc2", torch::nn::Linear(hidden, 1));
  InitLinear(head_fc1_);
  InitLinear(head_fc2_);
}

at::Tensor TransformerScorer::Score(const at::Tensor& images) {
  at::Tensor x = patch_embed_->forward(images) + pos_embed_;
  for (const auto& block : *blocks_) x = block->as<Block>()->forward(x);
  x = norm_->forward(x);
  return head_fc2_->forward(at::gelu(head_fc1_->forward(x))).squeeze(-1);
}

namespace {
torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad) {
  auto conv = torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad));
  return conv;
}
}  // namespace

CnnScorer::CnnScorer(const MaskerOptions& o) {
  const int64_t c = o.cnn_channels, c2 = 2 * o.cnn_channels;
  stem1_ = register_module("stem1", Conv(o.in_chans, c, 3, 1, 1));
  stem2_ = register_module("stem2", Conv(c, c, 3, 1, 1));
  to_grid_ = register_module("to_grid", Conv(c, c2, o.patch_size, o.patch_size, 0));
  grid_blocks_ = register_module("grid_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.cnn_grid_blocks; ++i) grid_blocks_->push_back(Conv(c2, c2, 3, 1, 1));
  head_ = register_module("head", Conv(c2, 1, 1, 1, 0));
}

at::Tensor CnnScorer::Score(const at::Tensor& images) {
  at::Tensor x = at::gelu(stem2_->forward(at::gelu(stem1_->forward(images))));
  x = at::gelu(to_grid_->forward(x));  // (B, 2c, gh, gw)
  for (const auto& block : *grid_blocks_)
    x = x + at::gelu(block->as<torch::nn::Conv2d>()->forward(x));
  return head_->forward(x).flatten(1);  // (B, gh·gw), row-major like the ViT tokens
}

MaskerImpl::MaskerImpl(const MaskerOptions& o) : options_(o) {
  TORCH_CHECK(o.img_size % o.patch_size == 0, "img_size must be a multiple of patch_size");
  if (o.kind == MaskerKind::kCnn) {
    net_ = register_module("net", std::make_shared<CnnScorer>(o));
  } else {
    net_ = register_module("net", std::make_shared<TransformerScorer>(o));
  }
}

at::Tensor MaskerImpl::forward(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == options_.in_chans &&
                  images.size(2) == options_.img_size && images.size(3) == options_.img_size,
              "Masker expects (B, ", options_.in_chans, ", ", options_.img_size, ", ",
              options_.img_size, "), got ", images.sizes());
  at::Tensor logits = net_->Score(images);
  if (options_.inhibition == 0.0) return logits;
  return LateralInhibition(logits, options_.grid_size(), options_.grid_size(), options_.inhibition);
}

at::Tensor LateralInhibition(const at::Tensor& logits, int64_t grid_h, int64_t grid_w, double alpha) {
  TORCH_CHECK(logits.dim() == 2 && logits.size(1) == grid_h * grid_w, "LateralInhibition: logits must be (B, gh*gw)");
  const at::Tensor z = logits.view({logits.size(0), 1, grid_h, grid_w});
  // Outside the grid: p = 0, so border patches have fewer neighbours, not phantom ones.
  const at::Tensor z_pad = at::constant_pad_nd(z, {1, 1, 1, 1}, 0.0);
  const at::Tensor p_pad = at::constant_pad_nd(at::sigmoid(z), {1, 1, 1, 1}, 0.0);
  at::Tensor suppression = at::zeros_like(z);
  for (int64_t dy = -1; dy <= 1; ++dy) {
    for (int64_t dx = -1; dx <= 1; ++dx) {
      if (dy == 0 && dx == 0) continue;
      const at::Tensor zn = z_pad.narrow(2, 1 + dy, grid_h).narrow(3, 1 + dx, grid_w);
      const at::Tensor pn = p_pad.narrow(2, 1 + dy, grid_h).narrow(3, 1 + dx, grid_w);
      suppression = suppression + pn * at::sigmoid(zn - z);
    }
  }
  return (z - alpha * suppression).view_as(logits);
}

}  // namespace mt
