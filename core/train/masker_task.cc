#include "core/train/masker_task.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include "absl/strings/str_cat.h"
#include "core/masking/baseline_masks.h"
#include "core/masking/gumbel_sigmoid.h"
#include "core/masking/losses.h"
#include "core/masking/patch_selector.h"
#include "core/metrics/image_metrics.h"
#include "core/model/patchify.h"
#include "core/train/lr_schedule.h"
#include "core/train/viz_writer.h"
#include "core/train/weight_copy.h"

namespace mt {

absl::StatusOr<std::unique_ptr<MaskerTask>> MaskerTask::Create(const MaskerTaskConfig& config) {
  absl::StatusOr<MaskedAutoencoder> mae = LoadMae(config.mae_checkpoint);
  if (!mae.ok()) return mae.status();
  const MaskedAutoencoderOptions& mo = (*mae)->options();
  if (mo.img_size != config.model.img_size || mo.patch_size != config.model.patch_size)
    return absl::FailedPreconditionError(absl::StrCat(
        "MAE '", config.mae_checkpoint, "' is ", mo.img_size, "px / patch ", mo.patch_size, " but the masker is ",
        config.model.img_size, "px / patch ", config.model.patch_size));
  auto task = std::unique_ptr<MaskerTask>(new MaskerTask(config, *mae));
  if (!config.init_checkpoint.empty()) {
    absl::Status s = task->InitFrom(config.init_checkpoint);
    if (!s.ok()) return s;
  }
  return task;
}

absl::Status MaskerTask::InitFrom(const std::string& path) {
  absl::StatusOr<Masker> init = LoadMasker(path);
  if (!init.ok()) return init.status();
  return CopyParameters(**init, *masker_, absl::StrCat("init_checkpoint '", path, "'"));
}

MaskerTask::MaskerTask(const MaskerTaskConfig& config, MaskedAutoencoder mae)
    : config_(config), mae_(std::move(mae)), masker_(config.model) {
  for (auto& p : mae_->parameters()) p.requires_grad_(false);
  mae_->eval();
}

void MaskerTask::SetTraining(bool training) {
  masker_->train(training);
  mae_->eval();  // frozen: dropout-free anyway, but keep it explicit
}

void MaskerTask::To(const c10::Device& device) {
  mae_->to(device);
  masker_->to(device);
}

at::Tensor MaskerTask::DecodeWithWeights(const at::Tensor& latent, const at::Tensor& m) {
  at::Tensor tokens = mae_->SoftMix(latent, m);
  at::Tensor cls = mae_->EmbedForDecoder(latent.narrow(1, 0, 1));
  return mae_->PatchesToImages(mae_->Decode(cls, tokens));
}

StepResult MaskerTask::TrainStep(const at::Tensor& images, int64_t step) {
  const double tau = Temperature(config_.temperature, step);
  at::Tensor logits = masker_->forward(images);
  at::Tensor probs = at::sigmoid(logits);
  at::Tensor m = GumbelSigmoid(logits, {tau, /*training=*/config_.sample_noise, config_.hard});
  at::Tensor latent;
  {
    // Full context: the encoder input does not depend on the masker, so no graph is needed.
    torch::NoGradGuard no_grad;
    latent = mae_->EncodeFull(images);
  }
  at::Tensor recon = DecodeWithWeights(latent, m);
  MaskerLossTerms t = MaskerLoss(images, recon, m, probs, config_.model.patch_size,
                                 {config_.mean_reg, config_.entropy_reg, 1e-6, config_.adjacent_reg});
  return {t.total,
          {{"loss", t.total.detach()},
           {"mse", t.composite_mse.detach()},
           {"mask_mean", probs.mean().detach()},
           {"sample_mean", m.mean().detach()},
           {"entropy", t.entropy.detach()},
           {"adjacency", t.adjacency.detach()},
           {"tau", at::scalar_tensor(tau, at::kDouble)}}};
}

std::map<std::string, double> MaskerTask::Validate(DataLoader& loader, const c10::Device& device, int64_t step,
                                                   const std::string& viz_png) {
  torch::NoGradGuard no_grad;
  at::Generator gen = at::detail::createCPUGenerator(4321);
  const int64_t p = config_.model.patch_size, g = config_.model.grid_size(), l = g * g;
  std::map<std::string, double> sum;
  int64_t n = 0;
  loader.StartEpoch(0);
  for (at::Tensor batch = loader.Next(); batch.defined(); batch = loader.Next()) {
    at::Tensor x = batch.to(device);
    const int64_t b = x.size(0);
    at::Tensor probs = at::sigmoid(masker_->forward(x));
    at::Tensor latent = mae_->EncodeFull(x);
    at::Tensor soft_recon = DecodeWithWeights(latent, probs);
    MaskerLossTerms t = MaskerLoss(x, soft_recon, probs, probs, p,
                                   {config_.mean_reg, config_.entropy_reg, 1e-6, config_.adjacent_reg});
    sum["val_loss"] += t.total.item<double>() * b;
    sum["val_mse"] += t.composite_mse.item<double>() * b;
    sum["val_mask_mean"] += probs.mean().item<double>() * b;
    sum["val_entropy"] += t.entropy.item<double>() * b;
    sum["val_adjacency"] += t.adjacency.item<double>() * b;

    at::Tensor keep = probs > 0.5;
    sum["val_keep_ratio"] += keep.to(at::kFloat).mean().item<double>() * b;
    at::Tensor counts = keep.sum(1).cpu();
    std::vector<at::Tensor> random_keep, grid_keep, spread1_keep, spread2_keep;
    at::Tensor probs_cpu = probs.cpu();
    for (int64_t i = 0; i < b; ++i) {
      const int64_t k = counts[i].item<int64_t>();
      random_keep.push_back(RandomKeep(l, k, gen));
      grid_keep.push_back(UniformGridKeep(g, k));
      spread1_keep.push_back(SpreadTopK(probs_cpu[i], g, k, 1));
      spread2_keep.push_back(SpreadTopK(probs_cpu[i], g, k, 2));
    }
    auto composite_psnr = [&](const at::Tensor& hard) {
      at::Tensor m = hard.to(device).to(at::kFloat);
      at::Tensor comp = CompositeImage(x, DecodeWithWeights(latent, m).clamp(0, 1), m, p);
      return std::make_pair(Psnr(x, comp).sum().item<double>(), comp);
    };
    auto [masker_psnr, masker_comp] = composite_psnr(keep);
    sum["val_psnr_masker"] += masker_psnr;
    sum["val_psnr_random"] += composite_psnr(at::stack(random_keep)).first;
    sum["val_psnr_grid"] += composite_psnr(at::stack(grid_keep)).first;
    // The masker's scores with spatially spread selection (same count): scores + spreading.
    sum["val_psnr_masker_spread1"] += composite_psnr(at::stack(spread1_keep)).first;
    sum["val_psnr_masker_spread2"] += composite_psnr(at::stack(spread2_keep)).first;
    if (n == 0 && !viz_png.empty()) {
      at::Tensor m = UpsamplePatchMask(keep.to(at::kFloat), p, g, g).expand({-1, 3, -1, -1});
      WriteComparisonGrid(viz_png, {x, m, x * (0.3 + 0.7 * m), masker_comp}, 8);
    }
    n += b;
  }
  if (n == 0) return {};
  for (auto& kv : sum) kv.second /= static_cast<double>(n);
  sum["val_tau"] = Temperature(config_.temperature, step);
  return sum;
}

double MaskerTask::BaseLr(const ScheduleContext& ctx) const {
  return BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch);
}

AdamWConfig MaskerTask::Optimizer(const ScheduleContext& ctx) const {
  return {BaseLr(ctx), config_.weight_decay, config_.beta1, config_.beta2};
}

double MaskerTask::LearningRate(int64_t step, const ScheduleContext& ctx) const {
  return WarmupFractionLinearLr(step, ctx.total_steps, config_.warmup_fraction, BaseLr(ctx));
}

std::vector<std::string> MaskerTask::MetricColumns() const {
  return {"train_loss", "train_mse", "train_mask_mean", "train_sample_mean", "train_entropy",
          "train_adjacency", "train_tau", "val_loss", "val_mse", "val_mask_mean", "val_entropy", "val_adjacency",
          "val_keep_ratio", "val_psnr_masker", "val_psnr_random", "val_psnr_grid", "val_psnr_masker_spread1", "val_psnr_masker_spread2", "val_tau"};
}

absl::Status MaskerTask::Save(const std::string& path, const ArchiveWriter& trainer_state) {
  return SaveCheckpoint(path, masker_, WeightStorage::kFloat32, trainer_state);
}

}  // namespace mt
