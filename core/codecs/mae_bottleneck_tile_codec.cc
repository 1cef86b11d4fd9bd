#include "core/codecs/mae_bottleneck_tile_codec.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/io/fingerprint.h"
#include "core/model/coding_tables.h"
#include "core/model/flops.h"
#include "core/ops/chunked.h"

namespace mt {
namespace {

// The codec's tables: its context tables when it has them, else the factorized ones.
absl::StatusOr<std::vector<LatentTables>> TablesOf(const LatentCodec& codec) {
  if (codec->options().context_buckets > 0) return codec->ContextTables();
  return UnpackTables(codec->cdf_tables, codec->cdf_sizes, codec->cdf_offsets, at::Tensor(), 0);
}

// Its own MAE's encoder (full context) or decoder per tile, plus the bottleneck MLP (decoder
// width ↔ hidden ↔ C) at every position, per tile pixel.
double FlopsPerPixel(const LatentCodecOptions& o, bool analysis) {
  const MaskedAutoencoderOptions& m = o.mae;
  const double mlp = 2.0 * static_cast<double>(m.decoder_embed_dim * o.bottleneck_hidden +
                                               o.bottleneck_hidden * o.latent_channels);
  const double mae = analysis ? MaeEncoderFlops(m, m.num_patches()) : MaeDecoderFlops(m);
  return (mae + static_cast<double>(m.num_patches()) * mlp) / static_cast<double>(m.img_size * m.img_size);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const MaeBottleneckTileCodec>> MaeBottleneckTileCodec::Create(LatentCodec codec,
                                                                                           ComputePrecision compute) {
  codec->eval();
  const int64_t levels = codec->num_levels();
  if (levels == 0)
    return absl::FailedPreconditionError(
        "the codec checkpoint holds no coding tables (a training checkpoint? run `mt-train export --ckpt_path ... --out ...`)");
  auto coder = std::shared_ptr<MaeBottleneckTileCodec>(new MaeBottleneckTileCodec(codec, compute));
  const LatentCodecOptions& o = codec->options();
  coder->tile_size_ = o.mae.img_size;
  coder->patch_size_ = o.mae.patch_size;
  coder->channels_ = o.latent_channels;
  std::vector<std::vector<double>> channel_steps;
  for (int64_t s = 0; s < levels; ++s) {
    coder->steps_.push_back(codec->step(s));
    channel_steps.emplace_back(static_cast<size_t>(o.latent_channels), coder->steps_.back());
  }
  absl::StatusOr<std::vector<LatentTables>> tables = TablesOf(codec);
  if (!tables.ok()) return tables.status();
  if (absl::Status s = coder->SetLevels(std::move(channel_steps), *std::move(tables)); !s.ok()) return s;
  coder->fingerprint_ = ModelFingerprint(*codec);
  return std::shared_ptr<const MaeBottleneckTileCodec>(coder);
}

int64_t MaeBottleneckTileCodec::default_level() const {
  return std::min(kDefaultMaeBottleneckLevel, num_levels() - 1);
}

absl::Status MaeBottleneckTileCodec::CheckPairedWith(const MaskedAutoencoderOptions& mae) const {
  if (tile_size_ == mae.img_size && patch_size_ == mae.patch_size) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("the codec is for ", tile_size_, "px tiles of ", patch_size_,
                                                    "px patches; the MAE and masker use ", mae.img_size, " / ",
                                                    mae.patch_size));
}

at::Tensor MaeBottleneckTileCodec::Analyze(const at::Tensor& tiles, int64_t, int64_t) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  return ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) { return codec_->EncodeImages(x).to(at::kFloat); },
                         tiles);
}

at::Tensor MaeBottleneckTileCodec::Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  at::Tensor patches = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& y, const at::Tensor& k) {
    return codec_->Decode(y, k).to(at::kFloat);
  }, latents, keep);
  return codec_->mae->PatchesToImages(patches).clamp(0.0, 1.0);
}

at::Tensor MaeBottleneckTileCodec::Quantize(const at::Tensor& y, int64_t level) const {
  return QuantizeLatents(y, step(level));
}

at::Tensor MaeBottleneckTileCodec::Dequantize(const at::Tensor& symbols, int64_t level) const {
  return symbols.to(at::kFloat) * step(level);
}

double MaeBottleneckTileCodec::analysis_flops_per_pixel() const { return FlopsPerPixel(codec_->options(), true); }

double MaeBottleneckTileCodec::synthesis_flops_per_pixel() const { return FlopsPerPixel(codec_->options(), false); }

}  // namespace mt
