#include "core/masking/patch_selector.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

using Mode = SelectionPolicy::Mode;

at::Tensor Probs() { return at::tensor({0.9f, 0.1f, 0.6f, 0.6f, 0.3f, 0.51f, 0.5f, 0.05f}).reshape({1, 8}); }

TEST(PatchSelectorTest, ThresholdKeepsStrictlyAboveHalf) {
  auto sel = PatchSelector::Create({Mode::kThreshold});
  ASSERT_TRUE(sel.ok());
  at::Tensor keep = sel->Select(Probs());
  EXPECT_TRUE(at::equal(keep[0], at::tensor({1, 0, 1, 1, 0, 1, 0, 0}).to(at::kBool)));
  EXPECT_EQ(sel->FixedKeepCount(8), -1);
}

TEST(PatchSelectorTest, TopKKeepsHighestWithStableTies) {
  SelectionPolicy p;
  p.mode = Mode::kTopK;
  p.keep_ratio = 0.25;  // 2 of 8
  auto sel = PatchSelector::Create(p);
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(at::equal(KeptIndices(sel->Select(Probs())[0]), at::tensor({0, 2}, at::kLong)));
  p.keep_ratio = 0.375;  // 3 of 8: 0.9, 0.6 (index 2), 0.6 (index 3)
  EXPECT_TRUE(at::equal(KeptIndices(PatchSelector::Create(p)->Select(Probs())[0]),
                        at::tensor({0, 2, 3}, at::kLong)));
  p.keep_ratio = 0.01;  // rounds to 0 → at least one patch
  EXPECT_EQ(PatchSelector::Create(p)->FixedKeepCount(8), 1);
}

TEST(PatchSelectorTest, ByteBudgetKeepsWhatFits) {
  SelectionPolicy p;
  p.mode = Mode::kByteBudget;
  p.bytes_per_patch = 12;
  p.overhead_bytes = 40;
  p.max_bytes = 40 + 3 * 12 + 11;  // 3 patches fit, the 4th does not
  auto sel = PatchSelector::Create(p);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->FixedKeepCount(8), 3);
  EXPECT_TRUE(at::equal(KeptIndices(sel->Select(Probs())[0]), at::tensor({0, 2, 3}, at::kLong)));
  p.max_bytes = 40;  // only the overhead: nothing kept
  EXPECT_EQ(PatchSelector::Create(p)->Select(Probs()).sum().item<int64_t>(), 0);
  p.max_bytes = 100000;
  EXPECT_EQ(PatchSelector::Create(p)->FixedKeepCount(8), 8);
}

TEST(PatchSelectorTest, InvalidPoliciesAreRejectedWithTheFieldNamed) {
  SelectionPolicy p;
  p.threshold = 1.0;
  EXPECT_EQ(PatchSelector::Create(p).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(PatchSelector::Create(p).status().message().find("threshold"), std::string::npos);
  p = {};
  p.mode = Mode::kTopK;
  p.keep_ratio = 0.0;
  EXPECT_NE(PatchSelector::Create(p).status().message().find("keep_ratio"), std::string::npos);
  p = {};
  p.mode = Mode::kByteBudget;
  p.bytes_per_patch = 12;
  p.overhead_bytes = 40;
  p.max_bytes = 39;
  EXPECT_NE(PatchSelector::Create(p).status().message().find("max_bytes"), std::string::npos);
  p.max_bytes = 100;
  p.bytes_per_patch = 0;
  EXPECT_NE(PatchSelector::Create(p).status().message().find("bytes_per_patch"), std::string::npos);
}

}  // namespace
}  // namespace mt
