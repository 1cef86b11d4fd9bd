// Request costs for admission (core/pipeline/request_cost): which stages a request's options
// run, how the cost scales with its tiles, and the budget's refusal. The per-model FLOPs are
// checked against hand sums in tests/core/model/flops_test.cc; here they are the unit.
#include "core/pipeline/request_cost.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/model/flops.h"
#include "core/codecs/conv_tile_codec.h"
#include "tests/test_util.h"

namespace mt {
namespace {

class RequestCostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::manual_seed(3);
    coder_ = *ConvTileCodec::Create(test::TinyConvCodec());
    encoder_ = std::make_unique<PacketEncoder>(MaskedAutoencoder(test::TinyMaeOptions()),
                                               Masker(test::TinyMaskerOptions()), ComputePrecision::kFloat32, coder_);
    mae_ = test::TinyMaeOptions();
    masker_flops_ = MaskerFlops(test::TinyMaskerOptions());
    encoder_flops_ = MaeEncoderFlops(mae_, mae_.num_patches());
  }
  static EncodeOptions Options(PayloadKind payload, double keep_ratio) {
    EncodeOptions o;
    o.payload = payload;
    o.selection.mode = SelectionPolicy::Mode::kTopK;
    o.selection.keep_ratio = keep_ratio;
    return o;
  }
  std::shared_ptr<const TileCodec> coder_;
  std::unique_ptr<PacketEncoder> encoder_;
  MaskedAutoencoderOptions mae_;
  double masker_flops_ = 0, encoder_flops_ = 0;
};

TEST_F(RequestCostTest, TheSenderPaysForTheStagesItsOptionsRun) {
  ASSERT_EQ(mae_.img_size, 8);
  // 20×17 pixels: 3×3 tiles of 8 (partial tiles are padded, so they count whole).
  const RequestCost pixels = SenderCost(*encoder_, 20, 17, Options(PayloadKind::kPixels, 0.25));
  EXPECT_DOUBLE_EQ(pixels.masker, 9 * masker_flops_);
  EXPECT_DOUBLE_EQ(pixels.encoder, 0);
  const RequestCost features = SenderCost(*encoder_, 20, 17, Options(PayloadKind::kFeatures, 0.25));
  EXPECT_DOUBLE_EQ(features.total(), 9 * (masker_flops_ + encoder_flops_));
  // Every patch kept, or a baseline choosing: no masker.
  EXPECT_DOUBLE_EQ(SenderCost(*encoder_, 20, 17, Options(PayloadKind::kFeatures, 1.0)).total(), 9 * encoder_flops_);
  EncodeOptions grid = Options(PayloadKind::kFeatures, 0.25);
  grid.source = KeepSource::kUniformGrid;
  EXPECT_DOUBLE_EQ(SenderCost(*encoder_, 20, 17, grid).masker, 0);
}

TEST_F(RequestCostTest, TheConvLatentCostsItsAnalysisPerPaddedPixelAndTheLevelSearchItsDecodes) {
  // 40×40 pixels on 32-pixel codec tiles: 2×2 tiles, 4096 pixels analysed.
  const EncodeOptions latent = Options(PayloadKind::kLatent, 1.0);
  const RequestCost cost = SenderCost(*encoder_, 40, 40, latent);
  EXPECT_DOUBLE_EQ(cost.masker, 0);
  EXPECT_DOUBLE_EQ(cost.encoder, 4096 * coder_->analysis_flops_per_pixel());
  EXPECT_DOUBLE_EQ(cost.decoder, 0);
  EncodeOptions by_psnr = latent;
  by_psnr.target_psnr = 30;
  // 3 levels: a bisection of ceil(log2 3) = 2 decodes, then the chosen level's.
  EXPECT_DOUBLE_EQ(SenderCost(*encoder_, 40, 40, by_psnr).decoder, 3 * 4096 * coder_->synthesis_flops_per_pixel());
  EXPECT_DOUBLE_EQ(ReceiverCost(mae_, coder_.get(), PayloadKind::kLatent, 40, 40).total(),
                   4096 * coder_->synthesis_flops_per_pixel());
}

TEST_F(RequestCostTest, TheReceiverPaysTheDecoderPerTileAndForPixelsTheEncoderToo) {
  const double decoder = MaeDecoderFlops(mae_);
  EXPECT_DOUBLE_EQ(ReceiverCost(mae_, nullptr, PayloadKind::kFeatures, 16, 16).total(), 4 * decoder);
  EXPECT_DOUBLE_EQ(ReceiverCost(mae_, nullptr, PayloadKind::kPixels, 16, 16).total(), 4 * (decoder + encoder_flops_));
}

TEST_F(RequestCostTest, TheBudgetRefusesOnlyWhatIsOverItAndSaysWhy) {
  RequestCost cost;
  cost.masker = 3e9;
  cost.encoder = 2e9;
  EXPECT_TRUE(CheckCostBudget(cost, 0, "request 'a'").ok()) << "0 is no budget";
  EXPECT_TRUE(CheckCostBudget(cost, 5, "request 'a'").ok());
  const absl::Status s = CheckCostBudget(cost, 4.5, "request 'a'");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(s.message().find("request 'a' would cost 5.0 GFLOP (masker 3.0, encoder 2.0, decoder 0.0), over this "
                             "daemon's budget of 4.5 GFLOP"),
            std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace mt
