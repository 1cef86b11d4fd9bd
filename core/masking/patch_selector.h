// Inference-time choice of which patches to keep, from masker probabilities.
// Thread-safety: immutable after Create(); Select() is safe to call concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace mt {

// Share of patches kept when nothing else is asked for (the sender's --keep_ratio, mt-client local's
// top-k, SelectionPolicy below). Defined once so the daemons, the client and the benchmarks agree.
inline constexpr double kDefaultKeepRatio = 0.16;

struct SelectionPolicy {
  enum class Mode { kThreshold, kTopK, kByteBudget };
  Mode mode = Mode::kThreshold;
  double threshold = 0.5;      // kThreshold: keep where p > threshold, threshold in [0, 1)
  double keep_ratio = kDefaultKeepRatio;  // kTopK: keep round(ratio·L) patches (at least 1), ratio in (0, 1]
  int64_t max_bytes = 0;       // kByteBudget: total bytes allowed on the wire
  int64_t bytes_per_patch = 0; // kByteBudget: payload bytes one kept patch costs (> 0)
  int64_t overhead_bytes = 0;  // kByteBudget: fixed bytes per image (header, bitmap)
};

class PatchSelector {
 public:
  // Validates the policy; INVALID_ARGUMENT names the offending field.
  static absl::StatusOr<PatchSelector> Create(const SelectionPolicy& policy);

  // probs (B, L) in [0,1] → keep (B, L) bool. Top-k and budget keep the highest
  // probabilities (ties broken by lower index).
  at::Tensor Select(const at::Tensor& probs) const;

  // Patches kept per image for L patches under kTopK / kByteBudget (−1 for kThreshold).
  int64_t FixedKeepCount(int64_t num_patches) const;

  const SelectionPolicy& policy() const { return policy_; }

 private:
  explicit PatchSelector(const SelectionPolicy& policy) : policy_(policy) {}
  SelectionPolicy policy_;
};

// probs (L,) on a g×g grid → (L,) bool with exactly min(k, L) kept: greedy by probability (ties
// by lower index), skipping patches within Chebyshev distance `radius` of one already kept until
// no such patch is left, then the best of the rest. radius 0 is plain top-k. Spreading the kept
// patches is what makes a uniform grid hard to beat at small k.
at::Tensor SpreadTopK(const at::Tensor& probs, int64_t grid, int64_t k, int64_t radius);

// keep (L,) bool → ascending indices (K,) int64 of the kept patches.
at::Tensor KeptIndices(const at::Tensor& keep);

}  // namespace mt
