// Image ↔ patch-sequence conversion in the official MAE order.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mt {

// (B, C, H, W) → (B, L, p·p·C), L = (H/p)·(W/p) row-major; inside a patch the
// vector is ordered (p, q, c): row within patch, column within patch, channel.
at::Tensor Patchify(const at::Tensor& images, int64_t patch_size);

// Inverse of Patchify: (B, L, p·p·C) → (B, C, grid_h·p, grid_w·p).
at::Tensor Unpatchify(const at::Tensor& patches, int64_t patch_size, int64_t grid_h,
                      int64_t grid_w, int64_t channels = 3);

// Per-patch values (B, L) → (B, 1, grid_h·p, grid_w·p), nearest-neighbour.
at::Tensor UpsamplePatchMask(const at::Tensor& mask, int64_t patch_size, int64_t grid_h,
                             int64_t grid_w);

}  // namespace mt
