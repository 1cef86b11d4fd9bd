#include "core/ops/chunked.h"
#include "core/pipeline/latent_coder.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/entropy/latent_stream.h"
#include "core/io/checkpoint.h"
#include "core/io/fingerprint.h"
#include "core/model/coding_tables.h"
#include "core/model/flops.h"

namespace mt {
namespace {

// The codec's tables (its context tables when it has them), checked: one per step level, the
// codec's channels, well formed.
absl::StatusOr<std::vector<LatentTables>> TablesOf(const LatentCodec& codec) {
  const int64_t levels = codec->num_levels(), c = codec->options().latent_channels;
  absl::StatusOr<std::vector<LatentTables>> tables =
      codec->options().context_buckets > 0 ? codec->ContextTables()
                                           : UnpackTables(codec->cdf_tables, codec->cdf_sizes, codec->cdf_offsets,
                                                          at::Tensor(), 0);
  if (!tables.ok()) return tables.status();
  if (static_cast<int64_t>(tables->size()) != levels)
    return absl::FailedPreconditionError(
        absl::StrCat("the codec's coding tables cover ", tables->size(), " step levels; it has ", levels));
  for (const LatentTables& t : *tables)
    if (static_cast<int64_t>(t.channels()) != c)
      return absl::FailedPreconditionError(absl::StrCat("the codec's coding tables have ", t.channels(), " channels, not ", c));
  return tables;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const LatentCoder>> LatentCoder::Create(LatentCodec codec, ComputePrecision compute) {
  codec->eval();
  const int64_t levels = codec->num_levels();
  if (levels == 0)
    return absl::FailedPreconditionError(
        "the codec checkpoint holds no coding tables (a training checkpoint? run `mt-train export --ckpt_path ... --out ...`)");
  auto coder = std::shared_ptr<LatentCoder>(new LatentCoder(compute));
  coder->codec_ = codec;
  const LatentCodecOptions& o = codec->options();
  coder->tile_size_ = o.mae.img_size;
  coder->patch_size_ = o.mae.patch_size;
  coder->channels_ = o.latent_channels;
  for (int64_t s = 0; s < levels; ++s) {
    coder->steps_.push_back(codec->step(s));
    if (!(coder->steps_.back() > 0) || !std::isfinite(coder->steps_.back()))
      return absl::FailedPreconditionError(absl::StrCat("codec step level ", s, " has step ", coder->steps_.back()));
    coder->channel_steps_.emplace_back(static_cast<size_t>(o.latent_channels), coder->steps_.back());
  }
  absl::StatusOr<std::vector<LatentTables>> tables = TablesOf(codec);
  if (!tables.ok()) return tables.status();
  coder->tables_ = *std::move(tables);
  coder->fingerprint_ = ModelFingerprint(*coder->codec_);
  return std::shared_ptr<const LatentCoder>(coder);
}

absl::StatusOr<std::shared_ptr<const LatentCoder>> LatentCoder::Create(ConvCodec codec, ComputePrecision compute) {
  codec->eval();
  absl::StatusOr<std::vector<LatentTables>> tables = codec->tables->Tables();
  if (!tables.ok()) return tables.status();
  const ConvCodecOptions o = codec->options();
  auto coder = std::shared_ptr<LatentCoder>(new LatentCoder(compute));
  coder->conv_ = codec;
  coder->tile_size_ = o.tile_size;
  coder->patch_size_ = kConvCodecDownsample;
  coder->channels_ = o.latent_channels;
  const at::Tensor steps = codec->Steps().detach().to(at::kDouble).contiguous();
  for (int64_t s = 0; s < o.levels; ++s) {
    const double* row = steps[s].data_ptr<double>();
    std::vector<double> level(row, row + o.latent_channels);
    double sum = 0;
    for (size_t c = 0; c < level.size(); ++c) {
      if (!(level[c] > 0) || !std::isfinite(level[c]))
        return absl::FailedPreconditionError(absl::StrCat("codec level ", s, " channel ", c, " has step ", level[c]));
      sum += level[c];
    }
    coder->steps_.push_back(sum / static_cast<double>(level.size()));
    coder->channel_steps_.push_back(std::move(level));
  }
  for (const LatentTables& t : *tables)
    if (static_cast<int64_t>(t.channels()) != o.latent_channels)
      return absl::FailedPreconditionError("the codec's tables do not match its latent channels");
  coder->tables_ = *std::move(tables);
  coder->fingerprint_ = ModelFingerprint(*coder->conv_);
  return std::shared_ptr<const LatentCoder>(coder);
}

double LatentCoder::step(int64_t level) const { return steps_.at(static_cast<size_t>(level)); }

// Conv tiles per forward: a 512² tile's first activations are 16 MB each, and slices of a few
// tiles keep the working set in memory bounds while still batching.
constexpr int64_t kConvChunkTiles = 4;

// The conv transforms' receptive fields, in latent positions (16 px), rounded up. An analysis
// output at position p depends on the input pixels within 30 of 16p (four 5×5 stride-2 convs,
// padding 2: 2 + 4 + 8 + 16); a synthesis output on the latents within 2 positions (3×3 convs at
// 1/16, 1/8, 1/4 and 1/2 resolution: 1 + ½ + ¼ + ⅛, plus the rounding of each upsampling). So a
// region this much larger than the content gives the same values on the content as the whole tile.
constexpr int64_t kAnalysisMargin = 2;
constexpr int64_t kSynthesisMargin = 3;

int64_t LatentCoder::ComputedPositions(int64_t content, int64_t margin) const {
  const int64_t g = grid();
  if (!conv_ || content <= 0) return g;
  return std::min(g, content + margin);
}

double LatentCoder::RegionPixels(int64_t height, int64_t width, int64_t margin) const {
  const int64_t t = tile_size_, p = patch_size_;
  const int64_t tiles = ((height + t - 1) / t) * ((width + t - 1) / t);
  if (tiles != 1) return static_cast<double>(tiles * t * t);
  return static_cast<double>(ComputedPositions((height + p - 1) / p, margin) * p *
                             ComputedPositions((width + p - 1) / p, margin) * p);
}

double LatentCoder::AnalyzedPixels(int64_t height, int64_t width) const {
  return RegionPixels(height, width, kAnalysisMargin);
}

double LatentCoder::SynthesizedPixels(int64_t height, int64_t width) const {
  return RegionPixels(height, width, kSynthesisMargin);
}

at::Tensor LatentCoder::Analyze(const at::Tensor& tiles, int64_t content_rows, int64_t content_cols) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  if (conv_) {
    const int64_t g = grid(), p = patch_size_;
    const int64_t rows = ComputedPositions((content_rows + p - 1) / p, kAnalysisMargin);
    const int64_t cols = ComputedPositions((content_cols + p - 1) / p, kAnalysisMargin);
    const at::Tensor region = tiles.narrow(2, 0, rows * p).narrow(3, 0, cols * p);
    at::Tensor y = ForwardInChunks(kConvChunkTiles, [&](const at::Tensor& x) { return conv_->Analyze(x).to(at::kFloat); },
                                   region);  // (N, C, rows, cols)
    if (rows < g || cols < g) y = at::constant_pad_nd(y, {0, g - cols, 0, g - rows});
    return y.permute({0, 2, 3, 1}).reshape({y.size(0), g * g, channels_}).contiguous();
  }
  return ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& x) { return codec_->EncodeImages(x).to(at::kFloat); },
                         tiles);
}

