// From a checkpoint's kind (`mt_kind` in its metadata) to the TileCodec that serves it. Adding
// a codec: its implementation file, and one line in kTileCodecs (tile_codec_registry.cc).
// Thread-safety: plain functions over a constant table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/codecs/tile_codec.h"
#include "core/runtime/compute_precision.h"

namespace mt {

// Loads an exported codec checkpoint of any registered kind with its coding tables. NOT_FOUND /
// DATA_LOSS / FAILED_PRECONDITION as the checkpoint loaders; FAILED_PRECONDITION for a kind no
// codec serves (the message lists those that do) or a checkpoint without tables.
absl::StatusOr<std::shared_ptr<const TileCodec>> LoadTileCodec(const std::string& path,
                                                              ComputePrecision compute = ComputePrecision::kFloat32);

// The checkpoint kinds LoadTileCodec serves, in registry order.
std::vector<std::string> TileCodecKinds();

}  // namespace mt
