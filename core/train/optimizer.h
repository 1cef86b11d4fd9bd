// AdamW with the MAE convention: no weight decay on biases, norms and tokens.
#pragma once

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include <memory>

namespace mt {

struct AdamWConfig {
  double lr = 1e-3;            // initial lr (schedules overwrite it every step)
  double weight_decay = 0.05;  // applied to weights with ≥ 2 dims only
  double beta1 = 0.9, beta2 = 0.95;
};

// Two parameter groups over the trainable (requires_grad) parameters of `module`:
// group 0 decays (matrices, conv kernels), group 1 does not (biases, norms, cls/mask tokens).
std::unique_ptr<torch::optim::AdamW> MakeAdamW(torch::nn::Module& module, const AdamWConfig& config);

// Sets the lr of every group.
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace mt
