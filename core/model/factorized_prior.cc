#include "core/model/factorized_prior.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>
#include <string>

namespace mt {

FactorizedPriorImpl::FactorizedPriorImpl(const FactorizedPriorOptions& o) : options_(o) {
  TORCH_CHECK(o.channels > 0, "FactorizedPrior needs channels > 0");
  std::vector<int64_t> widths{1};
  widths.insert(widths.end(), o.filters.begin(), o.filters.end());
  widths.push_back(1);
  // Same initialisation as CompressAI: softplus(matrix) starts at 1/(scale·fan-out) so the
  // initial density is wide (≈ init_scale) and the factors start as identity (tanh(0) = 0).
  const double scale = std::pow(o.init_scale, 1.0 / static_cast<double>(widths.size() - 1));
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    const double init = std::log(std::expm1(1.0 / scale / static_cast<double>(widths[i + 1])));
    const std::string n = std::to_string(i);
    matrices_.push_back(register_parameter(
        "matrix" + n, at::full({o.channels, widths[i + 1], widths[i]}, init / kDensityParamGain)));
    biases_.push_back(register_parameter("bias" + n, (at::rand({o.channels, widths[i + 1], 1}) - 0.5) / kDensityParamGain));
    if (i + 2 < widths.size())
      factors_.push_back(register_parameter("factor" + n, at::zeros({o.channels, widths[i + 1], 1})));
  }
}

namespace {

// The density network on x (C, 1, N) with the given parameters (any floating dtype).
at::Tensor CumulativeLogits(const at::Tensor& x, const std::vector<at::Tensor>& matrices,
                            const std::vector<at::Tensor>& biases, const std::vector<at::Tensor>& factors) {
  at::Tensor logits = x;
  const double g = kDensityParamGain;
  for (size_t i = 0; i < matrices.size(); ++i) {
    logits = at::matmul(at::softplus(matrices[i] * g), logits) + biases[i] * g;
    if (i < factors.size()) logits = logits + at::tanh(factors[i] * g) * at::tanh(logits);
  }
  return logits;
}

std::vector<at::Tensor> ToDouble(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  for (const at::Tensor& t : tensors) out.push_back(t.detach().cpu().to(at::kDouble));
  return out;
}

}  // namespace

at::Tensor FactorizedPriorImpl::LogitsCumulative(const at::Tensor& x) {
  return CumulativeLogits(x, matrices_, biases_, factors_);
}

at::Tensor FactorizedPriorImpl::Likelihood(const at::Tensor& values, const at::Tensor& step) {
  const int64_t c = options_.channels;
  TORCH_CHECK(values.size(-1) == c, "Likelihood expects (..., ", c, "), got ", values.sizes());
  at::Tensor half = (step.to(values.dtype()) * 0.5).expand_as(values);
  // (..., C) → (C, 1, N): each channel's values through its own density network.
  auto to_channels = [c](const at::Tensor& t) { return t.reshape({-1, c}).t().unsqueeze(1); };
  at::Tensor v = to_channels(values), h = to_channels(half.contiguous());
  at::Tensor lower = LogitsCumulative(v - h), upper = LogitsCumulative(v + h);
  // Evaluate in the tail where the sigmoid is not saturated (CompressAI's sign trick).
  at::Tensor sign = -at::sign(lower + upper).detach();
  at::Tensor lik = at::abs(at::sigmoid(sign * upper) - at::sigmoid(sign * lower));
  lik = at::clamp_min(lik, options_.likelihood_bound);
  return lik.squeeze(1).t().reshape(values.sizes());
}

std::vector<ChannelPmf> FactorizedPriorImpl::IntegerPmfs(double step, double tail_mass, int32_t max_symbol) {
  return IntegerPmfs(std::vector<double>(static_cast<size_t>(options_.channels), step), tail_mass, max_symbol);
}

std::vector<ChannelPmf> FactorizedPriorImpl::IntegerPmfs(const std::vector<double>& steps, double tail_mass,
                                                         int32_t max_symbol) {
  const int64_t c = options_.channels, n = 2 * max_symbol + 1;
  TORCH_CHECK(static_cast<int64_t>(steps.size()) == c && max_symbol > 0, "IntegerPmfs needs C steps and max_symbol > 0");
  for (double s : steps) TORCH_CHECK(s > 0, "IntegerPmfs needs steps > 0");
  torch::NoGradGuard no_grad;
  // CDF at every bin edge (q ± ½)·Δ_c, in double so the table does not depend on float rounding.
  at::Tensor edges = at::arange(-max_symbol, max_symbol + 2, at::kDouble) - 0.5;
  at::Tensor x = (edges.view({1, 1, -1}) * at::tensor(steps, at::kDouble).view({c, 1, 1})).contiguous();
  at::Tensor cdf = at::sigmoid(CumulativeLogits(x.cpu(), ToDouble(matrices_), ToDouble(biases_), ToDouble(factors_)))
                       .squeeze(1).cpu();  // (C, n + 1)
  std::vector<ChannelPmf> out(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) {
    at::Tensor row = cdf[ch].contiguous();
    const double* e = row.data_ptr<double>();
    // Trim each side while the mass left out stays under tail_mass / 2.
    int64_t lo = 0, hi = n - 1;
    while (lo < hi && e[lo + 1] < tail_mass / 2) ++lo;
    while (hi > lo && 1.0 - e[hi] < tail_mass / 2) --hi;
    ChannelPmf& pmf = out[static_cast<size_t>(ch)];
    pmf.offset = static_cast<int32_t>(lo - max_symbol);
    for (int64_t q = lo; q <= hi; ++q) pmf.pmf.push_back(std::max(e[q + 1] - e[q], 0.0));
    pmf.pmf.push_back(std::max(e[lo], 0.0) + std::max(1.0 - e[hi + 1], 0.0));  // escape
  }
  return out;
}

}  // namespace mt
