// Export-time scale calibration of the hyperprior: never costs bits on its own photos, and undoes
// a known error in the scales (a +0.5 shift of every log-scale comes back as −0.5).
#include "core/pipeline/hyper_scale_fit.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "tests/test_util.h"

namespace mt {
namespace {

ConvCodec TinyHyperCodec() { return test::TinyHyperCodec({0.02, 0.08}, /*tables=*/false); }

std::vector<at::Tensor> Photos() {
  at::manual_seed(31);
  // Smooth-ish pictures: upsampled noise, so the latents have structure to predict.
  std::vector<at::Tensor> out;
  for (int i = 0; i < 3; ++i)
    out.push_back(at::upsample_bilinear2d(at::rand({1, 3, 24, 32}), {96, 128}, false).squeeze(0));
  return out;
}

TEST(HyperScaleFitTest, NeverCostsBitsAndUndoesAKnownShift) {
  at::manual_seed(37);
  ConvCodec codec = TinyHyperCodec();
  const std::vector<at::Tensor> photos = Photos();
  absl::StatusOr<HyperScaleFit> first = FitHyperScales(codec, photos);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_LE(first->bits_after, first->bits_before);
  EXPECT_GT(first->bits_after, 0);
  // Calibrated: a second fit finds nothing to move.
  absl::StatusOr<HyperScaleFit> again = FitHyperScales(codec, photos);
  ASSERT_TRUE(again.ok());
  EXPECT_LT(again->shift.abs().max().item<double>(), 0.051);
  // Every scale made e^0.5 too wide: the fit brings each back (grid step 0.05).
  codec->hyper->ShiftLogScales(at::full({4}, 0.5, at::kDouble));
  absl::StatusOr<HyperScaleFit> undo = FitHyperScales(codec, photos);
  ASSERT_TRUE(undo.ok());
  EXPECT_LT((undo->shift + 0.5).abs().max().item<double>(), 0.101) << undo->shift;
  EXPECT_LT(undo->bits_after, undo->bits_before);
}

TEST(HyperScaleFitTest, WithAContextAnchorsAndNonAnchorsGetTheirOwnShifts) {
  at::manual_seed(41);
  ConvCodec codec = test::TinyHyperCodec({0.02, 0.08}, /*tables=*/false, /*checkerboard_channels=*/6);
  const std::vector<at::Tensor> photos = Photos();
  // A grid wide enough for this random model's scales, so one fit calibrates it.
  HyperScaleFitOptions wide;
  wide.min_shift = -3.0;
  wide.max_shift = 3.0;
  ASSERT_TRUE(FitHyperScales(codec, photos, wide).ok());
  // The non-anchors' scales alone made e^0.4 too wide (the context's output bias): the fit moves
  // them back and leaves the anchors where they were.
  {
    torch::NoGradGuard no_grad;
    codec->context->out->bias.narrow(0, 4, 4).add_(0.4);
  }
  absl::StatusOr<HyperScaleFit> undo = FitHyperScales(codec, photos, wide);
  ASSERT_TRUE(undo.ok()) << undo.status();
  ASSERT_TRUE(undo->context_shift.defined());
  EXPECT_LT((undo->context_shift + 0.4).abs().max().item<double>(), 0.101) << undo->context_shift;
  EXPECT_LT(undo->shift.abs().max().item<double>(), 0.051) << undo->shift;
  EXPECT_LT(undo->bits_after, undo->bits_before);
}

TEST(HyperScaleFitTest, RefusesCodecsWithoutAHyperpriorAndEmptyInput) {
  ConvCodecOptions o;
  o.hidden_channels = 8;
  o.latent_channels = 4;
  o.levels = 1;
  o.tile_size = 64;
  ConvCodec plain(o);
  EXPECT_EQ(FitHyperScales(plain, Photos()).status().code(), absl::StatusCode::kFailedPrecondition);
  ConvCodec hyper = TinyHyperCodec();
  EXPECT_EQ(FitHyperScales(hyper, {}).status().code(), absl::StatusCode::kFailedPrecondition);
  HyperScaleFitOptions empty;
  empty.shift_step = 0;
  EXPECT_EQ(FitHyperScales(hyper, Photos(), empty).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mt
