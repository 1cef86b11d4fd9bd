#include "core/codecs/tile_codec.h"

namespace mt {

double TileCodec::AnalyzedPixels(int64_t height, int64_t width) const {
  const int64_t t = tile_size_;
  return static_cast<double>(((height + t - 1) / t) * ((width + t - 1) / t) * t * t);
}

double TileCodec::SynthesizedPixels(int64_t height, int64_t width) const { return AnalyzedPixels(height, width); }

}  // namespace mt
