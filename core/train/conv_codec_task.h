// Rate–distortion training of the conv transform codec (core/model/conv_codec) as a TrainingTask:
// with hyper_channels, its latents are coded under the mean-scale hyperprior (core/model/hyperprior);
// every step draws one rate level s for the batch and minimises bpp + λ_s·255²·MSE, λ_s geometric
// from lambda_max (level 0, finest) to lambda_min (last level), so one checkpoint serves every
// level. The rate uses additive uniform noise of each channel's step; the synthesis sees the
// rounded latents (straight-through, with the step's gradient kept). With a checkerboard context
// the non-anchors' residuals are taken against the context's refined means and scales.
#pragma once

#include "core/config/train_config.h"
#include "core/model/conv_codec.h"
#include "core/train/training_task.h"

namespace mt {

// λ of every level (S entries, level 0 = lambda_max, geometric down to lambda_min).
std::vector<double> LevelLambdas(const ConvCodecTaskConfig& config);

// Log-steps (S, C) → (levels, C): rows S… continue each channel's mean increment over the last
// (up to) three trained levels, so added coarser levels start where the trained ones point.
at::Tensor ExtendLevelSteps(const at::Tensor& log_steps, int64_t levels);
// The same with `finer` rows first, continuing the first (up to) three levels' mean increment
// towards smaller steps: the input's row 0 becomes row `finer`. Needs levels >= S + finer.
at::Tensor ExtendLevelSteps(const at::Tensor& log_steps, int64_t levels, int64_t finer);

class ConvCodecTask final : public TrainingTask {
 public:
  // Starts from init_checkpoint when given (a conv codec of the same shapes; one with fewer levels
  // gets config.finer_levels finer ones and the rest coarser by ExtendLevelSteps), else fresh with
  // steps Δ_s = sqrt(λ_0 / λ_s) (the high-rate optimum up to a common scale).
  static absl::StatusOr<std::unique_ptr<ConvCodecTask>> Create(const ConvCodecTaskConfig& config);

  std::string kind() const override { return "conv_codec"; }
  torch::nn::Module& module() override { return *codec_; }
  void SetTraining(bool training) override { codec_->train(training); }
  void To(const c10::Device& device) override { codec_->to(device); }
  StepResult TrainStep(const at::Tensor& images, int64_t step) override;
  // Every level on the validation crops with rounded latents: val_psnr_l<s>, val_bpp_l<s> (the
  // prior's estimate) and val_loss = mean over levels of bpp + λ_s·255²·MSE.
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                         const std::string& viz_png) override;
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override;
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override;
  std::vector<std::string> MetricColumns() const override;
  std::string Monitor() const override { return "val_loss"; }
  bool MonitorHigherIsBetter() const override { return false; }
  absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) override;

 private:
  ConvCodecTask(const ConvCodecTaskConfig& config, ConvCodec codec);
  // Latents y (B, C, h, w) at `level`, noisy (training) or rounded (validation): their bits under
  // the codec's entropy model and the latents the synthesis sees (straight-through rounding).
  struct Coded {
    at::Tensor bits;   // () summed over the batch
    at::Tensor y_hat;  // (B, C, h, w)
  };
  Coded Code(const at::Tensor& y, int64_t level, bool noisy);
  Coded CodeWithHyperprior(const at::Tensor& y, int64_t level, bool noisy);
  // trainable: entropy — the bits alone, the analysis run without gradients, no synthesis.
  StepResult EntropyStep(const at::Tensor& images, int64_t level);
  bool entropy_only() const { return config_.trainable == "entropy"; }
  // Bits of latents y (B, C, h, w) at `level` under the factorized prior.
  at::Tensor Bits(const at::Tensor& y, int64_t level, bool noisy);

  ConvCodecTaskConfig config_;
  std::vector<double> lambdas_;
  ConvCodec codec_;
};

}  // namespace mt
