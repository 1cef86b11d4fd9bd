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

namespace mt {
namespace {

// 4×4 grid, best scores at 0, 1 (adjacent to 0), 5 (diagonal to 0), 10, 15. Radius 1 skips 1 and 5
// after picking 0; radius 0 is plain top-k; when too few far patches remain, the rest fill in.
TEST(SpreadTopKTest, SkipsNeighboursOfKeptPatchesThenFillsUp) {
  at::Tensor p = at::zeros({16});
  p[0] = 0.9;
  p[1] = 0.8;
  p[5] = 0.7;
  p[10] = 0.6;
  p[15] = 0.5;
  EXPECT_EQ(KeptIndices(SpreadTopK(p, 4, 3, 0)).sizes()[0], 3);
  EXPECT_TRUE(at::equal(KeptIndices(SpreadTopK(p, 4, 3, 0)), at::tensor({0, 1, 5}, at::kLong)));
  // radius 1: 0, then 10 (1 and 5 touch 0), then 15 touches 10 → next best untouched is index 2
  // (score 0, lowest index among zeros not adjacent to 0 or 10: 2 is two columns from 0).
  EXPECT_TRUE(at::equal(KeptIndices(SpreadTopK(p, 4, 3, 1)), at::tensor({0, 2, 10}, at::kLong)));
  // radius 2: 0 blocks rows/cols 0–2, so 15 comes next and blocks rows/cols 1–3; index 3 (row 0,
  // column 3) is the only patch touching neither.
  EXPECT_TRUE(at::equal(KeptIndices(SpreadTopK(p, 4, 3, 2)), at::tensor({0, 3, 15}, at::kLong)));
  // radius 3 blocks the whole grid after 0: the second pass fills by score (1, then 5).
  EXPECT_TRUE(at::equal(KeptIndices(SpreadTopK(p, 4, 3, 3)), at::tensor({0, 1, 5}, at::kLong)));
  EXPECT_EQ(SpreadTopK(p, 4, 20, 1).sum().item<int64_t>(), 16);  // k > L keeps everything
}

}  // namespace
}  // namespace mt
