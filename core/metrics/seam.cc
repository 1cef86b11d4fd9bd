#include "core/metrics/seam.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>

namespace mt {
namespace {

// |x[i+1] - x[i]| along `dim` (2 = across columns, 1 = across rows), split into pairs whose
// second pixel starts a tile (border) and the rest; adds sums and counts.
void Accumulate(const at::Tensor& image, int64_t dim, int64_t tile, double* border, double* border_n, double* inner,
                double* inner_n) {
  const int64_t n = image.size(dim);
  if (n < 2) return;
  at::Tensor diff = (image.narrow(dim, 1, n - 1) - image.narrow(dim, 0, n - 1)).abs().to(at::kDouble);
  // Pair j joins pixels j and j+1: a border pair when (j + 1) is a multiple of the tile.
  at::Tensor is_border = (at::arange(1, n, at::kLong).remainder(tile) == 0).to(at::kDouble);
  std::vector<int64_t> shape(3, 1);
  shape[static_cast<size_t>(dim)] = n - 1;
  is_border = is_border.view(shape);
  const double per_line = static_cast<double>(diff.numel()) / static_cast<double>(n - 1);
  const double border_pairs = is_border.sum().item<double>();
  const double b = (diff * is_border).sum().item<double>(), all = diff.sum().item<double>();
  *border += b;
  *inner += all - b;
  *border_n += border_pairs * per_line;
  *inner_n += (static_cast<double>(n - 1) - border_pairs) * per_line;
}

}  // namespace

double SeamRatio(const at::Tensor& image, int64_t tile) {
  TORCH_CHECK(image.dim() == 3 && tile >= 1, "SeamRatio expects (C, H, W) and tile >= 1");
  double border = 0, border_n = 0, inner = 0, inner_n = 0;
  Accumulate(image, 2, tile, &border, &border_n, &inner, &inner_n);
  Accumulate(image, 1, tile, &border, &border_n, &inner, &inner_n);
  if (border_n == 0 || inner_n == 0) return std::numeric_limits<double>::quiet_NaN();
  const double b = border / border_n, i = inner / inner_n;
  if (i == 0) return b == 0 ? 1.0 : std::numeric_limits<double>::infinity();
  return b / i;
}

}  // namespace mt
