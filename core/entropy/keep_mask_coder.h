// Keep-bitmap coding for one tile: a grid×grid row-major mask of 0/1 with an adaptive binary model.
// Each bit's context is its causal neighbours inside the tile — left, up, up-left, up-right
// (missing = 0) — so 16 contexts, each a 16-bit probability of "kept" starting at 1/2. After each
// coded bit it moves towards the bit by 1/2, 1/4, 1/8, then 1/16 of the way (p += (target - p) >> s,
// s = min(1 + bits already seen in that context, 4)), clamped to [32, 2^16 - 32] so neither
// outcome becomes too expensive to recover from. The contexts capture masks' spatial structure
// (clusters, or the spacing of a laterally-inhibited masker).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/rans_coder.h"

namespace mt {

// Largest tile grid side accepted (the mask has at most kMaxKeepGrid² cells).
inline constexpr int kMaxKeepGrid = 256;

// Records `keep` (grid·grid entries, nonzero = kept) on `encoder`. Requires 1 <= grid <=
// kMaxKeepGrid and keep.size() == grid·grid (programmer error otherwise: aborts).
void EncodeKeepMask(RansEncoder& encoder, int grid, const std::vector<uint8_t>& keep);

// Reads a mask written by EncodeKeepMask: grid·grid entries of 0/1. INVALID_ARGUMENT for a grid
// outside [1, kMaxKeepGrid]; DATA_LOSS when the stream ends early.
absl::StatusOr<std::vector<uint8_t>> DecodeKeepMask(RansDecoder& decoder, int grid);

// Ideal code length of `keep` under the same adaptive model, in bits (same preconditions as
// EncodeKeepMask).
double KeepMaskBits(int grid, const std::vector<uint8_t>& keep);

}  // namespace mt
