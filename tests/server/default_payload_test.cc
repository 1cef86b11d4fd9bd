// What a client that is not mt-client meets: a SendRequest with only an id and an image (payload,
// selection and precision unset, as Python or grpcurl send it from the .proto) gets the sender's
// best payload — latent with the shipped codec, pixels without one — never raw features, and
// the latent reply carries the bits spent per latent position for the client's picture.
// Runs the shipped weights (weights/mae.pt, masker.pt, codec.pt).
#include <gtest/gtest.h>

#include <cmath>

#include "core/io/checkpoint.h"
#include "tests/server/loopback.h"

namespace mt::server {
namespace {

const std::string kWeights = std::string(MT_SOURCE_DIR) + "/weights/";

class DefaultPayloadTest : public EndToEndTest {
 protected:
  void SetUp() override {
    out_dir_ = test::TempDir();
    absl::StatusOr<MaskedAutoencoder> mae = LoadMae(kWeights + "mae.pt");
    ASSERT_TRUE(mae.ok()) << mae.status();
    absl::StatusOr<Masker> masker = LoadMasker(kWeights + "masker.pt");
    ASSERT_TRUE(masker.ok()) << masker.status();
    mae_ = *mae;
    masker_ = *masker;
    absl::StatusOr<DaemonCodec> codec =
        LoadDaemonCodec(kWeights + "codec.pt", false, ComputePrecision::kFloat32, mae_->options());
    ASSERT_TRUE(codec.ok()) << codec.status();
    ASSERT_NE(codec->coder, nullptr);
    coder_ = codec->coder;
  }
  void Start(std::shared_ptr<const TileCodec> coder, SenderConfig sc = {}) {
    StartReceiver(mae_, "127.0.0.1:0", "", coder);
    sc.max_pixels = 1 << 16;
    StartSender(sc, 1 << 20, "", std::move(coder));
  }
  // 96x128 smooth gradients and a few soft shapes, as a PNG: a photo-like image that PNG stores
  // losslessly in several kB.
  static std::string PhotoLikePng() {
    const at::Tensor y = at::linspace(0, 1, 96).view({96, 1}).expand({96, 128});
    const at::Tensor x = at::linspace(0, 1, 128).view({1, 128}).expand({96, 128});
    const at::Tensor r = 0.2 + 0.6 * x + 0.1 * at::sin(9 * y);
    const at::Tensor g = 0.3 + 0.4 * y * x + 0.15 * at::cos(7 * x + 3 * y);
    const at::Tensor b = 0.7 - 0.5 * y + 0.2 * ((x - 0.6).square() + (y - 0.4).square() < 0.05).to(at::kFloat);
    return *EncodePng(at::stack({r, g, b}).clamp(0, 1));
  }
  static v1::SendRequest Raw(const std::string& id, const std::string& image) {
    v1::SendRequest r;  // nothing else set: what a client built from the .proto sends
    r.set_id(id);
    r.set_image(image);
    return r;
  }

  std::shared_ptr<const TileCodec> coder_;
};

TEST_F(DefaultPayloadTest, AnUnsetPayloadIsTheCodecsLatentPayloadAndCostsLessThanTheImageFile) {
  Start(coder_);
  const std::string png = PhotoLikePng();
  v1::SendReply reply;
  grpc::Status s = Send(Raw("raw-a", png), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.payload(), v1::LATENT);
  EXPECT_LT(reply.wire_bytes(), static_cast<int64_t>(png.size())) << "PNG file " << png.size() << " B";
  // Quality is measured only when asked: the fastest reply by default.
  EXPECT_EQ(reply.psnr_db(), 0.0);
  EXPECT_EQ(reply.timings().quality_ms(), 0.0);
  v1::SendRequest measured = Raw("raw-b", png);  // an id of the same length: the same packet size
  measured.set_measure_quality(true);
  v1::SendReply measured_reply;
  ASSERT_TRUE(Send(measured, &measured_reply).ok());
  EXPECT_GT(measured_reply.psnr_db(), 25.0);
  EXPECT_GT(measured_reply.ssim(), 0.5);
  EXPECT_GT(measured_reply.timings().quality_ms(), 0.0);
  EXPECT_EQ(measured_reply.wire_bytes(), reply.wire_bytes()) << "the same packet, whatever is asked back";
  EXPECT_EQ(reply.patches_kept(), 6 * 8) << "latent keeps every position over the image (16 px each)";
  EXPECT_EQ(reply.position_bits_size(), 0) << "only sent with the reconstruction";
  grpc::ClientContext ctx;
  v1::ModelInfo info;
  ASSERT_TRUE(stub_->Info(&ctx, v1::InfoRequest(), &info).ok());
  EXPECT_EQ(info.default_payload(), v1::LATENT);
}

TEST_F(DefaultPayloadTest, TheLatentReplyCarriesTheBitsOfEveryPositionWithTheReconstruction) {
  Start(coder_);
  v1::SendRequest req = Raw("bits", PhotoLikePng());
  req.set_return_reconstruction(true);
  v1::SendReply reply;
  grpc::Status s = Send(req, &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  const int64_t g = reply.tile_size() / reply.patch_size();
  ASSERT_EQ(reply.position_bits_size(), reply.tiles() * g * g);
  ASSERT_EQ(reply.keep_bitmaps_size(), reply.tiles());
  double total = 0;
  for (int64_t i = 0; i < g * g; ++i) {
    const bool kept = (i / g) < 6 && (i % g) < 8;  // the 96x128 image covers 6x8 positions of the tile
    const float bits = reply.position_bits(static_cast<int>(i));
    if (kept) EXPECT_GT(bits, 0.0f) << "position " << i;
    else EXPECT_EQ(bits, 0.0f) << "position " << i << " is not sent";
    total += bits;
  }
  // The symbols' ideal bits are the entropy model's estimate less the keep mask's.
  EXPECT_LE(total / 8, static_cast<double>(reply.estimated_payload_bytes()) + 1);
  EXPECT_GT(total / 8, 0.5 * static_cast<double>(reply.estimated_payload_bytes()));
}

TEST_F(DefaultPayloadTest, WithoutACodecAnUnsetPayloadIsPixelsAndTheFlagOverridesIt) {
  Start(nullptr);
  v1::SendReply reply;
  grpc::Status s = Send(Raw("nocodec", PhotoLikePng()), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.payload(), v1::PIXELS);
  TearDown();
  SenderConfig sc;
  sc.default_payload = PayloadKind::kFeaturesAndPixels;  // --payload features+pixels
  Start(coder_, sc);
  ASSERT_TRUE(Send(Raw("flag", PhotoLikePng()), &reply).ok());
  EXPECT_EQ(reply.payload(), v1::FEATURES_AND_PIXELS);
}

}  // namespace
}  // namespace mt::server
