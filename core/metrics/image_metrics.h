// Image quality metrics on RGB tensors in [0, 1] (data range 1).
#pragma once

#include <ATen/core/Tensor.h>

namespace mt {

inline constexpr double kMinPsnrMse = 1e-10;  // PSNR cap: 100 dB for identical images

// a, b (B, C, H, W) → (B,) PSNR in dB = 10·log10(1 / max(MSE, kMinPsnrMse)); 100 dB where identical.
at::Tensor Psnr(const at::Tensor& a, const at::Tensor& b);

inline constexpr int64_t kSsimWindow = 11;   // Gaussian window size (Wang et al. 2004)
inline constexpr double kSsimSigma = 1.5;    // Gaussian σ

// a, b (B, C, H, W), H, W >= 11 → (B,) mean SSIM: 11×11 Gaussian (σ = 1.5) windows over the
// valid region, K1 = 0.01, K2 = 0.03, population statistics, averaged over channels.
at::Tensor Ssim(const at::Tensor& a, const at::Tensor& b);

}  // namespace mt
