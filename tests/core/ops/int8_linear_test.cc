// ApplyLinear: the module's own forward unless this thread enabled int8; int8 within the error of
// quantising the weights (per tensor, max|w| → 127) and the activations (per call, 8 bits).
#include "core/ops/int8_linear.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <thread>

namespace mt {
namespace {

TEST(Int8LinearTest, IsTheModulesForwardUnlessThisThreadEnabledIt) {
  at::manual_seed(3);
  torch::nn::Linear linear(64, 32);
  const at::Tensor x = at::randn({4, 10, 64});
  EXPECT_TRUE(at::equal(ApplyLinear(linear, x), linear->forward(x)));
  Int8LinearScope int8(true);
  at::Tensor other;
  std::thread([&] { other = ApplyLinear(linear, x); }).join();  // another thread: still fp32
  EXPECT_TRUE(at::equal(other, linear->forward(x)));
}

TEST(Int8LinearTest, Int8StaysWithinTheQuantisationErrorBound) {
  if (!Int8LinearAvailable()) GTEST_SKIP() << "this LibTorch has no quantized engine";
  at::manual_seed(4);
  torch::nn::Linear linear(64, 32);
  const at::Tensor x = at::randn({4, 10, 64});
  at::Tensor y;
  {
    Int8LinearScope int8(true);
    y = ApplyLinear(linear, x);
  }
  ASSERT_EQ(y.sizes(), (at::IntArrayRef{4, 10, 32}));
  const at::Tensor ref = linear->forward(x);
  EXPECT_FALSE(at::equal(y, ref));  // the int8 path ran
  // Independent bound: weights rounded to max|w|/127 steps, activations to (max-min)/127 steps
  // (reduce_range at worst); |error| <= sum_k (|x_k|·sw/2 + |w_k|·sx/2 + sw·sx/4).
  const at::Tensor w = linear->weight.detach();
  const double sw = w.abs().max().item<double>() / 127, sx = (x.max() - x.min()).item<double>() / 127;
  const at::Tensor bound = x.abs().sum(-1, true) * (sw / 2) + w.abs().sum(1) * (sx / 2) + 64 * sw * sx / 4;
  EXPECT_TRUE(((y - ref).abs() <= bound + 1e-5).all().item<bool>()) << ((y - ref).abs() - bound).max();
  EXPECT_LT((y - ref).abs().mean().item<double>(), 0.05 * ref.abs().mean().item<double>());
}

}  // namespace
}  // namespace mt
