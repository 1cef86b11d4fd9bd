// Integer coding tables for one channel of integer symbols, with an escape for values outside the
// table so that every int32 value can be coded.
//
// A table of n entries codes v with offset <= v <= offset + n - 2 directly at index v - offset.
// Index n - 1 is the escape: any other value is coded as the escape followed by bypass bits,
// the Elias-gamma code of 1 + u with u = 2·(d - 1) + (v above the range), d = distance from v to
// the nearest in-range value (>= 1). Gamma codes are sent one bit at a time for the zero prefix
// and in <= 16-bit chunks for the rest, so encoder and decoder cut the bits identically.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/entropy/rans_coder.h"

namespace mt {

// Most entries (escape included) a table may have: keeps decoding tables small and leaves room
// for every entry to get frequency >= 1 out of 2^16.
inline constexpr int kMaxTableSymbols = 4096;

// Plain value type: no internal synchronisation; const access from several threads is safe.
struct FrequencyTable {
  int32_t offset = 0;         // symbol value of index 0
  std::vector<uint32_t> cdf;  // size n+1, cdf[0]=0, cdf[n]=1<<16, strictly increasing; index n-1 is the ESCAPE
};

// pmf (n entries, the escape mass last) → table whose frequencies sum to exactly 2^16, each >= 1.
// Deterministic: scale to 2^16, floor, raise zeros to 1, then hand the shortfall out by largest
// remainder (ties: lower index) or, when raising zeros overshot, take 1 at a time from the largest
// frequency (ties: lower index). INVALID_ARGUMENT unless 2 <= n <= kMaxTableSymbols, every entry
// is finite and >= 0, the sum is finite and > 0, and offset + n - 2 fits in int32.
absl::StatusOr<FrequencyTable> QuantizePmf(const std::vector<double>& pmf, int32_t offset);

// OK if `table` satisfies the FrequencyTable invariants (and the QuantizePmf size and offset
// limits); INVALID_ARGUMENT naming the first violation otherwise. For tables from checkpoints.
absl::Status ValidateTable(const FrequencyTable& table);

// Records `value` under `table` (which must pass ValidateTable; a zero frequency aborts).
void EncodeSymbol(RansEncoder& encoder, const FrequencyTable& table, int32_t value);

// Reads one value written by EncodeSymbol with the same table. DATA_LOSS on a truncated stream or
// a malformed escape (gamma prefix too long, value outside int32); INVALID_ARGUMENT if `table`
// fails ValidateTable's invariants in a way that makes the slot unmatched.
absl::StatusOr<int32_t> DecodeSymbol(RansDecoder& decoder, const FrequencyTable& table);

// Ideal code length of `value` in bits: -log2(freq / 2^16), plus the bypass bits of an escape.
// `table` must pass ValidateTable.
double SymbolBits(const FrequencyTable& table, int32_t value);

}  // namespace mt
