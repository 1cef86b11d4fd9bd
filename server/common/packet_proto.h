// mt.v1 protos ↔ core packet types. Thread-safe (pure functions).
#pragma once

#include "absl/status/statusor.h"
#include "core/codec/packet.h"
#include "core/model/mae.h"
#include "core/codecs/tile_codec.h"
#include "mt/v1/transmission.pb.h"

namespace mt::server {

v1::Packet ToProto(const ImagePacket& packet);

// Bytes the sender puts on the wire for `packet` (serialized, counted with want_reconstruction
// set, whatever the request asked back): the number every report and benchmark quotes. Transport
// fields are not counted, as gRPC's own framing is not: ack_wait_ms (≤ 6 bytes, set per write) and
// chunk framing.
int64_t WireBytes(const ImagePacket& packet);
// The same count for a message as received: its serialized size less ack_wait_ms's bytes, plus
// want_reconstruction's 2 when unset, so the receiver's wire-bytes metric agrees with the sender's.
int64_t WireBytes(const v1::Packet& message);

// INVALID_ARGUMENT names the field when an enum value is unknown or a number is out of range;
// the payload itself is checked by core's PacketDecoder.
absl::StatusOr<ImagePacket> FromProto(const v1::Packet& proto);

// Fills the model fields of an Info reply (role, fingerprint, sizes, widths, depths).
void FillModelInfo(const char* role, const MaskedAutoencoderOptions& mae, const std::string& fingerprint,
                   v1::ModelInfo* info);
// Fills the codec fields of an Info reply from `coder` (null: left empty / 0) and its checkpoint path.
void FillCodecInfo(const TileCodec* coder, const std::string& checkpoint, v1::ModelInfo* info);

v1::PayloadKind ToProto(PayloadKind kind);
v1::Precision ToProto(Precision precision);
// UNSPECIFIED maps to the given default; unknown numbers are INVALID_ARGUMENT naming `field`.
absl::StatusOr<PayloadKind> FromProto(v1::PayloadKind kind, PayloadKind unspecified, const char* field);
absl::StatusOr<Precision> FromProto(v1::Precision precision, Precision unspecified, const char* field);

}  // namespace mt::server
