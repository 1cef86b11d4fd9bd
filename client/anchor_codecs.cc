#include "client/anchor_codecs.h"

#include "absl/strings/str_cat.h"

namespace mt::client {

absl::Status CheckRgb8(const Rgb8& image, std::string_view codec_name) {
  const std::string codec(codec_name);  // Debian's Abseil has its own string_view: StrCat takes std::string
  if (image.width <= 0 || image.height <= 0)
    return absl::InvalidArgumentError(absl::StrCat(codec, ": empty image (", image.width, "x", image.height, ")"));
  if (image.pixels.size() != 3 * static_cast<size_t>(image.width) * static_cast<size_t>(image.height))
    return absl::InvalidArgumentError(absl::StrCat(codec, ": ", image.width, "x", image.height, " RGB needs ",
                                                   3 * static_cast<size_t>(image.width) * image.height,
                                                   " bytes, buffer has ", image.pixels.size()));
  return absl::OkStatus();
}

const std::vector<const AnchorCodec*>& AnchorCodecs() {
  static const std::vector<const AnchorCodec*> codecs = {
      &JpegAnchor(), &WebpAnchor(),
#ifdef MT_HAVE_AVIF
      &AvifAnchor(),
#endif
#ifdef MT_HAVE_JXL
      &JxlAnchor(),
#endif
  };
  return codecs;
}

const std::vector<MissingAnchor>& MissingAnchorCodecs() {
  static const std::vector<MissingAnchor> missing = {
#ifndef MT_HAVE_AVIF
      {"avif", "libavif was not found by pkg-config when this build was configured (apt-get install libavif-dev)"},
#endif
#ifndef MT_HAVE_JXL
      {"jxl", "libjxl was not found by pkg-config when this build was configured (apt-get install libjxl-dev)"},
#endif
  };
  return missing;
}

const AnchorCodec* FindAnchorCodec(std::string_view name) {
  for (const AnchorCodec* codec : AnchorCodecs())
    if (codec->name() == name) return codec;
  return nullptr;
}

}  // namespace mt::client
