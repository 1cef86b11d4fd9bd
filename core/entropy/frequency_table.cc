#include "core/entropy/frequency_table.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <queue>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/entropy/contract_check.h"

namespace mt {
namespace {

// An escape's distance is at most 2^32 - 1, so 1 + u < 2^33: at most 32 zeros before the gamma
// code's leading one. More zeros can only come from a corrupt stream.
constexpr int kMaxGammaZeros = 32;
constexpr int kChunkBits = 16;  // PutBits carries at most 16 bits per symbol

int64_t LowValue(const FrequencyTable& t) { return t.offset; }
int64_t HighValue(const FrequencyTable& t) { return int64_t{t.offset} + static_cast<int64_t>(t.cdf.size()) - 3; }
uint32_t Freq(const FrequencyTable& t, size_t i) { return t.cdf[i + 1] - t.cdf[i]; }

// Gamma code argument of an out-of-range value: 1 + 2·(d - 1) + above, in [1, 2^33).
uint64_t EscapeCode(const FrequencyTable& t, int32_t value) {
  const bool above = value > HighValue(t);
  const int64_t d = above ? value - HighValue(t) : LowValue(t) - value;
  return 1 + 2 * static_cast<uint64_t>(d - 1) + (above ? 1 : 0);
}

int BitWidth(uint64_t g) {
  int w = 0;
  while (g >> w) ++w;
  return w;
}

void PutGamma(RansEncoder& encoder, uint64_t g) {
  const int width = BitWidth(g);
  for (int i = 1; i < width; ++i) encoder.PutBits(0, 1);
  encoder.PutBits(1, 1);  // the leading one ends the zero prefix
  for (int remaining = width - 1; remaining > 0;) {
    const int take = std::min(kChunkBits, remaining);
    remaining -= take;
    encoder.PutBits(static_cast<uint32_t>((g >> remaining) & ((uint64_t{1} << take) - 1)), take);
  }
}

absl::StatusOr<uint64_t> GetGamma(RansDecoder& decoder) {
  int zeros = 0;
  for (;;) {
    absl::StatusOr<uint32_t> bit = decoder.GetBits(1);
    if (!bit.ok()) return bit.status();
    if (*bit == 1) break;
    if (++zeros > kMaxGammaZeros) return absl::DataLossError("escape code has more than 32 leading zeros");
  }
  uint64_t g = 1;
  for (int remaining = zeros; remaining > 0;) {
    const int take = std::min(kChunkBits, remaining);
    remaining -= take;
    absl::StatusOr<uint32_t> chunk = decoder.GetBits(take);
    if (!chunk.ok()) return chunk.status();
    g = (g << take) | *chunk;
  }
  return g;
}

absl::Status CheckPmf(const std::vector<double>& pmf, int32_t offset) {
  const size_t n = pmf.size();
  if (n < 2 || n > static_cast<size_t>(kMaxTableSymbols))
    return absl::InvalidArgumentError(absl::StrCat("pmf has ", n, " entries; need 2..", kMaxTableSymbols));
  for (size_t i = 0; i < n; ++i)
    if (!std::isfinite(pmf[i]) || pmf[i] < 0)
      return absl::InvalidArgumentError(absl::StrCat("pmf[", i, "] = ", pmf[i], " is not finite and >= 0"));
  if (int64_t{offset} + static_cast<int64_t>(n) - 2 > std::numeric_limits<int32_t>::max())
    return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " + ", n - 2, " overflows int32"));
  return absl::OkStatus();
}

// Takes 1 at a time from the largest frequency (ties: lower index) until the sum is 2^16.
void TakeFromLargest(std::vector<uint32_t>& freq, uint64_t excess) {
  auto lower_priority = [](const std::pair<uint32_t, int>& a, const std::pair<uint32_t, int>& b) {
    return a.first != b.first ? a.first < b.first : a.second > b.second;
  };
  std::priority_queue<std::pair<uint32_t, int>, std::vector<std::pair<uint32_t, int>>, decltype(lower_priority)> heap(
      lower_priority);
  for (size_t i = 0; i < freq.size(); ++i) heap.push({freq[i], static_cast<int>(i)});
  for (; excess > 0; --excess) {
    auto [f, i] = heap.top();
    heap.pop();
    // sum > 2^16 >= n, so the largest frequency is always >= 2.
    MT_ENTROPY_CHECK(f >= 2, "QuantizePmf: nothing left to take from");
    freq[static_cast<size_t>(i)] = f - 1;
    heap.push({f - 1, i});
  }
}

}  // namespace

