// Image files ↔ RGB float tensors. Thread-safe (no shared state).
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt {

// Any OpenCV-readable file → (3, H, W) float32 RGB in [0,1]. Grey is replicated, alpha is
// dropped, 16-bit is scaled by 1/65535. NOT_FOUND if missing, INVALID_ARGUMENT if undecodable.
absl::StatusOr<at::Tensor> LoadImageRgb(const std::string& path);

// Encoded bytes (PNG, JPEG, …) → (3, H, W) float32 RGB in [0,1]; INVALID_ARGUMENT if undecodable.
absl::StatusOr<at::Tensor> DecodeImageRgb(std::string_view bytes);

// (3, H, W) → (3, size, size): central square crop, then area-averaging resize (OpenCV INTER_AREA).
at::Tensor CenterCropResize(const at::Tensor& image, int64_t size);

// (3, H, W) → up to `count` evenly spaced native size×size crops (a deterministic grid of
// positions); the whole image when size <= 0; none when the image is smaller than size.
std::vector<at::Tensor> EvenCrops(const at::Tensor& image, int64_t size, int64_t count);

// (3, H, W) float in [0,1] (clamped, rounded to 8 bits) → PNG bytes.
absl::StatusOr<std::string> EncodePng(const at::Tensor& image);

// (3, H, W) float in [0,1] → file bytes in `format` ("png", "jpeg", "webp"); quality 1–100 for
// jpeg/webp (ignored for png). INVALID_ARGUMENT for an unknown format or quality.
absl::StatusOr<std::string> EncodeImage(const at::Tensor& image, const std::string& format, int quality);

// What storing as 8-bit PNG keeps: clamp to [0,1], round to k/255. (3, H, W) → same shape.
at::Tensor QuantizeTo8Bit(const at::Tensor& image);

// Writes EncodePng(image) to `path` atomically (WriteFileAtomic: temp file, fsync, rename).
absl::Status SavePng(const std::string& path, const at::Tensor& image);

}  // namespace mt
