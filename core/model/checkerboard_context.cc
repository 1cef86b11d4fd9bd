#include "core/model/checkerboard_context.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace mt {

at::Tensor CheckerboardAnchors(int64_t h, int64_t w, const at::Tensor& like) {
  const at::Tensor rows = at::arange(h, at::kLong).view({h, 1}), cols = at::arange(w, at::kLong).view({1, w});
  return ((rows + cols).remainder(2) == 0).to(like.options()).view({1, 1, h, w});
}

CheckerboardContextImpl::CheckerboardContextImpl(const CheckerboardContextOptions& o) : options_(o) {
  TORCH_CHECK(o.latent_channels > 0 && o.hidden_channels > 0, "checkerboard context sizes must be > 0");
  const int64_t c = o.latent_channels, h = o.hidden_channels;
  context = register_module("context", torch::nn::Conv2d(torch::nn::Conv2dOptions(c, h, 5).padding(2).bias(false)));
  prior = register_module("prior", torch::nn::Conv2d(torch::nn::Conv2dOptions(2 * c, h, 1)));
  out = register_module("out", torch::nn::Conv2d(torch::nn::Conv2dOptions(h, 2 * c, 1)));
  torch::NoGradGuard no_grad;
  out->weight.zero_();
  out->bias.zero_();
}

std::pair<at::Tensor, at::Tensor> CheckerboardContextImpl::forward(const at::Tensor& anchor_residual,
                                                                   const at::Tensor& mean,
                                                                   const at::Tensor& log_scale) {
  const int64_t c = options_.latent_channels;
  TORCH_CHECK(anchor_residual.dim() == 4 && anchor_residual.size(1) == c && mean.sizes() == anchor_residual.sizes() &&
                  log_scale.sizes() == anchor_residual.sizes(),
              "CheckerboardContext expects three (B, ", c, ", h, w) tensors, got ", anchor_residual.sizes(), ", ",
              mean.sizes(), ", ", log_scale.sizes());
  const at::Tensor anchors = CheckerboardAnchors(mean.size(2), mean.size(3), mean);
  const at::Tensor hidden =
      at::relu(context->forward(anchor_residual * anchors) + prior->forward(at::cat({mean, log_scale}, 1)));
  const at::Tensor delta = out->forward(hidden) * (1 - anchors);
  return {mean + delta.narrow(1, 0, c), log_scale + delta.narrow(1, c, c)};
}

void CheckerboardContextImpl::ShiftLogScales(const at::Tensor& input_shift, const at::Tensor& output_shift) {
  const int64_t c = options_.latent_channels;
  TORCH_CHECK(input_shift.numel() == c && output_shift.numel() == c, "ShiftLogScales needs ", c, " shifts each");
  torch::NoGradGuard no_grad;
  const at::Tensor in = input_shift.to(prior->weight.options()).view({c, 1});
  const at::Tensor w = prior->weight.view({options_.hidden_channels, 2 * c}).narrow(1, c, c);  // (H, C): the log-scales
  prior->bias.sub_(at::matmul(w, in).view({-1}));
  out->bias.narrow(0, c, c).add_((output_shift - input_shift).to(out->bias.options()));
}

}  // namespace mt
