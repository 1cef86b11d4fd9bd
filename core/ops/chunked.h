// Row-chunked evaluation of a batched model call. Why: one forward over every tile of a large
// photo is slower per tile than the same work in slices (a 12 MP photo is 11,750 tiles: masker
// 5.85 → 3.69 ms/tile and encoder 6.85 → 4.50 ms/tile in 512-tile slices, 2 cores; the
// activations of one giant batch leave the caches and are faulted in fresh). Results are the
// same up to the float rounding of a different batch size.
// Thread-safety: stateless.
#pragma once

#include <ATen/ATen.h>

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "core/runtime/cpu_runtime.h"

namespace mt {

inline constexpr int64_t kForwardChunkRows = 512;  // tiles per model call on large inputs

// fn(inputs sliced to rows [s, s+n) along dim 0...) for consecutive, nearly equal slices of at
// most `rows` (or the calling thread's ThisThreadSliceCap(), if smaller), concatenated along dim
// 0. Every input must have the same size(0); one call when it fits. Before each slice the thread's
// intra-op count is re-applied (it may have a limit that another thread changes: cpu_runtime.h).
template <typename Fn, typename... Inputs>
at::Tensor ForwardInChunks(int64_t rows, Fn&& fn, const at::Tensor& first, const Inputs&... rest) {
  if (const int64_t cap = ThisThreadSliceCap(); cap > 0) rows = std::min(rows, cap);
  const int64_t total = first.size(0);
  ApplyIntraOpThreadsToThisThread();
  if (total <= rows) return fn(first, rest...);
  // Nearly equal slices (1036 rows → 346 + 346 + 344, not 512 + 512 + 12): a tiny last call runs slowly.
  const int64_t count = (total + rows - 1) / rows;
  const int64_t size = (total + count - 1) / count;
  std::vector<at::Tensor> parts;
  parts.reserve(static_cast<size_t>(count));
  for (int64_t s = 0; s < total; s += size) {
    const int64_t n = std::min(size, total - s);
    ApplyIntraOpThreadsToThisThread();
    parts.push_back(fn(first.narrow(0, s, n), rest.narrow(0, s, n)...));
  }
  return at::cat(parts);
}

// A tile's region: how many pixel (or latent) rows and columns of it a transform must run over.
using TileRegion = std::pair<int64_t, int64_t>;

// fn(inputs' rows with region r, r) → (k, ...) for each distinct region r of `regions` (one per
// row of `inputs`), reassembled in the rows' order. Why: an image's last row and column of tiles
// are partly edge fill; grouping runs each group over its own region (at most 4 groups per image
// size: interior, last column, last row, corner). One call, with no copies, when all agree.
template <typename Fn>
at::Tensor ForwardByRegion(const at::Tensor& inputs, const std::vector<TileRegion>& regions, Fn&& fn) {
  TORCH_CHECK(static_cast<int64_t>(regions.size()) == inputs.size(0), "ForwardByRegion: ", regions.size(),
              " regions for ", inputs.size(0), " rows");
  std::map<TileRegion, std::vector<int64_t>> groups;
  for (size_t i = 0; i < regions.size(); ++i) groups[regions[i]].push_back(static_cast<int64_t>(i));
  if (groups.size() == 1) return fn(inputs, groups.begin()->first);
  at::Tensor out;
  for (const auto& [region, rows] : groups) {
    const at::Tensor index = at::tensor(rows, at::kLong);
    const at::Tensor part = fn(inputs.index_select(0, index), region);
    if (!out.defined()) {
      std::vector<int64_t> shape = part.sizes().vec();
      shape[0] = inputs.size(0);
      out = at::empty(shape, part.options());
    }
    out.index_copy_(0, index, part);
  }
  return out;
}

}  // namespace mt
