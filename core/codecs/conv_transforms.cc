#include "core/codecs/conv_transforms.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <vector>

#include "core/model/flops.h"
#include "core/ops/chunked.h"

namespace mt {
namespace {

// Tiles per forward: a 512² tile's first activations are 16 MB each, and slices of a few tiles
// keep the working set in memory bounds while still batching.
constexpr int64_t kConvChunkTiles = 4;

// The transforms' receptive fields, in latent positions (16 px), rounded up. An analysis output
// at position p depends on the input pixels within 30 of 16p (four 5×5 stride-2 convs, padding
// 2: 2 + 4 + 8 + 16); a synthesis output on the latents within 2 positions (3×3 convs at 1/16,
// 1/8, 1/4 and 1/2 resolution: 1 + ½ + ¼ + ⅛, plus the rounding of each upsampling). So a region
// this much larger than the content gives the same values on the content as the whole tile.
constexpr int64_t kAnalysisMargin = 2;
constexpr int64_t kSynthesisMargin = 3;

}  // namespace

ConvTransforms::ConvTransforms(ConvCodec codec, ComputePrecision compute)
    : codec_(std::move(codec)), compute_(compute), tile_size_(codec_->options().tile_size),
      channels_(codec_->options().latent_channels) {}

int64_t ConvTransforms::ComputedPositions(int64_t content, int64_t margin) const {
  const int64_t g = grid();
  if (content <= 0) return g;
  return std::min(g, content + margin);
}

double ConvTransforms::AnalyzedPixels(int64_t height, int64_t width) const {
  return TiledRegionPixels(height, width, kAnalysisMargin);
}

double ConvTransforms::TiledRegionPixels(int64_t height, int64_t width, int64_t margin) const {
  const int64_t t = tile_size_, p = kConvCodecDownsample;
  // Along each axis the tiles are full but the last, which holds the rest of the image.
  auto axis = [&](int64_t extent) {
    const int64_t full = (extent - 1) / t, rest = extent - full * t;
    return static_cast<double>(full * t + ComputedPositions((rest + p - 1) / p, margin) * p);
  };
  return axis(height) * axis(width);
}

double ConvTransforms::SynthesizedPixels(int64_t height, int64_t width) const {
  return TiledRegionPixels(height, width, kSynthesisMargin);
}

at::Tensor ConvTransforms::Analyze(const at::Tensor& tiles, int64_t content_rows, int64_t content_cols) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  const int64_t g = grid(), p = kConvCodecDownsample;
  const int64_t rows = ComputedPositions((content_rows + p - 1) / p, kAnalysisMargin);
  const int64_t cols = ComputedPositions((content_cols + p - 1) / p, kAnalysisMargin);
  const at::Tensor region = tiles.narrow(2, 0, rows * p).narrow(3, 0, cols * p);
  at::Tensor y = ForwardInChunks(kConvChunkTiles, [&](const at::Tensor& x) { return codec_->Analyze(x).to(at::kFloat); },
                                 region);  // (N, C, rows, cols)
  if (rows < g || cols < g) y = at::constant_pad_nd(y, {0, g - cols, 0, g - rows});
  return y.permute({0, 2, 3, 1}).reshape({y.size(0), g * g, channels_}).contiguous();
}

at::Tensor ConvTransforms::Reconstruct(const at::Tensor& latents, const at::Tensor& keep) const {
  torch::NoGradGuard no_grad;
  ComputePrecisionScope precision(compute_);
  const int64_t g = grid(), p = kConvCodecDownsample;
  const at::Tensor cells = keep.view({-1, g, g});
  const at::Tensor filled = ReplicateIntoUnsent(latents.view({latents.size(0), g, g, channels_}), cells);
  // Each tile's sent rectangle: an image's last row and column of tiles are partly padding.
  const at::Tensor rows = cells.any(2).sum(1).to(at::kLong).contiguous();
  const at::Tensor cols = cells.any(1).sum(1).to(at::kLong).contiguous();
  const int64_t* row_count = rows.data_ptr<int64_t>();
  const int64_t* col_count = cols.data_ptr<int64_t>();
  std::vector<TileRegion> regions;
  for (int64_t t = 0; t < filled.size(0); ++t)
    regions.emplace_back(ComputedPositions(row_count[t], kSynthesisMargin),
                         ComputedPositions(col_count[t], kSynthesisMargin));
  return ForwardByRegion(filled, regions, [&](const at::Tensor& group, TileRegion region) {
    const int64_t r = region.first, c = region.second;
    at::Tensor out = ForwardInChunks(kConvChunkTiles, [&](const at::Tensor& y) {
      return codec_->Synthesize(y.permute({0, 3, 1, 2})).to(at::kFloat).clamp(0.0, 1.0);
    }, group.narrow(1, 0, r).narrow(2, 0, c));
    return (r < g || c < g) ? at::constant_pad_nd(out, {0, (g - c) * p, 0, (g - r) * p}) : out;
  });
}

double ConvTransforms::analysis_flops_per_pixel() const { return ConvAnalysisFlopsPerPixel(codec_->options()); }

double ConvTransforms::synthesis_flops_per_pixel() const { return ConvSynthesisFlopsPerPixel(codec_->options()); }

std::vector<std::vector<double>> ConvTransforms::LevelSteps() const {
  const at::Tensor steps = codec_->Steps().detach().to(at::kDouble).contiguous();  // (S, C)
  std::vector<std::vector<double>> out;
  for (int64_t s = 0; s < steps.size(0); ++s) {
    const double* row = steps[s].data_ptr<double>();
    out.emplace_back(row, row + channels_);
  }
  return out;
}

double MeanStep(const std::vector<double>& channel_steps) {
  double sum = 0;
  for (double d : channel_steps) sum += d;
  return sum / static_cast<double>(channel_steps.size());
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

}  // namespace mt
