#include "core/model/latent_codec.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

#include <algorithm>

#include "core/entropy/frequency_table.h"
#include "core/model/coding_tables.h"
#include "core/model/patchify.h"

namespace mt {
namespace {

torch::nn::Sequential ProjectionMlp(int64_t in, int64_t hidden, int64_t out) {
  torch::nn::Linear fc1(in, hidden), fc2(hidden, out);
  InitLinear(fc1);
  InitLinear(fc2);
  return torch::nn::Sequential(fc1, torch::nn::GELU(), fc2);
}

}  // namespace

at::Tensor QuantizeLatents(const at::Tensor& y, double step) {
  return at::round(y / step).clamp(-kMaxLatentSymbol, kMaxLatentSymbol).to(at::kInt);
}

at::Tensor QuantizeLatents(const at::Tensor& y, const at::Tensor& steps) {
  return at::round(y.to(at::kFloat) / steps.to(at::kFloat)).clamp(-kMaxLatentSymbol, kMaxLatentSymbol).to(at::kInt);
}

LatentCodecImpl::LatentCodecImpl(const LatentCodecOptions& o) : options_(o) {
  TORCH_CHECK(o.latent_channels > 0 && o.bottleneck_hidden > 0, "latent_channels and bottleneck_hidden must be > 0");
  mae = register_module("mae", MaskedAutoencoder(o.mae));
  const int64_t analysis_in = o.mae.embed_dim + (o.analysis_pixels ? o.mae.patch_dim() : 0);
  analysis = register_module("analysis", ProjectionMlp(analysis_in, o.bottleneck_hidden, o.latent_channels));
  synthesis = register_module("synthesis", ProjectionMlp(o.latent_channels, o.bottleneck_hidden, o.mae.decoder_embed_dim));
  if (o.pixel_skip) {
    skip = register_module("skip", torch::nn::Linear(o.latent_channels, o.mae.patch_dim()));
    torch::NoGradGuard no_grad;
    skip->weight.zero_();
    skip->bias.zero_();
  }
  FactorizedPriorOptions po;
  po.channels = o.latent_channels;
  prior = register_module("prior", FactorizedPrior(po));
  decoder_cls_token = register_parameter("decoder_cls_token", at::zeros({1, 1, o.mae.decoder_embed_dim}));
  const int64_t s = o.table_levels, c = o.latent_channels;
  quant_steps = register_buffer("quant_steps", at::zeros({s}, at::kDouble));
  cdf_tables = register_buffer("cdf_tables", at::zeros({s, c, o.table_width}, at::kInt));
  cdf_sizes = register_buffer("cdf_sizes", at::zeros({s, c}, at::kInt));
  cdf_offsets = register_buffer("cdf_offsets", at::zeros({s, c}, at::kInt));
  // Registered only when present, so checkpoints written before context tables existed still load.
  if (o.context_buckets > 0) RegisterContextBuffers(s, o.context_buckets + 1, o.context_width);
}

void LatentCodecImpl::RegisterContextBuffers(int64_t levels, int64_t per_channel, int64_t width) {
  const int64_t c = options_.latent_channels;
  ctx_predict = register_buffer("ctx_predict", at::zeros({levels, c}, at::kInt));
  ctx_cdf_tables = register_buffer("ctx_cdf_tables", at::zeros({levels, c, per_channel, width}, at::kInt));
  ctx_cdf_sizes = register_buffer("ctx_cdf_sizes", at::zeros({levels, c, per_channel}, at::kInt));
  ctx_cdf_offsets = register_buffer("ctx_cdf_offsets", at::zeros({levels, c, per_channel}, at::kInt));
}

at::Tensor LatentCodecImpl::Analyze(const at::Tensor& encoded, const at::Tensor& images) {
  const int64_t l = options_.mae.num_patches();
  TORCH_CHECK(encoded.dim() == 3 && encoded.size(1) == l + 1, "Analyze expects (B, 1+L, D_enc)");
  at::Tensor tokens = encoded.narrow(1, 1, l);
  // Pixels centred on 0, like the tokens, so neither input dominates the first layer at init.
  if (options_.analysis_pixels)
    tokens = at::cat({tokens, Patchify(images, options_.mae.patch_size).to(tokens.dtype()) - 0.5}, -1);
  return analysis->forward(tokens);
}

at::Tensor LatentCodecImpl::EncodeImages(const at::Tensor& images) { return Analyze(mae->EncodeFull(images), images); }

at::Tensor LatentCodecImpl::Decode(const at::Tensor& latents, const at::Tensor& keep) {
  TORCH_CHECK(latents.dim() == 3 && latents.size(2) == options_.latent_channels, "Decode expects (B, L, C)");
  at::Tensor tokens = mae->ApplyKeepMask(synthesis->forward(latents), keep);
  at::Tensor cls = decoder_cls_token.to(tokens.dtype()).expand({tokens.size(0), 1, -1});
  at::Tensor patches = mae->Decode(cls, tokens);
  if (options_.pixel_skip) patches = patches + skip->forward(latents) * keep.unsqueeze(-1).to(patches.dtype());
  return patches;
}

double LatentCodecImpl::step(int64_t level) const {
  TORCH_CHECK(level >= 0 && level < num_levels(), "step level ", level, " out of range");
  return quant_steps[level].item<double>();
}

void LatentCodecImpl::BuildTables(const std::vector<double>& steps) {
  TORCH_CHECK(!steps.empty() && std::is_sorted(steps.begin(), steps.end()) && steps.front() > 0,
              "BuildTables needs ascending steps > 0");
  const int64_t c = options_.latent_channels, s = static_cast<int64_t>(steps.size());
  std::vector<std::vector<FrequencyTable>> tables;
  for (double step : steps) tables.push_back(QuantizePmfs(prior->IntegerPmfs(step)));
  const PackedFactorizedTables packed = PackFactorizedTables(tables, c);
  const int64_t width = packed.cdf.size(2);
  torch::NoGradGuard no_grad;
  // set_ keeps the registered buffers (same tensors) while changing their shapes.
  quant_steps.set_(at::tensor(steps, at::kDouble));
  cdf_tables.set_(packed.cdf);
  cdf_sizes.set_(packed.sizes);
  cdf_offsets.set_(packed.offsets);
  options_.table_levels = s;
  options_.table_width = width;
}

}  // namespace mt

namespace mt {

void LatentCodecImpl::SetContextTables(const std::vector<LatentTables>& per_level) {
  const int64_t s = num_levels(), c = options_.latent_channels;
  TORCH_CHECK(s > 0 && static_cast<int64_t>(per_level.size()) == s, "SetContextTables needs one entry per level");
  const PackedContextTables packed = PackContextTables(per_level, c);
  torch::NoGradGuard no_grad;
  if (!ctx_predict.defined()) RegisterContextBuffers(s, packed.cdf.size(2), packed.cdf.size(3));
  ctx_predict.set_(packed.predict);
  ctx_cdf_tables.set_(packed.cdf);
  ctx_cdf_sizes.set_(packed.sizes);
  ctx_cdf_offsets.set_(packed.offsets);
  options_.context_buckets = per_level[0].buckets;
  options_.context_width = packed.cdf.size(3);
}

absl::StatusOr<std::vector<LatentTables>> LatentCodecImpl::ContextTables() const {
  if (options_.context_buckets <= 0 || !ctx_predict.defined())
    return absl::FailedPreconditionError("the codec holds no context tables");
  return UnpackTables(ctx_cdf_tables, ctx_cdf_sizes, ctx_cdf_offsets, ctx_predict,
                      static_cast<int>(options_.context_buckets));
}

}  // namespace mt
