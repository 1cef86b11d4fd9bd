// Builds the dataset a DataConfig names.
#pragma once

#include "core/config/train_config.h"
#include "core/data/image_dataset.h"

namespace mt {

// cifar10 / stl10 / image_folder / synthetic (crops_per_image / val_crops_per_image images). image_folder in a build without OpenCV is UNIMPLEMENTED.
absl::StatusOr<std::unique_ptr<ImageDataset>> MakeDataset(const DataConfig& config, Split split);

}  // namespace mt
