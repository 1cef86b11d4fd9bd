#include "core/model/pos_embed.h"

#include <ATen/ATen.h>

namespace mt {

at::Tensor SinCos1d(int64_t dim, const at::Tensor& positions) {
  TORCH_CHECK(dim % 2 == 0, "SinCos1d: dim must be even, got ", dim);
  auto opts = at::TensorOptions().dtype(at::kDouble);
  // Compute in float64 like the reference (numpy), then cast.
  at::Tensor omega = at::arange(dim / 2, opts) / (dim / 2.0);
  omega = 1.0 / at::pow(10000.0, omega);
  at::Tensor out = at::outer(positions.to(at::kDouble).reshape({-1}), omega);
  return at::cat({at::sin(out), at::cos(out)}, 1).to(at::kFloat);
}

at::Tensor SinCos2d(int64_t dim, int64_t grid_h, int64_t grid_w, bool cls_token) {
  TORCH_CHECK(dim % 4 == 0, "SinCos2d: dim must be divisible by 4, got ", dim);
  auto opts = at::TensorOptions().dtype(at::kDouble);
  // Token t = r·grid_w + c (row-major); the column index goes first.
  at::Tensor cols = at::arange(grid_w, opts).repeat({grid_h});
  at::Tensor rows = at::arange(grid_h, opts).repeat_interleave(grid_w);
  at::Tensor emb = at::cat({SinCos1d(dim / 2, cols), SinCos1d(dim / 2, rows)}, 1);
  if (cls_token) emb = at::cat({at::zeros({1, dim}, emb.options()), emb}, 0);
  return emb;
}

}  // namespace mt
