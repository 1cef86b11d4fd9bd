#include "core/entropy/latent_context.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mt {

LatentTables FactorizedTables(std::vector<FrequencyTable> per_channel) {
  LatentTables t;
  t.predict.assign(per_channel.size(), 0);
  for (FrequencyTable& table : per_channel) t.tables.push_back({std::move(table)});
  return t;
}

absl::Status ValidateLatentTables(const LatentTables& t) {
  if (t.tables.empty()) return absl::InvalidArgumentError("latent tables need at least one channel");
  if (t.buckets < 0 || t.buckets > kMaxContextBuckets)
    return absl::InvalidArgumentError(absl::StrCat("context buckets ", t.buckets, " is outside [0, ", kMaxContextBuckets, "]"));
  if (t.predict.size() != t.tables.size())
    return absl::InvalidArgumentError(
        absl::StrCat(t.predict.size(), " predict flags for ", t.tables.size(), " channels"));
  const size_t per_channel = t.buckets == 0 ? 1 : static_cast<size_t>(t.buckets) + 1;
  for (size_t c = 0; c < t.tables.size(); ++c) {
    if (t.predict[c] > 1) return absl::InvalidArgumentError(absl::StrCat("predict[", c, "] is not 0 or 1"));
    if (t.tables[c].size() != per_channel)
      return absl::InvalidArgumentError(
          absl::StrCat("channel ", c, " has ", t.tables[c].size(), " tables; ", t.buckets, " buckets need ", per_channel));
    for (size_t b = 0; b < per_channel; ++b)
      if (absl::Status s = ValidateTable(t.tables[c][b]); !s.ok())
        return absl::InvalidArgumentError(absl::StrCat("tables[", c, "][", b, "]: ", s.message()));
  }
  return absl::OkStatus();
}

SymbolContext ContextOf(const LatentTables& t, int grid, const std::vector<int32_t>& slot, const int32_t* symbols,
                        int cell, int c) {
  const int row = cell / grid, col = cell % grid;
  const int channels = static_cast<int>(t.channels());
  // The neighbour's symbol for channel c, or nullptr when it is outside the tile or not kept.
  auto at = [&](int r, int x) -> const int32_t* {
    if (r < 0 || x < 0 || x >= grid) return nullptr;
    const int32_t s = slot[static_cast<size_t>(r * grid + x)];
    return s < 0 ? nullptr : symbols + static_cast<int64_t>(s) * channels + c;
  };
  const int32_t *left = at(row, col - 1), *up = at(row - 1, col), *up_left = at(row - 1, col - 1);
  SymbolContext ctx;
  if (t.buckets > 0) {
    if (left == nullptr && up == nullptr) {
      ctx.bucket = t.buckets;
    } else {
      // |int32| sums fit in int64; the bucket is floor(log2(1 + magnitude)) capped.
      const int64_t magnitude = (left ? std::llabs(*left) : 0) + (up ? std::llabs(*up) : 0);
      int bucket = 0;
      for (int64_t m = 1 + magnitude; m > 1 && bucket < t.buckets - 1; m >>= 1) ++bucket;
      ctx.bucket = bucket;
    }
  }
  if (t.predict[static_cast<size_t>(c)]) {
    if (left && up && up_left) {
      // The median of L, T and L + T - TL lies between min(L, T) and max(L, T): it fits in int32.
      const int64_t l = *left, u = *up, gradient = l + u - *up_left;
      ctx.prediction = static_cast<int32_t>(std::max(std::min(l, u), std::min(std::max(l, u), gradient)));
    } else if (left) {
      ctx.prediction = *left;
    } else if (up) {
      ctx.prediction = *up;
    }
  }
  return ctx;
}

std::vector<int32_t> KeptSlots(const std::vector<uint8_t>& keep) {
  std::vector<int32_t> slot(keep.size(), -1);
  int32_t next = 0;
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) slot[i] = next++;
  return slot;
}

int32_t ToResidual(int32_t value, int32_t prediction) {
  return static_cast<int32_t>(static_cast<uint32_t>(value) - static_cast<uint32_t>(prediction));
}

int32_t FromResidual(int32_t residual, int32_t prediction) {
  return static_cast<int32_t>(static_cast<uint32_t>(residual) + static_cast<uint32_t>(prediction));
}

}  // namespace mt
