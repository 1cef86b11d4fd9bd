#include "core/masking/temperature_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mt {
namespace {

TEST(TemperatureScheduleTest, SeedValuesAtStartMiddleAndEnd) {
  TemperatureScheduleOptions o;  // 1.0 → 0.5 over steps 0…2000
  EXPECT_DOUBLE_EQ(Temperature(o, 0), 1.0);
  EXPECT_NEAR(Temperature(o, 1000), 0.75, 1e-12);
  EXPECT_DOUBLE_EQ(Temperature(o, 2000), 0.5);
  EXPECT_DOUBLE_EQ(Temperature(o, 50000), 0.5);
  EXPECT_NEAR(Temperature(o, 500), 0.75 + 0.25 * std::cos(M_PI / 4), 1e-12);
}

TEST(TemperatureScheduleTest, ContinuousAndMonotoneEverywhere) {
  TemperatureScheduleOptions o{2.0, 0.25, 100, 600};
  EXPECT_DOUBLE_EQ(Temperature(o, 0), 2.0);
  double prev = Temperature(o, 0);
  for (int64_t t = 1; t <= 800; ++t) {
    const double tau = Temperature(o, t);
    EXPECT_LE(tau, prev) << "step " << t;
    // Largest step of a cosine over 500 steps: (2 − 0.25)·π/(2·500) ≈ 0.0055.
    EXPECT_LT(prev - tau, 0.006) << "jump at step " << t;
    prev = tau;
  }
  EXPECT_DOUBLE_EQ(prev, 0.25);
}

}  // namespace
}  // namespace mt
