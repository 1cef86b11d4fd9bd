// The latent payload with the conv transform codec: PacketEncoder → ImagePacket → PacketDecoder
// against the codec run directly, rate control by bytes and by PSNR, and every refusal.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/codec/tiling.h"
#include "core/io/checkpoint.h"
#include "core/metrics/image_metrics.h"
#include "core/codecs/conv_tile_codec.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/pipeline/latent_rate_control.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "tests/test_util.h"

namespace mt {
namespace {

class ConvTileCodecTest : public ::testing::Test {
 protected:
  // The fixture's codec with bigger tiles (same steps and tables): room for partial regions.
  ConvCodec WithTileSize(int64_t tile_size) const {
    ConvCodecOptions o = codec_->options();
    o.tile_size = tile_size;
    ConvCodec big(o);
    {
      torch::NoGradGuard no_grad;
      big->log_steps.copy_(codec_->log_steps);
    }
    big->BuildTables();
    return big;
  }

  void SetUp() override {
    at::manual_seed(17);
    codec_ = test::TinyConvCodec();
    coder_ = *ConvTileCodec::Create(codec_);
    mae_ = MaskedAutoencoder(test::TinyMaeOptions());
    masker_ = Masker(test::TinyMaskerOptions());
    encoder_ = std::make_unique<PacketEncoder>(mae_, masker_, ComputePrecision::kFloat32, coder_);
    decoder_ = std::make_unique<PacketDecoder>(mae_, 1 << 20, ComputePrecision::kFloat32, coder_);
  }
  static EncodeOptions Latent(int64_t level) {
    EncodeOptions o;
    o.selection.mode = SelectionPolicy::Mode::kTopK;
    o.selection.keep_ratio = 1.0;
    o.payload = PayloadKind::kLatent;
    o.latent_level = level;
    return o;
  }

