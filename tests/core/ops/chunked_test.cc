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

TEST(ForwardByRegionTest, EachRegionOnceOverItsRowsReassembledInOrder) {
  const at::Tensor rows = at::arange(6, at::kFloat).view({6, 1});
  const std::vector<TileRegion> regions = {{2, 2}, {2, 1}, {2, 2}, {1, 2}, {1, 1}, {2, 1}};
  std::vector<std::pair<TileRegion, int64_t>> calls;  // region, rows passed
  const at::Tensor out = ForwardByRegion(rows, regions, [&](const at::Tensor& x, TileRegion r) {
    calls.emplace_back(r, x.size(0));
    return x * 10 + static_cast<float>(r.first * 2 + r.second);  // (k, 1): each row tagged by its region
  });
  EXPECT_EQ(calls.size(), 4u);  // {1,1}, {1,2}, {2,1} ×2 rows, {2,2} ×2 rows
  const at::Tensor want = at::tensor({6.f, 15.f, 26.f, 34.f, 43.f, 55.f}).view({6, 1});
  EXPECT_TRUE(at::equal(out, want)) << out;
}

TEST(ForwardByRegionTest, OneCallOnTheInputsWhenAllRegionsAgree) {
  const at::Tensor rows = at::ones({3, 2});
  int calls = 0;
  const at::Tensor out = ForwardByRegion(rows, {{4, 4}, {4, 4}, {4, 4}}, [&](const at::Tensor& x, TileRegion) {
    ++calls;
    EXPECT_TRUE(x.is_same(rows));  // no copy
    return x * 2;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(at::equal(out, rows * 2));
  EXPECT_THROW(ForwardByRegion(rows, {{1, 1}}, [](const at::Tensor& x, TileRegion) { return x; }), c10::Error);
}

}  // namespace
}  // namespace mt
