// What travels sender → receiver for one image, as core types (server/ converts to and from the
// mt.v1 protos; core never sees a proto).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/codec/feature_codec.h"

namespace mt {

enum class PayloadKind {
  kFeatures,           // decoder-space tokens of kept patches (+ cls); output: the decoder's image
  kFeaturesAndPixels,  // also the kept pixels; output: composite (kept pixels exact)
  kPixels,             // only kept pixels; receiver re-encodes them (visible-only); output: composite
  kLatent,             // one entropy-coded stream: per tile its keep mask + quantised latents of the kept
                       // patches (core/entropy/latent_stream.h); output: the codec's decoder image
};

// "features" | "features+pixels" | "pixels" | "latent".
const char* PayloadKindName(PayloadKind k);
absl::StatusOr<PayloadKind> ParsePayloadKind(std::string_view name);
inline bool CarriesFeatures(PayloadKind k) {
  return k == PayloadKind::kFeatures || k == PayloadKind::kFeaturesAndPixels;
}
inline bool CarriesPixels(PayloadKind k) { return k == PayloadKind::kFeaturesAndPixels || k == PayloadKind::kPixels; }
inline bool CarriesLatents(PayloadKind k) { return k == PayloadKind::kLatent; }

struct TilePayload {
  std::string keep_bitmap;     // BitmapBytes(L): which patches were kept (see bitmap.h)
  std::string features;        // features payloads: 1+K tokens (cls first) × feature_dim at `precision`
  std::string feature_scales;  // int8 only: 1+K fp32 per-token scales
  std::string pixels;          // pixel payloads: K kept patches × (p·p·3) uint8, each patch (y, x, rgb)
};

struct ImagePacket {
  std::string id;                 // image id chosen by the client (see ValidateImageId)
  std::string model_fingerprint;  // ModelFingerprint() of the MAE (latent: of the codec) both sides share
  int64_t height = 0, width = 0;  // original image size in pixels
  int64_t tile_size = 0;          // model image size: tiles are tile_size² (edges padded)
  int64_t patch_size = 0;         // pixels per patch side
  int64_t feature_dim = 0;        // decoder width D of the feature tokens
  PayloadKind payload = PayloadKind::kFeatures;
  Precision precision = Precision::kFp32;
  int64_t latent_level = 0;       // latent payload: quantisation step level (index into the codec's tables)
  std::string latent;             // latent payload: ONE rANS stream of every tile in raster order (keep
                                  // masks inside; `tiles` stays empty)
  std::vector<TilePayload> tiles;  // raster order over PlanTiles(height, width, tile_size)
};

// Ids name files on the receiver: 1–128 of [A-Za-z0-9._-], not starting with '.'.
// INVALID_ARGUMENT says what is wrong.
absl::Status ValidateImageId(std::string_view id);

// Wire bytes one kept patch costs under `payload`/`precision` (tokens, scales, pixels; 0 for
// latent, whose cost depends on the content).
int64_t BytesPerKeptPatch(PayloadKind payload, Precision precision, int64_t feature_dim, int64_t patch_size);

// Wire bytes a tile costs before any patch is kept (bitmap, cls token).
int64_t BytesPerTile(PayloadKind payload, Precision precision, int64_t feature_dim, int64_t num_patches);

// Payload bytes of a packet (bitmaps, tokens, scales, pixels; not the framing).
int64_t PayloadBytes(const ImagePacket& packet);

}  // namespace mt
