// HeatMap colours values on a fixed scale (clamped at both ends); Captioned adds a strip whose
// height follows the width only, with the colour bar running from HeatMap(0) to HeatMap(max).
#include "core/io/visualization.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

at::Tensor Pixel(const at::Tensor& image, int64_t y, int64_t x) { return image.select(1, y).select(1, x); }

TEST(VisualizationTest, HeatMapRunsFromBlueToRedAndClampsOutsideItsScale) {
  const at::Tensor values = at::tensor({0.0f, 5.0f, 10.0f, 20.0f, -3.0f}).view({1, 5});
  const at::Tensor map = HeatMap(values, 10.0);
  ASSERT_EQ(map.sizes(), (at::IntArrayRef{3, 1, 5}));
  EXPECT_GE(map.min().item<float>(), 0.0f);
  EXPECT_LE(map.max().item<float>(), 1.0f);
  const at::Tensor low = Pixel(map, 0, 0), high = Pixel(map, 0, 2);
  EXPECT_GT(low[2].item<float>(), low[0].item<float>()) << "0 is blue";
  EXPECT_GT(high[0].item<float>(), high[2].item<float>()) << "the top of the scale is red";
  EXPECT_TRUE(at::equal(Pixel(map, 0, 3), high)) << "above the scale: the top colour";
  EXPECT_TRUE(at::equal(Pixel(map, 0, 4), low)) << "below 0: the bottom colour";
  EXPECT_GT(Pixel(map, 0, 1)[1].item<float>(), 0.5f) << "the middle is green-yellow";
}

TEST(VisualizationTest, CaptionStripKeepsThePanelAndDrawsTheScaleBar) {
  const at::Tensor panel = at::rand({3, 40, 300});
  const at::Tensor plain = Captioned(panel, "bits: 0 .. 12");
  const at::Tensor scaled = Captioned(panel, "bits: 0 .. 12", 12.0);
  ASSERT_EQ(plain.sizes(), scaled.sizes());
  ASSERT_GT(plain.size(1), 40);
  EXPECT_TRUE(at::equal(plain.narrow(1, 0, 40), panel));
  EXPECT_EQ(Captioned(at::rand({3, 90, 300}), "other text").size(1) - 90, plain.size(1) - 40)
      << "the strip's height follows the width only";
  const at::Tensor strip = plain.narrow(1, 40, plain.size(1) - 40);
  EXPECT_LT(strip.min().item<float>(), 0.5f) << "the caption is written";
  // The bar is where the two differ: from HeatMap(0) at its left end to HeatMap(12) at its right.
  const at::Tensor differs = (scaled - plain).abs().sum(0) > 0;
  const at::Tensor columns = differs.any(0).nonzero().view({-1}), rows = differs.any(1).nonzero().view({-1});
  ASSERT_GT(columns.numel(), 200);
  const int64_t row = rows[rows.numel() / 2].item<int64_t>();
  const at::Tensor ends = HeatMap(at::tensor({0.0f, 12.0f}).view({1, 2}), 12.0);
  EXPECT_TRUE(at::allclose(Pixel(scaled, row, columns[0].item<int64_t>()), Pixel(ends, 0, 0)));
  EXPECT_TRUE(at::allclose(Pixel(scaled, row, columns[-1].item<int64_t>()), Pixel(ends, 0, 1)));
}

}  // namespace
}  // namespace mt
