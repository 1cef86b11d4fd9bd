#include "core/metrics/seam.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace mt {
namespace {

TEST(SeamTest, HandComputedRamp) {
  // One channel, 4×4, every row 0 1 3 4, tiles of 2: the pair across the border (x = 1 → 2)
  // differs by 2, the pairs inside tiles by 1; all vertical pairs by 0.
  // Border: 4 rows × 2 (vertical border) + 4 columns × 0 (horizontal border) over 8 pairs = 1.
  // Inside: 8 pairs × 1 + 8 pairs × 0 over 16 pairs = 0.5. Ratio 2.
  at::Tensor img = at::tensor({0.0, 1.0, 3.0, 4.0}).view({1, 1, 4}).expand({1, 4, 4}).contiguous();
  EXPECT_DOUBLE_EQ(SeamRatio(img, 2), 2.0);
  // The same pixels with tiles of 4: one tile, no border pair.
  EXPECT_TRUE(std::isnan(SeamRatio(img, 4)));
}

TEST(SeamTest, NoiseHasNoSeamAndFlatTilesHaveOnlySeams) {
  at::manual_seed(0);
  const double noise = SeamRatio(at::rand({3, 96, 128}), 32);
  EXPECT_NEAR(noise, 1.0, 0.05);
  // Constant tiles of different values: every difference is at a border.
  at::Tensor blocks = at::arange(12, at::kFloat).view({1, 3, 4}).repeat_interleave(8, 1).repeat_interleave(8, 2);
  EXPECT_TRUE(std::isinf(SeamRatio(blocks, 8)));
  EXPECT_DOUBLE_EQ(SeamRatio(at::zeros({3, 16, 16}), 8), 1.0);
}

}  // namespace
}  // namespace mt
