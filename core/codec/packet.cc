#include "core/codec/packet.h"

#include "absl/strings/str_cat.h"
#include "core/codec/bitmap.h"

namespace mt {

const char* PayloadKindName(PayloadKind k) {
  switch (k) {
    case PayloadKind::kFeatures: return "features";
    case PayloadKind::kFeaturesAndPixels: return "features+pixels";
    case PayloadKind::kPixels: return "pixels";
    case PayloadKind::kLatent: return "latent";
  }
  return "?";
}

absl::StatusOr<PayloadKind> ParsePayloadKind(std::string_view name) {
  if (name == "features") return PayloadKind::kFeatures;
  if (name == "features+pixels") return PayloadKind::kFeaturesAndPixels;
  if (name == "pixels") return PayloadKind::kPixels;
  if (name == "latent") return PayloadKind::kLatent;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown payload '", std::string(name), "' (features|features+pixels|pixels|latent)"));
}

absl::Status ValidateImageId(std::string_view id) {
  constexpr size_t kMaxIdLength = 128;
  if (id.empty() || id.size() > kMaxIdLength)
    return absl::InvalidArgumentError(absl::StrCat("id must have 1 to ", kMaxIdLength, " characters, got ", id.size()));
  if (id.front() == '.') return absl::InvalidArgumentError("id must not start with '.'");
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok)
      return absl::InvalidArgumentError(
          absl::StrCat("id may only hold letters, digits, '.', '_' and '-' (found byte ", static_cast<int>(
                                                                                              static_cast<unsigned char>(c)),
                       ")"));
  }
  return absl::OkStatus();
}

int64_t BytesPerKeptPatch(PayloadKind payload, Precision precision, int64_t feature_dim, int64_t patch_size) {
  return (CarriesFeatures(payload) ? TokenBytes(precision, feature_dim) : 0) +
         (CarriesPixels(payload) ? patch_size * patch_size * 3 : 0);
}

int64_t BytesPerTile(PayloadKind payload, Precision precision, int64_t feature_dim, int64_t num_patches) {
  if (CarriesLatents(payload)) return 0;
  return BitmapBytes(num_patches) + (CarriesFeatures(payload) ? TokenBytes(precision, feature_dim) : 0);
}

int64_t PayloadBytes(const ImagePacket& packet) {
  auto n = static_cast<int64_t>(packet.latent.size());
  for (const TilePayload& t : packet.tiles)
    n += static_cast<int64_t>(t.keep_bitmap.size() + t.features.size() + t.feature_scales.size() + t.pixels.size());
  return n;
}

}  // namespace mt
