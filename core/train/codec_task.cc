#include "core/train/codec_task.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/io/checkpoint.h"
#include "core/metrics/image_metrics.h"
#include "core/model/patchify.h"
#include "core/runtime/compute_precision.h"
#include "core/runtime/cpu_features.h"
#include "core/runtime/log.h"
#include "core/train/lr_schedule.h"
#include "core/train/viz_writer.h"
#include "core/train/weight_copy.h"

namespace mt {
namespace {

// Validation operating points: keep ratios × step indices (Δ = min·(max/min)^(i/2)).
constexpr double kValRatios[] = {0.25, 1.0};
constexpr int kValSteps = 3;

std::string PointName(double ratio, int step_index) {
  return absl::StrCat("k", static_cast<int>(std::lround(ratio * 100)), "_s", step_index);
}

double ValStep(const CodecTaskConfig& c, int i) {
  return c.min_step * std::pow(c.max_step / c.min_step, static_cast<double>(i) / (kValSteps - 1));
}

}  // namespace

absl::StatusOr<std::unique_ptr<CodecTask>> CodecTask::Create(const CodecTaskConfig& config) {
  absl::StatusOr<MaskedAutoencoder> mae = LoadMae(config.mae_checkpoint);
  if (!mae.ok()) return mae.status();
  absl::StatusOr<Masker> masker = LoadMasker(config.masker_checkpoint);
  if (!masker.ok()) return masker.status();
  const MaskedAutoencoderOptions& mo = (*mae)->options();
  if (mo.img_size != (*masker)->options().img_size || mo.patch_size != (*masker)->options().patch_size)
    return absl::FailedPreconditionError(absl::StrCat("MAE '", config.mae_checkpoint, "' and masker '",
                                                      config.masker_checkpoint, "' differ in image or patch size"));
  LatentCodecOptions options = config.model;
  options.mae = mo;
  options.table_levels = options.table_width = 0;  // tables are built at export
  options.context_buckets = options.context_width = 0;
  LatentCodec codec(options);
  if (!config.init_checkpoint.empty()) {
    absl::StatusOr<LatentCodec> init = LoadLatentCodec(config.init_checkpoint);
    if (!init.ok()) return init.status();
    if (absl::Status s = CopyParameters(**init, *codec, absl::StrCat("init_checkpoint '", config.init_checkpoint, "'"));
        !s.ok())
      return s;
  } else {
    if (absl::Status s = CopyParameters(**mae, *codec->mae, absl::StrCat("mae_checkpoint '", config.mae_checkpoint, "'"));
        !s.ok())
      return s;
    // The decoder was trained with the encoder's cls token; start from a flat grey tile's.
    torch::NoGradGuard no_grad;
    at::Tensor grey = at::full({1, mo.in_chans, mo.img_size, mo.img_size}, 0.5);
    codec->decoder_cls_token.copy_(codec->mae->EmbedForDecoder(codec->mae->EncodeFull(grey).narrow(1, 0, 1)));
  }
  return std::unique_ptr<CodecTask>(new CodecTask(config, codec, *masker));
}

CodecTask::CodecTask(const CodecTaskConfig& config, LatentCodec codec, Masker masker)
    : config_(config), codec_(std::move(codec)), masker_(std::move(masker)) {
  for (auto& p : masker_->parameters()) p.requires_grad_(false);
  masker_->eval();
  FreezeFrozenParts();
  frozen_bf16_ = config.frozen_compute == "bf16" || (config.frozen_compute == "auto" && Bf16PaysOnThisCpu());
  log::info("codec training: frozen encoder and masker in {} on CPU (frozen_compute {}, CPU flags: {})",
            frozen_bf16_ ? "bf16" : "fp32", config.frozen_compute, CpuSpeedFlags());
}

void CodecTask::FreezeFrozenParts() {
  MaskedAutoencoderImpl& mae = *codec_->mae;
  std::vector<torch::nn::Module*> frozen = {mae.patch_embed.get(), mae.blocks.get(), mae.norm.get(),
                                            mae.decoder_embed.get()};  // decoder_embed: replaced by synthesis
  for (torch::nn::Module* m : frozen)
    for (auto& p : m->parameters()) p.requires_grad_(false);
  mae.cls_token.requires_grad_(false);
  if (!config_.train_decoder) {
    for (torch::nn::Module* m : {static_cast<torch::nn::Module*>(mae.decoder_blocks.get()),
                                 static_cast<torch::nn::Module*>(mae.decoder_norm.get()),
                                 static_cast<torch::nn::Module*>(mae.decoder_pred.get())})
      for (auto& p : m->parameters()) p.requires_grad_(false);
    mae.mask_token.requires_grad_(false);
  }
}

void CodecTask::SetTraining(bool training) {
  codec_->train(training);
  masker_->eval();
}

void CodecTask::To(const c10::Device& device) {
  codec_->to(device);
  masker_->to(device);
}

at::Tensor CodecTask::KeepMasks(const at::Tensor& images, const at::Tensor& ratios) {
  torch::NoGradGuard no_grad;
  const int64_t l = codec_->options().mae.num_patches();
  at::Tensor counts = at::clamp_min(at::round(ratios * l), 1).unsqueeze(1);  // (B, 1)
  if (ratios.min().item<double>() >= 1.0) return at::ones({images.size(0), l}, images.options());
  at::Tensor probs;
  {
    ComputePrecisionScope scope(images.is_cpu() && frozen_bf16_ ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32);
    probs = at::sigmoid(masker_->forward(images).to(at::kFloat));
  }
  at::Tensor ranks = at::argsort(at::argsort(-probs, int64_t{1}), int64_t{1});  // 0 = highest score
  return (ranks < counts).to(images.scalar_type());
}

at::Tensor CodecTask::Bits(const at::Tensor& y, const at::Tensor& steps, const at::Tensor& keep, bool noisy) {
  at::Tensor v = noisy ? y + (at::rand_like(y) - 0.5) * steps : at::round(y / steps) * steps;
  at::Tensor lik = codec_->prior->Likelihood(v, steps);
  return -(at::log2(lik) * keep.unsqueeze(-1)).sum();
}

StepResult CodecTask::TrainStep(const at::Tensor& images, int64_t /*step*/) {
  const int64_t b = images.size(0);
  at::TensorOptions fopt = images.options().dtype(at::kFloat);
  at::Tensor all = at::rand({b}, fopt) < config_.keep_all_fraction;
  at::Tensor ratios = at::where(all, at::ones({b}, fopt),
                                config_.min_keep_ratio + (1 - config_.min_keep_ratio) * at::rand({b}, fopt));
  at::Tensor keep = KeepMasks(images, ratios);
  const double lo = std::log(config_.min_step), hi = std::log(config_.max_step);
  at::Tensor steps = at::exp(lo + (hi - lo) * at::rand({b, 1, 1}, fopt));
  at::Tensor encoded;
  {
    torch::NoGradGuard no_grad;  // the encoder is frozen
    ComputePrecisionScope scope(images.is_cpu() && frozen_bf16_ ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32);
    encoded = codec_->mae->EncodeFull(images).to(at::kFloat);
  }
  at::Tensor y = codec_->Analyze(encoded, images);
  at::Tensor bpp = Bits(y, steps, keep, /*noisy=*/true) / static_cast<double>(b * images.size(2) * images.size(3));
  at::Tensor y_hat = y + (at::round(y / steps) * steps - y).detach();  // straight-through rounding
  at::Tensor recon = codec_->mae->PatchesToImages(codec_->Decode(y_hat, keep));
  at::Tensor mse = (recon - images).pow(2).mean();
  at::Tensor loss = bpp + config_.lmbda * 255.0 * 255.0 * mse;
  return {loss,
          {{"loss", loss.detach()},
           {"bpp", bpp.detach()},
           {"mse", mse.detach()},
           {"keep", keep.mean().detach()},
           {"psnr", (-10.0 * at::log10(mse.detach().clamp_min(1e-10)))}}};
}

std::map<std::string, double> CodecTask::Validate(DataLoader& loader, const c10::Device& device, int64_t /*step*/,
                                                  const std::string& viz_png) {
  torch::NoGradGuard no_grad;
  std::map<std::string, double> sum;
  int64_t n = 0;
  loader.StartEpoch(0);
  for (at::Tensor batch = loader.Next(); batch.defined(); batch = loader.Next()) {
    at::Tensor x = batch.to(device);
    const int64_t b = x.size(0);
    at::Tensor y = codec_->EncodeImages(x);
    for (double ratio : kValRatios) {
      at::Tensor keep = KeepMasks(x, at::full({b}, ratio, x.options()));
      for (int i = 0; i < kValSteps; ++i) {
        at::Tensor steps = at::full({1, 1, 1}, ValStep(config_, i), x.options());
        at::Tensor recon = codec_->mae->PatchesToImages(codec_->Decode(at::round(y / steps) * steps, keep)).clamp(0, 1);
        const double bpp = Bits(y, steps, keep, false).item<double>() / static_cast<double>(x.size(2) * x.size(3));
        const double mse = (recon - x).pow(2).mean().item<double>();
        const std::string name = PointName(ratio, i);
        sum["val_psnr_" + name] += Psnr(x, recon).sum().item<double>();
        sum["val_bpp_" + name] += bpp;  // already a sum over the batch
        sum["val_loss"] += (bpp / b + config_.lmbda * 255.0 * 255.0 * mse) * b / (std::size(kValRatios) * kValSteps);
        if (n == 0 && !viz_png.empty() && ratio == 1.0 && i == 1) WriteComparisonGrid(viz_png, {x, recon}, 8);
      }
    }
    n += b;
  }
  if (n == 0) return {};
  for (auto& kv : sum) kv.second /= static_cast<double>(n);
  return sum;
}

AdamWConfig CodecTask::Optimizer(const ScheduleContext& ctx) const {
  return {BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch), config_.weight_decay, config_.beta1,
          config_.beta2};
}

double CodecTask::LearningRate(int64_t step, const ScheduleContext& ctx) const {
  return WarmupFractionLinearLr(step, ctx.total_steps, config_.warmup_fraction,
                                BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch));
}

std::vector<std::string> CodecTask::MetricColumns() const {
  std::vector<std::string> cols = {"train_loss", "train_bpp", "train_mse", "train_keep", "train_psnr", "val_loss"};
  for (double ratio : kValRatios)
    for (int i = 0; i < kValSteps; ++i) {
      cols.push_back("val_psnr_" + PointName(ratio, i));
      cols.push_back("val_bpp_" + PointName(ratio, i));
    }
  return cols;
}

absl::Status CodecTask::Save(const std::string& path, const ArchiveWriter& trainer_state) {
  return SaveCheckpoint(path, codec_, trainer_state);
}

}  // namespace mt
