// The checkerboard context, float and fixed point: a fresh one changes nothing, the non-anchors
// read only the anchors, the fixed-point copy follows the float network within a hundredth of a
// step and is bit-identical across thread counts and batches.
#include "core/model/checkerboard_context.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <vector>

#include "core/model/integer_checkerboard_context.h"

namespace mt {
namespace {

constexpr int64_t kChannels = 5;

CheckerboardContext RandomContext() {
  at::manual_seed(31);
  CheckerboardContextOptions o;
  o.latent_channels = kChannels;
  o.hidden_channels = 7;
  CheckerboardContext context(o);
  torch::NoGradGuard no_grad;
  context->out->weight.normal_(0, 0.3);
  context->out->bias.normal_(0, 0.3);
  return context;
}

struct Inputs {
  at::Tensor residual, mean, log_scale;  // (2, C, 6, 7): residuals integers, the rest fixed point
};

Inputs RandomInputs() {
  at::manual_seed(37);
  const std::vector<int64_t> shape = {2, kChannels, 6, 7};
  return {at::randint(-6, 7, shape, at::kLong), at::randint(-4096, 4097, shape, at::kLong),
          at::randint(-2048, 3073, shape, at::kLong)};
}

at::Tensor Anchors() { return CheckerboardAnchors(6, 7, at::zeros({}, at::kBool)); }

TEST(CheckerboardContextTest, AFreshContextChangesNothing) {
  CheckerboardContextOptions o;
  o.latent_channels = kChannels;
  CheckerboardContext context(o);
  const at::Tensor r = at::randn({1, kChannels, 4, 4}), m = at::randn({1, kChannels, 4, 4}), s = at::randn({1, kChannels, 4, 4});
  const auto [mean, log_scale] = context->forward(r, m, s);
  EXPECT_TRUE(at::equal(mean, m));
  EXPECT_TRUE(at::equal(log_scale, s));
}

TEST(CheckerboardContextTest, NonAnchorsReadOnlyAnchorsAndAnchorsStay) {
  CheckerboardContext context = RandomContext();
  torch::NoGradGuard no_grad;
  const Inputs in = RandomInputs();
  const at::Tensor r = in.residual.to(at::kFloat), m = in.mean.to(at::kFloat) / 1024, s = in.log_scale.to(at::kFloat) / 1024;
  const at::Tensor anchors = Anchors().to(at::kFloat);
  const auto [mean, log_scale] = context->forward(r, m, s);
  // Other values at the non-anchors' own positions change nothing.
  const auto [mean_2, log_scale_2] = context->forward(r + 5 * (1 - anchors), m, s);
  EXPECT_TRUE(at::equal(mean, mean_2));
  EXPECT_TRUE(at::equal(log_scale, log_scale_2));
  EXPECT_TRUE(at::equal(mean * anchors, m * anchors));
  EXPECT_TRUE(at::equal(log_scale * anchors, s * anchors));
  EXPECT_GT(((mean - m).abs() * (1 - anchors)).max().item<double>(), 0.05);  // it does move them
}

TEST(CheckerboardContextTest, FixedPointFollowsTheFloatNetworkWithinAHundredthOfAStep) {
  CheckerboardContext context = RandomContext();
  torch::NoGradGuard no_grad;
  const Inputs in = RandomInputs();
  const double unit = 1.0 / (1 << kHyperFracBits);
  const auto [mean, log_scale] = context->forward(in.residual.to(at::kDouble).to(at::kFloat),
                                                  (in.mean.to(at::kDouble) * unit).to(at::kFloat),
                                                  (in.log_scale.to(at::kDouble) * unit).to(at::kFloat));
  const auto [mean_fixed, scale_fixed] = IntegerCheckerboardContext::From(*context).Run(in.residual, in.mean, in.log_scale);
  ASSERT_EQ(mean_fixed.scalar_type(), at::kLong);
  ASSERT_EQ(mean_fixed.sizes(), mean.sizes());
  const at::Tensor anchors = Anchors();
  EXPECT_TRUE(at::equal(mean_fixed.masked_select(anchors), in.mean.masked_select(anchors)));
  EXPECT_TRUE(at::equal(scale_fixed.masked_select(anchors), in.log_scale.masked_select(anchors)));
  EXPECT_LT((mean_fixed.to(at::kDouble) * unit - mean.to(at::kDouble)).abs().max().item<double>(), 1e-2);
  EXPECT_LT((scale_fixed.to(at::kDouble) * unit - log_scale.to(at::kDouble)).abs().max().item<double>(), 1e-2);
}

TEST(CheckerboardContextTest, FixedPointIsBitIdenticalAcrossThreadCountsAndBatches) {
  const IntegerCheckerboardContext context = IntegerCheckerboardContext::From(*RandomContext());
  const Inputs in = RandomInputs();
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto [mean_1, scale_1] = context.Run(in.residual, in.mean, in.log_scale);
  at::set_num_threads(std::max(2, threads));
  const auto [mean_n, scale_n] = context.Run(in.residual, in.mean, in.log_scale);
  const auto [mean_one, scale_one] = context.Run(in.residual.narrow(0, 1, 1), in.mean.narrow(0, 1, 1),
                                                 in.log_scale.narrow(0, 1, 1));
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(mean_1, mean_n));
  EXPECT_TRUE(at::equal(scale_1, scale_n));
  EXPECT_TRUE(at::equal(mean_one[0], mean_1[1]));
  EXPECT_TRUE(at::equal(scale_one[0], scale_1[1]));
}

TEST(CheckerboardContextTest, ShiftingLogScalesMovesTheNonAnchorsByTheOutputShiftAlone) {
  CheckerboardContext context = RandomContext();
  torch::NoGradGuard no_grad;
  const Inputs in = RandomInputs();
  const at::Tensor r = in.residual.to(at::kFloat), m = in.mean.to(at::kFloat) / 1024, s = in.log_scale.to(at::kFloat) / 1024;
  const auto [mean, log_scale] = context->forward(r, m, s);
  const at::Tensor input_shift = at::linspace(-0.5, 0.3, kChannels, at::kDouble);
  const at::Tensor output_shift = at::linspace(0.2, -0.4, kChannels, at::kDouble);
  context->ShiftLogScales(input_shift, output_shift);
  // The hyperprior's log-scales moved by input_shift (the anchors' own shift).
  const auto [mean_2, log_scale_2] = context->forward(r, m, s + input_shift.to(at::kFloat).view({1, -1, 1, 1}));
  const at::Tensor non_anchor = 1 - Anchors().to(at::kFloat);
  EXPECT_LT((mean_2 - mean).mul(non_anchor).abs().max().item<double>(), 1e-5);
  const at::Tensor moved = (log_scale_2 - log_scale) * non_anchor;
  EXPECT_LT((moved - output_shift.to(at::kFloat).view({1, -1, 1, 1}) * non_anchor).abs().max().item<double>(), 1e-5);
}

}  // namespace
}  // namespace mt
