#include "core/train/viz_writer.h"

#include <ATen/ATen.h>
#include "core/runtime/log.h"

#ifdef MT_HAVE_IMAGING
#include "core/io/image_io.h"
#include "core/io/visualization.h"
#endif

namespace mt {

void WriteComparisonGrid(const std::string& path, const std::vector<at::Tensor>& columns, int64_t max_rows) {
#ifdef MT_HAVE_IMAGING
  if (columns.empty()) return;
  const int64_t rows = std::min<int64_t>(max_rows, columns[0].size(0));
  std::vector<at::Tensor> lines;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<at::Tensor> panels;
    for (const at::Tensor& c : columns) panels.push_back(c[r].detach().to(at::kFloat).cpu());
    if (!lines.empty()) lines.push_back(at::ones({3, 2, 0}));
    lines.push_back(PanelRow(panels, /*scale=*/4, /*gap=*/2));
  }
  for (auto& l : lines)
    if (l.size(2) == 0) l = at::ones({3, 2, lines.back().size(2)});
  absl::Status s = SavePng(path, at::cat(lines, 1));
  if (!s.ok()) log::warn("visualisation not written: {}", s.ToString());
#else
  log::info("built without OpenCV: skipping visualisation {}", path);
#endif
}

}  // namespace mt
