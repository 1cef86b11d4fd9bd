// In-process loopback: client stub → SenderService → ReceiverPool → ReceiverService → file on
// disk, with small random models; every bad-input class gets its status and the daemons keep
// serving.
#include <ATen/ATen.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/io/image_io.h"
#include "core/metrics/image_metrics.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "server/common/daemon.h"
#include "server/common/packet_proto.h"
#include "server/common/security.h"
#include "server/receiver/receiver_service.h"
#include "server/sender/sender_service.h"
#include "tests/server/loopback.h"
#include "tests/test_util.h"

namespace mt::server {
namespace {

TEST_F(EndToEndTest, ImageLandsOnDiskWithTheReportedBytesAndQuality) {
  const std::string png = Png(13, 19);  // 2 × 3 tiles of 8
  v1::SendReply r;
  grpc::Status s = Send(Request("photo-1", png), &r);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(r.width(), 19);
  EXPECT_EQ(r.height(), 13);
  EXPECT_EQ(r.tiles(), 6);
  EXPECT_EQ(r.patches_total(), 96);
  EXPECT_EQ(r.patches_kept(), 24);
  EXPECT_EQ(r.raw_bytes(), 13 * 19 * 3);
  // Payload: 6 bitmaps of 2 B, 6 cls + 24 kept fp16 tokens of 16 values, 24 patches of 2·2·3 pixels.
  EXPECT_EQ(r.payload_bytes(), 6 * 2 + 30 * 16 * 2 + 24 * 12);
  EXPECT_GT(r.wire_bytes(), r.payload_bytes());
  EXPECT_LT(r.wire_bytes(), r.payload_bytes() + 200);  // protobuf framing only
  const std::string path = out_dir_ + "/photo-1.png";
  ASSERT_EQ(r.stored_path(), path);
  ASSERT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(ReadAll(path), r.reconstruction_png());
  at::Tensor original = *DecodeImageRgb(png), stored = *LoadImageRgb(path);
  EXPECT_NEAR(r.psnr_db(), Psnr(original.unsqueeze(0), stored.unsqueeze(0))[0].item<double>(), 1e-6);
  EXPECT_EQ(r.keep_bitmaps_size(), 6);
  EXPECT_GT(r.timings().total_ms(), 0);
  // No temp files left behind: only PNGs, and the store's content records in .content/.
  for (const auto& e : std::filesystem::directory_iterator(out_dir_)) {
    if (e.path().filename() == ".content") {
      EXPECT_TRUE(std::filesystem::exists(e.path() / "photo-1"));
      continue;
    }
    EXPECT_EQ(e.path().extension(), ".png") << e.path();
  }
}

// mt-client bench --local computes bytes and quality in-process; it must match the daemons.
TEST_F(EndToEndTest, InProcessMeasurementEqualsTheDaemonPath) {
  const std::string png = Png(13, 19);
  for (v1::PayloadKind payload : {v1::FEATURES, v1::FEATURES_AND_PIXELS, v1::PIXELS}) {
    const std::string id = "same" + std::to_string(payload);  // ids are never reused (ALREADY_EXISTS)
    v1::SendRequest req = Request(id, png);
    req.set_payload(payload);
    req.set_precision(v1::INT8);
    v1::SendReply reply;
    ASSERT_TRUE(Send(req, &reply).ok());
    EncodeOptions o;
    o.selection.mode = SelectionPolicy::Mode::kTopK;
    o.selection.keep_ratio = 0.25;
    o.payload = *FromProto(payload, PayloadKind::kFeatures, "payload");
    o.precision = Precision::kInt8;
    at::Tensor image = *DecodeImageRgb(png);
    absl::StatusOr<EncodedImage> e = PacketEncoder(mae_, masker_).Encode(image, id, o);
    ASSERT_TRUE(e.ok());
    at::Tensor local = QuantizeTo8Bit(PacketDecoder(mae_, 1 << 20).Decode(e->packet)->image);
    EXPECT_EQ(WireBytes(e->packet), reply.wire_bytes()) << payload;
    // Same 8-bit values; k/255 as float32 differs in the last bit between x·(1/255) (PNG decode)
    // and round(x·255)/255, hence 1e-6 rather than equality.
    EXPECT_NEAR(Psnr(image.unsqueeze(0), local.unsqueeze(0))[0].item<double>(), reply.psnr_db(), 1e-6) << payload;
    EXPECT_NEAR(Ssim(image.unsqueeze(0), local.unsqueeze(0))[0].item<double>(), reply.ssim(), 1e-6) << payload;
  }
}

TEST_F(EndToEndTest, BadRequestsGetTheirStatusAndTheDaemonsKeepServing) {
  struct Case {
    const char* what;
    v1::SendRequest request;
    grpc::StatusCode code;
  };
  std::vector<Case> cases;
  cases.push_back({"corrupt image", Request("a", "\x89PNG\r\n\x1a\n garbage"), grpc::StatusCode::INVALID_ARGUMENT});
  cases.push_back({"empty image", Request("b", ""), grpc::StatusCode::INVALID_ARGUMENT});
  cases.push_back({"path in id", Request("../../etc/x", Png(8, 8)), grpc::StatusCode::INVALID_ARGUMENT});
  v1::SendRequest bad_payload = Request("c", Png(8, 8));
  bad_payload.set_payload(static_cast<v1::PayloadKind>(9));
  cases.push_back({"unknown payload", bad_payload, grpc::StatusCode::INVALID_ARGUMENT});
  v1::SendRequest bad_ratio = Request("d", Png(8, 8));
  bad_ratio.mutable_selection()->set_keep_ratio(1.5);
  cases.push_back({"keep ratio > 1", bad_ratio, grpc::StatusCode::INVALID_ARGUMENT});
  cases.push_back({"over max_pixels", Request("e", Png(80, 80)), grpc::StatusCode::RESOURCE_EXHAUSTED});
  v1::SendRequest huge = Request("f", std::string(2 << 20, 'x'));  // over the 1 MiB message limit
  cases.push_back({"over max_message_bytes", huge, grpc::StatusCode::RESOURCE_EXHAUSTED});
  for (const Case& c : cases) {
    v1::SendReply reply;
    grpc::Status s = Send(c.request, &reply);
    EXPECT_EQ(s.error_code(), c.code) << c.what << ": " << s.error_message();
    EXPECT_FALSE(s.error_message().empty()) << c.what;
    ExpectStillServing();
  }
}

TEST_F(EndToEndTest, ReceiverWithAnotherModelIsAFailedPrecondition) {
  StopReceiver();
  at::manual_seed(99);
  StartReceiver(MaskedAutoencoder(test::TinyMaeOptions()), "127.0.0.1:" + std::to_string(receiver_.port));
  v1::SendReply reply;
  grpc::Status s = Send(Request("x", Png(8, 8)), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("model_fingerprint"), std::string::npos) << s.error_message();
}

TEST_F(EndToEndTest, ReceiverDownIsUnavailableAndTheNextSendAfterItReturnsSucceeds) {
  ExpectStillServing();  // the link is connected
  const int port = receiver_.port;
  StopReceiver();
  v1::SendReply reply;
  grpc::Status s = Send(Request("while-down", Png(8, 8)), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/while-down.png"));
  StartReceiver(mae_, "127.0.0.1:" + std::to_string(port));
  s = Send(Request("after", Png(8, 8)), &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/after.png"));
}

TEST_F(EndToEndTest, TokensAreCheckedOnBothHops) {
  TearDown();
  StartReceiver(mae_, "127.0.0.1:0", "hop2-secret");
  SenderConfig sc;
  sc.token = "hop1-secret";
  StartSender(sc, 1 << 20, "hop2-secret");
  v1::SendReply reply;
  EXPECT_EQ(Send(Request("t", Png(8, 8)), &reply).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Send(Request("t", Png(8, 8)), &reply, "hop1-secreT").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status s = Send(Request("t", Png(8, 8)), &reply, "hop1-secret");
  EXPECT_TRUE(s.ok()) << s.error_message();
  // A sender holding the wrong receiver token is refused by the receiver.
  sender_.server->Shutdown();
  sender_.server.reset();
  sender_service_.reset();
  link_.reset();
  StartSender(sc, 1 << 20, "wrong");
  s = Send(Request("t2", Png(8, 8)), &reply, "hop1-secret");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_NE(s.error_message().find("token"), std::string::npos) << s.error_message();
}

TEST_F(EndToEndTest, DeadlineThatCannotBeMetIsReported) {
  v1::SendReply reply;
  grpc::Status s = Send(Request("slow", Png(8, 8)), &reply, "", /*deadline_ms=*/1);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << s.error_message();
  ExpectStillServing();
}

TEST_F(EndToEndTest, BadPacketOnTheStreamIsAckedWithItsCodeAndTheStreamCarriesOn) {
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  PacketEncoder encoder(mae_, masker_);
  EncodeOptions eo;
  eo.selection.mode = SelectionPolicy::Mode::kTopK;
  eo.selection.keep_ratio = 0.5;
  ImagePacket good = encoder.Encode(at::rand({3, 8, 8}), "s1", eo)->packet;
  v1::Packet bad = ToProto(good);
  bad.mutable_tiles(0)->mutable_keep_bitmap()->append("x");
  v1::Ack ack;
  ASSERT_TRUE(stream->Write(bad));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_NE(ack.message().find("tiles[0].keep_bitmap"), std::string::npos) << ack.message();
  ASSERT_TRUE(stream->Write(ToProto(good)));
  ASSERT_TRUE(stream->Read(&ack));
  EXPECT_EQ(ack.code(), 0) << ack.message();
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/s1.png"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(EndToEndTest, HealthServiceReportsServing) {
  auto health = grpc::health::v1::Health::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(sender_.port),
                                                                      grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  grpc::health::v1::HealthCheckResponse resp;
  ASSERT_TRUE(health->Check(&ctx, grpc::health::v1::HealthCheckRequest(), &resp).ok());
  EXPECT_EQ(resp.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

}  // namespace
}  // namespace mt::server

namespace mt::server {
namespace {

// Both hops over TLS, the receiver requiring client certificates (certs from scripts/make_certs.sh).
class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    certs_ = test::TempDir();
    const std::string cmd = std::string("bash ") + MT_SOURCE_DIR + "/scripts/make_certs.sh " + certs_ + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl needed";
    at::manual_seed(5);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());
    ReceiverConfig rc;
    rc.output_dir = test::TempDir();
    receiver_service_ = std::make_unique<ReceiverService>(std::make_shared<PacketDecoder>(mae_, 1 << 20), rc);
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    // A CA alone: client certificates are then required (TlsFiles' default), as with mTLS.
    o.tls = {certs_ + "/server.pem", certs_ + "/server.key", certs_ + "/ca.pem"};
    receiver_ = std::move(*StartServer(o, {receiver_service_.get()}));
  }
  void TearDown() override {
    if (sender_.server) sender_.server->Shutdown();
    sender_service_.reset();
    if (receiver_.server) receiver_.server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  }
  // A TLS sender whose receiver hop presents a client certificate (or not).
  void StartTlsSender(bool client_cert) {
    ChannelSecurity hop{true, certs_ + "/ca.pem", client_cert ? certs_ + "/client.pem" : "",
                        client_cert ? certs_ + "/client.key" : "", ""};
    LinkOptions lo;
    lo.connect_timeout = std::chrono::milliseconds(500);
    PoolOptions po;
    po.link = lo;
    auto creds = *MakeChannelCredentials(hop);
    auto link = *ReceiverPool::Create(
        "127.0.0.1:" + std::to_string(receiver_.port),
        [creds](const std::string& target, const std::string&) { return grpc::CreateChannel(target, creds); }, po);
    auto encoder = std::make_shared<PacketEncoder>(mae_, Masker(test::TinyMaskerOptions()));
    sender_service_ = std::make_unique<SenderService>(encoder, link, SenderConfig{});
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.tls = {certs_ + "/server.pem", certs_ + "/server.key", "", false};
    sender_ = std::move(*StartServer(o, {sender_service_.get()}));
  }
  grpc::Status Send(bool tls) {
    auto creds = tls ? *MakeChannelCredentials({true, certs_ + "/ca.pem", "", "", ""})
                     : grpc::InsecureChannelCredentials();
    auto stub = v1::Sender::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(sender_.port), creds));
    v1::SendRequest req;
    req.set_id("tls");
    req.set_image(*EncodePng(at::rand({3, 8, 8})));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::SendReply reply;
    return stub->Send(&ctx, req, &reply);
  }

  std::string certs_;
  MaskedAutoencoder mae_{nullptr};
  std::unique_ptr<ReceiverService> receiver_service_;
  std::unique_ptr<SenderService> sender_service_;
  RunningServer receiver_, sender_;
};

TEST_F(TlsTest, MutualTlsOnBothHopsWorksAndPlaintextOrMissingCertsAreRefused) {
  StartTlsSender(/*client_cert=*/true);
  grpc::Status s = Send(/*tls=*/true);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Send(/*tls=*/false).error_code(), grpc::StatusCode::UNAVAILABLE);  // no handshake
  sender_.server->Shutdown();
  sender_service_.reset();
  StartTlsSender(/*client_cert=*/false);  // the receiver requires a client certificate
  s = Send(/*tls=*/true);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
}

TEST_F(EndToEndTest, StreamingSendRepliesInOrderAndStopsAtTheFirstBadImage) {
  grpc::ClientContext ctx;
  auto stream = stub_->SendStream(&ctx);
  for (const char* id : {"s-a", "s-b"}) ASSERT_TRUE(stream->Write(Request(id, Png(8, 16))));
  ASSERT_TRUE(stream->Write(Request("s-bad", "not an image")));
  stream->WritesDone();
  v1::SendReply reply;
  std::vector<std::string> ids;
  while (stream->Read(&reply)) ids.push_back(reply.id());
  grpc::Status s = stream->Finish();
  EXPECT_EQ(ids, (std::vector<std::string>{"s-a", "s-b"}));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("s-bad"), std::string::npos) << s.error_message();
}

}  // namespace
}  // namespace mt::server
