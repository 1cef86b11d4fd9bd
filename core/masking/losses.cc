#include "core/masking/losses.h"

#include <ATen/ATen.h>

#include "core/model/patchify.h"

namespace mt {

at::Tensor CompositeImage(const at::Tensor& images, const at::Tensor& recon,
                          const at::Tensor& mask, int64_t patch_size) {
  TORCH_CHECK(images.sizes() == recon.sizes(), "images and recon differ in shape");
  const int64_t gh = images.size(2) / patch_size, gw = images.size(3) / patch_size;
  at::Tensor m = UpsamplePatchMask(mask.to(images.dtype()), patch_size, gh, gw);
  return at::clamp(m * images + (1 - m) * recon, 0.0, 1.0);
}

at::Tensor CompositeMse(const at::Tensor& images, const at::Tensor& recon,
                        const at::Tensor& mask, int64_t patch_size) {
  return (images - CompositeImage(images, recon, mask, patch_size)).pow(2).mean();
}

at::Tensor SparsityLoss(const at::Tensor& m) { return m.mean().pow(2); }

at::Tensor BinaryEntropyLoss(const at::Tensor& m, double eps) {
  return (-m * at::log(m + eps) - (1 - m) * at::log(1 - m + eps)).mean();
}

at::Tensor AdjacencyLoss(const at::Tensor& p, int64_t grid_h, int64_t grid_w) {
  TORCH_CHECK(p.dim() == 2 && p.size(1) == grid_h * grid_w, "AdjacencyLoss: probs must be (B, gh*gw)");
  const at::Tensor g = p.view({p.size(0), grid_h, grid_w});
  const at::Tensor top = g.narrow(1, 0, grid_h - 1), bottom = g.narrow(1, 1, grid_h - 1);
  at::Tensor sum = (g.narrow(2, 0, grid_w - 1) * g.narrow(2, 1, grid_w - 1)).sum({1, 2}) +  // horizontal
                   (top * bottom).sum({1, 2}) +                                             // vertical
                   (top.narrow(2, 0, grid_w - 1) * bottom.narrow(2, 1, grid_w - 1)).sum({1, 2}) +  // ↘
                   (top.narrow(2, 1, grid_w - 1) * bottom.narrow(2, 0, grid_w - 1)).sum({1, 2});   // ↙
  return (sum / (p.sum(1).pow(2) + 1e-6)).mean();
}

MaskerLossTerms MaskerLoss(const at::Tensor& images, const at::Tensor& recon,
                           const at::Tensor& sample_mask, const at::Tensor& probs,
                           int64_t patch_size, const MaskerLossOptions& o) {
  MaskerLossTerms t;
  t.composite_mse = CompositeMse(images, recon, sample_mask, patch_size);
  t.sparsity = SparsityLoss(probs);
  t.entropy = BinaryEntropyLoss(probs, o.entropy_eps);
  t.adjacency = AdjacencyLoss(probs, images.size(2) / patch_size, images.size(3) / patch_size);
  t.total = t.composite_mse + o.lambda_mean * t.sparsity + o.lambda_entropy * t.entropy +
            o.lambda_adjacent * t.adjacency;
  return t;
}

}  // namespace mt
