#include "core/model/integer_checkerboard_context.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <vector>

#include "core/model/checkerboard_context.h"

namespace mt {
namespace {

constexpr int64_t kKernel = 5, kPad = kKernel / 2;

// Kernel taps (row · 5 + col) at odd offsets from the centre: the anchors around a non-anchor.
std::vector<int64_t> AnchorTaps() {
  std::vector<int64_t> taps;
  for (int64_t r = 0; r < kKernel; ++r)
    for (int64_t c = 0; c < kKernel; ++c)
      if ((r + c) % 2 == 1) taps.push_back(r * kKernel + c);
  return taps;
}

// Flat positions (row · w + col) of the non-anchors ((row + col) odd), raster order.
at::Tensor NonAnchorPositions(int64_t h, int64_t w) {
  std::vector<int64_t> out;
  for (int64_t r = 0; r < h; ++r)
    for (int64_t c = 0; c < w; ++c)
      if ((r + c) % 2 == 1) out.push_back(r * w + c);
  return at::tensor(out, at::kLong);
}

}  // namespace

IntegerCheckerboardContext IntegerCheckerboardContext::From(const CheckerboardContextImpl& context) {
  torch::NoGradGuard no_grad;
  IntegerCheckerboardContext out;
  const int64_t c = context.options().latent_channels, h = context.options().hidden_channels;
  out.channels_ = c;
  const at::Tensor taps = at::tensor(AnchorTaps(), at::kLong);
  const at::Tensor w = context.context->weight.detach().cpu().view({h, c, kKernel * kKernel}).index_select(2, taps);
  out.context_ = FixedPointLayer::From(w, at::Tensor(), /*input_bits=*/0);  // residuals are integers
  out.prior_ = FixedPointLayer::From(context.prior->weight, context.prior->bias, kHyperFracBits);
  out.out_ = FixedPointLayer::From(context.out->weight, context.out->bias, kHyperFracBits);
  return out;
}

std::pair<at::Tensor, at::Tensor> IntegerCheckerboardContext::Run(const at::Tensor& anchor_residual,
                                                                  const at::Tensor& mean,
                                                                  const at::Tensor& log_scale) const {
  TORCH_CHECK(anchor_residual.dim() == 4 && anchor_residual.size(1) == channels_ &&
                  mean.sizes() == anchor_residual.sizes() && log_scale.sizes() == anchor_residual.sizes(),
              "IntegerCheckerboardContext expects three (B, ", channels_, ", h, w) tensors");
  torch::NoGradGuard no_grad;
  const int64_t b = mean.size(0), c = channels_, h = mean.size(2), w = mean.size(3);
  const at::Tensor positions = NonAnchorPositions(h, w);
  const int64_t n = positions.numel();
  if (n == 0) return {mean.cpu().to(at::kLong), log_scale.cpu().to(at::kLong)};
  // Zero padding reads as an absent anchor, as in the float network's convolution.
  const at::Tensor padded = at::constant_pad_nd(ToFixedPointInput(anchor_residual), {kPad, kPad, kPad, kPad});
  std::vector<at::Tensor> taps;
  for (int64_t tap : AnchorTaps()) {
    const at::Tensor shifted = padded.narrow(2, tap / kKernel, h).narrow(3, tap % kKernel, w);
    taps.push_back(shifted.reshape({b, c, h * w}).index_select(2, positions));
  }
  const at::Tensor cols = at::stack(taps, 2).view({b, c * static_cast<int64_t>(taps.size()), n});  // (B, C·12, n)
  const at::Tensor prior_in =
      ToFixedPointInput(at::cat({mean, log_scale}, 1).view({b, 2 * c, h * w})).index_select(2, positions);
  const at::Tensor hidden =
      (context_.Apply(cols, /*relu=*/false) + prior_.Apply(prior_in, /*relu=*/false)).clamp(0.0, kFixedPointLimit);
  const at::Tensor delta = out_.Apply(hidden, /*relu=*/false).to(at::kLong);  // (B, 2C, n)
  at::Tensor refined_mean = mean.cpu().to(at::kLong).reshape({b, c, h * w}).clone();
  at::Tensor refined_scale = log_scale.cpu().to(at::kLong).reshape({b, c, h * w}).clone();
  refined_mean.index_add_(2, positions, delta.narrow(1, 0, c));
  refined_scale.index_add_(2, positions, delta.narrow(1, c, c));
  return {refined_mean.view({b, c, h, w}), refined_scale.view({b, c, h, w})};
}

}  // namespace mt
