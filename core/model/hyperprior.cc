#include "core/model/hyperprior.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

#include "core/model/subpixel_up.h"

namespace mt {
namespace {

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2));
}

SubpixelUp Up(int64_t in, int64_t out) {
  SubpixelUpOptions o;
  o.in_channels = in;
  o.out_channels = out;
  return SubpixelUp(o);
}

// Probability of the unit bin around 0 for a residual r under N(0, scale²), written with the
// lower tail on both sides (Φ(0.5 − |r|) − Φ(−0.5 − |r|)) so it keeps precision far from 0.
at::Tensor UnitBinProbability(const at::Tensor& r, const at::Tensor& scale) {
  const double inv_sqrt2 = 1.0 / std::sqrt(2.0);
  const at::Tensor a = r.abs();
  const at::Tensor upper = 0.5 * at::erfc(-(0.5 - a) / scale * inv_sqrt2);
  const at::Tensor lower = 0.5 * at::erfc((0.5 + a) / scale * inv_sqrt2);
  return upper - lower;
}

}  // namespace

HyperpriorImpl::HyperpriorImpl(const HyperpriorOptions& o) : options_(o) {
  TORCH_CHECK(o.latent_channels > 0 && o.hidden_channels > 0 && o.side_channels > 0 && o.min_scale > 0,
              "hyperprior sizes must be > 0");
  const int64_t c = o.latent_channels, n = o.hidden_channels, z = o.side_channels;
  analysis = register_module("analysis", torch::nn::Sequential(Conv(c, n, 3, 1), torch::nn::ReLU(), Conv(n, n, 5, 2),
                                                               torch::nn::ReLU(), Conv(n, z, 5, 2)));
  synthesis = register_module("synthesis", torch::nn::Sequential(Up(z, n), torch::nn::ReLU(), Up(n, n),
                                                                 torch::nn::ReLU(), Conv(n, 2 * c, 3, 1)));
  FactorizedPriorOptions po;
  po.channels = z;
  side_prior = register_module("side_prior", FactorizedPrior(po));
}

at::Tensor HyperpriorImpl::Analyze(const at::Tensor& u) {
  TORCH_CHECK(u.dim() == 4 && u.size(1) == options_.latent_channels && u.size(2) % kHyperpriorDownsample == 0 &&
                  u.size(3) % kHyperpriorDownsample == 0,
              "hyperprior Analyze expects (B, C, 4h, 4w), got ", u.sizes());
  return analysis->forward(u);
}

std::pair<at::Tensor, at::Tensor> HyperpriorImpl::Synthesize(const at::Tensor& z_hat) {
  const at::Tensor out = synthesis->forward(z_hat);  // (B, 2C, h, w)
  const int64_t c = options_.latent_channels;
  return {out.narrow(1, 0, c), out.narrow(1, c, c)};
}

at::Tensor HyperpriorImpl::SideBits(const at::Tensor& z_tilde) {
  const at::Tensor unit = at::ones({options_.side_channels}, z_tilde.options());
  return -at::log2(side_prior->Likelihood(z_tilde.permute({0, 2, 3, 1}), unit)).sum();
}

at::Tensor HyperpriorImpl::ResidualBits(const at::Tensor& r, const at::Tensor& log_scale) const {
  const at::Tensor scale = at::exp(log_scale).clamp_min(options_.min_scale);
  return -at::log2(UnitBinProbability(r, scale).clamp_min(1e-9)).sum();
}

}  // namespace mt
