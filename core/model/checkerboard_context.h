// Checkerboard spatial context for the mean-scale hyperprior (He et al. 2021): the latent grid of
// each coding tile splits into anchors ((row + col) even), coded first under the hyperprior's
// predictions alone, and non-anchors, whose means and log-scales the context refines from the
// decoded residuals of the neighbouring anchors. Both halves decode in parallel (two passes), and
// anchors are coded exactly as without a context.
// The network: a 5×5 convolution over the anchors' residuals round(u − mean) (the non-anchor
// inputs are zero, so only the 12 taps at odd offsets ever read anything), plus a 1×1 over the
// hyperprior's own mean and log-scale, a ReLU, and a 1×1 to a correction of both; the last layer
// starts at zero, so a fresh context codes exactly as the hyperprior alone.
// Why: the hyperprior's errors are spatially correlated; a context that sees the neighbours'
// residuals removes part of them (He et al.: −5 to −8 % rate against the mean-scale hyperprior).
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <utility>

namespace mt {

struct CheckerboardContextOptions {
  int64_t latent_channels = 96;   // C of the latents
  int64_t hidden_channels = 128;  // H of its hidden layer
};

// (1, 1, h, w) float: 1 at anchors ((row + col) even), 0 elsewhere, on `like`'s device and dtype.
at::Tensor CheckerboardAnchors(int64_t h, int64_t w, const at::Tensor& like);

class CheckerboardContextImpl : public torch::nn::Module {
 public:
  explicit CheckerboardContextImpl(const CheckerboardContextOptions& options = {});

  // anchor_residual (B, C, h, w): the anchors' round(u − mean) in step units (any values elsewhere:
  // they are zeroed here); mean, log_scale (B, C, h, w): the hyperprior's predictions.
  // → {mean, log_scale} (B, C, h, w): the anchors' unchanged, the non-anchors' refined.
  std::pair<at::Tensor, at::Tensor> forward(const at::Tensor& anchor_residual, const at::Tensor& mean,
                                            const at::Tensor& log_scale);

  // Export-time calibration (core/pipeline/hyper_scale_fit): the hyperprior's log-scales this
  // context reads have moved by `input_shift` (C, natural log units, per channel); afterwards its
  // refined non-anchor log-scales are the ones before plus `output_shift` (C), its means unchanged.
  // Exact in real arithmetic (the inputs enter through one linear layer, the shifts are biases).
  void ShiftLogScales(const at::Tensor& input_shift, const at::Tensor& output_shift);

  const CheckerboardContextOptions& options() const { return options_; }

  torch::nn::Conv2d context{nullptr};  // C → H, 5×5, no bias: the anchors' residuals
  torch::nn::Conv2d prior{nullptr};    // 2C → H, 1×1: the hyperprior's mean and log-scale
  torch::nn::Conv2d out{nullptr};      // H → 2C, 1×1: corrections of the mean and log-scale

 private:
  CheckerboardContextOptions options_;
};
TORCH_MODULE(CheckerboardContext);

}  // namespace mt
