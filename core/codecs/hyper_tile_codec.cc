#include "core/codecs/hyper_tile_codec.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/codecs/conv_tile_codec.h"
#include "core/io/fingerprint.h"
#include "core/model/flops.h"

namespace mt {
namespace {

constexpr int64_t kPredictSliceTiles = 8;

// One checksum entry per coded latent: its fixed-point mean and its table (< 4096 tables).
int64_t ChecksumEntry(int64_t mean, int32_t index) { return mean * 4096 + index; }

}  // namespace

absl::StatusOr<std::shared_ptr<const HyperTileCodec>> HyperTileCodec::Create(ConvCodec codec, ComputePrecision compute) {
  codec->eval();
  if (!codec->hyper) return absl::FailedPreconditionError("this conv codec has no hyperprior (hyper_channels = 0)");
  absl::StatusOr<HyperTables> tables = codec->hyper->Tables();
  if (!tables.ok()) return tables.status();
  const ConvCodecOptions o = codec->options();
  auto coder = std::shared_ptr<HyperTileCodec>(new HyperTileCodec(codec, compute));
  coder->tile_size_ = o.tile_size;
  coder->patch_size_ = kConvCodecDownsample;
  coder->channels_ = o.latent_channels;
  if (coder->grid() % kHyperpriorDownsample != 0)
    return absl::FailedPreconditionError(absl::StrCat("a hyperprior codec needs a latent grid that is a multiple of ",
                                                      kHyperpriorDownsample, ", got ", coder->grid()));
  coder->z_channels_ = o.hyper_channels;
  coder->z_grid_ = coder->grid() / kHyperpriorDownsample;
  coder->tables_ = *std::move(tables);
  coder->bounds_ = at::tensor(codec->hyper->ScaleBounds(), at::kLong);
  if (static_cast<int64_t>(coder->tables_.scales.size()) != coder->bounds_.numel() + 1)
    return absl::FailedPreconditionError("the hyperprior's scale bounds do not match its tables");
  coder->synthesis_ = IntegerHyperSynthesis::From(*codec->hyper);
  coder->channel_steps_ = coder->transforms_.LevelSteps();
  for (size_t s = 0; s < coder->channel_steps_.size(); ++s) {
    for (size_t c = 0; c < coder->channel_steps_[s].size(); ++c)
      if (const double d = coder->channel_steps_[s][c]; !(d > 0) || !std::isfinite(d))
        return absl::FailedPreconditionError(absl::StrCat("codec level ", s, " channel ", c, " has step ", d));
    coder->mean_steps_.push_back(MeanStep(coder->channel_steps_[s]));
  }
  coder->fingerprint_ = ModelFingerprint(*codec);
  return std::shared_ptr<const HyperTileCodec>(coder);
}

int64_t HyperTileCodec::default_level() const { return std::min(kDefaultConvLevel, num_levels() - 1); }

double HyperTileCodec::analysis_flops_per_pixel() const { return transforms_.analysis_flops_per_pixel(); }

double HyperTileCodec::synthesis_flops_per_pixel() const { return transforms_.synthesis_flops_per_pixel(); }

at::Tensor HyperTileCodec::ChannelSteps(int64_t level) const {
  return at::tensor(channel_steps_.at(static_cast<size_t>(level)), at::kDouble);
}

void HyperTileCodec::Predict(const at::Tensor& z_hat, at::Tensor* mean, at::Tensor* index) const {
  const int64_t n = z_hat.size(0), l = grid() * grid();
  // In slices of tiles: the fixed-point network's fp64 im2col is ~4.7 MB per 512² tile, so a
  // 12 MP photo in one call would hold ~220 MB. Each tile's result does not depend on the slice.
  std::vector<at::Tensor> means, scales;
  for (int64_t first = 0; first < n; first += kPredictSliceTiles) {
    auto [m, s] = synthesis_.Run(z_hat.narrow(0, first, std::min(kPredictSliceTiles, n - first)));
    means.push_back(m);
    scales.push_back(s);
  }
  const at::Tensor m = at::cat(means), log_scale = at::cat(scales);  // (N, C, g, g) int64 each
  *mean = m.permute({0, 2, 3, 1}).reshape({n, l, channels_}).contiguous();
  // Integer comparisons only: the number of bounds <= each log-scale.
  *index = at::bucketize(log_scale.permute({0, 2, 3, 1}).reshape({n, l, channels_}).contiguous(), bounds_,
                         /*out_int32=*/true,
                         /*right=*/true)
               .contiguous();
}

HyperTileCodec::Coded HyperTileCodec::Code(const at::Tensor& y, const at::Tensor& keep, int64_t level) const {
  torch::NoGradGuard no_grad;
  const int64_t n = y.size(0), g = grid(), zg = z_grid_;
  const at::Tensor steps = ChannelSteps(level);
  const at::Tensor u = y.cpu().to(at::kDouble) / steps;  // (N, L, C) in step units
  at::Tensor z = transforms_.codec()->hyper->Analyze(
      u.to(at::kFloat).view({n, g, g, channels_}).permute({0, 3, 1, 2}).contiguous());
  // Side cells covering no kept position are not sent: 0 on both sides.
  const at::Tensor cells = at::max_pool2d(keep.to(at::kFloat).view({n, 1, g, g}), kHyperpriorDownsample);
  z = (at::round(z.to(at::kDouble)) * cells).to(at::kInt).contiguous();  // (N, Z, zg, zg)
  Coded c;
  c.z = z;
  Predict(z, &c.mean, &c.index);
  TORCH_CHECK(c.z.size(2) == zg, "hyper analysis: unexpected side grid ", c.z.sizes());
  const at::Tensor mean = c.mean.to(at::kDouble) * std::ldexp(1.0, -kHyperFracBits);
  c.residual = at::round(u - mean).to(at::kInt).contiguous();
  return c;
}

at::Tensor HyperTileCodec::Dequantize(const at::Tensor& mean, const at::Tensor& residual, int64_t level) const {
  const at::Tensor u = mean.to(at::kDouble) * std::ldexp(1.0, -kHyperFracBits) + residual.to(at::kDouble);
  return (u * ChannelSteps(level)).to(at::kFloat);
}

at::Tensor HyperTileCodec::DecodedLatents(const at::Tensor& y, int64_t level) const {
  const Coded c = Code(y, at::ones({y.size(0), y.size(1)}, at::kBool), level);
  return Dequantize(c.mean, c.residual, level);
}

std::vector<int32_t> HyperTileCodec::TileZ(const at::Tensor& z, int64_t tile) const {
  const at::Tensor t = z[tile].permute({1, 2, 0}).contiguous();  // (zg, zg, Z)
  return std::vector<int32_t>(t.data_ptr<int32_t>(), t.data_ptr<int32_t>() + t.numel());
}

at::Tensor HyperTileCodec::PositionBits(const at::Tensor& y, int64_t level) const {
  const int64_t n = y.size(0), l = grid() * grid(), c = channels_, g = grid();
  const at::Tensor keep = at::ones({n, l}, at::kBool);
  const Coded coded = Code(y, keep, level);
  at::Tensor bits = at::zeros({n, l}, at::kDouble);
  double* out = bits.data_ptr<double>();
  const int32_t* r = coded.residual.data_ptr<int32_t>();
  const int32_t* idx = coded.index.data_ptr<int32_t>();
  for (int64_t i = 0; i < n * l; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      out[i] += SymbolBits(tables_.scales[static_cast<size_t>(idx[i * c + ch])], r[i * c + ch]);
  const int64_t ratio = kHyperpriorDownsample, share = ratio * ratio;
  for (int64_t t = 0; t < n; ++t) {
    const std::vector<int32_t> z = TileZ(coded.z, t);
    for (int64_t pos = 0; pos < l; ++pos) {
      const int64_t cell = (pos / g / ratio) * z_grid_ + (pos % g) / ratio;
      double side = 0;
      for (int64_t ch = 0; ch < z_channels_; ++ch)
        side += SymbolBits(tables_.side[static_cast<size_t>(ch)], z[static_cast<size_t>(cell * z_channels_ + ch)]);
      out[t * l + pos] += side / static_cast<double>(share);
    }
  }
  return bits;
}

std::string HyperTileCodec::EncodeTiles(const at::Tensor& y, const at::Tensor& keep, int64_t level,
                                        double* estimated_bits) const {
  const at::Tensor k = keep.to(at::kByte).cpu().contiguous();
  const Coded coded = Code(y, k.to(at::kBool), level);
  const int64_t n = y.size(0), l = grid() * grid(), c = channels_;
  const int grid = static_cast<int>(this->grid()), z_grid = static_cast<int>(z_grid_);
  std::vector<HyperTileSide> sides(static_cast<size_t>(n));
  std::vector<HyperTileResiduals> residuals(static_cast<size_t>(n));
  uint32_t checksum = kChecksumSeed;
  const int64_t* mean = coded.mean.data_ptr<int64_t>();
  const int32_t* idx = coded.index.data_ptr<int32_t>();
  const int32_t* r = coded.residual.data_ptr<int32_t>();
  for (int64_t t = 0; t < n; ++t) {
    const uint8_t* kp = k[t].data_ptr<uint8_t>();
    HyperTileSide& side = sides[static_cast<size_t>(t)];
    side.keep.assign(kp, kp + l);
    side.z = TileZ(coded.z, t);
    HyperTileResiduals& res = residuals[static_cast<size_t>(t)];
    for (int64_t pos = 0; pos < l; ++pos) {
      if (!kp[pos]) continue;
      for (int64_t ch = 0; ch < c; ++ch) {
        const int64_t i = (t * l + pos) * c + ch;
        res.residual.push_back(r[i]);
        res.scale_index.push_back(idx[i]);
        checksum = ChecksumAdd(checksum, ChecksumEntry(mean[i], idx[i]));
        if (estimated_bits != nullptr) *estimated_bits += SymbolBits(tables_.scales[static_cast<size_t>(idx[i])], r[i]);
      }
    }
    if (estimated_bits != nullptr) *estimated_bits += HyperSideBits(tables_, grid, z_grid, side);
  }
  absl::StatusOr<std::string> bytes = EncodeHyperStream(tables_, grid, z_grid, sides, residuals, checksum);
  TORCH_CHECK(bytes.ok(), "EncodeHyperStream: ", bytes.status().ToString());  // inputs are ours: a bug
  return *std::move(bytes);
}

absl::Status HyperTileCodec::DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                                         at::Tensor* latents) const {
  if (level < 0 || level >= num_levels())
    return absl::InvalidArgumentError(
        absl::StrCat("latent_level ", level, " is outside the codec's levels 0..", num_levels() - 1));
  if (count < 1) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  const int64_t n = count, l = grid() * grid(), c = channels_, zg = z_grid_;
  absl::StatusOr<HyperStreamDecoder> decoder =
      HyperStreamDecoder::Open(tables_, static_cast<int>(grid()), static_cast<int>(zg), stream);
  if (!decoder.ok()) return absl::Status(decoder.status().code(), absl::StrCat("latent: ", decoder.status().message()));
  absl::StatusOr<std::vector<HyperTileSide>> sides = decoder->DecodeSides(static_cast<size_t>(n));
  if (!sides.ok()) return absl::Status(sides.status().code(), absl::StrCat("latent: ", sides.status().message()));
  at::Tensor z = at::empty({n, zg, zg, z_channels_}, at::kInt);
  for (int64_t t = 0; t < n; ++t)
    std::copy((*sides)[static_cast<size_t>(t)].z.begin(), (*sides)[static_cast<size_t>(t)].z.end(),
              z.data_ptr<int32_t>() + t * zg * zg * z_channels_);
  at::Tensor mean, index;
  Predict(z.permute({0, 3, 1, 2}).contiguous(), &mean, &index);
  *keep = at::zeros({n, l}, at::kBool);
  at::Tensor residual = at::zeros({n, l, c}, at::kInt);
  bool* kp = keep->data_ptr<bool>();
  int32_t* rp = residual.data_ptr<int32_t>();
  uint32_t checksum = kChecksumSeed;
  const int64_t* mp = mean.data_ptr<int64_t>();
  const int32_t* ip = index.data_ptr<int32_t>();
  for (int64_t t = 0; t < n; ++t) {
    const std::vector<uint8_t>& kept = (*sides)[static_cast<size_t>(t)].keep;
    std::vector<int32_t> tile_index;
    for (int64_t pos = 0; pos < l; ++pos)
      if (kept[static_cast<size_t>(pos)]) tile_index.insert(tile_index.end(), ip + (t * l + pos) * c, ip + (t * l + pos + 1) * c);
    absl::StatusOr<std::vector<int32_t>> r = decoder->DecodeResiduals(tile_index);
    if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat("latent: ", r.status().message()));
    size_t next = 0;
    for (int64_t pos = 0; pos < l; ++pos) {
      if (!kept[static_cast<size_t>(pos)]) continue;
      kp[t * l + pos] = true;
      for (int64_t ch = 0; ch < c; ++ch, ++next) {
        const int64_t i = (t * l + pos) * c + ch;
        rp[i] = (*r)[next];
        checksum = ChecksumAdd(checksum, ChecksumEntry(mp[i], ip[i]));
      }
    }
  }
  if (absl::Status s = decoder->Finish(checksum); !s.ok())
    return absl::Status(s.code(), absl::StrCat("latent: ", s.message()));
  *latents = Dequantize(mean, residual, level) * keep->unsqueeze(2).to(at::kFloat);
  return absl::OkStatus();
}

}  // namespace mt
