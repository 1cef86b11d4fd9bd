// Factorized entropy model (Ballé et al. 2018, "EntropyBottleneck" in CompressAI): one learned,
// monotone cumulative density per latent channel, made of a tiny per-channel network.
// P(ŷ) for a quantisation bin of width Δ centred on v is CDF(v + Δ/2) − CDF(v − Δ/2).
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace mt {

struct FactorizedPriorOptions {
  int64_t channels = 16;                  // C: latent channels, each with its own density
  std::vector<int64_t> filters{3, 3, 3};  // hidden widths of the per-channel density network
  double init_scale = 10.0;               // initial spread of the density (latent units)
  double likelihood_bound = 1e-9;         // floor on a bin's probability (keeps −log₂ finite)
};

// A channel's integer-bin probabilities for one quantisation step, ready for a coding table.
struct ChannelPmf {
  int32_t offset = 0;        // symbol of pmf[0]
  std::vector<double> pmf;   // bins offset, offset+1, …; the last entry is the escape (tail) mass
};

// The density's parameters are stored divided by this gain and multiplied back in use. Why: Adam
// moves every parameter by about lr per step, and the density (a handful of numbers per channel
// that must travel far from their wide initial shape) needs ~30× the learning rate of the
// networks around it; the gain gives it that inside one optimizer (CompressAI uses a separate one).
inline constexpr double kDensityParamGain = 30.0;

class FactorizedPriorImpl : public torch::nn::Module {
 public:
  explicit FactorizedPriorImpl(const FactorizedPriorOptions& options = {});

  // Cumulative logits: x (C, 1, N) → (C, 1, N); sigmoid of it is each channel's CDF at x.
  at::Tensor LogitsCumulative(const at::Tensor& x);
  // Bin probabilities: values (..., C), step broadcastable to values (Δ > 0) → (..., C),
  // floored at likelihood_bound. Differentiable in values and in the density's parameters.
  at::Tensor Likelihood(const at::Tensor& values, const at::Tensor& step);
  // Probabilities of every integer symbol q (bin centre q·Δ) per channel, trimmed to the
  // symbols holding all but `tail_mass` of each channel's mass (at most max_symbols bins).
  std::vector<ChannelPmf> IntegerPmfs(double step, double tail_mass = 1e-6, int32_t max_symbol = 1024);
  // The same with one step per channel (steps.size() == C, each > 0).
  std::vector<ChannelPmf> IntegerPmfs(const std::vector<double>& steps, double tail_mass = 1e-6,
                                      int32_t max_symbol = 1024);

  const FactorizedPriorOptions& options() const { return options_; }

 private:
  FactorizedPriorOptions options_;
  std::vector<at::Tensor> matrices_, biases_, factors_;  // stored / kDensityParamGain
};
TORCH_MODULE(FactorizedPrior);

}  // namespace mt
