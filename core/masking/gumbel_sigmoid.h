// Binary Gumbel-sigmoid (binary Concrete) relaxation of keep/drop decisions.
#pragma once

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

namespace mt {

struct GumbelSigmoidOptions {
  double tau = 1.0;       // temperature τ > 0; lower is closer to binary
  bool training = true;   // add logistic noise (training only; evaluation is deterministic)
  bool hard = false;      // straight-through: forward 0/1 (y > 0.5), gradient of the soft sample
};

// logits (any shape) = logit(p) → samples in [0,1] of the same shape.
// Training: y = sigmoid((logit(p) + log u − log(1−u)) / τ), u ~ U(0,1), so P(y > 0.5) = p.
// Evaluation: y = sigmoid(logit(p) / τ) (no noise).
at::Tensor GumbelSigmoid(const at::Tensor& logits, const GumbelSigmoidOptions& options,
                         c10::optional<at::Generator> generator = c10::nullopt);

}  // namespace mt
