// Fixed 2-D sin-cos position embeddings, as in the official MAE (util/pos_embed.py).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mt {

// 1-D embedding of `positions` (N,) → (N, dim): [sin(pos·ω_d), cos(pos·ω_d)],
// ω_d = 1/10000^(2d/dim), d = 0…dim/2−1. `dim` must be even.
at::Tensor SinCos1d(int64_t dim, const at::Tensor& positions);

// Grid embedding (grid_h·grid_w, dim), tokens row-major. The first dim/2
// columns embed the column (w) index, the last dim/2 the row (h) index.
// With `cls_token`, a zero row is prepended. `dim` must be divisible by 4.
at::Tensor SinCos2d(int64_t dim, int64_t grid_h, int64_t grid_w, bool cls_token);

}  // namespace mt
