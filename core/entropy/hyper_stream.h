// The latent payload of a hyperprior codec, one stream for all tiles of an image:
//   4 bytes  checksum (little endian) of every mean and table index the sender coded with;
//   rANS     for every tile: its keep mask (keep_mask_coder) and the side latents z of every side
//            cell that covers a kept position (cell in raster order, then channel, each with its
//            channel's factorized table); then, pass by pass and in each pass tile by tile, the
//            residuals the codec lists for it (its kept positions of that pass, raster order, then
//            channel), each with the Gaussian table its scale index names. One pass holds every
//            position; a checkerboard context codes two (anchors, then the rest).
// Sides come first so the receiver decodes every tile's z, runs the hyper-synthesis once over
// all tiles, and only then decodes the residuals it needs the tables for. The checksum turns a
// receiver that derived other means or tables (another model, a broken build) into DATA_LOSS
// instead of a silently wrong image.
// Plain value types and functions; HyperStreamDecoder is not thread-safe (one per stream).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/entropy/frequency_table.h"
#include "core/entropy/rans_coder.h"

namespace mt {

struct HyperTables {
  std::vector<FrequencyTable> side;    // per side channel (Z), unit bins
  std::vector<FrequencyTable> scales;  // per scale index, zero-mean Gaussian residuals
};

// OK when both lists are non-empty and every table passes ValidateTable; INVALID_ARGUMENT naming
// the first bad one otherwise.
absl::Status ValidateHyperTables(const HyperTables& tables);

struct HyperTileSide {
  std::vector<uint8_t> keep;  // grid² entries, 1 = position kept (raster order)
  std::vector<int32_t> z;     // z_grid²·Z, (cell, channel); 0 in cells SideCellsCoded leaves out
};

// Which of the z_grid² side cells are coded: those covering at least one kept position (each
// cell covers a (grid/z_grid)² block). Requires z_grid >= 1 dividing grid, keep of grid² entries.
std::vector<uint8_t> SideCellsCoded(int grid, int z_grid, const std::vector<uint8_t>& keep);

struct HyperTileResiduals {
  std::vector<int32_t> residual;     // K·C: kept positions in raster order, then channel
  std::vector<int32_t> scale_index;  // K·C: the table of each, in [0, scales)
};

// Everything → the stream. `residuals` holds one list per tile and pass, pass-major: list i is
// tile i mod n's, n = sides.size(). INVALID_ARGUMENT for bad tables, a grid outside
// [1, kMaxKeepGrid] or not a multiple of z_grid, no tiles, a residual count that is not a multiple
// of the tiles, a tile whose sizes disagree (its lists together must hold a multiple of its kept
// positions), a nonzero z in a cell not coded, or a scale index out of range (naming the tile).
absl::StatusOr<std::string> EncodeHyperStream(const HyperTables& tables, int grid, int z_grid,
                                              const std::vector<HyperTileSide>& sides,
                                              const std::vector<HyperTileResiduals>& residuals, uint32_t checksum);

// Ideal bits of one tile's keep mask and side latents (the well-formed tile EncodeHyperStream takes).
double HyperSideBits(const HyperTables& tables, int grid, int z_grid, const HyperTileSide& side);

// FNV-1a over the 8 little-endian bytes of `value`, continuing from `hash` (start: kChecksumSeed).
inline constexpr uint32_t kChecksumSeed = 2166136261u;
uint32_t ChecksumAdd(uint32_t hash, int64_t value);

class HyperStreamDecoder {
 public:
  // INVALID_ARGUMENT for bad tables or grids (as the encoder); DATA_LOSS for fewer than 8 bytes or
  // a rANS state no encoder writes. Holds views of `tables` and `bytes`: both must outlive it.
  static absl::StatusOr<HyperStreamDecoder> Open(const HyperTables& tables, int grid, int z_grid,
                                                 std::string_view bytes);
  // The keep masks and side latents of `count` >= 1 tiles. DATA_LOSS naming `tiles[i]` when the
  // stream ends early or holds a malformed symbol. Call once, first.
  absl::StatusOr<std::vector<HyperTileSide>> DecodeSides(size_t count);
  // The next residual list (in the encoder's order, after DecodeSides: pass-major, then tile):
  // scale_index holds the table of each of its symbols. DATA_LOSS naming the tile as above;
  // INVALID_ARGUMENT for an index out of range.
  absl::StatusOr<std::vector<int32_t>> DecodeResiduals(const std::vector<int32_t>& scale_index);
  // OK when the stream ends exactly here and `checksum` (the receiver's own) matches the sender's;
  // DATA_LOSS saying which otherwise.
  absl::Status Finish(uint32_t checksum) const;

 private:
  HyperStreamDecoder(const HyperTables& tables, int grid, int z_grid, uint32_t checksum, RansDecoder decoder)
      : tables_(&tables), grid_(grid), z_grid_(z_grid), checksum_(checksum), decoder_(std::move(decoder)) {}
  const HyperTables* tables_;
  int grid_, z_grid_;
  uint32_t checksum_;
  RansDecoder decoder_;
  size_t tiles_ = 0, next_list_ = 0;
};

}  // namespace mt
