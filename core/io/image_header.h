// Image dimensions read from the file header, before any decoding: a decompression bomb (a few
// kB of PNG that inflates to gigabytes) is refused by its declared size, not after allocation.
// Only formats whose header is parsed here are accepted by the services, so no format reaches
// the decoder unchecked. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mt {

struct ImageHeader {
  std::string format;  // "png", "jpeg", "webp", "bmp", "tiff", "pnm", "gif"
  int64_t width = 0, height = 0;
};

// Header of an encoded image. INVALID_ARGUMENT (naming the problem) for bytes that are no
// supported format, a truncated or malformed header, or zero dimensions.
absl::StatusOr<ImageHeader> PeekImageHeader(std::string_view bytes);

}  // namespace mt
