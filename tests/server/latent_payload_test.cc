// Payload latent through the daemons: both start with a tiny codec checkpoint written here
// (loaded by the daemons' start-up step), a latent Send stores the image and reports the real
// stream bytes, and every refusal gets its code: corrupt streams, other coding tables, a sender
// or receiver without a codec, step levels out of range.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/codec/bitmap.h"
#include "core/codecs/mae_bottleneck_tile_codec.h"
#include "core/io/checkpoint.h"
#include "server/sender/request_validation.h"
#include "tests/server/loopback.h"

namespace mt::server {
namespace {

LatentCodec TinyCodec(const std::vector<double>& steps) { return test::TinyLatentCodec(steps); }

class LatentPayloadTest : public EndToEndTest {
 protected:
  void SetUp() override {
    at::manual_seed(21);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());
    masker_ = Masker(test::TinyMaskerOptions());
    out_dir_ = test::TempDir();
    codec_path_ = test::TempDir() + "/codec.pt";
    LatentCodec codec = TinyCodec({0.25, 0.5, 1.0});
    ASSERT_TRUE(SaveCheckpoint(codec_path_, codec).ok());
    absl::StatusOr<DaemonCodec> loaded =
        LoadDaemonCodec(codec_path_, false, ComputePrecision::kFloat32, mae_->options());
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    ASSERT_NE(loaded->coder, nullptr);
    coder_ = loaded->coder;
    StartReceiver(mae_, "127.0.0.1:0", "", coder_);
    SenderConfig sc;
    sc.codec_checkpoint = codec_path_;
    StartSender(sc, 1 << 20, "", coder_);
  }

  static v1::SendRequest LatentRequest(const std::string& id, const std::string& image) {
    v1::SendRequest r = Request(id, image);
    r.set_payload(v1::LATENT);
    r.clear_precision();  // not needed for latent
    r.mutable_selection()->set_keep_ratio(0.5);
    return r;
  }
  // The packet the sender builds for `png` (same models, codec and options), for Deliver tests.
  v1::Packet LatentPacket(const std::string& id, const std::shared_ptr<const TileCodec>& coder,
                          int64_t level = 1) const {
    PacketEncoder encoder(mae_, masker_, ComputePrecision::kFloat32, coder);
    EncodeOptions eo;
    eo.selection.mode = SelectionPolicy::Mode::kTopK;
    eo.selection.keep_ratio = 0.5;
    eo.payload = PayloadKind::kLatent;
    eo.latent_level = level;
    absl::StatusOr<EncodedImage> e = encoder.Encode(at::rand({3, 13, 20}), id, eo);
    EXPECT_TRUE(e.ok()) << e.status();
    v1::Packet p = ToProto(e->packet);
    p.set_want_reconstruction(true);
    return p;
  }

