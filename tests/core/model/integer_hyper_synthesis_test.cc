// The fixed-point hyper-synthesis: close to the float network it copies, and bit-identical
// whatever the thread count or the batch it runs in (the BLAS sums in other orders there).
#include "core/model/integer_hyper_synthesis.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "core/model/hyperprior.h"

namespace mt {
namespace {

Hyperprior RandomHyperprior() {
  at::manual_seed(23);
  HyperpriorOptions o;
  o.latent_channels = 12;
  o.hidden_channels = 16;
  o.side_channels = 6;
  return Hyperprior(o);
}

TEST(IntegerHyperSynthesisTest, FollowsTheFloatNetworkWithinAThousandthOfAStep) {
  Hyperprior hyper = RandomHyperprior();
  torch::NoGradGuard no_grad;
  const at::Tensor z = at::randint(-8, 9, {2, 6, 3, 5}, at::kFloat);
  const auto [mean, log_scale] = hyper->Synthesize(z);
  const auto [mean_fixed, log_scale_fixed] = IntegerHyperSynthesis::From(*hyper).Run(z);
  ASSERT_EQ(mean_fixed.sizes(), mean.sizes());
  ASSERT_EQ(mean_fixed.scalar_type(), at::kLong);
  const double unit = 1.0 / (1 << kHyperFracBits);
  // Rounding: weights to 2^-13 of the largest, activations to 2^-10, three layers deep.
  EXPECT_LT((mean_fixed.to(at::kDouble) * unit - mean.to(at::kDouble)).abs().max().item<double>(), 4e-3);
  EXPECT_LT((log_scale_fixed.to(at::kDouble) * unit - log_scale.to(at::kDouble)).abs().max().item<double>(), 4e-3);
  // Not a trivially zero network: the means spread over more than a step.
  EXPECT_GT(mean.abs().max().item<double>(), 0.1);
}

TEST(IntegerHyperSynthesisTest, BitIdenticalAcrossThreadCountsAndBatches) {
  Hyperprior hyper = RandomHyperprior();
  const IntegerHyperSynthesis synthesis = IntegerHyperSynthesis::From(*hyper);
  const at::Tensor z = at::randint(-30, 31, {3, 6, 8, 8}, at::kInt);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const auto [mean_1, scale_1] = synthesis.Run(z);
  at::set_num_threads(std::max(2, threads));
  const auto [mean_n, scale_n] = synthesis.Run(z);
  const auto [mean_one, scale_one] = synthesis.Run(z.narrow(0, 1, 1));  // another GEMM shape
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(mean_1, mean_n));
  EXPECT_TRUE(at::equal(scale_1, scale_n));
  EXPECT_TRUE(at::equal(mean_one[0], mean_1[1]));
  EXPECT_TRUE(at::equal(scale_one[0], scale_1[1]));
  // A second copy of the same weights quantises to the same integers.
  const auto [mean_again, scale_again] = IntegerHyperSynthesis::From(*hyper).Run(z);
  EXPECT_TRUE(at::equal(mean_again, mean_1));
}

}  // namespace
}  // namespace mt
