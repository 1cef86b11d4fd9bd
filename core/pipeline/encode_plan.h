// One request of an encoder batch, validated before any model runs: its tile grid, how its
// patches are selected, its latent rate settings. Validation of what the encoder can serve lives
// here; what a request may ask at all (ids, sizes, enum values) is checked by the frontends.
// Thread-safety: stateless functions; safe to call concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/codec/tiling.h"
#include "core/codecs/tile_codec.h"
#include "core/masking/patch_selector.h"
#include "core/model/mae.h"
#include "core/pipeline/encode_request.h"

namespace mt {

struct EncodePlan {
  size_t request = 0;          // index in the batch
  TileGrid grid;               // the MAE's tiles, or the codec's own (!selects_positions())
  SelectionPolicy policy;      // resolved: a latent byte budget becomes top-k here, selected after analysis
  std::optional<PatchSelector> selector;  // set by PlanEncode (PatchSelector has no empty state)
  at::Tensor tiles;            // (N, 3, T, T)
  int64_t first_tile = 0;      // in the batch's masker input
  int64_t first_feature = -1;  // in the batch's encoder input (-1: payload carries no features)
  int64_t first_latent = -1;   // in the batch's latent-analysis input (-1: not a latent payload)
  int64_t latent_level = 0;    // latent: the step level
  int64_t latent_budget = 0;   // latent with a byte budget: max_bytes (selection happens after analysis)
  bool keeps_all = false;      // every patch kept: the masker's scores cannot change the selection
};

// Validates request `index` of a batch against the encoder's MAE and (optional) latent codec and
// plans it: INVALID_ARGUMENT for a bad id, image, level or selection; FAILED_PRECONDITION for
// payload latent without a codec; RESOURCE_EXHAUSTED for a features/pixels packet over
// options.max_packet_bytes; CANCELLED / DEADLINE_EXCEEDED when its caller has gone. The batch
// offsets (first_*) are left for the caller.
absl::StatusOr<EncodePlan> PlanEncode(const EncodeRequest& req, size_t index, const MaskedAutoencoderOptions& mae,
                                      const TileCodec* latent);

// Why `req` need not be computed any more, `when` (OK: its caller still waits).
absl::Status RequestGone(const EncodeRequest& req, const char* when);

}  // namespace mt