at::Tensor LatentCoder::Quantize(const at::Tensor& y, int64_t level) const {
  if (!conv_) return QuantizeLatents(y, step(level));
  return QuantizeLatents(y, at::tensor(channel_steps_.at(static_cast<size_t>(level)), at::kDouble));
}

at::Tensor LatentCoder::Dequantize(const at::Tensor& symbols, int64_t level) const {
  if (!conv_) return symbols.to(at::kFloat) * step(level);
  return symbols.to(at::kFloat) * at::tensor(channel_steps_.at(static_cast<size_t>(level)), at::kDouble).to(at::kFloat);
}

at::Tensor LatentCoder::PatchBits(const at::Tensor& symbols, int64_t level) const {
  const LatentTables& tables = tables_.at(static_cast<size_t>(level));
  at::Tensor q = symbols.to(at::kInt).contiguous();
  const int64_t n = q.size(0), l = q.size(1), c = q.size(2);
  const int grid = static_cast<int>(this->grid());
  at::Tensor bits = at::zeros({n, l}, at::kDouble);
  double* out = bits.data_ptr<double>();
  LatentTile tile;
  tile.keep.assign(static_cast<size_t>(l), 1);
  for (int64_t t = 0; t < n; ++t) {
    const int32_t* v = q[t].data_ptr<int32_t>();
    tile.symbols.assign(v, v + l * c);
    const std::vector<double> patch = LatentPatchBits(tables, grid, tile);
    TORCH_CHECK(static_cast<int64_t>(patch.size()) == l, "PatchBits: symbols do not match the codec");
    std::copy(patch.begin(), patch.end(), out + t * l);
  }
  return bits;
}

