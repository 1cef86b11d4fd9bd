// The latent payload end to end through core types: PacketEncoder → ImagePacket → PacketDecoder
// with a TileCodec, checked against the codec run directly, plus every refusal.
#include "core/codecs/mae_bottleneck_tile_codec.h"
#include "core/codecs/tile_codec.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/codec/tiling.h"
#include "core/io/checkpoint.h"
#include "core/metrics/image_metrics.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/latent_rate_control.h"
#include "core/pipeline/packet_encoder.h"
#include "tests/test_util.h"

namespace mt {
namespace {

LatentCodec TinyCodec(const std::vector<double>& steps) { return test::TinyLatentCodec(steps); }

class MaeBottleneckTileCodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(11);
    codec_ = TinyCodec({0.25, 0.5, 1.0});
    coder_ = *MaeBottleneckTileCodec::Create(codec_);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());
    masker_ = Masker(test::TinyMaskerOptions());
    encoder_ = std::make_unique<PacketEncoder>(mae_, masker_, ComputePrecision::kFloat32, coder_);
    decoder_ = std::make_unique<PacketDecoder>(mae_, 1 << 20, ComputePrecision::kFloat32, coder_);
  }
  static EncodeOptions Latent(double ratio, int64_t level) {
    EncodeOptions o;
    o.selection.mode = SelectionPolicy::Mode::kTopK;
    o.selection.keep_ratio = ratio;
    o.payload = PayloadKind::kLatent;
    o.latent_level = level;
    return o;
  }
  ImagePacket Packet() { return encoder_->Encode(at::rand({3, 13, 20}), "img", Latent(0.5, 1))->packet; }

  LatentCodec codec_{nullptr};
  std::shared_ptr<const MaeBottleneckTileCodec> coder_;
  MaskedAutoencoder mae_{nullptr};
  Masker masker_{nullptr};
  std::unique_ptr<PacketEncoder> encoder_;
  std::unique_ptr<PacketDecoder> decoder_;
};

TEST_F(MaeBottleneckTileCodecTest, PacketDecodesToTheCodecRunDirectly) {
  at::Tensor image = at::rand({3, 13, 20});  // 2 × 3 tiles, edges padded
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "one", Latent(0.5, 1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kept, 48);  // half of 6 tiles × 16 patches, best masker scores first
  EXPECT_TRUE(e->packet.tiles.empty());
  EXPECT_EQ(e->packet.model_fingerprint, coder_->fingerprint());
  // One stream: its real size is the ideal size plus at most the coder's final state and slack.
  EXPECT_LE(static_cast<double>(e->packet.latent.size()), e->estimated_bits / 8 + 8);
  EXPECT_GE(static_cast<double>(e->packet.latent.size()), e->estimated_bits / 8 - 1);
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_TRUE(at::equal(d->keep, e->keep));

  TileGrid grid = *PlanTiles(13, 20, 8);
  at::Tensor y = coder_->Analyze(SplitTiles(image, grid));
  at::Tensor q = coder_->Quantize(y, 1).to(at::kFloat) * coder_->step(1) * e->keep.unsqueeze(-1).to(at::kFloat);
  at::Tensor want = StitchTiles(coder_->Reconstruct(q, e->keep), grid);
  EXPECT_TRUE(at::allclose(d->image, want, 1e-5, 1e-6)) << (d->image - want).abs().max();
}

TEST_F(MaeBottleneckTileCodecTest, CoarserStepsCostFewerBytes) {
  at::Tensor image = at::rand({3, 16, 16});
  int64_t previous = INT64_MAX;
  for (int64_t level = 0; level < 3; ++level) {
    const auto bytes = static_cast<int64_t>(encoder_->Encode(image, "x", Latent(1.0, level))->packet.latent.size());
    EXPECT_LT(bytes, previous) << "level " << level;
    previous = bytes;
  }
}

TEST_F(MaeBottleneckTileCodecTest, ByteBudgetKeepsTheBestPatchesThatFit) {
  at::Tensor image = at::rand({3, 16, 16});
  EncodeOptions o = Latent(1.0, 0);
  o.selection = {SelectionPolicy::Mode::kByteBudget, 0.5, 0.16, 0};
  int64_t previous_kept = 0;
  for (int64_t budget : {12, 30, 60, 4000}) {
    o.selection.max_bytes = budget;
    absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "b", o);
    ASSERT_TRUE(e.ok()) << e.status();
    EXPECT_LE(static_cast<int64_t>(e->packet.latent.size()), std::max<int64_t>(budget, 8)) << budget;
    EXPECT_GE(e->kept, previous_kept) << budget;
    previous_kept = e->kept;
    ASSERT_TRUE(decoder_->Decode(e->packet).ok());
  }
  EXPECT_EQ(previous_kept, 64);  // a large budget keeps every patch
}

