#include "core/codecs/hyper_tile_codec.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/codecs/conv_tile_codec.h"
#include "core/io/fingerprint.h"
#include "core/model/flops.h"

namespace mt {
namespace {

constexpr int64_t kPredictSliceTiles = 8;

// One checksum entry per coded latent: its fixed-point mean and its table (< 4096 tables).
int64_t ChecksumEntry(int64_t mean, int32_t index) { return mean * 4096 + index; }

// run(first, count) → {mean, log_scale} over tiles [first, first + count), in slices of
// kPredictSliceTiles tiles, concatenated: the fixed-point networks' fp64 im2col is ~4.7 MB per
// 512² tile, so a 12 MP photo in one call would hold ~220 MB. No tile's result depends on the
// slice it ran in.
template <typename Run>
std::pair<at::Tensor, at::Tensor> InSlices(int64_t n, Run run) {
  std::vector<at::Tensor> means, scales;
  for (int64_t first = 0; first < n; first += kPredictSliceTiles) {
    auto [m, s] = run(first, std::min(kPredictSliceTiles, n - first));
    means.push_back(m);
    scales.push_back(s);
  }
  return {at::cat(means), at::cat(scales)};
}

// The positions of each coding pass in raster order: every position in one, or with a
// checkerboard context the anchors ((row + col) even), then the rest.
std::vector<std::vector<int64_t>> CodingPasses(int64_t grid, bool checkerboard) {
  std::vector<std::vector<int64_t>> passes(checkerboard ? 2 : 1);
  for (int64_t pos = 0; pos < grid * grid; ++pos)
    passes[checkerboard ? (pos / grid + pos % grid) % 2 : 0].push_back(pos);
  return passes;
}

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
  coder->passes_ = CodingPasses(coder->grid(), static_cast<bool>(codec->context));
  if (codec->context) coder->context_ = IntegerCheckerboardContext::From(*codec->context);
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

int64_t HyperTileCodec::default_level() const { return DefaultConvLevel(transforms_.codec()->options()); }

double HyperTileCodec::analysis_flops_per_pixel() const { return transforms_.analysis_flops_per_pixel(); }

double HyperTileCodec::synthesis_flops_per_pixel() const { return transforms_.synthesis_flops_per_pixel(); }

at::Tensor HyperTileCodec::ChannelSteps(int64_t level) const {
  return at::tensor(channel_steps_.at(static_cast<size_t>(level)), at::kDouble);
}

HyperTileCodec::Prediction HyperTileCodec::PredictSide(const at::Tensor& z_hat) const {
  auto [mean, log_scale] = InSlices(z_hat.size(0), [&](int64_t first, int64_t count) {
    return synthesis_.Run(z_hat.narrow(0, first, count));
  });
  return {mean, log_scale};
}

HyperTileCodec::Prediction HyperTileCodec::Refine(const Prediction& p, const at::Tensor& residual,
                                                  const at::Tensor& keep) const {
  if (!context_) return p;
  const int64_t n = residual.size(0), g = grid();
  const at::Tensor kept = residual * keep.to(residual.dtype()).unsqueeze(2);  // unsent anchors read as 0
  const at::Tensor anchors = kept.view({n, g, g, channels_}).permute({0, 3, 1, 2});
  auto [mean, log_scale] = InSlices(n, [&](int64_t first, int64_t count) {
    return context_->Run(anchors.narrow(0, first, count), p.mean.narrow(0, first, count),
                         p.log_scale.narrow(0, first, count));
  });
  return {mean, log_scale};
}

at::Tensor HyperTileCodec::Positions(const at::Tensor& x) const {
  return x.permute({0, 2, 3, 1}).reshape({x.size(0), grid() * grid(), channels_}).contiguous();
}

at::Tensor HyperTileCodec::TableIndex(const at::Tensor& log_scale) const {
  // The number of bounds <= each log-scale.
  return at::bucketize(Positions(log_scale), bounds_, /*out_int32=*/true, /*right=*/true).contiguous();
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
  TORCH_CHECK(z.size(2) == zg, "hyper analysis: unexpected side grid ", z.sizes());
  const double unit = std::ldexp(1.0, -kHyperFracBits);
  Coded c;
  c.z = z;
  Prediction p = PredictSide(z);
  c.mean = Positions(p.mean);
  c.residual = at::round(u - c.mean.to(at::kDouble) * unit).to(at::kInt).contiguous();
  if (context_) {  // the anchors' residuals stand; the non-anchors' are taken against the refined means
    p = Refine(p, c.residual, keep);
    c.mean = Positions(p.mean);
    c.residual = at::round(u - c.mean.to(at::kDouble) * unit).to(at::kInt).contiguous();
  }
  c.index = TableIndex(p.log_scale);
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
  for (int64_t t = 0; t < n; ++t) {
    const uint8_t* kp = k[t].data_ptr<uint8_t>();
    sides[static_cast<size_t>(t)] = {std::vector<uint8_t>(kp, kp + l), TileZ(coded.z, t)};
    if (estimated_bits != nullptr) *estimated_bits += HyperSideBits(tables_, grid, z_grid, sides[static_cast<size_t>(t)]);
  }
  std::vector<HyperTileResiduals> residuals;  // pass-major, then tile: the stream's order
  uint32_t checksum = kChecksumSeed;
  const int64_t* mean = coded.mean.data_ptr<int64_t>();
  const int32_t* idx = coded.index.data_ptr<int32_t>();
  const int32_t* r = coded.residual.data_ptr<int32_t>();
  for (const std::vector<int64_t>& pass : passes_) {
    for (int64_t t = 0; t < n; ++t) {
      const std::vector<uint8_t>& kept = sides[static_cast<size_t>(t)].keep;
      HyperTileResiduals& res = residuals.emplace_back();
      for (int64_t pos : pass) {
        if (!kept[static_cast<size_t>(pos)]) continue;
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t i = (t * l + pos) * c + ch;
          res.residual.push_back(r[i]);
          res.scale_index.push_back(idx[i]);
          checksum = ChecksumAdd(checksum, ChecksumEntry(mean[i], idx[i]));
          if (estimated_bits != nullptr) *estimated_bits += SymbolBits(tables_.scales[static_cast<size_t>(idx[i])], r[i]);
        }
      }
    }
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
  const auto lost = [](const absl::Status& s) { return absl::Status(s.code(), absl::StrCat("latent: ", s.message())); };
  absl::StatusOr<HyperStreamDecoder> decoder =
      HyperStreamDecoder::Open(tables_, static_cast<int>(grid()), static_cast<int>(zg), stream);
  if (!decoder.ok()) return lost(decoder.status());
  absl::StatusOr<std::vector<HyperTileSide>> sides = decoder->DecodeSides(static_cast<size_t>(n));
  if (!sides.ok()) return lost(sides.status());
  at::Tensor z = at::empty({n, zg, zg, z_channels_}, at::kInt);
  *keep = at::zeros({n, l}, at::kBool);
  for (int64_t t = 0; t < n; ++t) {
    const HyperTileSide& side = (*sides)[static_cast<size_t>(t)];
    std::copy(side.z.begin(), side.z.end(), z.data_ptr<int32_t>() + t * zg * zg * z_channels_);
    std::copy(side.keep.begin(), side.keep.end(), keep->data_ptr<bool>() + t * l);
  }
  Prediction p = PredictSide(z.permute({0, 3, 1, 2}).contiguous());
  at::Tensor residual = at::zeros({n, l, c}, at::kInt), mean;
  uint32_t checksum = kChecksumSeed;
  for (size_t pass = 0; pass < passes_.size(); ++pass) {
    if (pass > 0) p = Refine(p, residual, *keep);  // the non-anchors' predictions, from the decoded anchors
    mean = Positions(p.mean);
    const at::Tensor index = TableIndex(p.log_scale);
    if (absl::Status s = DecodePass(*decoder, passes_[pass], *keep, mean, index, &residual, &checksum); !s.ok())
      return lost(s);
  }
  if (absl::Status s = decoder->Finish(checksum); !s.ok()) return lost(s);
  *latents = Dequantize(mean, residual, level) * keep->unsqueeze(2).to(at::kFloat);
  return absl::OkStatus();
}

absl::Status HyperTileCodec::DecodePass(HyperStreamDecoder& decoder, const std::vector<int64_t>& pass,
                                        const at::Tensor& keep, const at::Tensor& mean, const at::Tensor& index,
                                        at::Tensor* residual, uint32_t* checksum) const {
  const int64_t n = keep.size(0), l = keep.size(1), c = channels_;
  const bool* kp = keep.data_ptr<bool>();
  const int64_t* mp = mean.data_ptr<int64_t>();
  const int32_t* ip = index.data_ptr<int32_t>();
  int32_t* rp = residual->data_ptr<int32_t>();
  for (int64_t t = 0; t < n; ++t) {
    std::vector<int32_t> tile_index;
    for (int64_t pos : pass)
      if (kp[t * l + pos]) tile_index.insert(tile_index.end(), ip + (t * l + pos) * c, ip + (t * l + pos + 1) * c);
    absl::StatusOr<std::vector<int32_t>> r = decoder.DecodeResiduals(tile_index);
    if (!r.ok()) return r.status();
    size_t next = 0;
    for (int64_t pos : pass) {
      if (!kp[t * l + pos]) continue;
      for (int64_t ch = 0; ch < c; ++ch, ++next) {
        const int64_t i = (t * l + pos) * c + ch;
        rp[i] = (*r)[next];
        *checksum = ChecksumAdd(*checksum, ChecksumEntry(mp[i], ip[i]));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace mt
