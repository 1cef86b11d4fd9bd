// Tile seams: how visible the borders of a tile-by-tile reconstruction are.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mt {

// image (C, H, W) reconstructed on a grid of tile×tile tiles from the top-left corner → mean
// absolute difference of neighbouring pixels across tile borders (horizontal and vertical pairs
// that straddle a border) over the same mean for pairs inside tiles. 1.0 = borders look like the
// rest; a visible grid is > 1. NaN when there is no border pair (the image is one tile) or no
// interior pair; +inf when only the interior is perfectly flat.
double SeamRatio(const at::Tensor& image, int64_t tile);

}  // namespace mt