  std::string codec_path_;
  std::shared_ptr<const TileCodec> coder_;
};

TEST_F(LatentPayloadTest, LatentSendStoresTheImageAndReportsTheRealStreamBytes) {
  const std::string png = Png(13, 20);  // 2 × 3 tiles, edges padded
  v1::SendRequest req = LatentRequest("lat", png);
  req.set_latent_level(1);
  v1::SendReply reply;
  grpc::Status s = Send(req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  absl::StatusOr<at::Tensor> stored = LoadImageRgb(out_dir_ + "/lat.png");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->size(1), 13);
  EXPECT_EQ(stored->size(2), 20);

  // The same encode in-process gives the stream the receiver got: the reply counts its bytes.
  PacketEncoder encoder(mae_, masker_, ComputePrecision::kFloat32, coder_);
  ValidRequest valid = *ValidateSendRequest(req, RequestDefaults{PayloadKind::kFeatures, 0.16}, 4096);
  absl::StatusOr<EncodedImage> e = encoder.Encode(valid.image, "lat", valid.options);
  ASSERT_TRUE(e.ok()) << e.status();
  const auto stream_bytes = static_cast<int64_t>(e->packet.latent.size());
  EXPECT_GT(reply.payload_bytes(), 0);
  EXPECT_EQ(reply.payload_bytes(), stream_bytes);
  EXPECT_EQ(reply.wire_bytes(), WireBytes(e->packet));
  EXPECT_LE(std::abs(reply.estimated_payload_bytes() - reply.payload_bytes()), 8)
      << reply.estimated_payload_bytes() << " estimated, " << reply.payload_bytes() << " real";
  EXPECT_EQ(reply.latent_level(), 1);
  EXPECT_EQ(reply.payload(), v1::LATENT);
  EXPECT_EQ(reply.precision(), v1::PRECISION_UNSPECIFIED);
  // Kept-patch bitmaps, one per tile, as for the other payloads (mt-client send --out draws them).
  ASSERT_EQ(reply.keep_bitmaps_size(), reply.tiles());
  EXPECT_EQ(reply.tiles(), 6);
  int64_t kept = 0;
  for (const std::string& bits : reply.keep_bitmaps()) kept += UnpackBitmap(bits, 16)->sum().item<int64_t>();
  EXPECT_EQ(kept, reply.patches_kept());
  EXPECT_EQ(reply.patches_kept(), 48);

  // Unset level: the sender's default (kDefaultLatentLevel, capped to the codec's 3 levels).
  v1::SendReply by_default;
  ASSERT_TRUE(Send(LatentRequest("lat-default", png), &by_default).ok());
  EXPECT_EQ(by_default.latent_level(), 2);
  EXPECT_LT(by_default.payload_bytes(), reply.payload_bytes());  // coarser steps cost fewer bytes
  ExpectStillServing();
}

TEST_F(LatentPayloadTest, InfoNamesTheCodecOnBothDaemons) {
  grpc::ClientContext ctx;
  v1::ModelInfo sender;
  ASSERT_TRUE(stub_->Info(&ctx, v1::InfoRequest(), &sender).ok());
  EXPECT_EQ(sender.codec_fingerprint(), coder_->fingerprint());
  EXPECT_EQ(sender.codec_levels(), 3);
  EXPECT_EQ(sender.codec_channels(), 3);
  EXPECT_EQ(sender.codec_checkpoint(), codec_path_);
  auto receiver_stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                                 grpc::InsecureChannelCredentials()));
  grpc::ClientContext receiver_ctx;
  v1::ModelInfo receiver;
  ASSERT_TRUE(receiver_stub->Info(&receiver_ctx, v1::InfoRequest(), &receiver).ok());
  EXPECT_EQ(receiver.codec_fingerprint(), coder_->fingerprint());
  EXPECT_EQ(receiver.codec_levels(), 3);
}

