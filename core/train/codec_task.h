// Rate–distortion training of the latent codec as a TrainingTask. The MAE encoder and the
// masker are frozen; the analysis/synthesis projections, the factorized prior and (by default)
// the MAE decoder train on loss = bpp + λ·255²·MSE over the whole receiver output. Each crop
// draws its quantisation step Δ (log-uniform) and its kept patches (all, or the masker's top-k
// at a random ratio), so one model serves every operating point. The rate uses additive
// uniform noise; the decoder sees the rounded latents (straight-through).
#pragma once

#include "absl/status/statusor.h"
#include "core/config/train_config.h"
#include "core/model/latent_codec.h"
#include "core/model/masker.h"
#include "core/train/training_task.h"

namespace mt {

class CodecTask final : public TrainingTask {
 public:
  // Loads the MAE (its weights seed the codec's MAE) and the frozen masker; FAILED_PRECONDITION
  // if their image or patch sizes disagree.
  static absl::StatusOr<std::unique_ptr<CodecTask>> Create(const CodecTaskConfig& config);

  std::string kind() const override { return "codec"; }
  // The MAE's tile size (data crops must match it).
  int64_t codec_image_size() const { return codec_->options().mae.img_size; }
  torch::nn::Module& module() override { return *codec_; }
  void SetTraining(bool training) override;
  void To(const c10::Device& device) override;
  StepResult TrainStep(const at::Tensor& images, int64_t step) override;
  // Rounded latents at fixed operating points (keep ratio × step): PSNR and the prior's
  // estimated bpp of each, and val_loss = mean over the points of bpp + λ·255²·MSE.
  std::map<std::string, double> Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                         const std::string& viz_png) override;
  AdamWConfig Optimizer(const ScheduleContext& ctx) const override;
  double LearningRate(int64_t step, const ScheduleContext& ctx) const override;
  std::vector<std::string> MetricColumns() const override;
  std::string Monitor() const override { return "val_loss"; }
  bool MonitorHigherIsBetter() const override { return false; }
  absl::Status Save(const std::string& path, const ArchiveWriter& trainer_state) override;

 private:
  CodecTask(const CodecTaskConfig& config, LatentCodec codec, Masker masker);
  // Freezes the encoder side of the codec's MAE (and the decoder unless train_decoder).
  void FreezeFrozenParts();
  // Keep masks (B, L) float: every patch, or the top round(r·L) by masker score.
  at::Tensor KeepMasks(const at::Tensor& images, const at::Tensor& ratios);
  // Rate in bits of latents y (B, L, C) at kept positions, quantised with steps (B, 1, 1).
  at::Tensor Bits(const at::Tensor& y, const at::Tensor& steps, const at::Tensor& keep, bool noisy);

  CodecTaskConfig config_;
  bool frozen_bf16_ = false;  // run the frozen encoder and masker under bf16 autocast on CPU
  LatentCodec codec_;
  Masker masker_;
};

}  // namespace mt
