#include "core/runtime/inflight_budget.h"

#include <gtest/gtest.h>

#include <optional>

namespace mt {
namespace {

TEST(InflightBudgetTest, RefusesWhatWouldPassTheLimitAndFreesOnRelease) {
  InflightBudget budget(100);
  std::optional<InflightBudget::Reservation> a(*budget.Reserve(60));
  EXPECT_EQ(budget.in_use(), 60);
  absl::StatusOr<InflightBudget::Reservation> b = budget.Reserve(50);
  ASSERT_EQ(b.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(b.status().message(), "60 of 100 in flight, 50 more asked");
  EXPECT_TRUE(budget.Reserve(40).ok());  // fits exactly; released at once
  EXPECT_EQ(budget.in_use(), 60);
  a.reset();
  EXPECT_EQ(budget.in_use(), 0);
  // Alone, anything fits (the pixel limit bounds a single request); then nothing else does.
  absl::StatusOr<InflightBudget::Reservation> big = budget.Reserve(500);
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(budget.Reserve(1).ok());
  InflightBudget::Reservation moved = *std::move(big);
  EXPECT_EQ(budget.in_use(), 500);  // a move does not release
}

TEST(InflightBudgetTest, ZeroLimitIsUnlimited) {
  InflightBudget budget(0);
  absl::StatusOr<InflightBudget::Reservation> a = budget.Reserve(1'000'000), b = budget.Reserve(1'000'000);
  EXPECT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(budget.in_use(), 2'000'000);
}

}  // namespace
}  // namespace mt
