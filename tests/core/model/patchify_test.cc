#include "core/model/patchify.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/test_util.h"

namespace mt {
namespace {

TEST(PatchifyTest, MatchesNumpyLoopReference) {
  at::Tensor img = test::Ref("patchify_input");  // (2, 3, 6, 4)
  at::Tensor got = Patchify(img, 2);
  EXPECT_TRUE(at::equal(got, test::Ref("patchify_p2")));
}

TEST(PatchifyTest, PixelOrderIsRowColumnChannel) {
  // Value encodes (c, y, x) so each position is identifiable: 100c + 10y + x.
  at::Tensor img = at::zeros({1, 3, 4, 4});
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 4; ++y)
      for (int x = 0; x < 4; ++x) img[0][c][y][x] = 100 * c + 10 * y + x;
  at::Tensor p = Patchify(img, 2);  // (1, 4, 12)
  // Patch 1 = grid row 0, col 1 → pixels x ∈ {2,3}, y ∈ {0,1}. Element (p=1, q=0, c=2) = index (1·2+0)·3+2 = 8.
  EXPECT_EQ(p[0][1][8].item<float>(), 100 * 2 + 10 * 1 + 2);
  // Patch 2 = grid row 1, col 0; element (p=0, q=1, c=0) = index 3 → pixel (y=2, x=1).
  EXPECT_EQ(p[0][2][3].item<float>(), 10 * 2 + 1);
}

TEST(PatchifyTest, UnpatchifyInvertsPatchify) {
  at::manual_seed(1);
  at::Tensor img = at::rand({3, 3, 8, 12});
  EXPECT_TRUE(at::equal(Unpatchify(Patchify(img, 4), 4, 2, 3), img));
}

TEST(PatchifyTest, UpsamplePatchMaskIsNearestNeighbour) {
  at::Tensor m = at::tensor({0.f, 1.f, 0.5f, 0.25f}).reshape({1, 4});
  at::Tensor up = UpsamplePatchMask(m, 2, 2, 2);  // (1, 1, 4, 4)
  EXPECT_EQ(up[0][0][1][3].item<float>(), 1.f);
  EXPECT_EQ(up[0][0][3][0].item<float>(), 0.5f);
  EXPECT_EQ(up[0][0][2][2].item<float>(), 0.25f);
  EXPECT_EQ(up.sum().item<float>(), 4 * (0.f + 1.f + 0.5f + 0.25f));
}

}  // namespace
}  // namespace mt
