// The mean-scale hyperprior: shapes of its side transforms, its residual bits against the
// Gaussian's closed form, and the conv codec that carries one (the factorized codec's TileCodec
// refuses it: core/codecs/hyper_tile_codec serves it).
#include "core/model/hyperprior.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>

#include "core/codecs/conv_tile_codec.h"
#include "core/model/conv_codec.h"
#include "core/train/weight_copy.h"

#include "tests/test_util.h"

namespace mt {
namespace {

// −log₂ of the probability of the unit bin around r under N(0, σ²).
double ReferenceBits(double r, double sigma) { return -std::log2(test::GaussianUnitBinMass(r, sigma)); }

TEST(HyperpriorTest, SideLatentsAreAQuarterOfTheGridAndPredictMeanAndScaleOfEveryLatent) {
  HyperpriorOptions o;
  o.latent_channels = 6;
  o.hidden_channels = 8;
  o.side_channels = 5;
  Hyperprior hyper(o);
  torch::NoGradGuard no_grad;
  const at::Tensor z = hyper->Analyze(at::randn({2, 6, 8, 12}));
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 5, 2, 3}));
  const auto [mean, log_scale] = hyper->Synthesize(at::round(z));
  EXPECT_EQ(mean.sizes(), (std::vector<int64_t>{2, 6, 8, 12}));
  EXPECT_EQ(log_scale.sizes(), mean.sizes());
  EXPECT_TRUE(hyper->SideBits(at::round(z)).item<double>() > 0);
}

TEST(HyperpriorTest, ResidualBitsAreTheGaussiansUnitBinAndTheScaleIsFloored) {
  Hyperprior hyper(HyperpriorOptions{});
  const double sigmas[] = {0.5, 1.0, 3.0};
  const double residuals[] = {0.0, 1.0, -2.0, 6.0};
  for (double sigma : sigmas)
    for (double r : residuals) {
      const double bits =
          hyper->ResidualBits(at::full({1}, r, at::kDouble), at::full({1}, std::log(sigma), at::kDouble)).item<double>();
      // Probabilities are floored at 1e-9 (29.9 bits), as the factorized prior's: r = 6 at σ = 0.5 hits it.
      const double want = std::min(ReferenceBits(r, sigma), -std::log2(1e-9));
      EXPECT_NEAR(bits, want, 1e-6 * std::max(1.0, bits)) << "r " << r << " sigma " << sigma;
    }
  // A scale below min_scale (0.11) codes as min_scale: a residual of 0 is then nearly free.
  const double tiny = hyper->ResidualBits(at::zeros({1}, at::kDouble), at::full({1}, -20.0, at::kDouble)).item<double>();
  EXPECT_NEAR(tiny, ReferenceBits(0.0, 0.11), 1e-9);
  EXPECT_LT(tiny, 1e-3);
}

TEST(HyperpriorTest, AConvCodecStartsItsHyperpriorFreshFromAFactorizedOne) {
  ConvCodecOptions o;
  o.hidden_channels = 8;
  o.latent_channels = 4;
  o.levels = 2;
  o.tile_size = 64;
  ConvCodec factorized(o);
  o.hyper_channels = 3;
  ConvCodec hyper(o);
  ASSERT_TRUE(hyper->hyper);
  // The factorized codec lacks the hyper.* weights: only allowed when they are named fresh.
  EXPECT_EQ(CopyParameters(*factorized, *hyper, "init").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(CopyParameters(*factorized, *hyper, "init", "hyper.").ok());
  EXPECT_TRUE(at::equal(hyper->analysis->parameters()[0], factorized->analysis->parameters()[0]));
  // The other way round a weight is missing, whatever the prefix.
  EXPECT_EQ(CopyParameters(*hyper, *factorized, "init", "hyper.").code(), absl::StatusCode::kFailedPrecondition);
  hyper->BuildTables();
  EXPECT_EQ(ConvTileCodec::Create(hyper).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace mt