std::string LatentCoder::EncodeTiles(const at::Tensor& symbols, const at::Tensor& keep, int64_t level,
                                     double* estimated_bits) const {
  const LatentTables& tables = tables_.at(static_cast<size_t>(level));
  at::Tensor q = symbols.to(at::kInt).contiguous();
  at::Tensor k = keep.to(at::kByte).contiguous();
  const int64_t n = q.size(0), l = q.size(1), c = q.size(2);
  const int grid = static_cast<int>(this->grid());
  std::vector<LatentTile> tiles(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    LatentTile& tile = tiles[static_cast<size_t>(t)];
    const uint8_t* kp = k[t].data_ptr<uint8_t>();
    const int32_t* qp = q[t].data_ptr<int32_t>();
    tile.keep.assign(kp, kp + l);
    for (int64_t i = 0; i < l; ++i)
      if (kp[i]) tile.symbols.insert(tile.symbols.end(), qp + i * c, qp + (i + 1) * c);
    if (estimated_bits != nullptr) *estimated_bits += EstimateLatentTileBits(tables, grid, tile);
  }
  absl::StatusOr<std::string> bytes = EncodeLatentTiles(tables, grid, tiles);
  TORCH_CHECK(bytes.ok(), "EncodeLatentTiles: ", bytes.status().ToString());  // inputs are ours: a bug
  return *std::move(bytes);
}

absl::Status LatentCoder::DecodeTiles(std::string_view stream, int64_t count, int64_t level, at::Tensor* keep,
                                      at::Tensor* latents) const {
  if (level < 0 || level >= num_levels())
    return absl::InvalidArgumentError(
        absl::StrCat("latent_level ", level, " is outside the codec's levels 0..", num_levels() - 1));
  const LatentTables& tables = tables_[static_cast<size_t>(level)];
  const int64_t n = count, l = grid() * grid(), c = channels_;
  if (n < 1) return absl::InvalidArgumentError("a latent stream needs at least one tile");
  const int grid = static_cast<int>(this->grid());
  absl::StatusOr<std::vector<LatentTile>> tiles = DecodeLatentTiles(tables, grid, static_cast<size_t>(n), stream);
  if (!tiles.ok()) return absl::Status(tiles.status().code(), absl::StrCat("latent: ", tiles.status().message()));
  *keep = at::zeros({n, l}, at::kBool);
  *latents = at::zeros({n, l, c}, at::kFloat);
  bool* kp = keep->data_ptr<bool>();
  float* yp = latents->data_ptr<float>();
  const std::vector<double>& delta = channel_steps_[static_cast<size_t>(level)];
  for (int64_t t = 0; t < n; ++t) {
    const LatentTile* tile = &(*tiles)[static_cast<size_t>(t)];
    size_t next = 0;
    for (int64_t i = 0; i < l; ++i) {
      if (!tile->keep[static_cast<size_t>(i)]) continue;
      kp[t * l + i] = true;
      for (int64_t ch = 0; ch < c; ++ch)
        yp[(t * l + i) * c + ch] = static_cast<float>(delta[static_cast<size_t>(ch)] * tile->symbols[next++]);
    }
  }
  return absl::OkStatus();
}

