#include "core/model/hyperprior.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/conv.h>

#include <cmath>

#include "absl/strings/str_cat.h"

#include "core/entropy/gaussian_tables.h"
#include "core/model/coding_tables.h"
#include "core/model/integer_hyper_synthesis.h"
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
  if (o.scale_count > 0) RegisterTables(o.side_entries, o.scale_count, o.scale_entries);
}

void HyperpriorImpl::RegisterTables(int64_t side_entries, int64_t scale_count, int64_t scale_entries) {
  const int64_t z = options_.side_channels;
  side_cdf = register_buffer("side_cdf", at::zeros({side_entries}, at::kInt));
  side_sizes = register_buffer("side_sizes", at::zeros({z}, at::kInt));
  side_offsets = register_buffer("side_offsets", at::zeros({z}, at::kInt));
  scale_cdf = register_buffer("scale_cdf", at::zeros({scale_entries}, at::kInt));
  scale_sizes = register_buffer("scale_sizes", at::zeros({scale_count}, at::kInt));
  scale_offsets = register_buffer("scale_offsets", at::zeros({scale_count}, at::kInt));
  scale_bounds = register_buffer("scale_bounds", at::zeros({scale_count - 1}, at::kLong));
  options_.side_entries = side_entries;
  options_.scale_count = scale_count;
  options_.scale_entries = scale_entries;
}

void HyperpriorImpl::BuildTables(double tail_mass) {
  torch::NoGradGuard no_grad;
  const std::vector<FrequencyTable> side = QuantizePmfs(side_prior->IntegerPmfs(1.0, tail_mass));
  const std::vector<double> scales = GeometricScales(options_.min_scale, kHyperMaxScale, kHyperScaleCount);
  std::vector<FrequencyTable> gaussian;
  for (double scale : scales) {
    absl::StatusOr<FrequencyTable> t = GaussianTable(scale);
    TORCH_CHECK(t.ok(), "BuildTables: ", t.status().ToString());  // fixed scales: a bug
    gaussian.push_back(*std::move(t));
  }
  const PackedFactorizedTables s = PackFactorizedTables({side}, options_.side_channels);
  const PackedFactorizedTables g = PackFactorizedTables({gaussian}, kHyperScaleCount);
  const at::Tensor side_ragged = RaggedCdf(s.cdf, s.sizes), scale_ragged = RaggedCdf(g.cdf, g.sizes);
  if (options_.scale_count == 0) RegisterTables(side_ragged.numel(), kHyperScaleCount, scale_ragged.numel());
  side_cdf.set_(side_ragged);
  side_sizes.set_(s.sizes.view({-1}).clone());
  side_offsets.set_(s.offsets.view({-1}).clone());
  scale_cdf.set_(scale_ragged);
  scale_sizes.set_(g.sizes.view({-1}).clone());
  scale_offsets.set_(g.offsets.view({-1}).clone());
  scale_bounds.set_(at::tensor(mt::ScaleBounds(scales, kHyperFracBits), at::kLong));
  options_.side_entries = side_ragged.numel();
  options_.scale_count = kHyperScaleCount;
  options_.scale_entries = scale_ragged.numel();
}

absl::StatusOr<HyperTables> HyperpriorImpl::Tables() const {
  if (options_.scale_count <= 0)
    return absl::FailedPreconditionError(
        "the hyperprior holds no coding tables (a training checkpoint? run `mt-train export --ckpt_path ... --out ...`)");
  absl::StatusOr<std::vector<LatentTables>> side =
      UnpackTables(side_cdf, side_sizes.view({1, -1}), side_offsets.view({1, -1}), at::Tensor(), 0);
  if (!side.ok()) return absl::FailedPreconditionError(absl::StrCat("hyperprior side tables: ", side.status().message()));
  absl::StatusOr<std::vector<LatentTables>> scales =
      UnpackTables(scale_cdf, scale_sizes.view({1, -1}), scale_offsets.view({1, -1}), at::Tensor(), 0);
  if (!scales.ok())
    return absl::FailedPreconditionError(absl::StrCat("hyperprior scale tables: ", scales.status().message()));
  HyperTables out;
  for (auto& per_channel : side->front().tables) out.side.push_back(per_channel.front());
  for (auto& per_channel : scales->front().tables) out.scales.push_back(per_channel.front());
  if (static_cast<int64_t>(out.side.size()) != options_.side_channels)
    return absl::FailedPreconditionError("hyperprior side tables do not cover every side channel");
  const std::vector<int64_t> bounds = ScaleBounds();
  for (size_t i = 1; i < bounds.size(); ++i)
    if (bounds[i] < bounds[i - 1]) return absl::FailedPreconditionError("hyperprior scale bounds are not ascending");
  return out;
}

std::vector<int64_t> HyperpriorImpl::ScaleBounds() const {
  const at::Tensor b = scale_bounds.to(at::kLong).contiguous();
  return std::vector<int64_t>(b.data_ptr<int64_t>(), b.data_ptr<int64_t>() + b.numel());
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
  return ResidualBitsMap(r, log_scale).sum();
}

at::Tensor HyperpriorImpl::ResidualBitsMap(const at::Tensor& r, const at::Tensor& log_scale) const {
  const at::Tensor scale = at::exp(log_scale).clamp_min(options_.min_scale);
  return -at::log2(UnitBinProbability(r, scale).clamp_min(1e-9));
}

void HyperpriorImpl::ShiftLogScales(const at::Tensor& shift) {
  const int64_t c = options_.latent_channels;
  TORCH_CHECK(shift.numel() == c, "ShiftLogScales needs ", c, " shifts, got ", shift.numel());
  auto* last = synthesis->ptr(synthesis->size() - 1)->as<torch::nn::Conv2dImpl>();
  TORCH_CHECK(last != nullptr && last->bias.size(0) == 2 * c, "ShiftLogScales: the synthesis must end in a conv to 2·C");
  torch::NoGradGuard no_grad;
  last->bias.narrow(0, c, c).add_(shift.to(last->bias.options()));
}

}  // namespace mt
