#include "core/masking/patch_selector.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace mt {

absl::StatusOr<PatchSelector> PatchSelector::Create(const SelectionPolicy& p) {
  using Mode = SelectionPolicy::Mode;
  switch (p.mode) {
    case Mode::kThreshold:
      if (!(p.threshold >= 0.0 && p.threshold < 1.0))
        return absl::InvalidArgumentError(absl::StrCat("threshold must be in [0, 1), got ", p.threshold));
      break;
    case Mode::kTopK:
      if (!(p.keep_ratio > 0.0 && p.keep_ratio <= 1.0))
        return absl::InvalidArgumentError(absl::StrCat("keep_ratio must be in (0, 1], got ", p.keep_ratio));
      break;
    case Mode::kByteBudget:
      if (p.bytes_per_patch <= 0)
        return absl::InvalidArgumentError(absl::StrCat("bytes_per_patch must be > 0, got ", p.bytes_per_patch));
      if (p.overhead_bytes < 0)
        return absl::InvalidArgumentError(absl::StrCat("overhead_bytes must be >= 0, got ", p.overhead_bytes));
      if (p.max_bytes < p.overhead_bytes)
        return absl::InvalidArgumentError(absl::StrCat("max_bytes ", p.max_bytes,
                                                       " is below the fixed per-image overhead of ",
                                                       p.overhead_bytes, " bytes"));
      break;
  }
  return PatchSelector(p);
}

int64_t PatchSelector::FixedKeepCount(int64_t num_patches) const {
  switch (policy_.mode) {
    case SelectionPolicy::Mode::kThreshold:
      return -1;
    case SelectionPolicy::Mode::kTopK: {
      const auto k = static_cast<int64_t>(std::llround(policy_.keep_ratio * num_patches));
      return std::clamp<int64_t>(k, 1, num_patches);
    }
    case SelectionPolicy::Mode::kByteBudget:
      return std::min<int64_t>(num_patches,
                               (policy_.max_bytes - policy_.overhead_bytes) / policy_.bytes_per_patch);
  }
  return -1;
}

at::Tensor PatchSelector::Select(const at::Tensor& probs) const {
  TORCH_CHECK(probs.dim() == 2, "Select expects probs (B, L)");
  if (policy_.mode == SelectionPolicy::Mode::kThreshold) return probs > policy_.threshold;
  const int64_t k = FixedKeepCount(probs.size(1));
  at::Tensor keep = at::zeros(probs.sizes(), probs.options().dtype(at::kBool));
  if (k == 0) return keep;
  // Stable descending sort: equal probabilities keep the lower patch index first.
  at::Tensor order = std::get<1>(at::sort(probs, /*stable=*/true, /*dim=*/1, /*descending=*/true));
  return keep.scatter(1, order.narrow(1, 0, k), true);
}

at::Tensor SpreadTopK(const at::Tensor& probs, int64_t grid, int64_t k, int64_t radius) {
  const int64_t l = grid * grid;
  TORCH_CHECK(probs.numel() == l, "SpreadTopK: ", probs.numel(), " probabilities for a ", grid, "x", grid, " grid");
  const at::Tensor p = probs.detach().to(at::kCPU).to(at::kFloat).contiguous();
  const float* s = p.data_ptr<float>();
  std::vector<int64_t> order(static_cast<size_t>(l));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return s[a] > s[b]; });
  std::vector<bool> keep(static_cast<size_t>(l), false), blocked(static_cast<size_t>(l), false);
  int64_t taken = 0;
  for (int pass = 0; pass < 2 && taken < k; ++pass) {
    for (int64_t i : order) {
      if (taken >= k) break;
      if (keep[static_cast<size_t>(i)] || (pass == 0 && blocked[static_cast<size_t>(i)])) continue;
      keep[static_cast<size_t>(i)] = true;
      ++taken;
      const int64_t r = i / grid, c = i % grid;
      for (int64_t y = std::max<int64_t>(0, r - radius); y <= std::min(grid - 1, r + radius); ++y)
        for (int64_t x = std::max<int64_t>(0, c - radius); x <= std::min(grid - 1, c + radius); ++x)
          blocked[static_cast<size_t>(y * grid + x)] = true;
    }
  }
  at::Tensor out = at::zeros({l}, at::kBool);
  for (int64_t i = 0; i < l; ++i)
    if (keep[static_cast<size_t>(i)]) out[i] = true;
  return out;
}

at::Tensor KeptIndices(const at::Tensor& keep) {
  TORCH_CHECK(keep.dim() == 1, "KeptIndices expects keep (L,)");
  return at::nonzero(keep.to(at::kBool)).reshape({-1});
}

}  // namespace mt
