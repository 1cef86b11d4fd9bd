#include "core/train/lr_schedule.h"

#include <gtest/gtest.h>

#include <cmath>

namespace mt {
namespace {

TEST(LrScheduleTest, WarmupThenHalfCosine) {
  // base 1e-3, warmup 100 of 1100 steps, floor 1e-5.
  EXPECT_DOUBLE_EQ(WarmupCosineLr(0, 1100, 100, 1e-3, 1e-5), 0.0);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(50, 1100, 100, 1e-3, 1e-5), 5e-4);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(100, 1100, 100, 1e-3, 1e-5), 1e-3);
  EXPECT_NEAR(WarmupCosineLr(600, 1100, 100, 1e-3, 1e-5), 1e-5 + (1e-3 - 1e-5) * 0.5, 1e-15);
  EXPECT_NEAR(WarmupCosineLr(350, 1100, 100, 1e-3, 0), 1e-3 * 0.5 * (1 + std::cos(M_PI * 0.25)), 1e-15);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(1100, 1100, 100, 1e-3, 1e-5), 1e-5);
  EXPECT_DOUBLE_EQ(WarmupCosineLr(5000, 1100, 100, 1e-3, 1e-5), 1e-5);
}

TEST(LrScheduleTest, WarmupThenLinearDecay) {
  // Seed masker: 10 % warmup of 1000 steps, then linear to 0.
  EXPECT_DOUBLE_EQ(WarmupLinearLr(0, 1000, 100, 2e-4), 0.0);
  EXPECT_DOUBLE_EQ(WarmupLinearLr(25, 1000, 100, 2e-4), 5e-5);
  EXPECT_DOUBLE_EQ(WarmupLinearLr(100, 1000, 100, 2e-4), 2e-4);
  EXPECT_DOUBLE_EQ(WarmupLinearLr(550, 1000, 100, 2e-4), 1e-4);
  EXPECT_DOUBLE_EQ(WarmupLinearLr(1000, 1000, 100, 2e-4), 0.0);
  // The same with the warmup as a fraction; 2.5 % of 1010 steps truncates to 25.
  EXPECT_DOUBLE_EQ(WarmupFractionLinearLr(25, 1000, 0.1, 2e-4), 5e-5);
  EXPECT_DOUBLE_EQ(WarmupFractionLinearLr(550, 1000, 0.1, 2e-4), 1e-4);
  EXPECT_DOUBLE_EQ(WarmupFractionLinearLr(5, 1010, 0.025, 2e-4), WarmupLinearLr(5, 1010, 25, 2e-4));
  EXPECT_DOUBLE_EQ(WarmupFractionLinearLr(0, 1000, 0.0, 2e-4), 2e-4);
}

TEST(LrScheduleTest, BatchScaledLrFollowsTheMaeRule) {
  EXPECT_DOUBLE_EQ(BatchScaledLr(0.0, 1.5e-4, 4096), 1.5e-4 * 16);  // seed: batch 4096
  EXPECT_DOUBLE_EQ(BatchScaledLr(0.0, 1.5e-3, 128), 7.5e-4);        // shipped MAE
  EXPECT_DOUBLE_EQ(BatchScaledLr(3e-4, 1.5e-3, 128), 3e-4);         // explicit lr wins
}

}  // namespace
}  // namespace mt
