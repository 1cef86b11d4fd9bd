#include "core/metrics/image_metrics.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mt {
namespace {

TEST(ImageMetricsTest, PsnrHandComputed) {
  at::Tensor a = at::full({2, 3, 4, 4}, 0.5);
  at::Tensor b = a.clone();
  b[0].add_(0.1);   // MSE 0.01 → 20 dB
  b[1].add_(0.01);  // MSE 1e-4 → 40 dB
  at::Tensor psnr = Psnr(a, b);
  EXPECT_NEAR(psnr[0].item<double>(), 20.0, 1e-4);
  EXPECT_NEAR(psnr[1].item<double>(), 40.0, 1e-3);
  EXPECT_DOUBLE_EQ(Psnr(a, a)[0].item<double>(), 100.0);  // capped, so means over a batch stay finite
}

TEST(ImageMetricsTest, PsnrAndSsimMatchNumpyReference) {
  at::Tensor a = test::Ref("metric_a"), b = test::Ref("metric_b");
  EXPECT_TRUE(at::allclose(Psnr(a, b), test::Ref("psnr_ab"), 0, 1e-9));
  at::Tensor ssim = Ssim(a, b);
  EXPECT_TRUE(at::allclose(ssim, test::Ref("ssim_ab"), 0, 1e-9))
      << ssim << test::Ref("ssim_ab");
  // Float inputs agree to float precision.
  EXPECT_TRUE(at::allclose(Ssim(a.to(at::kFloat), b.to(at::kFloat)), test::Ref("ssim_ab"), 0, 1e-5));
}

// Taller than the 64-row bands both metrics work in: the bands must add up to the whole image.
TEST(ImageMetricsTest, BandedMetricsMatchNumpyOnTallImages) {
  at::Tensor a = test::Ref("metric_tall_a"), b = test::Ref("metric_tall_b");
  EXPECT_TRUE(at::allclose(Psnr(a, b), test::Ref("psnr_tall_ab"), 0, 1e-9)) << Psnr(a, b);
  EXPECT_TRUE(at::allclose(Ssim(a, b), test::Ref("ssim_tall_ab"), 0, 1e-9)) << Ssim(a, b);
}

TEST(ImageMetricsTest, SsimOfIdenticalImagesIsOneAndDropsWithNoise) {
  at::manual_seed(3);
  at::Tensor a = at::rand({1, 3, 32, 32});
  EXPECT_NEAR(Ssim(a, a).item<double>(), 1.0, 1e-12);
  const double light = Ssim(a, (a + 0.02 * at::randn_like(a)).clamp(0, 1)).item<double>();
  const double heavy = Ssim(a, (a + 0.2 * at::randn_like(a)).clamp(0, 1)).item<double>();
  EXPECT_GT(light, heavy);
  EXPECT_LT(heavy, 0.9);
}

}  // namespace
}  // namespace mt
