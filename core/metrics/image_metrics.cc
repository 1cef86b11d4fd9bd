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
  double g[kSsimWindow], total = 0;
  for (int64_t k = 0; k < kSsimWindow; ++k) {
    const double x = static_cast<double>(k) - (kSsimWindow - 1) / 2.0;
    g[k] = std::exp(-(x * x) / (2 * kSsimSigma * kSsimSigma));
    total += g[k];
  }
  for (double& v : g) v /= total;
  // The 11×11 Gaussian is separable: filter rows, then columns, as sums of shifted views ("valid"
  // mode, like conv2d without padding). A depthwise double conv2d im2cols 121 taps per pixel and
  // took seconds on a 512×512 image; this takes milliseconds.
  auto filter = [&](const at::Tensor& t) {
    const int64_t oh = t.size(2) - kSsimWindow + 1, ow = t.size(3) - kSsimWindow + 1;
    at::Tensor rows = t.narrow(2, 0, oh) * g[0];
    for (int64_t k = 1; k < kSsimWindow; ++k) rows.add_(t.narrow(2, k, oh), g[k]);
    at::Tensor out = rows.narrow(3, 0, ow) * g[0];
    for (int64_t k = 1; k < kSsimWindow; ++k) out.add_(rows.narrow(3, k, ow), g[k]);
    return out;
  };

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
