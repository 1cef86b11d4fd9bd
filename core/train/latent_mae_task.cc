#include "core/train/latent_mae_task.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/io/checkpoint.h"
#include "core/io/latent_mae_checkpoint.h"
#include "core/metrics/image_metrics.h"
#include "core/train/lr_schedule.h"
#include "core/train/viz_writer.h"

namespace mt {
namespace {

// Unsent shares of the validation masks, in percent.
constexpr int64_t kValMaskPercents[] = {10, 25, 50};
constexpr int64_t kLossMaskPercent = 25;
constexpr uint64_t kValSeed = 20261207;

// (B, h, w) keep → (B, 1, 16h, 16w) float: what a person sees of the unsent positions.
at::Tensor KeepPixels(const at::Tensor& keep) {
  const at::Tensor k = keep.unsqueeze(1).to(at::kFloat);
  return k.repeat_interleave(kConvCodecDownsample, 2).repeat_interleave(kConvCodecDownsample, 3);
}

}  // namespace

at::Tensor RandomKeep(int64_t height, int64_t width, const std::vector<double>& ratios, uint64_t seed) {
  const int64_t b = static_cast<int64_t>(ratios.size()), l = height * width;
  at::Tensor keep = at::ones({b, l}, at::kBool);
  bool* k = keep.data_ptr<bool>();
  std::mt19937_64 rng(seed);
  std::vector<int64_t> order(static_cast<size_t>(l));
  for (int64_t i = 0; i < b; ++i) {
    std::iota(order.begin(), order.end(), 0);
    const auto unsent = static_cast<int64_t>(std::llround(std::clamp(ratios[static_cast<size_t>(i)], 0.0, 1.0) * l));
    for (int64_t j = 0; j < unsent; ++j) {  // partial Fisher–Yates with an explicit draw: the same everywhere
      const int64_t pick = j + static_cast<int64_t>(rng() % static_cast<uint64_t>(l - j));
      std::swap(order[static_cast<size_t>(j)], order[static_cast<size_t>(pick)]);
      k[i * l + order[static_cast<size_t>(j)]] = false;
    }
  }
  return keep.view({b, height, width});
}

absl::StatusOr<std::unique_ptr<LatentMaeTask>> LatentMaeTask::Create(const LatentMaeTaskConfig& config) {
  absl::StatusOr<ConvCodec> codec = LoadConvCodec(config.codec_checkpoint);
  if (!codec.ok()) return codec.status();
  (*codec)->eval();
  for (at::Tensor& p : (*codec)->parameters()) p.set_requires_grad(false);
  LatentMaeOptions options = config.model;
  options.latent_channels = (*codec)->options().latent_channels;
  options.levels = (*codec)->options().levels;
  LatentMae mae(options);
  if (!config.init_checkpoint.empty()) {
    if (absl::Status s = LoadCheckpointInto(config.init_checkpoint, kLatentMaeKind, *mae, nullptr); !s.ok()) return s;
  }
  return std::unique_ptr<LatentMaeTask>(new LatentMaeTask(config, *std::move(codec), std::move(mae)));
}

LatentMaeTask::LatentMaeTask(const LatentMaeTaskConfig& config, ConvCodec codec, LatentMae mae)
    : config_(config), codec_(std::move(codec)), mae_(std::move(mae)) {}

std::string LatentMaeTask::kind() const { return kLatentMaeKind; }

void LatentMaeTask::To(const c10::Device& device) {
  codec_->to(device);
  mae_->to(device);
}

void LatentMaeTask::CalibrateScale(const at::Tensor& y) {
  torch::NoGradGuard no_grad;
  if (!mae_->latent_scale.eq(1.0).all().item<bool>()) return;  // trained or resumed: keep it
  mae_->latent_scale.copy_(y.to(at::kFloat).pow(2).mean({0, 2, 3}).sqrt().clamp_min(1e-3));
}

LatentMaeTask::Filled LatentMaeTask::FillAndSynthesize(const at::Tensor& images, const at::Tensor& y,
                                                       const at::Tensor& keep, int64_t level) {
  const at::Tensor steps = codec_->Steps()[level].detach().view({1, -1, 1, 1});
  const at::Tensor y_hat = at::round(y / steps) * steps;  // what the receiver decodes where sent
  const at::Tensor levels = at::full({y.size(0)}, level, y.options().dtype(at::kLong));
  const at::Tensor k = keep.to(y.device());
  const at::Tensor predicted = mae_->forward(y_hat, k, levels);
  const at::Tensor filled = at::where(k.unsqueeze(1), y_hat, predicted);
  const at::Tensor recon = codec_->Synthesize(filled);
  const at::Tensor pixel_mse = (recon - images).pow(2).mean();
  const at::Tensor unsent = (~k).unsqueeze(1).to(y.dtype());
  const at::Tensor scale = mae_->latent_scale.view({1, -1, 1, 1});
  const at::Tensor latent_mse = (((predicted - y) / scale).pow(2) * unsent).sum() /
                                (unsent.sum() * static_cast<double>(y.size(1))).clamp_min(1.0);
  const at::Tensor loss = pixel_mse * (255.0 * 255.0 / 100.0) + config_.latent_loss_weight * latent_mse;
  return {loss, pixel_mse, latent_mse, recon};
}

StepResult LatentMaeTask::TrainStep(const at::Tensor& images, int64_t /*step*/) {
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = codec_->Analyze(images);
  }
  CalibrateScale(y);
  const int64_t b = images.size(0);
  const int64_t level = at::randint(codec_->options().levels, {1}, at::kLong).item<int64_t>();
  const at::Tensor draws = at::rand({b + 1}, at::kDouble);
  std::vector<double> ratios;
  for (int64_t i = 0; i < b; ++i)
    ratios.push_back(config_.min_mask_ratio + (config_.max_mask_ratio - config_.min_mask_ratio) * draws[i].item<double>());
  const auto seed = static_cast<uint64_t>(draws[b].item<double>() * 9007199254740992.0);
  const at::Tensor keep = RandomKeep(y.size(2), y.size(3), ratios, seed);
  const Filled f = FillAndSynthesize(images, y, keep, level);
  return {f.loss,
          {{"loss", f.loss.detach()},
           {"psnr", -10.0 * at::log10(f.pixel_mse.detach().clamp_min(1e-10))},
           {"latent_mse", f.latent_mse.detach()},
           {"level", at::full({}, static_cast<double>(level))}}};
}

