// ForwardInChunks: the same rows as one call, in nearly equal slices, every input sliced alike.
#include "core/ops/chunked.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(ForwardInChunksTest, SlicesEveryInputAlikeAndConcatenatesInOrder) {
  const at::Tensor a = at::arange(1036, at::kFloat).view({1036, 1});
  const at::Tensor b = at::arange(1036, at::kFloat).view({1036, 1}) * 10;
  std::vector<int64_t> sizes;
  const at::Tensor out = ForwardInChunks(512, [&](const at::Tensor& x, const at::Tensor& y) {
    sizes.push_back(x.size(0));
    EXPECT_EQ(y.size(0), x.size(0));
    return x + y;
  }, a, b);
  EXPECT_EQ(sizes, (std::vector<int64_t>{346, 346, 344}));  // nearly equal slices, not 512 + 512 + 12
  EXPECT_TRUE(at::equal(out, a * 11));
}

TEST(ForwardInChunksTest, OneCallWhenItFitsAndOddTotalsCoverEveryRow) {
  int calls = 0;
  const at::Tensor small = at::ones({5, 3});
  EXPECT_TRUE(at::equal(ForwardInChunks(8, [&](const at::Tensor& x) { ++calls; return x * 2; }, small), small * 2));
  EXPECT_EQ(calls, 1);
  std::vector<int64_t> sizes;
  const at::Tensor big = at::arange(1025, at::kFloat);
  const at::Tensor out = ForwardInChunks(512, [&](const at::Tensor& x) { sizes.push_back(x.size(0)); return x; }, big);
  EXPECT_EQ(sizes, (std::vector<int64_t>{342, 342, 341}));
  EXPECT_TRUE(at::equal(out, big));
}

}  // namespace
}  // namespace mt
