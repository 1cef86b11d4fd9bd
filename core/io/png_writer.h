// PNG encoding of 8-bit RGB pixels with the deflate work split across threads.
// Why: the receiver stores every image as PNG, and zlib is single-threaded: a 12 MP photo took
// ~0.5 s in OpenCV's encoder, on the critical path of the ack. Here horizontal strips are
// filtered and deflated in parallel (pigz's method: each strip ends on a byte-aligned sync flush,
// so the concatenation is one valid deflate stream, and the Adler-32s are combined). The settings
// are OpenCV's defaults for PNG (filter Sub on every row, zlib level 1, strategy Z_RLE), so files
// are about the same size.
// Thread-safety: stateless; safe from any thread. It deflates on the caller's thread plus
// at::get_num_threads() - 1 short-lived helper threads.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace mt {

// `rgb`: height × width × 3 bytes, row-major, R G B. Returns the PNG file's bytes (colour type 2,
// bit depth 8, no interlace). INVALID_ARGUMENT for an empty image or one over 2^31 − 1 rows or 2^28
// columns, INTERNAL if zlib fails. Identical bytes for any thread count.
absl::StatusOr<std::string> EncodePngRgb8(const uint8_t* rgb, int64_t height, int64_t width);

}  // namespace mt
