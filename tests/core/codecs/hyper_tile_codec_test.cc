// The hyperprior codec, without and with a checkerboard context (the parameter: its width): its
// stream round trip against the latents the sender predicts, partial tiles, the checkpoint kind
// that selects it, the packet path, and every refusal (no tables, a receiver whose hyper-synthesis
// or context differs, truncated streams, levels out of range); with a context, the anchors code
// exactly as the hyperprior alone codes them.
#include "core/codecs/hyper_tile_codec.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/codec/tiling.h"
#include "core/codecs/conv_tile_codec.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/io/checkpoint.h"
#include "core/pipeline/latent_rate_control.h"
#include "core/pipeline/packet_decoder.h"
#include "core/pipeline/packet_encoder.h"
#include "tests/test_util.h"

namespace mt {
namespace {

ConvCodec TinyHyperCodec(bool tables = true, int64_t checkerboard_channels = 0) {
  return test::TinyHyperCodec({0.05, 0.2, 0.8}, tables, checkerboard_channels);
}

class HyperTileCodecTest : public ::testing::TestWithParam<int64_t> {
 protected:
  void SetUp() override {
    at::manual_seed(29);
    codec_ = TinyHyperCodec(/*tables=*/true, GetParam());
    coder_ = *HyperTileCodec::Create(codec_);
    y_ = coder_->Analyze(at::rand({3, 3, 64, 64}));
    keep_ = at::ones({3, 16}, at::kBool);
    keep_[1].fill_(false);
    keep_[1].view({4, 4}).narrow(0, 0, 3).narrow(1, 0, 2).fill_(true);  // a partial tile: 3×2 positions
    keep_[2].fill_(false);
  }
  ConvCodec codec_{nullptr};
  std::shared_ptr<const HyperTileCodec> coder_;
  at::Tensor y_, keep_;
};

TEST_P(HyperTileCodecTest, RefusesCodecsWithoutAHyperpriorOrItsTables) {
  EXPECT_EQ(HyperTileCodec::Create(TinyHyperCodec(/*tables=*/false)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(HyperTileCodec::Create(test::TinyConvCodec()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ConvTileCodec::Create(codec_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(coder_->name(), "conv_hyper");
  EXPECT_EQ(coder_->num_levels(), 3);
  EXPECT_FALSE(coder_->selects_positions());
}

TEST_P(HyperTileCodecTest, DecodesWhatTheSenderPredictsOnKeptPositionsAndZeroElsewhere) {
  for (int64_t level : {0, 2}) {
    double estimated = 0;
    const std::string stream = coder_->EncodeTiles(y_, keep_, level, &estimated);
    // The real stream: the ideal bits plus the rANS state (4 bytes), the checksum (4) and rounding.
    EXPECT_NEAR(static_cast<double>(stream.size()), estimated / 8, 10.0) << level;
    at::Tensor keep, latents;
    ASSERT_TRUE(coder_->DecodeTiles(stream, 3, level, &keep, &latents).ok());
    EXPECT_TRUE(at::equal(keep, keep_));
    // DecodedLatents codes every position: the same as the stream where a tile is whole, and
    // without a context also where it is not (a context reads unsent anchors as 0).
    const at::Tensor want = coder_->DecodedLatents(y_, level) * keep_.unsqueeze(2).to(at::kFloat);
    const int64_t exact = GetParam() == 0 ? 3 : 1;
    EXPECT_TRUE(at::equal(latents.narrow(0, 0, exact), want.narrow(0, 0, exact))) << (latents - want).abs().max();
    // Within half a step of the analysis where kept (the residual is rounded in step units).
    const double step = level == 0 ? 0.05 : 0.8;
    EXPECT_LE(((latents - y_) * keep_.unsqueeze(2)).abs().max().item<double>(), 0.5 * step + 1e-5);
  }
  // Bits per position: positive where the latents vary, and the finer level costs more.
  EXPECT_GT(coder_->PositionBits(y_, 0).sum().item<double>(), coder_->PositionBits(y_, 2).sum().item<double>());
}

TEST_P(HyperTileCodecTest, ManyTilesDecodeAsEachAlone) {
  // More tiles than one slice of the hyper-synthesis (8): each tile's latents are its own.
  const at::Tensor y = coder_->Analyze(at::rand({11, 3, 64, 64}));
  const at::Tensor all = coder_->DecodedLatents(y, 1);
  EXPECT_TRUE(at::equal(all[9], coder_->DecodedLatents(y.narrow(0, 9, 1), 1)[0]));
  at::Tensor keep, latents;
  ASSERT_TRUE(coder_->DecodeTiles(coder_->EncodeTiles(y, at::ones({11, 16}, at::kBool), 1), 11, 1, &keep, &latents).ok());
  EXPECT_TRUE(at::equal(latents, all));
}

TEST_P(HyperTileCodecTest, AReceiverThatDerivesOtherMeansOrTablesGetsDataLoss) {
  const std::string stream = coder_->EncodeTiles(y_, keep_, 1);
  // The last bias of the hyper-synthesis (other means and scales everywhere), and of the context
  // (other ones at the non-anchors alone).
  std::vector<std::string> changed = {"hyper.synthesis.4.bias"};
  if (GetParam() > 0) changed.push_back("context.out.bias");
  at::Tensor keep, latents;
  for (const std::string& name : changed) {
    ConvCodec other = TinyHyperCodec(/*tables=*/true, GetParam());
    {
      torch::NoGradGuard no_grad;
      for (const auto& p : codec_->named_parameters()) other->named_parameters()[p.key()].copy_(p.value());
      other->named_parameters()[name].add_(0.3);
    }
    const std::shared_ptr<const HyperTileCodec> receiver = *HyperTileCodec::Create(other);
    const absl::Status s = receiver->DecodeTiles(stream, 3, 1, &keep, &latents);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << name << ": " << s;
  }
  EXPECT_EQ(coder_->DecodeTiles(stream.substr(0, stream.size() - 2), 3, 1, &keep, &latents).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(coder_->DecodeTiles(stream, 3, 3, &keep, &latents).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(coder_->DecodeTiles(stream, 0, 1, &keep, &latents).code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(HyperTileCodecTest, ExportedCheckpointLoadsAsItsOwnKindAndDecodesTheSameStream) {
  const std::string path = test::TempDir() + "/hyper_codec.pt";
  ASSERT_TRUE(SaveCheckpoint(path, codec_).ok());
  EXPECT_EQ(ReadCheckpointInfo(path)->kind, kConvHyperCodecKind);
  absl::StatusOr<std::shared_ptr<const TileCodec>> loaded = LoadTileCodec(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->name(), "conv_hyper");
  EXPECT_EQ((*loaded)->fingerprint(), coder_->fingerprint());
  const std::string stream = coder_->EncodeTiles(y_, keep_, 1);
  at::Tensor keep, a, b;
  ASSERT_TRUE(coder_->DecodeTiles(stream, 3, 1, &keep, &a).ok());
  ASSERT_TRUE((*loaded)->DecodeTiles(stream, 3, 1, &keep, &b).ok());
  EXPECT_TRUE(at::equal(a, b));
}

TEST_P(HyperTileCodecTest, PacketDecodesToTheCodecRunDirectly) {
  MaskedAutoencoder mae(test::TinyMaeOptions());
  Masker masker(test::TinyMaskerOptions());
  PacketEncoder encoder(mae, masker, ComputePrecision::kFloat32, coder_);
  PacketDecoder decoder(mae, 1 << 20, ComputePrecision::kFloat32, coder_);
  EncodeOptions o;
  o.selection.mode = SelectionPolicy::Mode::kTopK;
  o.selection.keep_ratio = 1.0;
  o.payload = PayloadKind::kLatent;
  o.latent_level = 1;
  const at::Tensor image = at::rand({3, 70, 100});  // 2 × 2 tiles of 64 px; edges padded
  absl::StatusOr<EncodedImage> e = encoder.Encode(image, "hyper", o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->kept, 5 * 7);  // positions over the image: ceil(70/16) × ceil(100/16)
  absl::StatusOr<DecodedImage> d = decoder.Decode(e->packet);
  ASSERT_TRUE(d.ok()) << d.status();
  const TileGrid grid = *PlanTiles(70, 100, 64);
  const at::Tensor keep = ImageCells(grid, 16);
  const at::Tensor y = coder_->Analyze(SplitTiles(image, grid));
  at::Tensor sent_keep, latents;
  ASSERT_TRUE(coder_->DecodeTiles(coder_->EncodeTiles(y, keep, 1), grid.count(), 1, &sent_keep, &latents).ok());
  const at::Tensor want = StitchTiles(coder_->Reconstruct(latents, sent_keep), grid);
  EXPECT_TRUE(at::allclose(d->image, want, 1e-5, 1e-6)) << (d->image - want).abs().max();
}

TEST_P(HyperTileCodecTest, WithAContextTheAnchorsCodeAsTheHyperpriorAloneAndTheRestMove) {
  if (GetParam() == 0) GTEST_SKIP() << "no context";
  ConvCodecOptions plain_options = codec_->options();
  plain_options.checkerboard_channels = 0;
  ConvCodec plain(plain_options);
  {
    torch::NoGradGuard no_grad;
    for (const auto& p : plain->named_parameters()) p.value().copy_(codec_->named_parameters()[p.key()]);
    for (const auto& b : plain->named_buffers()) b.value().set_(codec_->named_buffers()[b.key()].clone());
  }
  const std::shared_ptr<const HyperTileCodec> alone = *HyperTileCodec::Create(plain);
  const at::Tensor with = coder_->DecodedLatents(y_, 0), without = alone->DecodedLatents(y_, 0);  // (3, 16, C)
  const at::Tensor rows = at::arange(4).view({4, 1}), cols = at::arange(4).view({1, 4});
  const at::Tensor anchor = ((rows + cols).remainder(2) == 0).view({1, 16, 1});
  EXPECT_TRUE(at::equal(with * anchor, without * anchor));
  // The non-anchors' means moved, so some of their rounded latents moved too (step 0.05).
  EXPECT_GT(((with - without).abs() > 1e-6).logical_and(anchor.logical_not()).sum().item<int64_t>(), 10);
}

INSTANTIATE_TEST_SUITE_P(Context, HyperTileCodecTest, ::testing::Values(0, 6),
                         [](const ::testing::TestParamInfo<int64_t>& i) {
                           return i.param == 0 ? std::string("HyperpriorAlone") : std::string("Checkerboard");
                         });

}  // namespace
}  // namespace mt
