#include "core/runtime/cancel_registry.h"

#include <gtest/gtest.h>

#include <vector>

namespace mt {
namespace {

TEST(CancelRegistryTest, ACancelSetsEveryLiveFlagOfItsIdAndNoOther) {
  CancelRegistry r;
  CancelRegistry::Flag a1 = r.Register("a"), a2 = r.Register("a"), b = r.Register("b");
  EXPECT_EQ(r.Cancel("a"), 2);
  EXPECT_TRUE(*a1);
  EXPECT_TRUE(*a2);
  EXPECT_FALSE(*b);
  EXPECT_EQ(r.Cancel("missing"), 0);
  a1.reset();  // finished work is not counted
  EXPECT_EQ(r.Cancel("a"), 1);
}

TEST(CancelRegistryTest, FinishedWorkIsForgottenSoTheMapStaysAsSmallAsWhatIsInFlight) {
  CancelRegistry r;
  std::vector<CancelRegistry::Flag> live;
  for (int i = 0; i < 10; ++i) live.push_back(r.Register("live" + std::to_string(i)));
  for (int i = 0; i < 10000; ++i) r.Register("done" + std::to_string(i));  // dropped at once
  EXPECT_LE(r.size(), 128u);  // 64 before the first prune, then at most twice the live ones
  EXPECT_GE(r.size(), 10u);
  EXPECT_EQ(r.Cancel("live3"), 1);
  EXPECT_TRUE(*live[3]);
  EXPECT_FALSE(*live[4]);
}

}  // namespace
}  // namespace mt