at::Tensor ReplicateIntoUnsent(const at::Tensor& latents, const at::Tensor& keep) {
  TORCH_CHECK(latents.dim() == 4 && keep.dim() == 3 && keep.sizes() == latents.sizes().slice(0, 3),
              "ReplicateIntoUnsent: latents ", latents.sizes(), " and keep ", keep.sizes());
  const int64_t g_rows = keep.size(1), g_cols = keep.size(2);
  const at::Tensor rows = keep.any(2).sum(1), cols = keep.any(1).sum(1);  // (N): the sent rectangle
  std::vector<at::Tensor> out;
  out.reserve(static_cast<size_t>(latents.size(0)));
  for (int64_t t = 0; t < latents.size(0); ++t) {
    const int64_t r = rows[t].item<int64_t>(), c = cols[t].item<int64_t>();
    if (r == 0 || c == 0 || (r == g_rows && c == g_cols)) {
      out.push_back(latents[t]);
      continue;
    }
    const at::Tensor ri = at::arange(g_rows, at::kLong).clamp_max(r - 1), ci = at::arange(g_cols, at::kLong).clamp_max(c - 1);
    out.push_back(latents[t].index_select(0, ri).index_select(1, ci));
  }
  return at::stack(out);
}

at::Tensor LatentCoder::Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  if (conv_) {
    const int64_t g = grid(), p = patch_size_;
    const at::Tensor cells = keep.view({-1, g, g});
    const at::Tensor filled = ReplicateIntoUnsent(latents.view({latents.size(0), g, g, channels_}), cells);
    const int64_t rows = ComputedPositions(cells.any(2).sum(1).max().item<int64_t>(), kSynthesisMargin);
    const int64_t cols = ComputedPositions(cells.any(1).sum(1).max().item<int64_t>(), kSynthesisMargin);
    at::Tensor out = ForwardInChunks(kConvChunkTiles, [&](const at::Tensor& y) {
      return conv_->Synthesize(y.permute({0, 3, 1, 2})).to(at::kFloat).clamp(0.0, 1.0);
    }, filled.narrow(1, 0, rows).narrow(2, 0, cols));
    if (rows < g || cols < g) out = at::constant_pad_nd(out, {0, (g - cols) * p, 0, (g - rows) * p});
    return out;
  }
  at::Tensor patches = ForwardInChunks(kForwardChunkRows, [&](const at::Tensor& y, const at::Tensor& k) {
    return codec_->Decode(y, k).to(at::kFloat);
  }, latents, keep);
  return codec_->mae->PatchesToImages(patches).clamp(0.0, 1.0);
}

absl::StatusOr<std::shared_ptr<const LatentCoder>> LoadLatentCoder(const std::string& path, ComputePrecision compute) {
  absl::StatusOr<CheckpointInfo> info = ReadCheckpointInfo(path);
  if (!info.ok()) return info.status();
  if (info->kind == kConvCodecKind) {
    absl::StatusOr<ConvCodec> conv = LoadConvCodec(path);
    if (!conv.ok()) return conv.status();
    return LatentCoder::Create(*conv, compute);
  }
  if (info->kind != kLatentCodecKind)
    return absl::FailedPreconditionError(absl::StrCat("checkpoint '", path, "' holds a ", info->kind,
                                                      " model, expected a codec (", kLatentCodecKind, " or ",
                                                      kConvCodecKind, ")"));
  absl::StatusOr<LatentCodec> codec = LoadLatentCodec(path);
  if (!codec.ok()) return codec.status();
  return LatentCoder::Create(*codec, compute);
}

namespace {

// The MAE codec: its own MAE's encoder (full context) or decoder per tile, plus the bottleneck
// MLP (decoder width ↔ hidden ↔ C) at every position, per tile pixel.
double MaeCodecFlopsPerPixel(const LatentCodecOptions& o, bool analysis) {
  const MaskedAutoencoderOptions& m = o.mae;
  const double mlp = 2.0 * static_cast<double>(m.decoder_embed_dim * o.bottleneck_hidden +
                                               o.bottleneck_hidden * o.latent_channels);
  const double mae = analysis ? MaeEncoderFlops(m, m.num_patches()) : MaeDecoderFlops(m);
  return (mae + static_cast<double>(m.num_patches()) * mlp) / static_cast<double>(m.img_size * m.img_size);
}

}  // namespace

double LatentCoder::analysis_flops_per_pixel() const {
  return conv_ ? ConvAnalysisFlopsPerPixel(conv_->options()) : MaeCodecFlopsPerPixel(codec_->options(), true);
}

double LatentCoder::synthesis_flops_per_pixel() const {
  return conv_ ? ConvSynthesisFlopsPerPixel(conv_->options()) : MaeCodecFlopsPerPixel(codec_->options(), false);
}

}  // namespace mt
