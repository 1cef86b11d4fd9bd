// Fits a latent codec's spatial-context tables (core/entropy/latent_context) to example images,
// once, at `mt-train export`: the codec's own latents of the images, quantised at every step
// level, are counted by a ContextTableBuilder and the fitted tables stored in the codec.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "core/model/conv_codec.h"
#include "core/model/latent_codec.h"

namespace mt {

struct ContextFitOptions {
  int buckets = 4;           // magnitude buckets per channel (latent_context)
  int64_t batch_tiles = 256;  // tiles per analysis forward
  uint64_t seed = 0;         // for the half-kept copies of each tile
};

// images: (3, H, W) in [0,1], any size (split into the codec's tiles). Every tile counts once with
// every patch kept and once with a seeded random half kept, so masked selections' contexts are
// represented too. Then codec->SetContextTables. FAILED_PRECONDITION when the codec has no step
// levels (BuildTables first) or there are no images; INVALID_ARGUMENT for buckets outside
// [1, kMaxContextBuckets]. progress(images done, images) after each image when given.
absl::Status FitContextTables(LatentCodec& codec, const std::vector<at::Tensor>& images, const ContextFitOptions& options,
                              const std::function<void(size_t, size_t)>& progress = nullptr);
// The same for the conv codec: its tile_size tiles, every level's per-channel steps (after
// BuildTables).
absl::Status FitContextTables(ConvCodec& codec, const std::vector<at::Tensor>& images, const ContextFitOptions& options,
                              const std::function<void(size_t, size_t)>& progress = nullptr);

}  // namespace mt