std::map<std::string, double> LatentMaeTask::Validate(DataLoader& loader, const c10::Device& device, int64_t /*step*/,
                                                      const std::string& viz_png) {
  torch::NoGradGuard no_grad;
  std::map<std::string, double> sum;
  int64_t n = 0;
  const int64_t level = codec_->options().levels / 2;
  loader.StartEpoch(0);
  for (at::Tensor batch = loader.Next(); batch.defined(); batch = loader.Next()) {
    const at::Tensor x = batch.to(device);
    const int64_t b = x.size(0);
    const at::Tensor y = codec_->Analyze(x);
    const at::Tensor all = at::ones({b, y.size(2), y.size(3)}, at::kBool);
    sum["val_psnr_all"] += Psnr(x, FillAndSynthesize(x, y, all, level).recon.clamp(0, 1)).sum().item<double>();
    for (int64_t percent : kValMaskPercents) {
      const at::Tensor keep = RandomKeep(y.size(2), y.size(3), std::vector<double>(b, percent / 100.0), kValSeed + n);
      const Filled f = FillAndSynthesize(x, y, keep, level);
      sum[absl::StrCat("val_psnr_m", percent)] += Psnr(x, f.recon.clamp(0, 1)).sum().item<double>();
      if (percent == kLossMaskPercent) sum["val_loss"] += f.loss.item<double>() * b;
      if (n == 0 && percent == 50 && !viz_png.empty()) {
        const at::Tensor k = KeepPixels(keep).to(device);
        WriteComparisonGrid(viz_png, {x, x * k + 0.5 * (1 - k), f.recon.clamp(0, 1)}, 4);
      }
    }
    n += b;
  }
  if (n == 0) return {};
  for (auto& kv : sum) kv.second /= static_cast<double>(n);
  return sum;
}

AdamWConfig LatentMaeTask::Optimizer(const ScheduleContext& ctx) const {
  return {BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch), config_.weight_decay, config_.beta1,
          config_.beta2};
}

double LatentMaeTask::LearningRate(int64_t step, const ScheduleContext& ctx) const {
  return WarmupFractionLinearLr(step, ctx.total_steps, config_.warmup_fraction,
                                BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch));
}

std::vector<std::string> LatentMaeTask::MetricColumns() const {
  std::vector<std::string> cols = {"train_loss", "train_psnr", "train_latent_mse", "train_level", "val_loss",
                                   "val_psnr_all"};
  for (int64_t percent : kValMaskPercents) cols.push_back(absl::StrCat("val_psnr_m", percent));
  return cols;
}

absl::Status LatentMaeTask::Save(const std::string& path, const ArchiveWriter& trainer_state) {
  return SaveCheckpoint(path, mae_, trainer_state);
}

}  // namespace mt
