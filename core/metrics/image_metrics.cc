#include "core/metrics/image_metrics.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

namespace mt {
namespace {

// Both metrics work on bands of rows: on a 12 MP photo one whole-image float64 tensor
// is 288 MB, and SSIM's ~20 temporaries cost seconds of fresh-page faults (measured: 55 % of the
// sender's time after delivery was the kernel zeroing pages) and GBs of RSS. A band is a few MB.
constexpr int64_t kBandRows = 64;

}  // namespace

at::Tensor Psnr(const at::Tensor& a, const at::Tensor& b) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.dim() == 4, "Psnr expects equal (B, C, H, W)");
  const int64_t h = a.size(2);
  at::Tensor sse = at::zeros({a.size(0)}, a.options().dtype(at::kDouble));
  for (int64_t r = 0; r < h; r += kBandRows) {
    const int64_t n = std::min(kBandRows, h - r);
    sse += (a.narrow(2, r, n).to(at::kDouble) - b.narrow(2, r, n).to(at::kDouble)).pow(2).sum({1, 2, 3});
  }
  at::Tensor mse = sse / static_cast<double>(a.numel() / std::max<int64_t>(1, a.size(0)));
  // Identical images would give +inf and poison every mean over a batch: cap at 100 dB.
  return -10.0 * at::log10(mse.clamp_min(kMinPsnrMse));
}

at::Tensor Ssim(const at::Tensor& a_in, const at::Tensor& b_in) {
  TORCH_CHECK(a_in.sizes() == b_in.sizes() && a_in.dim() == 4, "Ssim expects equal (B, C, H, W)");
  TORCH_CHECK(a_in.size(2) >= kSsimWindow && a_in.size(3) >= kSsimWindow,
              "Ssim needs images of at least 11x11, got ", a_in.sizes());
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
  // Output rows [r, r + n) of the valid-mode map need input rows [r, r + n + window - 1).
  const int64_t out_h = a_in.size(2) - kSsimWindow + 1, out_w = a_in.size(3) - kSsimWindow + 1;
  // float64 for float64 inputs (the NumPy tests); float32 otherwise: pixels are 8-bit, the band
  // sums are float64, and it halves the sender's quality time on big photos (docs/RESULTS.md).
  const at::ScalarType compute = a_in.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  at::Tensor map_sum = at::zeros({a_in.size(0)}, a_in.options().dtype(at::kDouble));
  for (int64_t r = 0; r < out_h; r += kBandRows) {
    const int64_t n = std::min(kBandRows, out_h - r);
    at::Tensor a = a_in.narrow(2, r, n + kSsimWindow - 1).to(compute);
    at::Tensor b = b_in.narrow(2, r, n + kSsimWindow - 1).to(compute);
    at::Tensor mu_a = filter(a), mu_b = filter(b);
    at::Tensor var_a = filter(a * a) - mu_a * mu_a;
    at::Tensor var_b = filter(b * b) - mu_b * mu_b;
    at::Tensor cov = filter(a * b) - mu_a * mu_b;
    at::Tensor map = ((2 * mu_a * mu_b + kC1) * (2 * cov + kC2)) /
                     ((mu_a * mu_a + mu_b * mu_b + kC1) * (var_a + var_b + kC2));
    map_sum += map.sum({1, 2, 3}, /*keepdim=*/false, at::kDouble);
  }
  return map_sum / static_cast<double>(a_in.size(1) * out_h * out_w);
}

}  // namespace mt
