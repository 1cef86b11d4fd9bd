#include "core/masking/gumbel_sigmoid.h"

#include <ATen/ATen.h>

namespace mt {

at::Tensor GumbelSigmoid(const at::Tensor& logits, const GumbelSigmoidOptions& options,
                         c10::optional<at::Generator> generator) {
  TORCH_CHECK(options.tau > 0.0, "GumbelSigmoid: tau must be > 0");
  at::Tensor z = logits;
  if (options.training) {
    // u in the open interval (0,1): clamp keeps log finite for u = 0.
    constexpr double kTiny = 1e-7;
    at::Tensor u = at::rand(logits.sizes(), generator, logits.options()).clamp(kTiny, 1.0 - kTiny);
    z = logits + (at::log(u) - at::log1p(-u));  // + Logistic(0,1) noise
  }
  at::Tensor soft = at::sigmoid(z / options.tau);
  if (!options.hard) return soft;
  at::Tensor hard = (soft > 0.5).to(soft.dtype());
  return hard - soft.detach() + soft;  // value = hard, gradient = d soft
}

}  // namespace mt
