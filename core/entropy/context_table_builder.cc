#include "core/entropy/context_table_builder.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/entropy/contract_check.h"

namespace mt {
namespace {

// Added to every count in a table's range: values seen in training keep a finite cost elsewhere.
constexpr double kSmoothing = 0.5;

// Count-weighted code length of `histogram` under `table`, in bits.
double CostBits(const FrequencyTable& table, const std::map<int32_t, int64_t>& histogram) {
  double bits = 0;
  for (const auto& [value, count] : histogram) bits += static_cast<double>(count) * SymbolBits(table, value);
  return bits;
}

void Merge(const std::map<int32_t, int64_t>& from, std::map<int32_t, int64_t>* into) {
  for (const auto& [value, count] : from) (*into)[value] += count;
}

}  // namespace

absl::StatusOr<FrequencyTable> TableFromHistogram(const std::map<int32_t, int64_t>& histogram) {
  for (const auto& [value, count] : histogram)
    if (count < 0) return absl::InvalidArgumentError(absl::StrCat("negative count for value ", value));
  if (histogram.empty()) return QuantizePmf({1.0, kSmoothing}, 0);
  // The densest window of at most kWidth consecutive values (two pointers over the sorted keys).
  constexpr int64_t kWidth = kMaxTableSymbols - 1;
  auto best_lo = histogram.begin(), best_hi = histogram.begin(), lo = histogram.begin();
  int64_t in_window = 0, best = -1;
  for (auto hi = histogram.begin(); hi != histogram.end(); ++hi) {
    in_window += hi->second;
    while (static_cast<int64_t>(hi->first) - lo->first + 1 > kWidth) in_window -= (lo++)->second;
    if (in_window > best) best = in_window, best_lo = lo, best_hi = hi;
  }
  const int32_t first = best_lo->first, last = best_hi->first;
  std::vector<double> pmf(static_cast<size_t>(static_cast<int64_t>(last) - first + 2), kSmoothing);
  double escape = kSmoothing;
  for (const auto& [value, count] : histogram) {
    if (value < first || value > last) escape += static_cast<double>(count);
    else pmf[static_cast<size_t>(static_cast<int64_t>(value) - first)] += static_cast<double>(count);
  }
  pmf.back() = escape;
  return QuantizePmf(pmf, first);
}

ContextTableBuilder::ContextTableBuilder(int channels, int buckets) : channels_(channels), buckets_(buckets) {
  MT_ENTROPY_CHECK(channels >= 1 && buckets >= 0 && buckets <= kMaxContextBuckets, "bad builder shape");
  shape_.buckets = buckets;
  shape_.predict.assign(static_cast<size_t>(channels), 1);
  shape_.tables.resize(static_cast<size_t>(channels));
  raw_.resize(static_cast<size_t>(channels) * (buckets + 1));
  residual_.resize(raw_.size());
}

absl::Status ContextTableBuilder::Add(int grid, const LatentTile& tile) {
  absl::StatusOr<size_t> kept = CheckLatentTileShape(grid, static_cast<size_t>(channels_), tile);
  if (!kept.ok()) return kept.status();
  ForEachSymbolContext(shape_, grid, tile.keep, tile.symbols, [&](int c, int32_t, int32_t v, SymbolContext ctx) {
    const size_t at = static_cast<size_t>(c) * (buckets_ + 1) + static_cast<size_t>(ctx.bucket);
    ++raw_[at][v];
    ++residual_[at][ToResidual(v, ctx.prediction)];
  });
  symbols_ += static_cast<int64_t>(*kept) * channels_;
  return absl::OkStatus();
}

absl::StatusOr<LatentTables> ContextTableBuilder::Build() const {
  if (symbols_ == 0) return absl::FailedPreconditionError("no example tiles were added to fit the context tables");
  LatentTables out;
  out.buckets = buckets_;
  const int per_channel = buckets_ == 0 ? 1 : buckets_ + 1;
  for (int c = 0; c < channels_; ++c) {
    // Fit both ways (raw / residual) and keep the cheaper one for the whole channel.
    std::vector<FrequencyTable> fitted[2];
    double cost[2] = {0, 0};
    for (int mode = 0; mode < 2; ++mode) {
      const std::vector<std::map<int32_t, int64_t>>& counts = mode == 0 ? raw_ : residual_;
      const auto begin = counts.begin() + static_cast<std::ptrdiff_t>(c) * (buckets_ + 1);
      std::map<int32_t, int64_t> pooled;
      for (auto it = begin; it != begin + (buckets_ + 1); ++it) Merge(*it, &pooled);
      absl::StatusOr<FrequencyTable> pooled_table = TableFromHistogram(pooled);
      if (!pooled_table.ok()) return pooled_table.status();
      for (int b = 0; b < per_channel; ++b) {
        const std::map<int32_t, int64_t>& h = buckets_ == 0 ? pooled : *(begin + b);
        int64_t seen = 0;
        for (const auto& entry : h) seen += entry.second;
        absl::StatusOr<FrequencyTable> t = seen >= kMinBucketSymbols ? TableFromHistogram(h) : pooled_table;
        if (!t.ok()) return t.status();
        cost[mode] += CostBits(*t, h);
        fitted[mode].push_back(*std::move(t));
      }
    }
    const int mode = cost[1] < cost[0] ? 1 : 0;
    out.predict.push_back(static_cast<uint8_t>(mode));
    out.tables.push_back(std::move(fitted[mode]));
  }
  return out;
}

}  // namespace mt
