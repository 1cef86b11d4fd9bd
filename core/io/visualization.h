// Pictures for people: mask overlays and side-by-side panels. Thread-safe.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace mt {

// keep (L,) on a g×g grid → (3, H, W) white where kept, black where dropped.
at::Tensor MaskPicture(const at::Tensor& keep, int64_t patch_size, int64_t grid);

// image (3, H, W): dropped patches dimmed to 30 % and tinted red; kept patches unchanged.
at::Tensor MaskOverlay(const at::Tensor& image, const at::Tensor& keep, int64_t patch_size);

// values (H, W) >= 0 → (3, H, W) in [0,1], OpenCV's TURBO colour map: dark blue at 0 through green
// and yellow to dark red at `max_value` (> 0) and above.
at::Tensor HeatMap(const at::Tensor& values, double max_value);

// panel (3, H, W) → (3, H + strip, W): a white strip below it with `caption` written in black and,
// when scale_max > 0, the HeatMap colour bar from 0 (left) to scale_max (right) under the text.
// The strip's height follows the panel's width (text readable at any size), so panels of equal
// width get strips of equal height (PanelRow needs equal sizes).
at::Tensor Captioned(const at::Tensor& panel, const std::string& caption, double scale_max = 0);

// Panels (3, H, W) of equal size → one row, each enlarged `scale`× (nearest), `gap` px white between.
at::Tensor PanelRow(const std::vector<at::Tensor>& panels, int64_t scale, int64_t gap = 4);

// Rows (3, h_i, w_i) → one picture, stacked top to bottom with `gap` px white between; narrower rows
// are padded white on the right.
at::Tensor StackRows(const std::vector<at::Tensor>& rows, int64_t gap = 4);

}  // namespace mt
