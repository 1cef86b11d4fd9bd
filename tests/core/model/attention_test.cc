#include "core/model/attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>

namespace mt {
namespace {

TEST(AttentionTest, MathKernelMatchesHandComputedSingleQuery) {
  // One head, one query attending over two keys: weights softmax([q·k0, q·k1] / √2).
  at::Tensor q = at::tensor({1.0f, 0.0f}).reshape({1, 1, 1, 2});
  at::Tensor k = at::tensor({1.0f, 0.0f, 0.0f, 1.0f}).reshape({1, 1, 2, 2});
  at::Tensor v = at::tensor({10.0f, 0.0f, 0.0f, 20.0f}).reshape({1, 1, 2, 2});
  const double s0 = 1.0 / std::sqrt(2.0), s1 = 0.0;
  const double w0 = std::exp(s0) / (std::exp(s0) + std::exp(s1)), w1 = 1.0 - w0;
  at::Tensor out = ScaledDotProductAttention(q, k, v, AttentionKernel::kMath);
  EXPECT_NEAR(out[0][0][0][0].item<double>(), 10.0 * w0, 1e-5);
  EXPECT_NEAR(out[0][0][0][1].item<double>(), 20.0 * w1, 1e-5);
}

TEST(AttentionTest, FusedAndMathKernelsAgree) {
  ASSERT_TRUE(FusedAttentionAvailable()) << "LibTorch >= 1.13 ships a fused attention op";
  at::manual_seed(7);
  at::Tensor q = at::randn({2, 3, 17, 16}), k = at::randn({2, 3, 17, 16}), v = at::randn({2, 3, 17, 16});
  at::Tensor math = ScaledDotProductAttention(q, k, v, AttentionKernel::kMath);
  at::Tensor fused = ScaledDotProductAttention(q, k, v, AttentionKernel::kFused);
  EXPECT_TRUE(at::allclose(math, fused, /*rtol=*/1e-5, /*atol=*/1e-6))
      << "max diff " << (math - fused).abs().max().item<double>();
}

TEST(AttentionTest, GradientsOfBothKernelsAgree) {
  at::manual_seed(8);
  at::Tensor q0 = at::randn({1, 2, 9, 8}), k0 = at::randn({1, 2, 9, 8}), v0 = at::randn({1, 2, 9, 8});
  auto grads = [&](AttentionKernel kernel) {
    at::Tensor q = q0.clone().requires_grad_(), k = k0.clone().requires_grad_(), v = v0.clone().requires_grad_();
    ScaledDotProductAttention(q, k, v, kernel).pow(2).sum().backward();
    return at::cat({q.grad().flatten(), k.grad().flatten(), v.grad().flatten()});
  };
  EXPECT_TRUE(at::allclose(grads(AttentionKernel::kMath), grads(AttentionKernel::kFused), 1e-4, 1e-5));
}

}  // namespace
}  // namespace mt
