#include "core/model/fixed_point_layer.h"

#include <ATen/ATen.h>
#include <torch/csrc/api/include/torch/utils.h>

#include <cmath>

namespace mt {
namespace {

constexpr int kWeightBits = 13;  // |quantised weight| < 2^13

// Fractional bits that put the largest |w| just under 2^kWeightBits (exact: frexp and ldexp).
int WeightShift(const at::Tensor& w) {
  const double max_abs = w.abs().max().item<double>();
  if (max_abs == 0) return kWeightBits;
  int exponent = 0;
  std::frexp(max_abs, &exponent);  // max_abs = m · 2^exponent, m in [0.5, 1)
  return kWeightBits - exponent;
}

at::Tensor Quantize(const at::Tensor& w, int shift) {
  return at::round(w.detach().cpu().to(at::kDouble) * std::ldexp(1.0, shift));  // exact: a power of two
}

}  // namespace

FixedPointLayer FixedPointLayer::From(const at::Tensor& weight, const at::Tensor& bias, int input_bits) {
  torch::NoGradGuard no_grad;
  FixedPointLayer layer;
  const at::Tensor w = weight.detach().cpu().to(at::kDouble).contiguous();
  layer.shift = WeightShift(w);
  layer.input_bits = input_bits;
  layer.weight = Quantize(w, layer.shift).reshape({w.size(0), -1});
  if (bias.defined()) layer.bias = Quantize(bias, layer.shift + input_bits);
  return layer;
}

at::Tensor FixedPointLayer::Apply(const at::Tensor& cols, bool relu) const {
  at::Tensor acc = at::matmul(weight, cols);  // exact integers
  if (bias.defined()) acc = acc + bias.view({1, -1, 1});
  // Back to kHyperFracBits: a power-of-two scaling, then round half up (both exact here).
  acc = at::floor(acc * std::ldexp(1.0, kHyperFracBits - shift - input_bits) + 0.5);
  return acc.clamp(relu ? 0.0 : -kFixedPointLimit, kFixedPointLimit);
}

at::Tensor ToFixedPointInput(const at::Tensor& x) {
  return at::round(x.detach().cpu().to(at::kDouble)).clamp(-kFixedPointLimit, kFixedPointLimit);
}

}  // namespace mt
