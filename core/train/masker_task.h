// Masker training as a TrainingTask: frozen MAE (eval, no grads), Gumbel-sigmoid keep
// decisions with the τ schedule, composite MSE + λ_mean·(mean p)² + λ_ent·entropy
// (+ λ_adj·AdjacencyLoss when adjacent_reg > 0). Optionally starts from exported weights.
#pragma once

#include "absl/status/statusor.h"
#include "core/config/train_config.h"
#include "core/train/training_task.h"

namespace mt {

class MaskerTask final : public TrainingTask {
 public:
  // Loads the frozen MAE from config.mae_checkpoint (and config.init_checkpoint if set);
  // FAILED_PRECONDITION if its image or patch size disagrees with the masker's.
  static absl::StatusOr<std::unique_ptr<MaskerTask>> Create(const MaskerTaskConfig& config);

  std::string kind() const override { return "masker"; }
  torch::nn::Module& module() override { return *masker_; }
  void SetTraining(bool training) override;
  void To(const c10::Device& device) override;
  StepResult TrainStep(const at::Tensor& images, int64_t step) override;
  // Noise-free: val_loss/mse/mask_mean/entropy with soft probabilities, the hard keep ratio
  // (p > 0.5), and composite PSNR with hard masks for the masker and for random and
  // uniform-grid masks keeping the same number of patches per image.
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                         const std::string& viz_png) override;
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override;
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override;
  std::vector<std::string> MetricColumns() const override;
  std::string Monitor() const override { return "val_loss"; }
  bool MonitorHigherIsBetter() const override { return false; }
  absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) override;

 private:
  MaskerTask(const MaskerTaskConfig& config, MaskedAutoencoder mae);
  // Copies every weight of the exported masker at `path`; FAILED_PRECONDITION if the shapes differ.
  absl::Status InitFrom(const std::string& path);
  // Full-context decode with per-patch weights m (B, L) in [0,1] → images (B, 3, S, S).
  at::Tensor DecodeWithWeights(const at::Tensor& latent, const at::Tensor& m);
  double BaseLr(const ScheduleContext& ctx) const;

  MaskerTaskConfig config_;
  MaskedAutoencoder mae_;
  Masker masker_;
};

}  // namespace mt
