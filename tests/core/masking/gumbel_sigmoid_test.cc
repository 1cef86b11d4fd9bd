#include "core/masking/gumbel_sigmoid.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace mt {
namespace {

at::Tensor Logit(const at::Tensor& p) { return at::log(p) - at::log1p(-p); }

TEST(GumbelSigmoidTest, HardSamplesKeepWithProbabilityP) {
  at::Generator gen = at::detail::createCPUGenerator(2024);
  at::Tensor p = at::tensor({0.05f, 0.2f, 0.5f, 0.84f, 0.97f});
  constexpr int kDraws = 200000;
  at::Tensor logits = Logit(p).expand({kDraws, 5}).contiguous();
  at::Tensor y = GumbelSigmoid(logits, {0.5, /*training=*/true, /*hard=*/true}, gen);
  at::Tensor freq = y.mean(0);
  // Binomial standard error ≤ sqrt(0.25/200000) ≈ 0.0011; allow 5 σ.
  for (int i = 0; i < 5; ++i)
    EXPECT_NEAR(freq[i].item<double>(), p[i].item<double>(), 0.0056) << "p = " << p[i].item<float>();
}

TEST(GumbelSigmoidTest, SoftSamplesAboveHalfAlsoFollowP) {
  // The seed's sign error kept patches with probability 1 − p; this guards the sign.
  at::Generator gen = at::detail::createCPUGenerator(7);
  at::Tensor logits = at::full({100000}, std::log(0.9 / 0.1));
  at::Tensor y = GumbelSigmoid(logits, {1.0, true, false}, gen);
  EXPECT_NEAR((y > 0.5).to(at::kFloat).mean().item<double>(), 0.9, 0.005);
}

TEST(GumbelSigmoidTest, EvaluationAddsNoNoise) {
  at::Tensor logits = at::tensor({-2.0f, 0.0f, 3.0f});
  at::Tensor a = GumbelSigmoid(logits, {0.5, /*training=*/false, false});
  at::Tensor b = GumbelSigmoid(logits, {0.5, false, false});
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_NEAR(a[0].item<double>(), 1.0 / (1.0 + std::exp(4.0)), 1e-7);   // sigmoid(−2/0.5)
  EXPECT_NEAR(a[2].item<double>(), 1.0 / (1.0 + std::exp(-6.0)), 1e-7);  // sigmoid(3/0.5)
  at::Tensor hard = GumbelSigmoid(logits, {0.5, false, true});
  EXPECT_TRUE(at::equal(hard, at::tensor({0.0f, 0.0f, 1.0f})));
}

TEST(GumbelSigmoidTest, StraightThroughPassesTheSoftGradient) {
  at::Tensor l1 = at::tensor({0.3f, -1.2f}).requires_grad_();
  at::Tensor l2 = l1.detach().clone().requires_grad_();
  GumbelSigmoid(l1, {0.7, false, true}).sum().backward();
  GumbelSigmoid(l2, {0.7, false, false}).sum().backward();
  EXPECT_TRUE(at::allclose(l1.grad(), l2.grad()));
  EXPECT_GT(l1.grad().abs().sum().item<float>(), 0.f);
}

}  // namespace
}  // namespace mt
