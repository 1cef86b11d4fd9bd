// Non-learned keep masks at a given patch count, the baselines the masker must beat.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mt {

// (L,) bool with exactly k uniformly random patches kept.
at::Tensor RandomKeep(int64_t num_patches, int64_t k, c10::optional<at::Generator> generator = c10::nullopt);

// (g·g,) bool with exactly k patches on a regular lattice: n = round(√k) rows × n columns at
// cell centres; if n² < k the rest are the evenly spaced (raster order) patches not yet kept,
// if n² > k the lattice is cut to its first k points in raster order.
at::Tensor UniformGridKeep(int64_t grid, int64_t k);

}  // namespace mt
