// Images of any size as a grid of model-size square tiles: the sender splits (padding the right
// and bottom edges by replicating the last row/column), the receiver stitches and crops.
#pragma once

#include <utility>

#include <ATen/core/Tensor.h>

#include <cstdint>

#include "absl/status/statusor.h"

namespace mt {

struct TileGrid {
  int64_t height = 0, width = 0;  // image size in pixels
  int64_t tile = 0;               // tile side in pixels
  int64_t rows = 0, cols = 0;     // tiles down and across
  int64_t count() const { return rows * cols; }
};

// Grid covering an height×width image with tile×tile tiles. INVALID_ARGUMENT for non-positive sizes.
absl::StatusOr<TileGrid> PlanTiles(int64_t height, int64_t width, int64_t tile);

// Pixel rows and columns of tile `index` (raster order) that hold image rather than edge fill:
// (tile, tile) but in the last row / column of tiles.
std::pair<int64_t, int64_t> TileContent(const TileGrid& grid, int64_t index);

// image (C, H, W) → tiles (rows·cols, C, tile, tile) in raster order, edge-replicated padding.
at::Tensor SplitTiles(const at::Tensor& image, const TileGrid& grid);

// tiles (rows·cols, C, tile, tile) → image (C, H, W), padding cropped.
at::Tensor StitchTiles(const at::Tensor& tiles, const TileGrid& grid);

}  // namespace mt
