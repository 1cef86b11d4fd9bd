#include "core/codec/bitmap.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace mt {

std::string PackBitmap(const at::Tensor& keep) {
  TORCH_CHECK(keep.dim() == 1, "PackBitmap expects (L,), got ", keep.sizes());
  at::Tensor k = keep.to(at::kCPU).to(at::kBool).contiguous();
  const int64_t l = k.size(0);
  std::string out(static_cast<size_t>(BitmapBytes(l)), '\0');
  const bool* p = k.data_ptr<bool>();
  for (int64_t i = 0; i < l; ++i)
    if (p[i]) out[static_cast<size_t>(i / 8)] = static_cast<char>(out[static_cast<size_t>(i / 8)] | (1 << (i % 8)));
  return out;
}

absl::StatusOr<at::Tensor> UnpackBitmap(std::string_view bytes, int64_t num_patches) {
  if (static_cast<int64_t>(bytes.size()) != BitmapBytes(num_patches))
    return absl::InvalidArgumentError(absl::StrCat("keep_bitmap has ", bytes.size(), " bytes; ", num_patches,
                                                   " patches need ", BitmapBytes(num_patches)));
  at::Tensor keep = at::zeros({num_patches}, at::kBool);
  bool* p = keep.data_ptr<bool>();
  for (int64_t i = 0; i < num_patches; ++i) p[i] = (static_cast<uint8_t>(bytes[static_cast<size_t>(i / 8)]) >> (i % 8)) & 1;
  if (num_patches % 8 != 0) {
    const auto last = static_cast<uint8_t>(bytes.back());
    if (last >> (num_patches % 8))
      return absl::InvalidArgumentError("keep_bitmap has bits set beyond the last patch");
  }
  return keep;
}

}  // namespace mt
