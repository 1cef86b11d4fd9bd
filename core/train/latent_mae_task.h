// Pretraining of the latent MAE (core/model/latent_mae) against a frozen conv codec, the first of
// the seed's two stages (the masker trains against it afterwards): every step draws one rate
// level for the batch and masks a random share of each crop's latent positions (drawn from
// [min_mask_ratio, max_mask_ratio]); the MAE fills them in from the sent ones, the frozen
// synthesis renders the whole reconstruction, and the loss is its pixel error
// (255²·MSE / 100, ≈ 1 at 28 dB) plus latent_loss_weight × the squared error of the filled
// latents in units of each channel's typical magnitude.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/config/train_config.h"
#include "core/model/conv_codec.h"
#include "core/model/latent_mae.h"
#include "core/train/training_task.h"

namespace mt {

// keep (B, H, W) bool: in image b, round(ratios[b]·H·W) positions are unsent, drawn uniformly
// without replacement by a generator seeded with `seed` (the same on every machine).
at::Tensor RandomKeep(int64_t height, int64_t width, const std::vector<double>& ratios, uint64_t seed);

class LatentMaeTask final : public TrainingTask {
 public:
  // FAILED_PRECONDITION / NOT_FOUND from loading codec_checkpoint (required) or init_checkpoint;
  // the MAE's latent_channels and levels are the codec's.
  static absl::StatusOr<std::unique_ptr<LatentMaeTask>> Create(const LatentMaeTaskConfig& config);

  std::string kind() const override;
  torch::nn::Module& module() override { return *mae_; }
  void SetTraining(bool training) override { mae_->train(training); }
  void To(const c10::Device& device) override;
  StepResult TrainStep(const at::Tensor& images, int64_t step) override;
  // At the middle level with fixed masks: val_psnr_all (every position sent), val_psnr_m<r> for
  // r = 10, 25, 50 % unsent (filled by the MAE) and val_loss (the training loss at 25 %).
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                         const std::string& viz_png) override;
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override;
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override;
  std::vector<std::string> MetricColumns() const override;
  std::string Monitor() const override { return "val_loss"; }
  bool MonitorHigherIsBetter() const override { return false; }
  absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) override;

 private:
  LatentMaeTask(const LatentMaeTaskConfig& config, ConvCodec codec, LatentMae mae);
  struct Filled {
    at::Tensor loss, pixel_mse, latent_mse;  // scalars
    at::Tensor recon;                        // (B, 3, S, S)
  };
  // Codes images (B, 3, S, S) at `level`, leaves the positions keep (B, h, w) false unsent,
  // fills them with the MAE and synthesises.
  Filled FillAndSynthesize(const at::Tensor& images, const at::Tensor& y, const at::Tensor& keep, int64_t level);
  // Sets the MAE's latent_scale from the first batch's latents when it is still the default.
  void CalibrateScale(const at::Tensor& y);

  LatentMaeTaskConfig config_;
  ConvCodec codec_;  // frozen, eval
  LatentMae mae_;
};

}  // namespace mt
