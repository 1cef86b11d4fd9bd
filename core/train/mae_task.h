// MAE pretraining as a TrainingTask: random masking, loss on removed patches.
#pragma once

#include "core/config/train_config.h"
#include "core/train/training_task.h"

namespace mt {

class MaeTask final : public TrainingTask {
 public:
  explicit MaeTask(const MaeTaskConfig& config);
  std::string kind() const override { return "mae"; }
  torch::nn::Module& module() override { return *mae_; }
  void SetTraining(bool training) override { mae_->train(training); }
  void To(const c10::Device& device) override { mae_->to(device); }
  StepResult TrainStep(const at::Tensor& images, int64_t step) override;
  // val_loss, val_psnr (composite of visible pixels + predictions), val_psnr_masked (removed
  // patches only), at the configured mask ratio with a fixed masking seed.
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                         const std::string& viz_png) override;
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override;
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override;
  std::vector<std::string> MetricColumns() const override;
  std::string Monitor() const override { return "val_psnr"; }
  bool MonitorHigherIsBetter() const override { return true; }
  absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) override;

  MaskedAutoencoder& mae() { return mae_; }

 private:
  double BaseLr(const ScheduleContext& ctx) const;
  MaeTaskConfig config_;
  MaskedAutoencoder mae_;
};

}  // namespace mt
