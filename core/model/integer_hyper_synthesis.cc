#include "core/model/integer_hyper_synthesis.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

#include "core/model/hyperprior.h"
#include "core/model/subpixel_up.h"

namespace mt {
namespace {

constexpr int kWeightBits = 13;           // |quantised weight| < 2^13
constexpr double kActivationLimit = 16777216.0;  // 2^24: |activation| in fixed-point units

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

IntegerHyperSynthesis IntegerHyperSynthesis::From(const HyperpriorImpl& hyper) {
  torch::NoGradGuard no_grad;
  IntegerHyperSynthesis out;
  out.latent_channels_ = hyper.options().latent_channels;
  for (size_t i = 0; i < hyper.synthesis->size(); ++i) {
    const std::shared_ptr<torch::nn::Module> m = hyper.synthesis->ptr(i);
    at::Tensor weight, bias;
    bool shuffle = false;
    if (auto* up = m->as<SubpixelUpImpl>()) {
      weight = up->PhaseKernels();
      bias = up->bias.repeat_interleave(4);
      shuffle = true;
    } else if (auto* conv = m->as<torch::nn::Conv2dImpl>()) {
      TORCH_CHECK((*conv->options.kernel_size())[0] == 3 && (*conv->options.stride())[0] == 1,
                  "IntegerHyperSynthesis: expects 3x3 stride-1 convolutions");
      weight = conv->weight;
      bias = conv->bias;
    } else {
      TORCH_CHECK(!out.layers_.empty(), "IntegerHyperSynthesis: the synthesis starts with an activation");
      out.layers_.back().relu = true;  // ReLU: the only activation the synthesis has
      continue;
    }
    Layer layer;
    layer.shift = WeightShift(weight);
    layer.weight = Quantize(weight, layer.shift).reshape({weight.size(0), -1});
    // The bias lives at the product's fixed point: weight bits plus the input's bits (0 for ẑ).
    const int input_bits = out.layers_.empty() ? 0 : kHyperFracBits;
    layer.bias = Quantize(bias, layer.shift + input_bits);
    layer.shuffle = shuffle;
    out.layers_.push_back(std::move(layer));
  }
  TORCH_CHECK(!out.layers_.empty() && out.layers_.back().weight.size(0) == 2 * out.latent_channels_,
              "IntegerHyperSynthesis: the synthesis must end in 2·C channels");
  return out;
}

std::pair<at::Tensor, at::Tensor> IntegerHyperSynthesis::Run(const at::Tensor& z_hat) const {
  TORCH_CHECK(z_hat.dim() == 4, "IntegerHyperSynthesis expects (B, Z, h, w), got ", z_hat.sizes());
  torch::NoGradGuard no_grad;
  at::Tensor x = at::round(z_hat.detach().cpu().to(at::kDouble)).clamp(-kActivationLimit, kActivationLimit);
  int input_bits = 0;
  for (const Layer& layer : layers_) {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const at::Tensor cols = at::im2col(x, {3, 3}, {1, 1}, {1, 1}, {1, 1});  // (B, in·9, h·w)
    at::Tensor acc = at::matmul(layer.weight, cols) + layer.bias.view({1, -1, 1});  // exact integers
    // Back to kHyperFracBits: a power-of-two scaling, then round half up (both exact here).
    acc = at::floor(acc * std::ldexp(1.0, kHyperFracBits - layer.shift - input_bits) + 0.5);
    acc = acc.clamp(layer.relu ? 0.0 : -kActivationLimit, kActivationLimit).view({b, -1, h, w});
    x = layer.shuffle ? at::pixel_shuffle(acc, 2) : acc;
    input_bits = kHyperFracBits;
  }
  const at::Tensor out = x.to(at::kLong);
  return {out.narrow(1, 0, latent_channels_).contiguous(), out.narrow(1, latent_channels_, latent_channels_).contiguous()};
}

}  // namespace mt
