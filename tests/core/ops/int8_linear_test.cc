// ApplyLinear: the module's own forward unless this thread enabled int8; int8 within the error of
// quantising the weights (per tensor, max|w| → 127) and the activations (per call, 7 or 8 bits).
// The bound is checked to catch a kernel that saturates: an emulation of the 16-bit pair sums of
// x86 int8 kernels without VNNI breaks it with 8-bit activations and keeps it with 7-bit ones.
#include "core/ops/int8_linear.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "core/runtime/cpu_features.h"

namespace mt {
namespace {

// Independent bound: weights rounded to max|w|/127 steps, activations to (max-min)/127 steps
// (7-bit range at worst); |error| <= sum_k (|x_k|·sw/2 + |w_k|·sx/2 + sw·sx/4). Returns the
// largest excess over it (<= 0: within).
double ExcessOverQuantisationBound(const at::Tensor& y, const at::Tensor& ref, const at::Tensor& x, const at::Tensor& w) {
  const double sw = w.abs().max().item<double>() / 127, sx = (x.max() - x.min()).item<double>() / 127;
  const at::Tensor bound = x.abs().sum(-1, true) * (sw / 2) + w.abs().sum(1) * (sx / 2) + x.size(-1) * sw * sx / 4;
  return ((y - ref).abs() - bound).max().item<double>();
}

// x86 int8 GEMM without VNNI, in doubles: activations asymmetric u8 on 0..qmax, weights s8
// symmetric, u8·s8 products added in pairs that saturate at int16, then summed in 32 bits.
at::Tensor EmulatedPairSaturatingLinear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, int qmax) {
  const at::Tensor xd = x.reshape({-1, x.size(-1)}).to(at::kDouble), wd = w.to(at::kDouble);
  const double lo = std::min(0.0, xd.min().item<double>()), hi = std::max(0.0, xd.max().item<double>());
  const double sx = (hi - lo) / qmax, zp = std::round(-lo / sx);
  const double sw = wd.abs().max().item<double>() / 127;
  const at::Tensor xq = (at::round(xd / sx) + zp).clamp(0, qmax), wq = at::round(wd / sw).clamp(-127, 127);
  const at::Tensor products = xq.unsqueeze(1) * wq.unsqueeze(0);  // (N, out, in)
  const at::Tensor pairs = products.view({products.size(0), products.size(1), -1, 2}).sum(-1).clamp(-32768, 32767);
  const at::Tensor acc = pairs.sum(-1) - zp * wq.sum(1);
  std::vector<int64_t> shape = x.sizes().vec();
  shape.back() = w.size(0);
  return (acc * (sx * sw) + b.to(at::kDouble)).to(at::kFloat).view(shape);
}

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

TEST(Int8LinearTest, TheBoundCatchesAKernelThatSaturatesAndPassesItsSevenBitRemedy) {
  at::manual_seed(4);
  torch::nn::Linear linear(64, 32);
  const at::Tensor x = at::randn({4, 10, 64});
  const at::Tensor w = linear->weight.detach(), b = linear->bias.detach(), ref = linear->forward(x).detach();
  // 8-bit activations up to 255 times weights up to 127: pairs reach ~64,000 and clip at 32,767.
  EXPECT_GT(ExcessOverQuantisationBound(EmulatedPairSaturatingLinear(x, w, b, 255), ref, x, w), 0.1);
  // 7-bit activations: a pair is at most 2·127·127 = 32,258, no clipping.
  EXPECT_LE(ExcessOverQuantisationBound(EmulatedPairSaturatingLinear(x, w, b, 127), ref, x, w), 1e-5);
}

TEST(Int8LinearTest, ReducesTheActivationRangeExactlyOnCpusWithoutVnni) {
  EXPECT_EQ(Int8ReducesActivationRange(), !CpuHasVnni()) << "CPU flags: " << CpuSpeedFlags();
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
  EXPECT_LE(ExcessOverQuantisationBound(y, ref, x, linear->weight.detach()), 1e-5) << "CPU flags: " << CpuSpeedFlags();
  EXPECT_LT((y - ref).abs().mean().item<double>(), 0.05 * ref.abs().mean().item<double>());
}

}  // namespace
}  // namespace mt
