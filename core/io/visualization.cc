#include "core/io/visualization.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "core/model/patchify.h"

namespace mt {

at::Tensor MaskPicture(const at::Tensor& keep, int64_t patch_size, int64_t grid) {
  at::Tensor m = UpsamplePatchMask(keep.to(at::kFloat).reshape({1, -1}), patch_size, grid, grid);
  return m[0].expand({3, -1, -1}).contiguous();
}

at::Tensor MaskOverlay(const at::Tensor& image, const at::Tensor& keep, int64_t patch_size) {
  const int64_t grid = image.size(1) / patch_size;
  at::Tensor m = MaskPicture(keep, patch_size, grid);
  at::Tensor tint = at::zeros_like(image);
  tint[0].fill_(0.35);
  at::Tensor dimmed = 0.3 * image + tint;
  return (m * image + (1 - m) * dimmed).clamp(0, 1);
}

at::Tensor PanelRow(const std::vector<at::Tensor>& panels, int64_t scale, int64_t gap) {
  TORCH_CHECK(!panels.empty(), "PanelRow needs at least one panel");
  std::vector<at::Tensor> parts;
  for (size_t i = 0; i < panels.size(); ++i) {
    at::Tensor big = panels[i].to(at::kFloat).repeat_interleave(scale, 1).repeat_interleave(scale, 2);
    if (i > 0) parts.push_back(at::ones({3, big.size(1), gap}));
    parts.push_back(big);
  }
  return at::cat(parts, 2);
}

at::Tensor StackRows(const std::vector<at::Tensor>& rows, int64_t gap) {
  TORCH_CHECK(!rows.empty(), "StackRows needs at least one row");
  int64_t width = 0;
  for (const at::Tensor& r : rows) width = std::max(width, r.size(2));
  std::vector<at::Tensor> parts;
  for (const at::Tensor& r : rows) {
    if (!parts.empty()) parts.push_back(at::ones({3, gap, width}));
    parts.push_back(at::constant_pad_nd(r.to(at::kFloat), {0, width - r.size(2)}, 1.0));
  }
  return at::cat(parts, 1);
}

}  // namespace mt
