// What the generic fit loop needs from a model being trained (MAE pretraining, masker
// training). Thread-safety: used from the training thread only.
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/data/data_loader.h"
#include "core/io/checkpoint.h"
#include "core/train/optimizer.h"

namespace mt {

struct StepResult {
  at::Tensor loss;                         // scalar to backpropagate
  // Logged as train_<name>: detached scalars left on the device, so a step never waits for the
  // GPU; the fit loop reads them only every log_every_n_steps.
  std::map<std::string, at::Tensor> metrics;
};

struct ScheduleContext {
  int64_t total_steps = 0;       // optimizer steps in the whole run
  int64_t steps_per_epoch = 0;   // optimizer steps per epoch
  int64_t effective_batch = 0;   // batch_size × accumulate_grad_batches
};

class TrainingTask {
 public:
  virtual ~TrainingTask() = default;
  virtual std::string kind() const = 0;            // checkpoint kind: "mae" | "masker"
  virtual torch::nn::Module& module() = 0;         // trained and checkpointed
  virtual void SetTraining(bool training) = 0;     // train/eval modes (frozen parts stay eval)
  virtual void To(const c10::Device& device) = 0;
  // images (B, 3, S, S) on the device; `step` is the optimizer step about to be taken.
  virtual StepResult TrainStep(const at::Tensor& images, int64_t step) = 0;
  // Deterministic evaluation over `loader` (one epoch, no grad); writes a picture to `viz_png`.
  virtual std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                                 const std::string& viz_png) = 0;
  virtual AdamWConfig Optimizer(const ScheduleContext& ctx) const = 0;
  virtual double LearningRate(int64_t step, const ScheduleContext& ctx) const = 0;
  // Column names of the CSV (without the step/epoch/lr columns the loop adds).
  virtual std::vector<std::string> MetricColumns() const = 0;
  // Validation metric deciding best.pt, and whether higher is better.
  virtual std::string Monitor() const = 0;
  virtual bool MonitorHigherIsBetter() const = 0;
  virtual absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) = 0;
};

}  // namespace mt