TEST_F(LatentPayloadTest, CorruptOrTruncatedStreamsAreRefusedAndTheReceiverCarriesOn) {
  auto stub = v1::Receiver::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(receiver_.port),
                                                        grpc::InsecureChannelCredentials()));
  const v1::Packet good = LatentPacket("p", coder_);
  ASSERT_GT(good.latent().size(), 4u);
  struct Case {
    const char* what;
    v1::Packet packet;
    const char* message_part;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, const char* message_part, auto mutate) {
    v1::Packet p = good;
    mutate(p);
    cases.push_back({what, p, message_part});
  };
  add("truncated by one byte", "latent: tiles[", [](v1::Packet& p) { p.mutable_latent()->pop_back(); });
  add("cut in half", "latent: tiles[", [](v1::Packet& p) { p.mutable_latent()->resize(p.latent().size() / 2); });
  add("empty", "latent", [](v1::Packet& p) { p.clear_latent(); });
  add("a byte flipped", "latent", [](v1::Packet& p) { (*p.mutable_latent())[p.latent().size() / 2] ^= 0x40; });
  add("a byte appended", "latent: after tiles[", [](v1::Packet& p) { p.mutable_latent()->push_back('\x5a'); });
  add("level out of range", "latent_level", [](v1::Packet& p) { p.set_latent_level(3); });

  grpc::ClientContext ctx;
  auto stream = stub->Deliver(&ctx);
  int n = 0;
  for (const Case& c : cases) {
    v1::Ack ack;
    ASSERT_TRUE(stream->Write(c.packet)) << c.what;
    ASSERT_TRUE(stream->Read(&ack)) << c.what;
    EXPECT_TRUE(ack.code() == static_cast<int>(absl::StatusCode::kDataLoss) ||
                ack.code() == static_cast<int>(absl::StatusCode::kInvalidArgument))
        << c.what << ": code " << ack.code() << ": " << ack.message();
    EXPECT_NE(ack.message().find(c.message_part), std::string::npos) << c.what << ": " << ack.message();
    v1::Packet next = good;
    next.set_id("after" + std::to_string(++n));
    ASSERT_TRUE(stream->Write(next));
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.code(), 0) << "after " << c.what << ": " << ack.message();
  }
  EXPECT_FALSE(std::filesystem::exists(out_dir_ + "/p.png"));
  EXPECT_TRUE(std::filesystem::exists(out_dir_ + "/after1.png"));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(LatentPayloadTest, OtherCodingTablesAreAFailedPrecondition) {
  std::shared_ptr<const TileCodec> other = *MaeBottleneckTileCodec::Create(TinyCodec({0.25, 0.5, 2.0}));
  ASSERT_NE(other->fingerprint(), coder_->fingerprint());
  v1::Ack ack = receiver_service_->Handle(LatentPacket("other", other));
  EXPECT_EQ(ack.code(), static_cast<int>(absl::StatusCode::kFailedPrecondition)) << ack.message();
  EXPECT_NE(ack.message().find("codec"), std::string::npos) << ack.message();
  EXPECT_EQ(receiver_service_->Handle(LatentPacket("same", coder_)).code(), 0);
}

// The receiver's refusal travels back through the sender with its code and message.
TEST_F(LatentPayloadTest, ReceiverWithoutACodecRefusesThroughTheSender) {
  const int port = receiver_.port;
  StopReceiver();
  StartReceiver(mae_, "127.0.0.1:" + std::to_string(port));
  v1::SendReply reply;
  grpc::Status s = Send(LatentRequest("no-codec", Png(8, 8)), &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("receiver: "), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("--codec_checkpoint"), std::string::npos) << s.error_message();
  ExpectStillServing();  // the other payloads still work
}

