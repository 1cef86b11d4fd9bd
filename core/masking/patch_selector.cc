#include "core/masking/patch_selector.h"

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

at::Tensor KeptIndices(const at::Tensor& keep) {
  TORCH_CHECK(keep.dim() == 1, "KeptIndices expects keep (L,)");
  return at::nonzero(keep.to(at::kBool)).reshape({-1});
}

}  // namespace mt
