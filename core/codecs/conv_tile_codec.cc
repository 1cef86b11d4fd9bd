#include "core/codecs/conv_tile_codec.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <vector>

#include "core/io/fingerprint.h"
#include "core/model/latent_codec.h"

namespace mt {

absl::StatusOr<std::shared_ptr<const ConvTileCodec>> ConvTileCodec::Create(ConvCodec codec, ComputePrecision compute) {
  codec->eval();
  if (codec->hyper)
    return absl::FailedPreconditionError(
        "this conv codec codes its latents with a hyperprior: it loads as kind conv_hyper_codec (HyperTileCodec)");
  absl::StatusOr<std::vector<LatentTables>> tables = codec->tables->Tables();
  if (!tables.ok()) return tables.status();
  const ConvCodecOptions o = codec->options();
  auto coder = std::shared_ptr<ConvTileCodec>(new ConvTileCodec(codec, compute));
  coder->tile_size_ = o.tile_size;
  coder->patch_size_ = kConvCodecDownsample;
  coder->channels_ = o.latent_channels;
  std::vector<std::vector<double>> channel_steps = coder->transforms_.LevelSteps();
  for (const std::vector<double>& level : channel_steps) coder->mean_steps_.push_back(MeanStep(level));
  if (absl::Status s = coder->SetLevels(std::move(channel_steps), *std::move(tables)); !s.ok()) return s;
  coder->fingerprint_ = ModelFingerprint(*codec);
  return std::shared_ptr<const ConvTileCodec>(coder);
}

int64_t ConvTileCodec::default_level() const { return DefaultConvLevel(transforms_.codec()->options()); }

at::Tensor ConvTileCodec::Quantize(const at::Tensor& y, int64_t level) const {
  return QuantizeLatents(y, at::tensor(channel_steps(level), at::kDouble));
}

at::Tensor ConvTileCodec::Dequantize(const at::Tensor& symbols, int64_t level) const {
  return symbols.to(at::kFloat) * at::tensor(channel_steps(level), at::kDouble).to(at::kFloat);
}

}  // namespace mt
