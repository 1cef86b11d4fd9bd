// CIFAR-10 and STL-10 in their binary distributions (users bring the files).
#pragma once

#include "core/data/image_dataset.h"

namespace mt {

// `dir` holds cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin (or is that folder).
// Train: 50,000 images with random horizontal flips; val: the 10,000 test images.
// NOT_FOUND names a missing file; DATA_LOSS a truncated one.
absl::StatusOr<std::unique_ptr<ImageDataset>> LoadCifar10(const std::string& dir, Split split);

// `dir` holds stl10_binary/{unlabeled_X,train_X,test_X}.bin (or is that folder). Train: the
// 100,000 unlabeled + 5,000 train images with flips; val: the 8,000 test images. 96×96.
// (STL files are accepted with any whole number of images, so subsets work; a partial image
// is DATA_LOSS.)
absl::StatusOr<std::unique_ptr<ImageDataset>> LoadStl10(const std::string& dir, Split split);

// `dir` holds train.u8 and val.u8: back-to-back (3, S, S) uint8 RGB images, channel-major,
// no header (scripts/make_crop_file.py writes them from photos where OpenCV's C++ libraries
// are missing, e.g. a GPU box). Train gets random horizontal flips. A partial image is DATA_LOSS.
absl::StatusOr<std::unique_ptr<ImageDataset>> LoadCropFile(const std::string& dir, Split split, int64_t img_size);

}  // namespace mt
