#include <gtest/gtest.h>

#include "server/common/packet_proto.h"
#include "server/common/status_convert.h"

namespace mt::server {
namespace {

TEST(PacketProtoTest, RoundTripsEveryField) {
  ImagePacket p;
  p.id = "x";
  p.model_fingerprint = "0123456789abcdef";
  p.height = 13;
  p.width = 19;
  p.tile_size = 8;
  p.patch_size = 2;
  p.feature_dim = 16;
  p.payload = PayloadKind::kFeaturesAndPixels;
  p.precision = Precision::kInt8;
  p.tiles.push_back({"ab", "cdef", "gh", "ijk"});
  absl::StatusOr<ImagePacket> back = FromProto(ToProto(p));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->id, p.id);
  EXPECT_EQ(back->model_fingerprint, p.model_fingerprint);
  EXPECT_EQ(back->height, 13);
  EXPECT_EQ(back->width, 19);
  EXPECT_EQ(back->feature_dim, 16);
  EXPECT_EQ(back->payload, PayloadKind::kFeaturesAndPixels);
  EXPECT_EQ(back->precision, Precision::kInt8);
  ASSERT_EQ(back->tiles.size(), 1u);
  EXPECT_EQ(back->tiles[0].pixels, "ijk");
  EXPECT_EQ(back->tiles[0].feature_scales, "gh");
}

// Sender and receiver count the same wire bytes: the per-write ack_wait_ms is not counted,
// whatever its varint length (1, 2, 3 and 5 bytes here).
TEST(PacketProtoTest, WireBytesOfAReceivedMessageLeaveOutAckWait) {
  ImagePacket p;
  p.id = "w";
  p.height = 8;
  p.width = 8;
  p.payload = PayloadKind::kPixels;
  p.tiles.push_back({"ab", "", "", "cdef"});
  for (int64_t wait : {int64_t{0}, int64_t{1}, int64_t{300}, int64_t{120000}, int64_t{1} << 30}) {
    v1::Packet message = ToProto(p);
    message.set_want_reconstruction(true);
    message.set_ack_wait_ms(wait);
    EXPECT_EQ(WireBytes(message), WireBytes(p)) << wait;
  }
}

TEST(PacketProtoTest, UnknownOrMissingEnumsNameTheField) {
  v1::Packet p;
  p.set_payload(static_cast<v1::PayloadKind>(7));
  absl::Status s = FromProto(p).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("payload", 0), 0u) << s;
  p.set_payload(v1::FEATURES);
  p.set_precision(static_cast<v1::Precision>(11));
  EXPECT_EQ(FromProto(p).status().message().rfind("precision", 0), 0u);
  p.set_precision(v1::PRECISION_UNSPECIFIED);
  EXPECT_EQ(FromProto(p).status().code(), absl::StatusCode::kInvalidArgument);
  p.set_payload(v1::PAYLOAD_KIND_UNSPECIFIED);
  EXPECT_EQ(FromProto(p).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(StatusConvertTest, CodesAndMessagesSurviveBothWays) {
  for (absl::StatusCode c : {absl::StatusCode::kInvalidArgument, absl::StatusCode::kFailedPrecondition,
                             absl::StatusCode::kResourceExhausted, absl::StatusCode::kUnavailable,
                             absl::StatusCode::kUnauthenticated, absl::StatusCode::kDataLoss}) {
    grpc::Status g = ToGrpcStatus(absl::Status(c, "why"));
    EXPECT_EQ(static_cast<int>(g.error_code()), static_cast<int>(c));
    EXPECT_EQ(g.error_message(), "why");
    EXPECT_EQ(FromGrpcStatus(g), absl::Status(c, "why"));
  }
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

// A corrupt latent stream's DATA_LOSS goes receiver → Ack.code → sender → client unchanged.
TEST(StatusConvertTest, DataLossKeepsItsCodeAndMessageThroughAcksAndGrpc) {
  const absl::Status loss = absl::DataLossError("latent: tiles[1] truncated");
  const int code = ToAckCode(loss);
  EXPECT_EQ(code, 15);
  const absl::Status back = FromAckCode(code, loss.message());
  EXPECT_EQ(back, loss);
  const grpc::Status g = ToGrpcStatus(back);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_EQ(g.error_message(), "latent: tiles[1] truncated");
  EXPECT_EQ(FromGrpcStatus(g), loss);
  EXPECT_TRUE(FromAckCode(0, "").ok());
  const absl::Status bogus = FromAckCode(99, "x");
  EXPECT_EQ(bogus.code(), absl::StatusCode::kUnknown);
  EXPECT_NE(bogus.message().find("99"), std::string::npos);
  // The Ack helpers carry the id, code and message both ways.
  const v1::Ack ack = AckFromStatus("img-1", absl::ResourceExhaustedError("disk full"));
  EXPECT_EQ(ack.id(), "img-1");
  EXPECT_EQ(ack.code(), static_cast<int>(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(StatusFromAck(ack), absl::ResourceExhaustedError("disk full"));
}

}  // namespace
}  // namespace mt::server
