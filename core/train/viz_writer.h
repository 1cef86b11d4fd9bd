// Training visualisations: rows of images side by side, saved as PNG.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace mt {

// columns: equal-shape batches (B, 3, S, S); writes min(B, max_rows) rows, each row the i-th
// image of every column, enlarged 4× (nearest). Best effort: failures are logged, not fatal.
// Without OpenCV (model-only builds) it logs that it skipped.
void WriteComparisonGrid(const std::string& path, const std::vector<at::Tensor>& columns, int64_t max_rows);

}  // namespace mt
