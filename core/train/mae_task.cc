#include "core/train/mae_task.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>

#include "core/masking/losses.h"
#include "core/metrics/image_metrics.h"
#include "core/model/patchify.h"
#include "core/train/lr_schedule.h"
#include "core/train/viz_writer.h"

namespace mt {

MaeTask::MaeTask(const MaeTaskConfig& config) : config_(config), mae_(config.model) {}

StepResult MaeTask::TrainStep(const at::Tensor& images, int64_t /*step*/) {
  MaePretrainOutput out = mae_->forward(images, config_.mask_ratio);
  return {out.loss, {{"loss", out.loss.detach()}}};
}

std::map<std::string, double> MaeTask::Validate(DataLoader& loader, const c10::Device& device, int64_t /*step*/,
                                                const std::string& viz_png) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(1234);  // same masks every validation
  double loss_sum = 0, psnr_sum = 0, masked_mse_sum = 0;
  int64_t images_seen = 0, batches = 0;
  loader.StartEpoch(0);
  for (at::Tensor batch = loader.Next(); batch.defined(); batch = loader.Next()) {
    const int64_t b = batch.size(0), l = mae_->options().num_patches();
    RandomMaskingResult rm = RandomMasking(b, l, config_.mask_ratio, at::TensorOptions(), gen);
    at::Tensor x = batch.to(device);
    at::Tensor ids = rm.ids_keep.to(device), mask = rm.mask.to(device);
    at::Tensor pred = mae_->DecodeVisible(x, ids);
    loss_sum += mae_->ReconstructionLoss(x, pred, mask).item<double>() * b;
    at::Tensor recon = mae_->PatchesToImages(pred).clamp(0, 1);
    at::Tensor composite = CompositeImage(x, recon, 1 - mask, mae_->options().patch_size);
    psnr_sum += Psnr(x, composite).sum().item<double>();
    // Pixel MSE over removed patches, per image, for the masked-only PSNR.
    at::Tensor per_patch = (Patchify(recon, mae_->options().patch_size) - Patchify(x, mae_->options().patch_size))
                               .pow(2).mean(-1);
    masked_mse_sum += ((per_patch * mask).sum(1) / mask.sum(1)).sum().item<double>();
    if (batches == 0 && !viz_png.empty()) {
      at::Tensor shown = CompositeImage(x, at::full_like(x, 0.5), 1 - mask, mae_->options().patch_size);
      WriteComparisonGrid(viz_png, {x, shown, composite}, 8);
    }
    images_seen += b;
    ++batches;
  }
  if (images_seen == 0) return {};
  return {{"val_loss", loss_sum / images_seen},
          {"val_psnr", psnr_sum / images_seen},
          {"val_psnr_masked", -10.0 * std::log10(masked_mse_sum / images_seen)}};
}

double MaeTask::BaseLr(const ScheduleContext& ctx) const {
  return BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch);
}

AdamWConfig MaeTask::Optimizer(const ScheduleContext& ctx) const {
  return {BaseLr(ctx), config_.weight_decay, config_.beta1, config_.beta2};
}

double MaeTask::LearningRate(int64_t step, const ScheduleContext& ctx) const {
  const int64_t warmup = config_.warmup_steps >= 0
                             ? config_.warmup_steps
                             : static_cast<int64_t>(std::llround(config_.warmup_epochs * ctx.steps_per_epoch));
  return WarmupCosineLr(step, ctx.total_steps, warmup, BaseLr(ctx), config_.min_lr);
}

std::vector<std::string> MaeTask::MetricColumns() const {
  return {"train_loss", "val_loss", "val_psnr", "val_psnr_masked"};
}

absl::Status MaeTask::Save(const std::string& path, const ArchiveWriter& trainer_state) {
  return SaveCheckpoint(path, mae_, WeightStorage::kFloat32, trainer_state);
}

}  // namespace mt
