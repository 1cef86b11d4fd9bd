#include "core/metrics/bd_rate.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

// Expected values from tests/reference/bd_rate_reference.py (NumPy, exact piecewise integration).
TEST(BdRateTest, HalfTheRateEverywhereIsMinusFiftyPercent) {
  absl::StatusOr<double> bd = BjontegaardDeltaRate({{0.2, 25}, {0.4, 28}, {0.8, 31}, {1.6, 34}},
                                                   {{0.1, 25}, {0.2, 28}, {0.4, 31}, {0.8, 34}});
  ASSERT_TRUE(bd.ok()) << bd.status();
  EXPECT_NEAR(*bd, -50.0, 1e-9);
}

TEST(BdRateTest, UnevenCurvesMatchTheNumpyReference) {
  absl::StatusOr<double> bd =
      BjontegaardDeltaRate({{0.15, 23.8}, {0.3, 26.0}, {0.45, 27.9}, {0.9, 31.2}},
                           {{0.08, 22.5}, {0.12, 24.9}, {0.2, 26.7}, {0.25, 26.1}, {0.35, 28.4}, {0.6, 30.0}});
  ASSERT_TRUE(bd.ok()) << bd.status();
  EXPECT_NEAR(*bd, -36.0605135254, 1e-8);
}

TEST(BdRateTest, SwappingTheCurvesInvertsTheRatio) {
  const std::vector<RdPoint> a = {{0.15, 23.8}, {0.3, 26.0}, {0.45, 27.9}, {0.9, 31.2}};
  const std::vector<RdPoint> b = {{0.1, 24.0}, {0.2, 26.5}, {0.5, 29.0}};
  const double ab = *BjontegaardDeltaRate(a, b), ba = *BjontegaardDeltaRate(b, a);
  EXPECT_NEAR((1 + ab / 100) * (1 + ba / 100), 1.0, 1e-12);
}

TEST(BdRateTest, ParetoFrontDropsDominatedAndInvalidPoints) {
  std::vector<RdPoint> f = ParetoFront({{0.3, 26}, {0.2, 27}, {0.0, 40}, {0.5, 29}, {0.4, 25}});
  ASSERT_EQ(f.size(), 2u);
  EXPECT_DOUBLE_EQ(f[0].bpp, 0.2);
  EXPECT_DOUBLE_EQ(f[1].bpp, 0.5);
}

TEST(BdRateTest, RefusesCurvesThatDoNotOverlapOrAreTooShort) {
  EXPECT_EQ(BjontegaardDeltaRate({{0.1, 20}, {0.2, 22}}, {{0.1, 30}, {0.2, 32}}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BjontegaardDeltaRate({{0.1, 20}}, {{0.1, 20}, {0.2, 22}}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