TEST_F(MaeBottleneckTileCodecTest, TargetPsnrPicksTheCoarsestLevelThatReachesIt) {
  at::Tensor image = at::randint(0, 256, {3, 16, 16}).to(at::kFloat) / 255.0;
  TileGrid grid = *PlanTiles(16, 16, 8);
  at::Tensor y = coder_->Analyze(SplitTiles(image, grid));
  at::Tensor keep = at::ones({4, 16}, at::kBool);
  // 1e9 is unreachable: the finest level (0) and its PSNR.
  LevelChoice none = ChooseLevelForPsnr(*coder_, y, keep, image, grid, 1e9);
  EXPECT_EQ(none.level, 0);
  LevelChoice any = ChooseLevelForPsnr(*coder_, y, keep, image, grid, -1e9);
  EXPECT_EQ(any.level, 2);
  EXPECT_LE(any.decodes, 2);
  // Through the encoder: the packet carries the chosen level and the receiver's PSNR reaches the target.
  EncodeOptions o = Latent(1.0, -1);
  o.target_psnr = none.psnr - 1e-6;
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "t", o);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  at::Tensor stored = d->image.mul(255.0).round().div(255.0);
  EXPECT_GE(Psnr(image.unsqueeze(0), stored.unsqueeze(0))[0].item<double>(), o.target_psnr - 1e-6);
  o.selection = {SelectionPolicy::Mode::kByteBudget, 0.5, 0.16, 100};
  EXPECT_EQ(encoder_->Encode(image, "t", o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(MaeBottleneckTileCodecTest, CorruptTruncatedAndExtendedStreamsAreRefused) {
  ImagePacket p = Packet();
  ImagePacket truncated = p, extended = p, flipped = p;
  truncated.latent.pop_back();
  extended.latent.push_back('\x5a');
  flipped.latent[flipped.latent.size() / 2] ^= 0x40;
  for (const ImagePacket* bad : {&truncated, &extended, &flipped}) {
    absl::Status s = decoder_->Decode(*bad).status();
    EXPECT_TRUE(s.code() == absl::StatusCode::kDataLoss || s.code() == absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("latent"), std::string::npos) << s;
  }
  EXPECT_TRUE(decoder_->Decode(p).ok());  // and the decoder still serves a good packet
}

TEST_F(MaeBottleneckTileCodecTest, OtherTablesOrLevelsOrPartsAreRefused) {
  ImagePacket p = Packet();
  // Same weights, other coding tables: a different fingerprint.
  std::shared_ptr<const TileCodec> other = *MaeBottleneckTileCodec::Create(TinyCodec({0.25, 0.5, 2.0}));
  EXPECT_NE(other->fingerprint(), coder_->fingerprint());
  PacketDecoder other_decoder(mae_, 1 << 20, ComputePrecision::kFloat32, other);
  EXPECT_EQ(other_decoder.Decode(p).status().code(), absl::StatusCode::kFailedPrecondition);
  PacketDecoder no_codec(mae_, 1 << 20);
  EXPECT_EQ(no_codec.Decode(p).status().code(), absl::StatusCode::kFailedPrecondition);

  ImagePacket level = p;
  level.latent_level = 3;
  EXPECT_EQ(decoder_->Decode(level).status().code(), absl::StatusCode::kInvalidArgument);
  ImagePacket with_tiles = p;
  with_tiles.tiles.resize(6);
  EXPECT_EQ(decoder_->Decode(with_tiles).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Encode(at::rand({3, 8, 8}), "x", Latent(0.5, 7)).status().code(),
            absl::StatusCode::kInvalidArgument);
  PacketEncoder plain(mae_, masker_);
  EXPECT_EQ(plain.Encode(at::rand({3, 8, 8}), "x", Latent(0.5, 0)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MaeBottleneckTileCodecTest, CodecWithoutTablesIsRefused) {
  LatentCodecOptions o;
  o.mae = test::TinyMaeOptions();
  EXPECT_EQ(MaeBottleneckTileCodec::Create(LatentCodec(o)).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(MaeBottleneckTileCodecTest, ExportedCheckpointKeepsTablesAndFingerprint) {
  const std::string path = test::TempDir() + "/codec.pt";
  ASSERT_TRUE(SaveCheckpoint(path, codec_).ok());
  absl::StatusOr<LatentCodec> back = LoadLatentCodec(path);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ((*back)->num_levels(), 3);
  absl::StatusOr<std::shared_ptr<const MaeBottleneckTileCodec>> coder = MaeBottleneckTileCodec::Create(*back);
  ASSERT_TRUE(coder.ok()) << coder.status();
  EXPECT_EQ((*coder)->fingerprint(), coder_->fingerprint());
  EXPECT_TRUE(decoder_->Decode(Packet()).ok());
  EXPECT_EQ(LoadMae(path).status().code(), absl::StatusCode::kFailedPrecondition);  // wrong kind
}

}  // namespace
}  // namespace mt
