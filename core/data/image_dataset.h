// Sources of training images.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include "absl/status/statusor.h"

namespace mt {

// Thread-safety: Get() is const and safe to call from several loader threads at once.
class ImageDataset {
 public:
  virtual ~ImageDataset() = default;
  // Samples per epoch.
  virtual int64_t size() const = 0;
  // Side of the square samples.
  virtual int64_t image_size() const = 0;
  // Sample `index` in [0, size()) → (3, S, S) float32 in [0,1]; `rng` drives augmentation
  // (validation datasets ignore it and are deterministic).
  virtual at::Tensor Get(int64_t index, std::mt19937_64& rng) const = 0;
};

enum class Split { kTrain, kVal };

}  // namespace mt
