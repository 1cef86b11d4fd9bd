// Generalized divisive normalization (Ballé et al. 2016), the nonlinearity of learned transform
// codecs: y_c = x_c / sqrt(β_c + Σ_j γ_cj x_j²) (inverse: multiplied instead of divided).
// β and γ are stored as square roots (β = β'² + β_min, γ = γ'²) so they stay non-negative under
// any gradient step; γ' starts slightly above zero off the diagonal so those entries can grow.
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace mt {

struct GdnOptions {
  int64_t channels = 64;  // C
  bool inverse = false;   // IGDN (synthesis side): multiply by the norm instead of dividing
  double beta_min = 1e-6; // floor on β (keeps the denominator positive)
  double gamma_init = 0.1;  // initial diagonal of γ
};

class GdnImpl : public torch::nn::Module {
 public:
  explicit GdnImpl(const GdnOptions& options = {});
  // x (B, C, H, W) → (B, C, H, W). Without autograd a contiguous x takes a faster path that
  // agrees with the differentiable one to float rounding.
  at::Tensor forward(const at::Tensor& x);
  const GdnOptions& options() const { return options_; }

  at::Tensor beta_root, gamma_root;  // (C), (C, C)

 private:
  // forward without autograd on contiguous x; β (C) and γ (C, C) already in x's dtype.
  at::Tensor ContiguousInference(const at::Tensor& x, const at::Tensor& beta, const at::Tensor& gamma) const;

  GdnOptions options_;
};
TORCH_MODULE(Gdn);

}  // namespace mt
