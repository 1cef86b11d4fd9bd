#include "core/model/mae.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include "core/model/patchify.h"
#include "core/ops/int8_linear.h"
#include "core/model/pos_embed.h"

namespace mt {

RandomMaskingResult RandomMasking(int64_t batch, int64_t num_patches, double mask_ratio,
                                  const at::TensorOptions& options,
                                  c10::optional<at::Generator> generator) {
  TORCH_CHECK(mask_ratio >= 0.0 && mask_ratio < 1.0, "mask_ratio must be in [0, 1)");
  const auto len_keep = static_cast<int64_t>(num_patches * (1.0 - mask_ratio));
  at::Tensor noise = at::rand({batch, num_patches}, generator, options.dtype(at::kFloat));
  at::Tensor ids_shuffle = at::argsort(noise, /*dim=*/int64_t{1});  // ascending: small noise is kept
  at::Tensor ids_restore = at::argsort(ids_shuffle, /*dim=*/int64_t{1});
  at::Tensor mask = at::ones({batch, num_patches}, options.dtype(at::kFloat));
  mask.narrow(1, 0, len_keep).zero_();
  mask = at::gather(mask, 1, ids_restore);
  return {ids_shuffle.narrow(1, 0, len_keep), ids_restore, mask};
}

MaskedAutoencoderImpl::MaskedAutoencoderImpl(const MaskedAutoencoderOptions& o) : options_(o) {
  TORCH_CHECK(o.input_mean.empty() ? o.input_std.empty()
                                   : static_cast<int64_t>(o.input_mean.size()) == o.in_chans &&
                                         static_cast<int64_t>(o.input_std.size()) == o.in_chans,
              "input_mean and input_std need one value per input channel (or both empty)");
  TORCH_CHECK(o.img_size % o.patch_size == 0, "img_size must be a multiple of patch_size");
  const int64_t g = o.grid_size();
  patch_embed = register_module("patch_embed", PatchEmbed(PatchEmbedOptions{o.patch_size, o.in_chans, o.embed_dim}));
  cls_token = register_parameter("cls_token", at::zeros({1, 1, o.embed_dim}));
  pos_embed = register_parameter("pos_embed", SinCos2d(o.embed_dim, g, g, true).unsqueeze(0),
                                 /*requires_grad=*/false);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.depth; ++i)
    blocks->push_back(Block(BlockOptions{o.embed_dim, o.num_heads, o.mlp_ratio, o.attention}));
  norm = register_module("norm", MakeLayerNorm(o.embed_dim));

