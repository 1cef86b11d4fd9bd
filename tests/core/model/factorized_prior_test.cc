#include "core/model/factorized_prior.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <numeric>

namespace mt {
namespace {

// Effective parameter i (registration order) = linspace(-0.9 + 0.05 i, -0.3 + 0.05 i), as in
// tests/reference/factorized_prior_reference.py; stored values are divided by the gain.
FactorizedPrior ReferencePrior() {
  FactorizedPriorOptions o;
  o.channels = 2;
  FactorizedPrior prior(o);
  prior->to(at::kDouble);
  torch::NoGradGuard no_grad;
  int i = 0;
  for (at::Tensor& p : prior->parameters()) {
    p.copy_(at::linspace(-0.9 + 0.05 * i, -0.3 + 0.05 * i, p.numel(), at::kDouble).view(p.sizes()) / kDensityParamGain);
    ++i;
  }
  return prior;
}

TEST(FactorizedPriorTest, LikelihoodMatchesTheNumpyReference) {
  FactorizedPrior prior = ReferencePrior();
  // (N, C) values: channel 0 gets the first row of the reference's VALUES, channel 1 the second.
  at::Tensor values = at::tensor({-1.3, 0.9, 0.0, -0.6, 0.4, 3.5, 2.7, -2.2}, at::kDouble).view({4, 2});
  const std::vector<std::pair<double, std::vector<double>>> expected = {
      {1.0, {0.03452422533, 0.05159912398, 0.05138490498, 0.04767085282, 0.4713173459, 0.08105545102,
             0.007917559528, 0.001167311442}},
      {0.5, {0.01728484422, 0.02609531798, 0.02589254227, 0.02371288428, 0.2483490291, 0.03618006326,
             0.003138327952, 0.0004462139848}}};
  for (const auto& [step, want] : expected) {
    at::Tensor lik = prior->Likelihood(values, at::full({1}, step, at::kDouble)).t().reshape({-1});  // (C·N)
    for (int64_t i = 0; i < 8; ++i) EXPECT_NEAR(lik[i].item<double>(), want[i], 1e-9 * (1 + want[i])) << i;
  }
}

TEST(FactorizedPriorTest, IntegerPmfsSumToOneAndMatchTheLikelihood) {
  FactorizedPrior prior = ReferencePrior();
  for (double step : {0.25, 1.0, 4.0}) {
    std::vector<ChannelPmf> pmfs = prior->IntegerPmfs(step);
    ASSERT_EQ(pmfs.size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
      const std::vector<double>& p = pmfs[c].pmf;
      EXPECT_NEAR(std::accumulate(p.begin(), p.end(), 0.0), 1.0, 1e-9);
      EXPECT_LT(p.back(), 1e-5);  // escape: only the trimmed tails
      // Bin q of the table = Likelihood at q·Δ.
      const int32_t q = pmfs[c].offset + static_cast<int32_t>(p.size() / 2);
      at::Tensor v = at::zeros({1, 2}, at::kDouble);
      v[0][static_cast<int64_t>(c)] = q * step;
      const double lik = prior->Likelihood(v, at::full({1}, step, at::kDouble))[0][static_cast<int64_t>(c)].item<double>();
      EXPECT_NEAR(p[p.size() / 2], lik, 1e-9);
    }
  }
}

TEST(FactorizedPriorTest, RateGradientReachesTheDensity) {
  FactorizedPriorOptions o;
  o.channels = 3;
  FactorizedPrior prior(o);
  at::Tensor y = at::randn({5, 3}).set_requires_grad(true);
  at::Tensor bits = -at::log2(prior->Likelihood(y, at::ones({1}))).sum();
  bits.backward();
  for (const at::Tensor& p : prior->parameters()) ASSERT_TRUE(p.grad().defined());
  EXPECT_GT(y.grad().abs().sum().item<double>(), 0.0);
}

}  // namespace
}  // namespace mt
