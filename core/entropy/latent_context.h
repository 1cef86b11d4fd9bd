// The coding model of a tile's latent symbols: which table codes each (patch, channel) symbol and
// whether it is coded as itself or as a residual from a spatial prediction.
//
// Each kept patch's channel c is coded given its causal kept neighbours inside the tile — left L,
// up T, up-left TL (raster order, so the decoder already has them):
//  * bucket: min(floor(log2(1 + |L| + |T|)), buckets - 1) over the kept ones of L and T, or
//    `buckets` when neither is kept; every (channel, bucket) has its own table;
//  * prediction, for channels whose `predict` flag is set: the median of L, T and L + T - TL when
//    all three are kept (the LOCO-I / JPEG-LS predictor), else L, else T, else 0. The coded value
//    is v - prediction in wrap-around int32 arithmetic, so every int32 still round-trips.
// Why: a per-patch factorized prior codes every 4×4 patch's mean colour and gradients afresh; the
// latents of neighbouring patches are strongly correlated (measured on the held-out photos: the
// contexts cut the empirical entropy by 30–38 %). Integer-only, so both ends agree on any machine.
// With buckets == 0 and no predict flag this is the factorized model: one table per channel.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "core/entropy/frequency_table.h"

namespace mt {

// Most magnitude buckets a model may have.
inline constexpr int kMaxContextBuckets = 16;

// Plain value type: no internal synchronisation; const access from several threads is safe.
struct LatentTables {
  int buckets = 0;                                  // magnitude buckets (0 = no spatial context)
  std::vector<uint8_t> predict;                     // per channel: 1 = code the residual from the prediction
  std::vector<std::vector<FrequencyTable>> tables;  // [channel][bucket]: buckets + 1 tables (1 when buckets == 0)
  size_t channels() const { return tables.size(); }
};

// One table per channel, no context, no prediction (the factorized prior's tables).
LatentTables FactorizedTables(std::vector<FrequencyTable> per_channel);

// OK if `t` has >= 1 channel, 0 <= buckets <= kMaxContextBuckets, the right number of tables per
// channel, one 0/1 predict flag per channel, and every table passes ValidateTable;
// INVALID_ARGUMENT naming the first violation otherwise.
absl::Status ValidateLatentTables(const LatentTables& t);

// Where one symbol is coded: its table's bucket and the prediction subtracted before coding.
struct SymbolContext {
  int bucket = 0;
  int32_t prediction = 0;
};

// Context of channel c of the patch at `cell` (row-major in a grid×grid tile). slot[i] is the
// position (in patches) of cell i's symbols in `symbols` (C per patch), or -1 when not kept; only
// cells before `cell` are read. Requires a valid `t`, c < channels and cell < grid².
SymbolContext ContextOf(const LatentTables& t, int grid, const std::vector<int32_t>& slot,
                        const int32_t* symbols, int cell, int c);

// slot[i] = index of cell i among the kept cells (raster order), -1 where keep[i] is 0: the
// `slot` ContextOf reads.
std::vector<int32_t> KeptSlots(const std::vector<uint8_t>& keep);

// Calls visit(c, k, value, context) for every symbol of a tile in stream order: kept patch k
// (raster order) at cell, then channel c, `value` = symbols[k·C + c]. Requires a well-formed tile
// (keep grid·grid of 0/1, symbols K·C with C = t.channels()) and a valid `t`.
template <typename Visit>
void ForEachSymbolContext(const LatentTables& t, int grid, const std::vector<uint8_t>& keep,
                          const std::vector<int32_t>& symbols, Visit visit);

// v - prediction and its inverse, wrapping modulo 2^32 (so neither overflows).
int32_t ToResidual(int32_t value, int32_t prediction);
int32_t FromResidual(int32_t residual, int32_t prediction);

template <typename Visit>
void ForEachSymbolContext(const LatentTables& t, int grid, const std::vector<uint8_t>& keep,
                          const std::vector<int32_t>& symbols, Visit visit) {
  const std::vector<int32_t> slot = KeptSlots(keep);
  const int channels = static_cast<int>(t.channels());
  for (int cell = 0; cell < grid * grid; ++cell) {
    const int32_t k = slot[static_cast<size_t>(cell)];
    if (k < 0) continue;
    for (int c = 0; c < channels; ++c)
      visit(c, k, symbols[static_cast<size_t>(k) * channels + c], ContextOf(t, grid, slot, symbols.data(), cell, c));
  }
}

}  // namespace mt
