// Fits the context model's tables (latent_context) to example tiles, once, when a codec is
// exported: for each channel and bucket it counts the raw symbols and their residuals from the
// prediction; each (channel, bucket) table is that histogram (+1/2 per value in its range, and an
// escape for the rest); a bucket seen fewer than kMinBucketSymbols times uses the channel's pooled
// histogram instead. Each channel predicts only if that codes the examples in fewer bits.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/entropy/latent_context.h"
#include "core/entropy/latent_stream.h"

namespace mt {

// Fewest examples a bucket needs for a table of its own.
inline constexpr int64_t kMinBucketSymbols = 256;

// Histogram (value → count) → table over its values (at most kMaxTableSymbols - 1 of them: the
// densest window) with each count + 1/2 and an escape for everything else.
// INVALID_ARGUMENT for a negative count.
absl::StatusOr<FrequencyTable> TableFromHistogram(const std::map<int32_t, int64_t>& histogram);

// Not thread-safe (mutable counts): one builder per thread.
class ContextTableBuilder {
 public:
  // channels >= 1 and 0 <= buckets <= kMaxContextBuckets (programmer error otherwise: aborts).
  ContextTableBuilder(int channels, int buckets);

  // Counts a tile (keep grid·grid, symbols K·C). INVALID_ARGUMENT when it is malformed.
  absl::Status Add(int grid, const LatentTile& tile);
  // Symbols counted so far.
  int64_t symbols() const { return symbols_; }
  // Tables fitted to everything added (they pass ValidateLatentTables); FAILED_PRECONDITION when
  // nothing was added.
  absl::StatusOr<LatentTables> Build() const;

 private:
  int channels_, buckets_;
  int64_t symbols_ = 0;
  LatentTables shape_;  // predicts every channel, no tables: only ContextOf's geometry is read
  std::vector<std::map<int32_t, int64_t>> raw_, residual_;  // [channel · (buckets + 1) + bucket]
};

}  // namespace mt
