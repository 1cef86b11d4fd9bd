#include "server/common/packet_proto.h"

#include <google/protobuf/io/coded_stream.h>

#include "absl/strings/str_cat.h"

namespace mt::server {

v1::PayloadKind ToProto(PayloadKind kind) {
  switch (kind) {
    case PayloadKind::kFeatures: return v1::FEATURES;
    case PayloadKind::kFeaturesAndPixels: return v1::FEATURES_AND_PIXELS;
    case PayloadKind::kPixels: return v1::PIXELS;
    case PayloadKind::kLatent: return v1::LATENT;
  }
  return v1::PAYLOAD_KIND_UNSPECIFIED;
}

v1::Precision ToProto(Precision precision) {
  switch (precision) {
    case Precision::kFp32: return v1::FP32;
    case Precision::kFp16: return v1::FP16;
    case Precision::kInt8: return v1::INT8;
  }
  return v1::PRECISION_UNSPECIFIED;
}

absl::StatusOr<PayloadKind> FromProto(v1::PayloadKind kind, PayloadKind unspecified, const char* field) {
  switch (kind) {
    case v1::PAYLOAD_KIND_UNSPECIFIED: return unspecified;
    case v1::FEATURES: return PayloadKind::kFeatures;
    case v1::FEATURES_AND_PIXELS: return PayloadKind::kFeaturesAndPixels;
    case v1::PIXELS: return PayloadKind::kPixels;
    case v1::LATENT: return PayloadKind::kLatent;
    default: break;
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": unknown payload kind ", static_cast<int>(kind)));
}

absl::StatusOr<Precision> FromProto(v1::Precision precision, Precision unspecified, const char* field) {
  switch (precision) {
    case v1::PRECISION_UNSPECIFIED: return unspecified;
    case v1::FP32: return Precision::kFp32;
    case v1::FP16: return Precision::kFp16;
    case v1::INT8: return Precision::kInt8;
    default: break;
  }
  return absl::InvalidArgumentError(absl::StrCat(field, ": unknown precision ", static_cast<int>(precision)));
}

void FillModelInfo(const char* role, const MaskedAutoencoderOptions& o, const std::string& fingerprint,
                   v1::ModelInfo* info) {
  info->set_role(role);
  info->set_model_fingerprint(fingerprint);
  info->set_image_size(static_cast<int32_t>(o.img_size));
  info->set_patch_size(static_cast<int32_t>(o.patch_size));
  info->set_encoder_width(static_cast<int32_t>(o.embed_dim));
  info->set_decoder_width(static_cast<int32_t>(o.decoder_embed_dim));
  info->set_encoder_depth(static_cast<int32_t>(o.depth));
  info->set_decoder_depth(static_cast<int32_t>(o.decoder_depth));
}

void FillCodecInfo(const TileCodec* coder, const std::string& checkpoint, v1::ModelInfo* info) {
  if (coder == nullptr) return;
  info->set_codec_fingerprint(coder->fingerprint());
  info->set_codec_levels(static_cast<int32_t>(coder->num_levels()));
  info->set_codec_channels(static_cast<int32_t>(coder->channels()));
  info->set_codec_checkpoint(checkpoint);
}

v1::Packet ToProto(const ImagePacket& p) {
  v1::Packet out;
  out.set_id(p.id);
  out.set_model_fingerprint(p.model_fingerprint);
  out.set_height(static_cast<int32_t>(p.height));
  out.set_width(static_cast<int32_t>(p.width));
  out.set_tile_size(static_cast<int32_t>(p.tile_size));
  out.set_patch_size(static_cast<int32_t>(p.patch_size));
  out.set_feature_dim(static_cast<int32_t>(p.feature_dim));
  out.set_payload(ToProto(p.payload));
  out.set_precision(ToProto(p.precision));
  if (CarriesLatents(p.payload)) {
    out.set_latent_level(static_cast<int32_t>(p.latent_level));
    out.set_latent(p.latent);
  }
  for (const TilePayload& t : p.tiles) {
    v1::TilePayload* tp = out.add_tiles();
    tp->set_keep_bitmap(t.keep_bitmap);
    tp->set_features(t.features);
    tp->set_feature_scales(t.feature_scales);
    tp->set_pixels(t.pixels);
  }
  return out;
}

int64_t WireBytes(const ImagePacket& packet) {
  v1::Packet proto = ToProto(packet);
  proto.set_want_reconstruction(true);
  return static_cast<int64_t>(proto.ByteSizeLong());
}

int64_t WireBytes(const v1::Packet& message) {
  constexpr int64_t kWantReconstructionBytes = 2;  // field 11, varint tag + 1-byte true
  const int64_t all = static_cast<int64_t>(message.ByteSizeLong()) +
                      (message.want_reconstruction() ? 0 : kWantReconstructionBytes);
  if (message.ack_wait_ms() == 0) return all;
  constexpr int64_t kFieldTagBytes = 2;  // field 19, varint: (19 << 3) needs two bytes
  const auto value = static_cast<uint64_t>(message.ack_wait_ms());
  return all - kFieldTagBytes - static_cast<int64_t>(google::protobuf::io::CodedOutputStream::VarintSize64(value));
}

absl::StatusOr<ImagePacket> FromProto(const v1::Packet& proto) {
  ImagePacket p;
  absl::StatusOr<PayloadKind> payload = FromProto(proto.payload(), PayloadKind::kFeatures, "payload");
  if (!payload.ok()) return payload.status();
  if (proto.payload() == v1::PAYLOAD_KIND_UNSPECIFIED)
    return absl::InvalidArgumentError("payload: a packet must name its payload kind");
  absl::StatusOr<Precision> precision = FromProto(proto.precision(), Precision::kFp32, "precision");
  if (!precision.ok()) return precision.status();
  if (proto.precision() == v1::PRECISION_UNSPECIFIED && CarriesFeatures(*payload))
    return absl::InvalidArgumentError("precision: a features packet must name its precision");
  p.id = proto.id();
  p.model_fingerprint = proto.model_fingerprint();
  p.height = proto.height();
  p.width = proto.width();
  p.tile_size = proto.tile_size();
  p.patch_size = proto.patch_size();
  p.feature_dim = proto.feature_dim();
  p.payload = *payload;
  p.precision = *precision;
  p.latent_level = proto.latent_level();
  p.latent = proto.latent();
  p.tiles.reserve(static_cast<size_t>(proto.tiles_size()));
  for (const v1::TilePayload& t : proto.tiles())
    p.tiles.push_back({t.keep_bitmap(), t.features(), t.feature_scales(), t.pixels()});
  return p;
}

}  // namespace mt::server
