#include "core/codec/tiling.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace mt {

absl::StatusOr<TileGrid> PlanTiles(int64_t height, int64_t width, int64_t tile) {
  if (height <= 0 || width <= 0)
    return absl::InvalidArgumentError(absl::StrCat("image size ", width, "x", height, " is not positive"));
  if (tile <= 0) return absl::InvalidArgumentError(absl::StrCat("tile size ", tile, " is not positive"));
  TileGrid g;
  g.height = height;
  g.width = width;
  g.tile = tile;
  g.rows = (height + tile - 1) / tile;
  g.cols = (width + tile - 1) / tile;
  return g;
}

std::pair<int64_t, int64_t> TileContent(const TileGrid& g, int64_t index) {
  const int64_t r = index / g.cols, c = index % g.cols;
  return {std::min(g.tile, g.height - r * g.tile), std::min(g.tile, g.width - c * g.tile)};
}

at::Tensor SplitTiles(const at::Tensor& image, const TileGrid& g) {
  TORCH_CHECK(image.dim() == 3 && image.size(1) == g.height && image.size(2) == g.width,
              "SplitTiles: image ", image.sizes(), " does not match the grid ", g.height, "x", g.width);
  const int64_t c = image.size(0), ph = g.rows * g.tile, pw = g.cols * g.tile;
  at::Tensor padded = image;
  // Replicate the last row and column: smooth edges reconstruct better than black borders. (The
  // padding kernel, not two index_selects: ~4x faster on a 12 MP photo, the same values.)
  if (ph != g.height || pw != g.width)
    padded = at::replication_pad2d(image.unsqueeze(0), {0, pw - g.width, 0, ph - g.height}).squeeze(0);
  // (C, rows, T, cols, T) → (rows, cols, C, T, T)
  return padded.reshape({c, g.rows, g.tile, g.cols, g.tile}).permute({1, 3, 0, 2, 4}).reshape(
      {g.count(), c, g.tile, g.tile}).contiguous();
}

at::Tensor StitchTiles(const at::Tensor& tiles, const TileGrid& g) {
  TORCH_CHECK(tiles.dim() == 4 && tiles.size(0) == g.count() && tiles.size(2) == g.tile && tiles.size(3) == g.tile,
              "StitchTiles: tiles ", tiles.sizes(), " do not match the grid");
  const int64_t c = tiles.size(1);
  at::Tensor full = tiles.reshape({g.rows, g.cols, c, g.tile, g.tile}).permute({2, 0, 3, 1, 4}).reshape(
      {c, g.rows * g.tile, g.cols * g.tile});
  return full.narrow(1, 0, g.height).narrow(2, 0, g.width).contiguous();
}

}  // namespace mt
