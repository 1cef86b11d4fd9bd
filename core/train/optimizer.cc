#include "core/train/optimizer.h"

#include <vector>

#include "absl/strings/match.h"

namespace mt {

std::unique_ptr<torch::optim::AdamW> MakeAdamW(torch::nn::Module& module, const AdamWConfig& c) {
  std::vector<at::Tensor> decay, no_decay;
  for (const auto& p : module.named_parameters()) {
    if (!p.value().requires_grad()) continue;
    // Tokens are (1, 1, D): more than one dim, but not weights.
    const bool token = absl::EndsWith(p.key(), "cls_token") || absl::EndsWith(p.key(), "mask_token");
    // A codec's entropy model is a density, not a weight to shrink towards zero.
    const bool density = absl::StartsWith(p.key(), "prior.");
    (p.value().dim() >= 2 && !token && !density ? decay : no_decay).push_back(p.value());
  }
  auto decayed = torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(c.weight_decay);
  auto plain = torch::optim::AdamWOptions(c.lr).betas({c.beta1, c.beta2}).weight_decay(0.0);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<torch::optim::AdamWOptions>(decayed));
  groups.emplace_back(no_decay, std::make_unique<torch::optim::AdamWOptions>(plain));
  return std::make_unique<torch::optim::AdamW>(groups, decayed);
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

}  // namespace mt
