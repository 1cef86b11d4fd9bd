#include "core/masking/baseline_masks.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace mt {

at::Tensor RandomKeep(int64_t num_patches, int64_t k, c10::optional<at::Generator> generator) {
  TORCH_CHECK(k >= 0 && k <= num_patches, "RandomKeep: k out of range");
  at::Tensor keep = at::zeros({num_patches}, at::kBool);
  if (k == 0) return keep;
  at::Tensor order = at::randperm(num_patches, generator, at::TensorOptions().dtype(at::kLong));
  return keep.index_fill(0, order.narrow(0, 0, k), true);
}

at::Tensor UniformGridKeep(int64_t grid, int64_t k) {
  const int64_t l = grid * grid;
  TORCH_CHECK(k >= 0 && k <= l, "UniformGridKeep: k out of range");
  at::Tensor keep = at::zeros({l}, at::kBool);
  auto* data = keep.data_ptr<bool>();
  const auto n = std::min<int64_t>(grid, std::max<int64_t>(0, std::llround(std::sqrt(static_cast<double>(k)))));
  int64_t kept = 0;
  for (int64_t r = 0; r < n && kept < k; ++r)
    for (int64_t c = 0; c < n && kept < k; ++c) {
      const auto y = static_cast<int64_t>((r + 0.5) * grid / n), x = static_cast<int64_t>((c + 0.5) * grid / n);
      if (!data[y * grid + x]) {
        data[y * grid + x] = true;
        ++kept;
      }
    }
  // Any remainder: evenly spaced raster positions, moving to the next free patch if taken.
  const int64_t remaining = k - kept;
  for (int64_t j = 0; j < remaining; ++j) {
    int64_t idx = ((2 * j + 1) * l) / (2 * remaining);
    while (data[idx]) idx = (idx + 1) % l;
    data[idx] = true;
  }
  return keep;
}

}  // namespace mt
