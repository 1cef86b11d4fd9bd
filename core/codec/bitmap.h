// Packed keep bitmaps: which patches of a tile travel on the wire.
// Layout: ceil(L/8) bytes; patch i is bit (i % 8) of byte i / 8 (LSB first); unused high bits of
// the last byte are zero.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mt {

// Bytes a bitmap of `num_patches` patches takes.
inline int64_t BitmapBytes(int64_t num_patches) { return (num_patches + 7) / 8; }

// keep (L,) bool → packed bitmap.
std::string PackBitmap(const at::Tensor& keep);

// Packed bitmap → keep (L,) bool. INVALID_ARGUMENT when the length is not ceil(L/8) or a padding
// bit is set.
absl::StatusOr<at::Tensor> UnpackBitmap(std::string_view bytes, int64_t num_patches);

}  // namespace mt
