#include "core/metrics/image_metrics.h"

#include <ATen/ATen.h>

#include <cmath>

namespace mt {

at::Tensor Psnr(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.dim() == 4, "Psnr expects equal (B, C, H, W)");
  at::Tensor mse = (a.to(at::kDouble) - b.to(at::kDouble)).pow(2).mean({1, 2, 3});
  // Identical images would give +inf and poison every mean over a batch: cap at 100 dB.
  return -10.0 * at::log10(mse.clamp_min(kMinPsnrMse));
}

at::Tensor Ssim(const at::Tensor& a_in, const at::Tensor& b_in) {
  TORCH_CHECK(a_in.sizes() == b_in.sizes() && a_in.dim() == 4, "Ssim expects equal (B, C, H, W)");
  TORCH_CHECK(a_in.size(2) >= kSsimWindow && a_in.size(3) >= kSsimWindow,
              "Ssim needs images of at least 11x11, got ", a_in.sizes());
  at::Tensor a = a_in.to(at::kDouble), b = b_in.to(at::kDouble);
  const int64_t c = a.size(1);
  at::Tensor x = at::arange(kSsimWindow, a.options()) - (kSsimWindow - 1) / 2.0;
  at::Tensor g = at::exp(-(x * x) / (2 * kSsimSigma * kSsimSigma));
  g = g / g.sum();
  at::Tensor window = at::outer(g, g).expand({c, 1, kSsimWindow, kSsimWindow}).contiguous();
  auto filter = [&](const at::Tensor& t) { const int64_t one = 1, zero = 0;
    return at::conv2d(t, window, at::Tensor(), at::IntArrayRef(one), at::IntArrayRef(zero),
                      at::IntArrayRef(one), c); };

  constexpr double kC1 = 0.01 * 0.01, kC2 = 0.03 * 0.03;  // (K·L)² with L = 1
  at::Tensor mu_a = filter(a), mu_b = filter(b);
  at::Tensor var_a = filter(a * a) - mu_a * mu_a;
  at::Tensor var_b = filter(b * b) - mu_b * mu_b;
  at::Tensor cov = filter(a * b) - mu_a * mu_b;
  at::Tensor map = ((2 * mu_a * mu_b + kC1) * (2 * cov + kC2)) /
                   ((mu_a * mu_a + mu_b * mu_b + kC1) * (var_a + var_b + kC2));
  return map.mean({1, 2, 3});
}

}  // namespace mt
