// The conventional image codecs `mt-client bench` sweeps as anchors beside the learned methods:
// what a user would pick instead. Each anchor encodes a plain 8-bit RGB buffer at one of its
// settings and decodes the bytes back to 8-bit RGB. No LibTorch, no gRPC: the library
// (mt_anchors) links only OpenCV (JPEG, WebP), libavif and libjxl.
// Thread-safety: the codecs hold no mutable state; Encode/Decode may run concurrently.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mt::client {

// Interleaved 8-bit RGB, row-major, no row padding: pixels.size() == 3 * width * height.
struct Rgb8 {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;
};

// INVALID_ARGUMENT unless `image` is non-empty and its buffer matches its size; `codec` names the caller.
absl::Status CheckRgb8(const Rgb8& image, std::string_view codec);

class AnchorCodec {
 public:
  virtual ~AnchorCodec() = default;
  // "jpeg", "webp", "avif" or "jxl": the bench's `method` column.
  virtual std::string_view name() const = 0;
  // What one setting means, for the report and --help (e.g. "quality 1-100").
  virtual std::string_view setting_meaning() const = 0;
  // The settings the bench sweeps, ordered from the lowest rate (worst quality) to the highest.
  virtual const std::vector<int>& settings() const = 0;
  // `image` at `setting` → the whole file's bytes. INVALID_ARGUMENT for a bad image or setting,
  // INTERNAL when the library fails; the message names the codec.
  virtual absl::StatusOr<std::string> Encode(const Rgb8& image, int setting) const = 0;
  // File bytes → 8-bit RGB (grey is replicated, alpha dropped). INVALID_ARGUMENT for bytes that do
  // not decode (empty, truncated, garbage); never crashes on them.
  virtual absl::StatusOr<Rgb8> Decode(std::string_view bytes) const = 0;
};

// The anchors compiled into this build, in the bench's order: jpeg, webp, then avif and jxl when
// their libraries were found at configure time.
const std::vector<const AnchorCodec*>& AnchorCodecs();

// The anchors left out of this build and why (the Debian package that provides them).
struct MissingAnchor {
  std::string name, reason;
};
const std::vector<MissingAnchor>& MissingAnchorCodecs();

// The compiled-in anchor called `name`, or nullptr.
const AnchorCodec* FindAnchorCodec(std::string_view name);

// The individual codecs (static objects; AvifAnchor/JxlAnchor exist only when compiled in).
const AnchorCodec& JpegAnchor();
const AnchorCodec& WebpAnchor();
const AnchorCodec& AvifAnchor();
const AnchorCodec& JxlAnchor();

}  // namespace mt::client