absl::StatusOr<FrequencyTable> QuantizePmf(const std::vector<double>& pmf, int32_t offset) {
  if (absl::Status s = CheckPmf(pmf, offset); !s.ok()) return s;
  double total = 0;
  for (double p : pmf) total += p;  // sequential on purpose: the NumPy reference sums the same way
  if (!(total > 0) || !std::isfinite(total))
    return absl::InvalidArgumentError(absl::StrCat("pmf sums to ", total, "; need a finite sum > 0"));
  const size_t n = pmf.size();
  std::vector<uint32_t> freq(n);
  std::vector<double> remainder(n);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double scaled = pmf[i] / total * static_cast<double>(kProbTotal);
    const double f = std::max(1.0, std::floor(scaled));
    freq[i] = static_cast<uint32_t>(f);
    remainder[i] = scaled - f;
    sum += freq[i];
  }
  if (sum < kProbTotal) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
    for (uint64_t j = 0; sum < kProbTotal; ++j, ++sum) ++freq[order[j % n]];
  } else if (sum > kProbTotal) {
    TakeFromLargest(freq, sum - kProbTotal);
  }
  FrequencyTable table;
  table.offset = offset;
  table.cdf.assign(n + 1, 0);
  std::partial_sum(freq.begin(), freq.end(), table.cdf.begin() + 1);
  return table;
}

absl::Status ValidateTable(const FrequencyTable& table) {
  const std::vector<uint32_t>& cdf = table.cdf;
  if (cdf.size() < 3 || cdf.size() > static_cast<size_t>(kMaxTableSymbols) + 1)
    return absl::InvalidArgumentError(
        absl::StrCat("cdf has ", cdf.size(), " entries; need 3..", kMaxTableSymbols + 1, " (n + 1, n >= 2)"));
  if (cdf.front() != 0) return absl::InvalidArgumentError(absl::StrCat("cdf[0] = ", cdf.front(), "; need 0"));
  if (cdf.back() != kProbTotal)
    return absl::InvalidArgumentError(absl::StrCat("cdf[n] = ", cdf.back(), "; need ", kProbTotal));
  for (size_t i = 0; i + 1 < cdf.size(); ++i)
    if (cdf[i + 1] <= cdf[i])
      return absl::InvalidArgumentError(
          absl::StrCat("cdf is not strictly increasing at ", i, ": ", cdf[i], " then ", cdf[i + 1]));
  if (HighValue(table) > std::numeric_limits<int32_t>::max())
    return absl::InvalidArgumentError(
        absl::StrCat("offset ", table.offset, " + ", cdf.size() - 3, " overflows int32"));
  return absl::OkStatus();
}

void EncodeSymbol(RansEncoder& encoder, const FrequencyTable& table, int32_t value) {
  MT_ENTROPY_CHECK(table.cdf.size() >= 3, "EncodeSymbol: table has fewer than 2 entries");
  const size_t escape = table.cdf.size() - 2;
  if (value >= LowValue(table) && value <= HighValue(table)) {
    const auto i = static_cast<size_t>(int64_t{value} - LowValue(table));
    encoder.Put(table.cdf[i], Freq(table, i));
    return;
  }
  encoder.Put(table.cdf[escape], Freq(table, escape));
  PutGamma(encoder, EscapeCode(table, value));
}

absl::StatusOr<int32_t> DecodeSymbol(RansDecoder& decoder, const FrequencyTable& table) {
  const std::vector<uint32_t>& cdf = table.cdf;
  if (cdf.size() < 3) return absl::InvalidArgumentError("DecodeSymbol: table has fewer than 2 entries");
  const uint32_t slot = decoder.PeekCumulative();
  const auto it = std::upper_bound(cdf.begin(), cdf.end(), slot);
  if (it == cdf.begin() || it == cdf.end())
    return absl::InvalidArgumentError(absl::StrCat("DecodeSymbol: slot ", slot, " is outside the table's cdf"));
  const auto i = static_cast<size_t>(it - cdf.begin() - 1);
  if (absl::Status s = decoder.Advance(cdf[i], cdf[i + 1] - cdf[i]); !s.ok()) return s;
  if (i + 2 < cdf.size()) return static_cast<int32_t>(LowValue(table) + static_cast<int64_t>(i));
  absl::StatusOr<uint64_t> g = GetGamma(decoder);
  if (!g.ok()) return g.status();
  const uint64_t u = *g - 1;
  const int64_t d = static_cast<int64_t>(u >> 1) + 1;  // u < 2^33: no overflow
  const int64_t value = (u & 1) ? HighValue(table) + d : LowValue(table) - d;
  if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max())
    return absl::DataLossError(absl::StrCat("escaped value ", value, " is outside int32"));
  return static_cast<int32_t>(value);
}

double SymbolBits(const FrequencyTable& table, int32_t value) {
  const size_t escape = table.cdf.size() - 2;
  const bool direct = value >= LowValue(table) && value <= HighValue(table);
  const size_t i = direct ? static_cast<size_t>(int64_t{value} - LowValue(table)) : escape;
  const double bits = kProbBits - std::log2(static_cast<double>(Freq(table, i)));
  return direct ? bits : bits + 2 * BitWidth(EscapeCode(table, value)) - 1;
}

}  // namespace mt
