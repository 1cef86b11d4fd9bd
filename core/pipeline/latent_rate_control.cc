#include "core/pipeline/latent_rate_control.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "core/metrics/image_metrics.h"

namespace mt {
namespace {

// Rounds a budget can take: each one re-encodes with fewer patches if the real streams
// overshoot the estimate (the keep masks' cost moves with the selection).
constexpr int kBudgetRounds = 6;

// The first `count` patches of `order` (flat indices into N·L) as a keep mask.
at::Tensor FirstPatches(const at::Tensor& order, int64_t count, int64_t n, int64_t l) {
  at::Tensor keep = at::zeros({n * l}, at::kBool);
  keep.index_fill_(0, order.narrow(0, 0, count), true);
  return keep.view({n, l});
}

}  // namespace

LatentTiles EncodeSelectedLatents(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                              const at::Tensor& probs, int64_t level, int64_t max_bytes) {
  LatentTiles out;
  if (max_bytes <= 0) {
    out.keep = keep.to(at::kBool);
    out.stream = coder.EncodeTiles(latents, out.keep, level, &out.estimated_bits);
    return out;
  }
  const int64_t n = latents.size(0), l = latents.size(1);
  // Stable sort by descending score: ties keep the lower index first.
  at::Tensor order = std::get<1>(probs.reshape({-1}).to(at::kFloat).sort(/*stable=*/true, 0, /*descending=*/true));
  at::Tensor cost = coder.PositionBits(latents, level).reshape({-1}).index_select(0, order);  // bits, in keep order
  at::Tensor cumulative = cost.cumsum(0);
  // The stream's 4-byte final state, and about a bit per patch of keep mask (the first estimate).
  double budget_bits = 8.0 * static_cast<double>(max_bytes) - 32.0 - static_cast<double>(n * l);
  int64_t count = n * l;
  for (int round = 0; round < kBudgetRounds; ++round) {
    count = std::max<int64_t>(1, (cumulative <= budget_bits).sum().item<int64_t>());
    out = LatentTiles{FirstPatches(order, count, n, l), {}, 0};
    out.stream = coder.EncodeTiles(latents, out.keep, level, &out.estimated_bits);
    const auto bytes = static_cast<int64_t>(out.stream.size());
    if (bytes <= max_bytes || count == 1) break;
    budget_bits -= 8.0 * static_cast<double>(bytes - max_bytes) + 8.0;  // overshoot: spend less next round
  }
  return out;
}

LevelChoice ChooseLevelForPsnr(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                               const at::Tensor& image, const TileGrid& grid, double target_psnr) {
  const at::Tensor mask = keep.to(at::kFloat).unsqueeze(-1);
  const at::Tensor reference = image.unsqueeze(0);
  LevelChoice choice;
  auto psnr_at = [&](int64_t level) {
    ++choice.decodes;
    at::Tensor q = coder.DecodedLatents(latents, level) * mask;
    at::Tensor stored = StitchTiles(coder.Reconstruct(q, keep), grid).mul(255.0).round().div(255.0);
    return Psnr(reference, stored.unsqueeze(0))[0].item<double>();
  };
  // Bisection: levels below `lo` are known to reach the target, levels above `hi` to miss it.
  int64_t lo = 0, hi = coder.num_levels() - 1, best = -1;
  double best_psnr = 0;
  while (lo <= hi) {
    const int64_t mid = (lo + hi) / 2;
    const double p = psnr_at(mid);
    if (p >= target_psnr) {
      best = mid;
      best_psnr = p;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  choice.level = best < 0 ? 0 : best;
  choice.psnr = best < 0 ? psnr_at(0) : best_psnr;
  return choice;
}

at::Tensor ImageCells(const TileGrid& grid, int64_t patch) {
  const int64_t g = grid.tile / patch;
  at::Tensor keep = at::zeros({grid.count(), g * g}, at::kBool);
  bool* k = keep.data_ptr<bool>();
  for (int64_t r = 0; r < grid.rows; ++r)
    for (int64_t c = 0; c < grid.cols; ++c)
      for (int64_t i = 0; i < g; ++i)
        for (int64_t j = 0; j < g; ++j)
          k[(r * grid.cols + c) * g * g + i * g + j] = r * grid.tile + i * patch < grid.height && c * grid.tile + j * patch < grid.width;
  return keep;
}

LatentTiles EncodeWithinBytes(const TileCodec& coder, const at::Tensor& latents, const at::Tensor& keep,
                              int64_t max_bytes, int64_t* level) {
  int64_t lo = 0, hi = coder.num_levels() - 1, best = -1;
  LatentTiles fit;
  while (lo <= hi) {
    const int64_t mid = (lo + hi) / 2;
    LatentTiles t = EncodeSelectedLatents(coder, latents, keep, at::Tensor(), mid, 0);
    if (static_cast<int64_t>(t.stream.size()) <= max_bytes) {
      best = mid;
      fit = std::move(t);
      hi = mid - 1;
    } else {
      lo = mid + 1;
    }
  }
  if (best >= 0) {
    *level = best;
    return fit;
  }
  *level = coder.num_levels() - 1;
  const at::Tensor bits = coder.PositionBits(latents, *level).to(at::kFloat);
  return EncodeSelectedLatents(coder, latents, keep, bits * keep.to(at::kFloat), *level, max_bytes);
}

}  // namespace mt
