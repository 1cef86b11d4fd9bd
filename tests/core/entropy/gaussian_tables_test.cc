// Gaussian residual tables: each symbol's code length against the Gaussian's unit-bin mass
// (integrated independently, by Simpson's rule), the tail handled by the escape, and the integer
// scale bounds that pick a table.
#include "core/entropy/gaussian_tables.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/test_util.h"

namespace mt {
namespace {

// P(round(r) = q) for r ~ N(0, σ²).
double ReferenceMass(int q, double sigma) { return test::GaussianUnitBinMass(q, sigma); }

TEST(GaussianTablesTest, CodeLengthsFollowTheGaussianWithinTheTablesQuantisation) {
  for (double sigma : {0.11, 0.5, 1.0, 4.0, 30.0, 256.0}) {
    absl::StatusOr<FrequencyTable> t = GaussianTable(sigma);
    ASSERT_TRUE(t.ok()) << t.status();
    ASSERT_TRUE(ValidateTable(*t).ok());
    for (int q : {0, 1, -1, 2, 5, -9, 40}) {
      const double p = ReferenceMass(q, sigma);
      if (p < 1e-3) continue;  // 2^-16 frequency steps make rare symbols' lengths coarse
      // A frequency f/2^16 is within ~1/2^16 of p: 0.01 bit at p >= 1e-2, 0.03 at 1e-3.
      EXPECT_NEAR(SymbolBits(*t, q), -std::log2(p), p < 1e-2 ? 0.03 : 0.01) << "sigma " << sigma << " q " << q;
    }
    // Far outside the table: the escape plus bypass bits, finite and dearer than any in-range symbol.
    EXPECT_GT(SymbolBits(*t, 100000), SymbolBits(*t, 0) + 16) << sigma;
  }
}

TEST(GaussianTablesTest, TablesGrowWithTheScaleAndRefuseBadScales) {
  EXPECT_EQ(GaussianTable(0.11)->offset, -1);  // 0.11: ±1 (the least) plus the escape
  EXPECT_LT(GaussianTable(10.0)->offset, GaussianTable(1.0)->offset);
  EXPECT_EQ(GaussianTable(0.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GaussianTable(-1.0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GaussianTable(std::nan("")).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GaussianTable(INFINITY).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GaussianTable(5000.0).status().code(), absl::StatusCode::kInvalidArgument);  // > 4096 symbols
}

TEST(GaussianTablesTest, EachScalesLogPicksItsOwnTableAndBoundsSplitNeighbours) {
  const std::vector<double> scales = GeometricScales(0.11, 256.0, 64);
  ASSERT_EQ(scales.size(), 64u);
  EXPECT_NEAR(scales.front(), 0.11, 1e-12);
  EXPECT_NEAR(scales.back(), 256.0, 1e-9);
  const std::vector<int64_t> bounds = ScaleBounds(scales, 10);
  ASSERT_EQ(bounds.size(), 63u);
  for (size_t i = 0; i < scales.size(); ++i) {
    const int64_t fixed = static_cast<int64_t>(std::llround(std::log(scales[i]) * 1024.0));
    EXPECT_EQ(ScaleIndex(fixed, bounds), static_cast<int>(i)) << i;
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    EXPECT_EQ(ScaleIndex(bounds[i], bounds), static_cast<int>(i) + 1);  // a bound belongs to the upper table
    EXPECT_EQ(ScaleIndex(bounds[i] - 1, bounds), static_cast<int>(i));
  }
  EXPECT_EQ(ScaleIndex(-1000000, bounds), 0);  // below the floor: the smallest scale
  EXPECT_EQ(ScaleIndex(1000000, bounds), 63);
}

}  // namespace
}  // namespace mt