TEST_F(LatentPayloadTest, LevelsOutOfRangeOrWithoutLatentAreInvalidArguments) {
  struct Case {
    const char* what;
    int level;
    v1::PayloadKind payload;
  };
  const std::vector<Case> cases = {{"beyond the codec's 3 levels", 3, v1::LATENT},
                                   {"far beyond", 1 << 30, v1::LATENT},
                                   {"negative", -1, v1::LATENT},
                                   {"on a features request", 0, v1::FEATURES}};
  int n = 0;
  for (const Case& c : cases) {
    v1::SendRequest req = LatentRequest("lvl" + std::to_string(++n), Png(8, 8));
    req.set_payload(c.payload);
    req.set_precision(v1::FP16);
    req.set_latent_level(c.level);
    v1::SendReply reply;
    grpc::Status s = Send(req, &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find("latent_level"), std::string::npos) << c.what << ": " << s.error_message();
  }
  // Precision does not apply to latent: even an unknown value is ignored.
  v1::SendRequest req = LatentRequest("any-precision", Png(8, 8));
  req.set_precision(static_cast<v1::Precision>(7));
  v1::SendReply reply;
  grpc::Status s = Send(req, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  ExpectStillServing();
}

TEST_F(LatentPayloadTest, TargetPsnrIsReachedOrTheFinestLevelIsUsed) {
  // Unreachable target: the finest level (0). Trivial target: the coarsest (2 of 3 levels).
  for (const auto& [target, want_level] : {std::pair{99.0, 0}, std::pair{0.001, 2}}) {
    v1::SendRequest req = LatentRequest("tp" + std::to_string(want_level), Png(16, 16));
    req.set_target_psnr(target);
    v1::SendReply reply;
    grpc::Status s = Send(req, &reply);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(reply.latent_level(), want_level) << target;
  }
  v1::SendRequest both = LatentRequest("tp-both", Png(16, 16));
  both.set_target_psnr(30);
  both.set_latent_level(1);
  v1::SendReply reply;
  EXPECT_EQ(Send(both, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::SendRequest features = LatentRequest("tp-features", Png(16, 16));
  features.set_payload(v1::FEATURES);
  features.set_precision(v1::FP16);
  features.set_target_psnr(30);
  EXPECT_EQ(Send(features, &reply).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  ExpectStillServing();
}

using NoCodecTest = EndToEndTest;

TEST_F(NoCodecTest, LatentToASenderWithoutACodecIsAFailedPrecondition) {
  v1::SendRequest req = Request("latent", Png(8, 8));
  req.set_payload(v1::LATENT);
  v1::SendReply reply;
  grpc::Status s = Send(req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION) << s.error_message();
  EXPECT_NE(s.error_message().find("--codec_checkpoint"), std::string::npos) << s.error_message();
  grpc::ClientContext ctx;
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->Info(&ctx, v1::InfoRequest(), &info).ok());
  EXPECT_TRUE(info.codec_fingerprint().empty());
  EXPECT_EQ(info.codec_levels(), 0);
  ExpectStillServing();
}

TEST(DaemonCodecTest, DefaultPathMayBeAbsentAGivenOneMustLoad) {
  const MaskedAutoencoderOptions mae = test::TinyMaeOptions();
  const std::string dir = test::TempDir();
  absl::StatusOr<DaemonCodec> none = LoadDaemonCodec(dir + "/codec.pt", true, ComputePrecision::kFloat32, mae);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->coder, nullptr);
  absl::StatusOr<DaemonCodec> off = LoadDaemonCodec("", false, ComputePrecision::kFloat32, mae);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_EQ(off->coder, nullptr);

  absl::StatusOr<DaemonCodec> missing = LoadDaemonCodec(dir + "/codec.pt", false, ComputePrecision::kFloat32, mae);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find(dir + "/codec.pt"), std::string::npos) << missing.status();

  MaskedAutoencoder an_mae(mae);
  ASSERT_TRUE(SaveCheckpoint(dir + "/mae.pt", an_mae).ok());
  EXPECT_FALSE(LoadDaemonCodec(dir + "/mae.pt", false, ComputePrecision::kFloat32, mae).ok());  // wrong kind
  LatentCodecOptions o;
  o.mae = mae;
  o.latent_channels = 3;
  o.bottleneck_hidden = 8;
  LatentCodec no_tables(o);
  ASSERT_TRUE(SaveCheckpoint(dir + "/train.pt", no_tables).ok());
  EXPECT_EQ(LoadDaemonCodec(dir + "/train.pt", false, ComputePrecision::kFloat32, mae).status().code(),
            absl::StatusCode::kFailedPrecondition);

  LatentCodec codec = TinyCodec({0.5, 1.0});
  ASSERT_TRUE(SaveCheckpoint(dir + "/codec.pt", codec).ok());
  MaskedAutoencoderOptions other = mae;
  other.patch_size = 4;
  absl::StatusOr<DaemonCodec> mismatch = LoadDaemonCodec(dir + "/codec.pt", true, ComputePrecision::kFloat32, other);
  EXPECT_EQ(mismatch.status().code(), absl::StatusCode::kFailedPrecondition) << mismatch.status();
  absl::StatusOr<DaemonCodec> ok = LoadDaemonCodec(dir + "/codec.pt", true, ComputePrecision::kFloat32, mae);
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->coder->num_levels(), 2);
  EXPECT_EQ(ok->checkpoint, dir + "/codec.pt");
}

}  // namespace
}  // namespace mt::server
