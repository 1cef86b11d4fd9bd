// One tile of the learned "latent" payload as a single rANS stream: the keep mask (keep_mask_coder)
// then, for each kept patch in raster order, its C integer latents, each coded with the table its
// spatial context picks (latent_context: a factorized model is the context-free special case). No header or lengths — grid and C come from the model, and the caller frames
// tiles — so the only fixed cost is the 4-byte rANS state. Decoding checks that the stream ends
// exactly where the last symbol does, in the encoder's initial state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/latent_context.h"

namespace mt {

// Plain value type: no internal synchronisation; const access from several threads is safe.
struct LatentTile {
  std::vector<uint8_t> keep;     // grid*grid entries, 1 = kept (row-major)
  std::vector<int32_t> symbols;  // K*C integers, row-major (kept patch k in raster order, channel c);
                                 // K = number of kept
};

// K, the number of kept patches, when 1 <= grid <= kMaxKeepGrid and `tile` has grid·grid keep
// entries of 0/1 and K·channels symbols; INVALID_ARGUMENT naming the first violation otherwise.
absl::StatusOr<size_t> CheckLatentTileShape(int grid, size_t channels, const LatentTile& tile);

// tile → stream bytes (>= 4). INVALID_ARGUMENT when tables fail ValidateLatentTables,
// grid is outside [1, kMaxKeepGrid], keep is not grid·grid values of 0/1, or symbols is not K·C long.
absl::StatusOr<std::string> EncodeLatentTile(const LatentTables& tables, int grid,
                                             const LatentTile& tile);

// Stream bytes → tile. INVALID_ARGUMENT for bad tables or grid (as above); DATA_LOSS for corrupt,
// truncated or extended streams. Never reads outside `bytes`; allocates at most grid·grid·C symbols.
absl::StatusOr<LatentTile> DecodeLatentTile(const LatentTables& tables, int grid,
                                            std::string_view bytes);

// Several tiles in ONE stream (keep mask then symbols, tile after tile): one 4-byte final state
// per stream instead of per tile. INVALID_ARGUMENT naming `tiles[i]` as for EncodeLatentTile, or
// for an empty list.
absl::StatusOr<std::string> EncodeLatentTiles(const LatentTables& tables, int grid,
                                              const std::vector<LatentTile>& tiles);

// Decodes exactly `count` (>= 1) tiles. DATA_LOSS / INVALID_ARGUMENT naming the tile for corrupt,
// truncated or extended streams; allocates at most count·grid²·C symbols.
absl::StatusOr<std::vector<LatentTile>> DecodeLatentTiles(const LatentTables& tables, int grid,
                                                          size_t count, std::string_view bytes);

// Ideal code length of `tile` in bits (keep-mask model + symbol tables), to compare with the real
// stream (which adds at most ~4 bytes of final state). NaN for inputs EncodeLatentTile rejects.
double EstimateLatentTileBits(const LatentTables& tables, int grid, const LatentTile& tile);

// Ideal code length of each kept patch's C symbols in bits (K entries, raster order; the keep
// mask's bits not included). Empty for inputs EncodeLatentTile rejects.
std::vector<double> LatentPatchBits(const LatentTables& tables, int grid, const LatentTile& tile);

}  // namespace mt
