#include "core/model/pos_embed.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"

namespace mt {
namespace {

TEST(PosEmbedTest, MatchesNumpyReferenceWithClsToken) {
  at::Tensor got = SinCos2d(16, 4, 4, /*cls_token=*/true).to(at::kDouble);
  at::Tensor want = test::Ref("sincos_2d_d16_g4_cls");
  ASSERT_EQ(got.sizes(), want.sizes());
  EXPECT_TRUE(at::allclose(got, want, 0, 1e-6)) << (got - want).abs().max().item<double>();
}

TEST(PosEmbedTest, MatchesNumpyReferenceOnRectangularGrid) {
  at::Tensor got = SinCos2d(8, 3, 5, false).to(at::kDouble);
  EXPECT_TRUE(at::allclose(got, test::Ref("sincos_2d_d8_g3x5"), 0, 1e-6));
}

TEST(PosEmbedTest, ColumnCoordinateFillsTheFirstHalf) {
  // D = 8 → halves of E = 4, ω = {1, 1/100}. Token (row 2, col 1) on a 3×3 grid is index 7.
  at::Tensor e = SinCos2d(8, 3, 3, false);
  const float expected[8] = {std::sin(1.0f), std::sin(0.01f), std::cos(1.0f), std::cos(0.01f),
                             std::sin(2.0f), std::sin(0.02f), std::cos(2.0f), std::cos(0.02f)};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(e[7][i].item<float>(), expected[i], 1e-6) << "dim " << i;
}

}  // namespace
}  // namespace mt
