#include "core/codec/tiling.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(TilingTest, NonMultipleSizeRoundTripsExactly) {
  absl::StatusOr<TileGrid> g = PlanTiles(70, 33, 32);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->rows, 3);  // ceil(70 / 32)
  EXPECT_EQ(g->cols, 2);  // ceil(33 / 32)
  at::manual_seed(6);
  at::Tensor image = at::rand({3, 70, 33});
  at::Tensor tiles = SplitTiles(image, *g);
  ASSERT_EQ(tiles.sizes(), (at::IntArrayRef{6, 3, 32, 32}));
  EXPECT_TRUE(at::equal(StitchTiles(tiles, *g), image));
  // Tile (row 0, col 1) starts at column 32; its pixel (5, 0) is image (5, 32).
  EXPECT_TRUE(at::equal(tiles[1].select(1, 5).select(1, 0), image.select(1, 5).select(1, 32)));
}

TEST(TilingTest, PaddingReplicatesTheLastRowAndColumn) {
  absl::StatusOr<TileGrid> g = PlanTiles(70, 33, 32);
  at::Tensor image = at::rand({3, 70, 33});
  at::Tensor tiles = SplitTiles(image, *g);
  // Tile (row 2, col 1) = index 5; local (10, 5) is global (74, 37) → clamped to (69, 32).
  EXPECT_TRUE(at::equal(tiles[5].select(1, 10).select(1, 5), image.select(1, 69).select(1, 32)));
}

TEST(TilingTest, AOnePixelImageFillsItsWholeTile) {
  absl::StatusOr<TileGrid> g = PlanTiles(1, 1, 16);
  ASSERT_TRUE(g.ok());
  const at::Tensor image = at::tensor({0.25f, 0.5f, 0.75f}).view({3, 1, 1});
  const at::Tensor tiles = SplitTiles(image, *g);
  ASSERT_EQ(tiles.sizes(), (at::IntArrayRef{1, 3, 16, 16}));
  EXPECT_TRUE(at::equal(tiles[0], image.expand({3, 16, 16})));
  EXPECT_TRUE(at::equal(StitchTiles(tiles, *g), image));
}

TEST(TilingTest, TileContentIsTheWholeTileButInTheLastRowAndColumn) {
  const TileGrid g = *PlanTiles(70, 33, 32);  // 3 × 2 tiles
  EXPECT_EQ(TileContent(g, 0), (std::pair<int64_t, int64_t>{32, 32}));
  EXPECT_EQ(TileContent(g, 1), (std::pair<int64_t, int64_t>{32, 1}));   // column 32 only
  EXPECT_EQ(TileContent(g, 4), (std::pair<int64_t, int64_t>{6, 32}));   // rows 64..69
  EXPECT_EQ(TileContent(g, 5), (std::pair<int64_t, int64_t>{6, 1}));
}

TEST(TilingTest, RejectsNonPositiveSizes) {
  EXPECT_EQ(PlanTiles(0, 10, 32).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanTiles(10, -1, 32).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PlanTiles(10, 10, 0).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