  decoder_embed = register_module("decoder_embed", torch::nn::Linear(o.embed_dim, o.decoder_embed_dim));
  mask_token = register_parameter("mask_token", at::zeros({1, 1, o.decoder_embed_dim}));
  decoder_pos_embed = register_parameter(
      "decoder_pos_embed", SinCos2d(o.decoder_embed_dim, g, g, true).unsqueeze(0), false);
  decoder_blocks = register_module("decoder_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.decoder_depth; ++i)
    decoder_blocks->push_back(
        Block(BlockOptions{o.decoder_embed_dim, o.decoder_num_heads, o.mlp_ratio, o.attention}));
  decoder_norm = register_module("decoder_norm", MakeLayerNorm(o.decoder_embed_dim));
  decoder_pred = register_module("decoder_pred", torch::nn::Linear(o.decoder_embed_dim, o.patch_dim()));

  InitLinear(decoder_embed);
  InitLinear(decoder_pred);
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(cls_token, 0.0, 0.02);
  torch::nn::init::normal_(mask_token, 0.0, 0.02);
}

at::Tensor MaskedAutoencoderImpl::RunEncoder(at::Tensor x) {
  for (const auto& block : *blocks) x = block->as<Block>()->forward(x);
  return norm->forward(x);
}

at::Tensor MaskedAutoencoderImpl::EmbedPatches(const at::Tensor& images) {
  TORCH_CHECK(images.dim() == 4 && images.size(2) == options_.img_size &&
                  images.size(3) == options_.img_size,
              "MAE expects (B, ", options_.in_chans, ", ", options_.img_size, ", ",
              options_.img_size, "), got ", images.sizes());
  if (!options_.normalizes_input())
    return patch_embed->forward(images) + pos_embed.narrow(1, 1, options_.num_patches());
  const at::Tensor mean = at::tensor(options_.input_mean, images.options()).view({1, -1, 1, 1});
  const at::Tensor scale = at::tensor(options_.input_std, images.options()).view({1, -1, 1, 1});
  return patch_embed->forward((images - mean) / scale) + pos_embed.narrow(1, 1, options_.num_patches());
}

at::Tensor MaskedAutoencoderImpl::EncodeFull(const at::Tensor& images) {
  at::Tensor x = EmbedPatches(images);
  at::Tensor cls = (cls_token + pos_embed.narrow(1, 0, 1)).expand({x.size(0), -1, -1});
  return RunEncoder(at::cat({cls, x}, 1));
}

at::Tensor MaskedAutoencoderImpl::EncodeVisible(const at::Tensor& images, const at::Tensor& ids_keep) {
  TORCH_CHECK(ids_keep.dim() == 2 && ids_keep.size(0) == images.size(0),
              "ids_keep must be (B, K)");
  at::Tensor x = EmbedPatches(images);
  at::Tensor idx = ids_keep.to(at::kLong).unsqueeze(-1).expand({-1, -1, x.size(2)});
  x = at::gather(x, 1, idx);
  at::Tensor cls = (cls_token + pos_embed.narrow(1, 0, 1)).expand({x.size(0), -1, -1});
  return RunEncoder(at::cat({cls, x}, 1));
}

at::Tensor MaskedAutoencoderImpl::EmbedForDecoder(const at::Tensor& latent) {
  return ApplyLinear(decoder_embed, latent);
}

at::Tensor MaskedAutoencoderImpl::ScatterToGrid(const at::Tensor& kept, const at::Tensor& ids_keep) {
  const int64_t b = kept.size(0), d = kept.size(2), l = options_.num_patches();
  TORCH_CHECK(ids_keep.sizes() == at::IntArrayRef({b, kept.size(1)}), "ids_keep must be (B, K)");
  at::Tensor grid = mask_token.to(kept.dtype()).expand({b, l, d});
  at::Tensor idx = ids_keep.to(at::kLong).unsqueeze(-1).expand({-1, -1, d});
  return at::scatter(grid, 1, idx, kept);
}

at::Tensor MaskedAutoencoderImpl::ApplyKeepMask(const at::Tensor& tokens, const at::Tensor& keep) {
  TORCH_CHECK(keep.dim() == 2 && keep.size(1) == tokens.size(1), "keep must be (B, L)");
  return at::where(keep.to(at::kBool).unsqueeze(-1), tokens, mask_token.to(tokens.dtype()));
}

at::Tensor MaskedAutoencoderImpl::SoftMix(const at::Tensor& latent, const at::Tensor& m) {
  const int64_t l = options_.num_patches();
  TORCH_CHECK(latent.size(1) == l + 1, "SoftMix expects full-context latents (B, 1+L, D)");
  TORCH_CHECK(m.dim() == 2 && m.size(1) == l, "m must be (B, L)");
  at::Tensor e = decoder_embed->forward(latent.narrow(1, 1, l));
  at::Tensor w = m.unsqueeze(-1).to(e.dtype());
  return w * e + (1 - w) * mask_token;
}

at::Tensor MaskedAutoencoderImpl::Decode(const at::Tensor& cls, const at::Tensor& patch_tokens) {
  at::Tensor x = at::cat({cls, patch_tokens}, 1) + decoder_pos_embed;
  for (const auto& block : *decoder_blocks) x = block->as<Block>()->forward(x);
  x = ApplyLinear(decoder_pred, decoder_norm->forward(x)).narrow(1, 1, options_.num_patches());
  if (!options_.normalizes_input()) return x;
  // Patches are (p·p·C) with the channel innermost (official patchify order).
  const at::Tensor mean = at::tensor(options_.input_mean, x.options());
  const at::Tensor scale = at::tensor(options_.input_std, x.options());
  const auto shape = x.sizes().vec();
  return (x.view({shape[0], shape[1], -1, options_.in_chans}) * scale + mean).view(shape);
}

at::Tensor MaskedAutoencoderImpl::ReconstructionLoss(const at::Tensor& images, const at::Tensor& pred,
                                                     const at::Tensor& mask) {
  at::Tensor target = Patchify(images, options_.patch_size);
  if (options_.norm_pix_loss) {
    at::Tensor mean = target.mean(-1, true);
    at::Tensor var = target.var(-1, /*unbiased=*/true, /*keepdim=*/true);
    target = (target - mean) / at::sqrt(var + 1e-6);
  }
  at::Tensor per_patch = (pred - target).pow(2).mean(-1);
  return (per_patch * mask).sum() / mask.sum();
}

at::Tensor MaskedAutoencoderImpl::PatchesToImages(const at::Tensor& pred) const {
  const int64_t g = options_.grid_size();
  return Unpatchify(pred, options_.patch_size, g, g, options_.in_chans);
}

at::Tensor MaskedAutoencoderImpl::DecodeVisible(const at::Tensor& images, const at::Tensor& ids_keep) {
  at::Tensor latent = EmbedForDecoder(EncodeVisible(images, ids_keep));
  at::Tensor kept = latent.narrow(1, 1, latent.size(1) - 1);
  return Decode(latent.narrow(1, 0, 1), ScatterToGrid(kept, ids_keep));
}

MaePretrainOutput MaskedAutoencoderImpl::forward(const at::Tensor& images, double mask_ratio,
                                                 c10::optional<at::Generator> generator) {
  RandomMaskingResult rm = RandomMasking(images.size(0), options_.num_patches(), mask_ratio,
                                         images.options(), generator);
  at::Tensor pred = DecodeVisible(images, rm.ids_keep);
  return {ReconstructionLoss(images, pred, rm.mask), pred, rm.mask};
}

}  // namespace mt
