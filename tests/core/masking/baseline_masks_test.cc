#include "core/masking/baseline_masks.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <set>

#include "core/masking/patch_selector.h"

namespace mt {
namespace {

TEST(BaselineMasksTest, RandomKeepKeepsExactlyKAndIsSeeded) {
  at::Generator g1 = at::detail::createCPUGenerator(9), g2 = at::detail::createCPUGenerator(9);
  for (int64_t k : {0, 1, 40, 256}) {
    at::Tensor a = RandomKeep(256, k, g1), b = RandomKeep(256, k, g2);
    EXPECT_EQ(a.sum().item<int64_t>(), k);
    EXPECT_TRUE(at::equal(a, b));
  }
}

TEST(BaselineMasksTest, PerfectSquareIsACentredLattice) {
  // k = 16 on a 16×16 grid: 4×4 lattice at cell centres rows/cols {2, 6, 10, 14}.
  at::Tensor keep = UniformGridKeep(16, 16);
  std::set<int64_t> want;
  for (int r : {2, 6, 10, 14})
    for (int c : {2, 6, 10, 14}) want.insert(r * 16 + c);
  at::Tensor ids = KeptIndices(keep);
  std::set<int64_t> got(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  EXPECT_EQ(got, want);
}

TEST(BaselineMasksTest, AnyCountIsMatchedExactly) {
  for (int64_t k = 0; k <= 64; ++k) EXPECT_EQ(UniformGridKeep(8, k).sum().item<int64_t>(), k) << "k=" << k;
  // Spread: with k = 40 of 256 (6×6 lattice + 4), every 4×4 block of patches keeps one.
  at::Tensor keep = UniformGridKeep(16, 40).reshape({4, 4, 4, 4}).any(3).any(1);  // (4 row-bands, 4 col-bands)
  EXPECT_TRUE(keep.all().item<bool>());
}

}  // namespace
}  // namespace mt
