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

}  // namespace mt
