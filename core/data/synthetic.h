// Synthetic images for throughput runs where no dataset is at hand (e.g. a GPU box).
#pragma once

#include "core/data/image_dataset.h"

namespace mt {

// `count` images of side `size`: smooth colour gradients plus a few rectangles, deterministic
// per index (augmentation-free). Not for training models anyone should use.
std::unique_ptr<ImageDataset> MakeSyntheticDataset(int64_t count, int64_t size);

}  // namespace mt
