// Photos from a folder (any OpenCV-readable files), served as random square crops.
#pragma once

#include "core/data/image_dataset.h"

namespace mt {

struct ImageFolderOptions {
  int64_t img_size = 32;             // S: side of every sample
  int64_t crops_per_image = 64;      // train: samples per photo per epoch
  int64_t val_crops_per_image = 16;  // val: fixed samples per photo
  int64_t max_crop_side = 0;         // largest crop side before resizing (0: the photo's short side)
};

// Reads every image under `dir/train` (kTrain) or `dir/val` (kVal), recursively, sorted by path.
// A sample is a square crop whose side is drawn log-uniformly between S px (native resolution,
// like the tiles the sender cuts) and the photo's short side (the whole scene; or max_crop_side
// when set: max_crop_side = S gives native-resolution crops only), resized to S×S
// with area averaging, flipped at random when training. Validation crops come from a fixed
// per-index seed, so they are identical in every run. NOT_FOUND if the folder has no images.
absl::StatusOr<std::unique_ptr<ImageDataset>> LoadImageFolder(const std::string& dir, Split split,
                                                               const ImageFolderOptions& options);

}  // namespace mt