  ConvCodec codec_{nullptr};
  std::shared_ptr<const ConvTileCodec> coder_;
  MaskedAutoencoder mae_{nullptr};
  Masker masker_{nullptr};
  std::unique_ptr<PacketEncoder> encoder_;
  std::unique_ptr<PacketDecoder> decoder_;
};

TEST_F(ConvTileCodecTest, PacketDecodesToTheCodecRunDirectly) {
  const at::Tensor image = at::rand({3, 40, 70});  // 2 × 3 tiles of 32 px; edges padded
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "conv", Latent(1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->packet.tile_size, 32);
  EXPECT_EQ(e->packet.patch_size, 16);
  EXPECT_EQ(e->packet.feature_dim, 4);
  EXPECT_EQ(e->packet.model_fingerprint, coder_->fingerprint());
  // Positions wholly in the padding are not sent: rows 0..2 of 4 (40 px) × columns 0..4 of 6 (70 px).
  EXPECT_EQ(e->kept, 3 * 5);
  EXPECT_LE(static_cast<double>(e->packet.latent.size()), e->estimated_bits / 8 + 8);
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_EQ(d->image.sizes(), image.sizes());

  const TileGrid grid = *PlanTiles(40, 70, 32);
  const at::Tensor keep = ImageCells(grid, 16);
  const at::Tensor y = coder_->Analyze(SplitTiles(image, grid));
  const at::Tensor q = coder_->Dequantize(coder_->Quantize(y, 1), 1) * keep.unsqueeze(-1).to(at::kFloat);
  const at::Tensor want = StitchTiles(coder_->Reconstruct(q, keep), grid);
  EXPECT_TRUE(at::allclose(d->image, want, 1e-5, 1e-6)) << (d->image - want).abs().max();
}

// Unsent positions (outside the image) continue the nearest sent row and column, by hand.
TEST(ReplicateIntoUnsentTest, UnsentPositionsTakeTheNearestSentRowAndColumn) {
  const at::Tensor y = at::arange(1, 28, at::kFloat).view({3, 3, 3, 1});  // 3 tiles of 3×3, 1 channel
  at::Tensor keep = at::zeros({3, 3, 3}, at::kBool);
  keep[0].narrow(0, 0, 2).narrow(1, 0, 2).fill_(true);  // tile 0: the top-left 2×2 was sent
  keep[1].fill_(true);                                   // tile 1: whole; tile 2: nothing sent
  const at::Tensor out = ReplicateIntoUnsent(y, keep);
  EXPECT_TRUE(at::equal(out[0].squeeze(-1), at::tensor({1.0f, 2.0f, 2.0f, 4.0f, 5.0f, 5.0f, 4.0f, 5.0f, 5.0f}).view({3, 3}))) << out[0];
  EXPECT_TRUE(at::equal(out[1], y[1]));
  EXPECT_TRUE(at::equal(out[2], y[2]));
}

TEST_F(ConvTileCodecTest, QuantizeUsesEveryChannelsOwnStep) {
  ConvCodec codec = test::TinyConvCodec();
  {
    torch::NoGradGuard no_grad;
    codec->log_steps[0].copy_(at::log(at::tensor({0.5, 1.0, 2.0, 4.0})));
    codec->BuildTables();
  }
  std::shared_ptr<const ConvTileCodec> coder = *ConvTileCodec::Create(codec);
  const at::Tensor y = at::full({1, 1, 4}, 3.1);
  // round(3.1 / 0.5) = 6, round(3.1) = 3, round(1.55) = 2, round(0.775) = 1.
  EXPECT_TRUE(at::equal(coder->Quantize(y, 0), at::tensor({6, 3, 2, 1}, at::kInt).view({1, 1, 4})));
  EXPECT_TRUE(at::allclose(coder->Dequantize(coder->Quantize(y, 0), 0), at::tensor({3.0f, 3.0f, 4.0f, 4.0f}).view({1, 1, 4})));
  EXPECT_NEAR(coder->step(0), 1.875, 1e-6);  // the mean over channels
}

TEST_F(ConvTileCodecTest, ByteBudgetPicksTheFinestLevelThatFits) {
  const at::Tensor image = at::rand({3, 64, 64});
  std::vector<int64_t> sizes;
  for (int64_t level = 0; level < 3; ++level)
    sizes.push_back(static_cast<int64_t>(encoder_->Encode(image, "s", Latent(level))->packet.latent.size()));
  ASSERT_GT(sizes[0], sizes[1]);
  ASSERT_GT(sizes[1], sizes[2]);
  EncodeOptions o = Latent(-1);
  o.selection = {SelectionPolicy::Mode::kByteBudget, 0.5, 0.16, sizes[1]};
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "b", o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->packet.latent_level, 1);
  EXPECT_EQ(static_cast<int64_t>(e->packet.latent.size()), sizes[1]);
  // Under the coarsest level's size: the coarsest level, fewer positions, within the budget.
  o.selection.max_bytes = sizes[2] / 2;
  e = encoder_->Encode(image, "b", o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->packet.latent_level, 2);
  EXPECT_LE(static_cast<int64_t>(e->packet.latent.size()), std::max<int64_t>(sizes[2] / 2, 8));
  EXPECT_LT(e->kept, 16);
  EXPECT_TRUE(decoder_->Decode(e->packet).ok());
}

TEST_F(ConvTileCodecTest, TargetPsnrReachesTheTargetAtTheReceiver) {
  const at::Tensor image = at::randint(0, 256, {3, 32, 32}).to(at::kFloat) / 255.0;
  const TileGrid grid = *PlanTiles(32, 32, 32);
  const at::Tensor y = coder_->Analyze(SplitTiles(image, grid));
  const LevelChoice finest = ChooseLevelForPsnr(*coder_, y, ImageCells(grid, 16), image, grid, 1e9);
  EXPECT_EQ(finest.level, 0);
  EncodeOptions o = Latent(-1);
  o.target_psnr = finest.psnr - 1e-6;
  absl::StatusOr<EncodedImage> e = encoder_->Encode(image, "t", o);
  ASSERT_TRUE(e.ok()) << e.status();
  absl::StatusOr<DecodedImage> d = decoder_->Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  const at::Tensor stored = d->image.mul(255.0).round().div(255.0);
  EXPECT_GE(Psnr(image.unsqueeze(0), stored.unsqueeze(0))[0].item<double>(), o.target_psnr - 1e-6);
}

TEST_F(ConvTileCodecTest, SelectionsCorruptStreamsAndOtherCodecsAreRefused) {
  const at::Tensor image = at::rand({3, 32, 48});
  EncodeOptions half = Latent(0);
  half.selection.keep_ratio = 0.5;
  EXPECT_EQ(encoder_->Encode(image, "h", half).status().code(), absl::StatusCode::kInvalidArgument);
  EncodeOptions random = Latent(0);
  random.source = KeepSource::kRandom;
  EXPECT_EQ(encoder_->Encode(image, "r", random).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(encoder_->Encode(image, "l", Latent(3)).status().code(), absl::StatusCode::kInvalidArgument);

  const ImagePacket p = encoder_->Encode(image, "ok", Latent(0))->packet;
  ImagePacket truncated = p, flipped = p, level = p, tile = p;
  truncated.latent.pop_back();
  flipped.latent[flipped.latent.size() / 2] ^= 0x21;
  level.latent_level = 7;
  tile.tile_size = 64;
  for (const ImagePacket* bad : {&truncated, &flipped}) {
    const absl::Status s = decoder_->Decode(*bad).status();
    EXPECT_TRUE(s.code() == absl::StatusCode::kDataLoss || s.code() == absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_EQ(decoder_->Decode(level).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(decoder_->Decode(tile).status().code(), absl::StatusCode::kFailedPrecondition);
  // Another codec (other weights and steps): a different fingerprint, refused by the receiver.
  std::shared_ptr<const TileCodec> other = *ConvTileCodec::Create(test::TinyConvCodec(0.07));
  EXPECT_NE(other->fingerprint(), coder_->fingerprint());
  PacketDecoder other_decoder(mae_, 1 << 20, ComputePrecision::kFloat32, other);
  EXPECT_EQ(other_decoder.Decode(p).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(decoder_->Decode(p).ok());
}

// A photo much smaller than the codec's tile (a 40×24 image in one 256-px tile of 16×16
// positions) runs the transforms over its own region plus their receptive fields only: analysis
// 5×4 positions, synthesis 6×5, instead of 16×16. Where the image is, the latents and the
// reconstruction are those of the whole tile (the transforms' receptive fields fit the region).
TEST_F(ConvTileCodecTest, ASmallImageInABigTileIsComputedOverItsOwnRegionWithTheSameResult) {
  ConvCodec big = WithTileSize(256);
  std::shared_ptr<const ConvTileCodec> coder = *ConvTileCodec::Create(big);
  const TileGrid grid = *PlanTiles(40, 24, 256);
  const at::Tensor tiles = SplitTiles(at::rand({3, 40, 24}), grid);  // replicate-filled to 256×256
  const at::Tensor whole = coder->Analyze(tiles).view({1, 16, 16, 4});
  const at::Tensor region = coder->Analyze(tiles, 40, 24).view({1, 16, 16, 4});
  EXPECT_TRUE(at::allclose(region.narrow(1, 0, 3).narrow(2, 0, 2), whole.narrow(1, 0, 3).narrow(2, 0, 2), 1e-5, 1e-5));
  EXPECT_EQ(region.narrow(1, 5, 11).abs().max().item<float>(), 0.0f);  // not computed, not sent
  EXPECT_EQ(region.narrow(2, 4, 12).abs().max().item<float>(), 0.0f);
  EXPECT_GT(region.narrow(1, 4, 1).narrow(2, 0, 4).abs().max().item<float>(), 0.0f);  // the margin is
  const at::Tensor keep = ImageCells(grid, 16);  // (1, 256): rows 0..2 × columns 0..1
  ASSERT_EQ(keep.sum().item<int64_t>(), 6);
  const at::Tensor latents = coder->Dequantize(coder->Quantize(region.view({1, 256, 4}), 1), 1) * keep.unsqueeze(2);
  const at::Tensor recon = coder->Reconstruct(latents, keep);
  ASSERT_EQ(recon.sizes(), (at::IntArrayRef{1, 3, 256, 256}));
  at::Tensor full;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor filled = ReplicateIntoUnsent(latents.view({1, 16, 16, 4}), keep.view({1, 16, 16}));
    full = big->Synthesize(filled.permute({0, 3, 1, 2})).clamp(0.0, 1.0);
  }
  EXPECT_TRUE(at::allclose(recon.narrow(2, 0, 40).narrow(3, 0, 24), full.narrow(2, 0, 40).narrow(3, 0, 24), 1e-5, 1e-5));
  EXPECT_EQ(recon.narrow(2, 96, 160).abs().max().item<float>(), 0.0f);  // past the 6 synthesized rows
  // What request_cost counts: each tile's region (content + receptive field, within the tile).
  EXPECT_DOUBLE_EQ(coder->AnalyzedPixels(40, 24), 80.0 * 64);
  EXPECT_DOUBLE_EQ(coder->SynthesizedPixels(40, 24), 96.0 * 80);
  EXPECT_DOUBLE_EQ(coder->AnalyzedPixels(300, 24), (256.0 + 80) * 64);  // second tile row: 44 rows + 32
  EXPECT_DOUBLE_EQ(coder->AnalyzedPixels(256, 256), 256.0 * 256);
}

// Many tiles: each is synthesized over its own sent rectangle (the last row and column of tiles
// over less), and its content equals the whole tile's synthesis.
TEST_F(ConvTileCodecTest, EachTileOfAManyTileImageIsSynthesizedOverItsOwnRegion) {
  ConvCodec big = WithTileSize(256);
  std::shared_ptr<const ConvTileCodec> coder = *ConvTileCodec::Create(big);
  const TileGrid grid = *PlanTiles(300, 280, 256);  // 2×2 tiles: the last row holds 44 rows, the last column 24
  const at::Tensor tiles = SplitTiles(at::rand({3, 300, 280}), grid);
  const at::Tensor keep = ImageCells(grid, 16);  // (4, 256)
  const at::Tensor latents = coder->Dequantize(coder->Quantize(coder->Analyze(tiles), 1), 1) * keep.unsqueeze(2);
  const at::Tensor recon = coder->Reconstruct(latents, keep);
  at::Tensor full;
  {
    torch::NoGradGuard no_grad;
    const at::Tensor filled = ReplicateIntoUnsent(latents.view({4, 16, 16, 4}), keep.view({4, 16, 16}));
    full = big->Synthesize(filled.permute({0, 3, 1, 2})).clamp(0.0, 1.0);
  }
  const int64_t content_rows[4] = {256, 256, 44, 44}, content_cols[4] = {256, 24, 256, 24};
  for (int64_t t = 0; t < 4; ++t) {
    const at::Tensor mine = recon[t].narrow(1, 0, content_rows[t]).narrow(2, 0, content_cols[t]);
    const at::Tensor whole = full[t].narrow(1, 0, content_rows[t]).narrow(2, 0, content_cols[t]);
    EXPECT_TRUE(at::allclose(mine, whole, 1e-5, 1e-5)) << "tile " << t << ": " << (mine - whole).abs().max();
  }
  // Rows (3 + 3 margin) · 16 = 96 and columns (2 + 3) · 16 = 80 on: not synthesized.
  EXPECT_EQ(recon[2].narrow(1, 96, 160).abs().max().item<float>(), 0.0f);
  EXPECT_EQ(recon[1].narrow(2, 80, 176).abs().max().item<float>(), 0.0f);
  EXPECT_GT(recon[0].narrow(1, 96, 160).abs().max().item<float>(), 0.0f);
  EXPECT_DOUBLE_EQ(coder->SynthesizedPixels(300, 280), (256.0 + 96) * (256 + 80));
}

// Conv-codec packets of one receiver batch share one synthesis; each image is what it gets alone.
TEST_F(ConvTileCodecTest, ABatchOfPacketsOfDifferentSizesDecodesAsEachAlone) {
  absl::StatusOr<EncodedImage> small = encoder_->Encode(at::rand({3, 20, 24}), "small", Latent(1));
  absl::StatusOr<EncodedImage> big = encoder_->Encode(at::rand({3, 40, 70}), "big", Latent(2));
  ASSERT_TRUE(small.ok() && big.ok());
  std::vector<absl::StatusOr<DecodedImage>> batch = decoder_->DecodeBatch({&small->packet, &big->packet});
  ASSERT_EQ(batch.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(batch[i].ok()) << batch[i].status();
    EXPECT_EQ(batch[i]->batch_images, 2);
  }
  absl::StatusOr<DecodedImage> small_alone = decoder_->Decode(small->packet), big_alone = decoder_->Decode(big->packet);
  ASSERT_TRUE(small_alone.ok() && big_alone.ok());
  EXPECT_TRUE(at::allclose(batch[0]->image, small_alone->image, 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(batch[1]->image, big_alone->image, 1e-5, 1e-5));
  EXPECT_TRUE(at::equal(batch[1]->keep, big_alone->keep));
}

TEST_F(ConvTileCodecTest, LoadLatentCoderReadsEitherKindAndNeedsTables) {
  const std::string dir = test::TempDir();
  ASSERT_TRUE(SaveCheckpoint(dir + "/conv.pt", codec_).ok());
  absl::StatusOr<std::shared_ptr<const TileCodec>> conv = LoadTileCodec(dir + "/conv.pt");
  ASSERT_TRUE(conv.ok()) << conv.status();
  EXPECT_EQ((*conv)->name(), "conv");
  EXPECT_FALSE((*conv)->selects_positions());
  EXPECT_EQ((*conv)->fingerprint(), coder_->fingerprint());
  LatentCodec mae_codec = test::TinyLatentCodec({0.25, 0.5});
  ASSERT_TRUE(SaveCheckpoint(dir + "/mae.pt", mae_codec).ok());
  absl::StatusOr<std::shared_ptr<const TileCodec>> mae = LoadTileCodec(dir + "/mae.pt");
  ASSERT_TRUE(mae.ok()) << mae.status();
  EXPECT_EQ((*mae)->name(), "mae_bottleneck");
  EXPECT_TRUE((*mae)->selects_positions());
  ConvCodecOptions untrained = codec_->options();
  untrained.table_width = 0;  // and so no ragged entries either (options that disagree are DATA_LOSS)
  untrained.table_entries = 0;
  untrained.context_width = untrained.context_buckets = untrained.context_entries = 0;
  ConvCodec fresh(untrained);
  ASSERT_TRUE(SaveCheckpoint(dir + "/fresh.pt", fresh).ok());
  EXPECT_EQ(LoadTileCodec(dir + "/fresh.pt").status().code(), absl::StatusCode::kFailedPrecondition);
  MaskedAutoencoder not_a_codec(test::TinyMaeOptions());
  ASSERT_TRUE(SaveCheckpoint(dir + "/plain.pt", not_a_codec).ok());
  EXPECT_EQ(LoadTileCodec(dir + "/plain.pt").status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ConvTileCodecTest, TheDefaultLevelIsTheCheckpointsOwnWhenItStoresOne) {
  const int64_t levels = codec_->options().levels;
  ASSERT_GE(levels, 3);
  EXPECT_EQ(coder_->default_level(), std::min(kDefaultConvLevel, levels - 1));
  ConvCodecOptions o = codec_->options();
  o.default_level = 1;
  ConvCodec stored(o);
  {
    torch::NoGradGuard no_grad;
    stored->log_steps.copy_(codec_->log_steps);
  }
  stored->BuildTables();
  const std::string path = test::TempDir() + "/conv_default_level.pt";
  ASSERT_TRUE(SaveCheckpoint(path, stored).ok());
  absl::StatusOr<std::shared_ptr<const TileCodec>> loaded = LoadTileCodec(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->default_level(), 1);
  // A request that names no level gets it.
  PacketEncoder encoder(mae_, masker_, ComputePrecision::kFloat32, *loaded);
  absl::StatusOr<EncodedImage> e = encoder.Encode(at::rand({3, 48, 64}), "default", Latent(-1));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->packet.latent_level, 1);
}

}  // namespace
}  // namespace mt
