#include "core/model/integer_hyper_synthesis.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/conv.h>

#include "core/model/hyperprior.h"
#include "core/model/subpixel_up.h"

namespace mt {

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
    // The first layer reads ẑ (integers); the others the previous layer's fixed point.
    const int input_bits = out.layers_.empty() ? 0 : kHyperFracBits;
    out.layers_.push_back({FixedPointLayer::From(weight, bias, input_bits), /*relu=*/false, shuffle});
  }
  TORCH_CHECK(!out.layers_.empty() && out.layers_.back().affine.weight.size(0) == 2 * out.latent_channels_,
              "IntegerHyperSynthesis: the synthesis must end in 2·C channels");
  return out;
}

std::pair<at::Tensor, at::Tensor> IntegerHyperSynthesis::Run(const at::Tensor& z_hat) const {
  TORCH_CHECK(z_hat.dim() == 4, "IntegerHyperSynthesis expects (B, Z, h, w), got ", z_hat.sizes());
  torch::NoGradGuard no_grad;
  at::Tensor x = ToFixedPointInput(z_hat);
  for (const Layer& layer : layers_) {
    const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
    const at::Tensor cols = at::im2col(x, {3, 3}, {1, 1}, {1, 1}, {1, 1});  // (B, in·9, h·w)
    const at::Tensor acc = layer.affine.Apply(cols, layer.relu).view({b, -1, h, w});
    x = layer.shuffle ? at::pixel_shuffle(acc, 2) : acc;
  }
  const at::Tensor out = x.to(at::kLong);
  return {out.narrow(1, 0, latent_channels_).contiguous(), out.narrow(1, latent_channels_, latent_channels_).contiguous()};
}

}  // namespace mt
