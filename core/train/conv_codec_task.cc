#include "core/train/conv_codec_task.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/io/checkpoint.h"
#include "core/metrics/image_metrics.h"
#include "core/train/lr_schedule.h"
#include "core/train/viz_writer.h"
#include "core/train/weight_copy.h"

namespace mt {

std::vector<double> LevelLambdas(const ConvCodecTaskConfig& c) {
  const int64_t s = c.model.levels;
  std::vector<double> out;
  for (int64_t i = 0; i < s; ++i)
    out.push_back(s == 1 ? c.lambda_max
                         : c.lambda_max * std::pow(c.lambda_min / c.lambda_max, static_cast<double>(i) / static_cast<double>(s - 1)));
  return out;
}

at::Tensor ExtendLevelSteps(const at::Tensor& log_steps, int64_t levels) {
  const int64_t have = log_steps.size(0);
  TORCH_CHECK(have >= 2 && levels >= have, "ExtendLevelSteps needs >= 2 trained levels and no fewer wanted");
  // Mean per-level increment over the last (up to) three trained intervals, per channel.
  const int64_t span = std::min<int64_t>(3, have - 1);
  const at::Tensor last = log_steps[have - 1];
  const at::Tensor increment = (last - log_steps[have - 1 - span]) / static_cast<double>(span);
  std::vector<at::Tensor> rows = {log_steps};
  for (int64_t s = have; s < levels; ++s)
    rows.push_back((last + increment * static_cast<double>(s - have + 1)).unsqueeze(0));
  return at::cat(rows, 0);
}

at::Tensor ExtendLevelSteps(const at::Tensor& log_steps, int64_t levels, int64_t finer) {
  TORCH_CHECK(finer >= 0 && levels >= log_steps.size(0) + finer, "ExtendLevelSteps: no room for the finer levels");
  at::Tensor out = log_steps;
  // A finer level continues the first levels' increment backwards: the coarser extension of
  // the levels in reverse order, reversed back.
  if (finer > 0) out = ExtendLevelSteps(out.flip({0}), out.size(0) + finer).flip({0});
  return out.size(0) < levels ? ExtendLevelSteps(out, levels) : out;
}

namespace {

// Copies `init` into `codec`; when `init` has fewer levels, its steps are extended by
// ExtendLevelSteps (an added level starts beside its neighbours): `finer` levels before the
// init's level 0, the rest after its coarsest.
absl::Status InitFrom(const ConvCodec& init, ConvCodec& codec, int64_t finer, const std::string& what) {
  const int64_t have = init->log_steps.size(0), want = codec->log_steps.size(0);
  if (have + finer > want || (have < want && have < 2))
    return absl::FailedPreconditionError(
        absl::StrCat(what, " has ", have, " rate levels; the configured model ", want, " with ", finer,
                     " finer ones (levels can only be added to a model with at least 2)"));
  torch::NoGradGuard no_grad;
  codec->log_steps.set_data(at::zeros_like(init->log_steps));  // same shapes for the copy
  // A factorized-prior codec can start a hyperprior one: its transforms and steps carry over,
  // the hyperprior starts fresh.
  // Likewise a hyperprior codec can start a checkerboard one: the context starts fresh (coding as
  // the hyperprior alone).
  const bool fresh_hyper = codec->hyper && !init->hyper, fresh_context = codec->context && !init->context;
  if (fresh_hyper && codec->context)
    return absl::FailedPreconditionError(absl::StrCat(what, " has no hyperprior: train one before a checkerboard context"));
  const std::string fresh = fresh_hyper ? "hyper." : fresh_context ? "context." : "";
  if (absl::Status s = CopyParameters(*init, *codec, what, fresh); !s.ok()) return s;
  if (have < want) codec->log_steps.set_data(ExtendLevelSteps(init->log_steps.detach().clone(), want, finer));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ConvCodecTask>> ConvCodecTask::Create(const ConvCodecTaskConfig& config) {
  ConvCodecOptions options = config.model;
  options.table_width = options.context_buckets = options.context_width = 0;  // tables are built at export
  ConvCodec codec(options);
  if (!config.init_checkpoint.empty()) {
    absl::StatusOr<ConvCodec> init = LoadConvCodec(config.init_checkpoint);
    if (!init.ok()) return init.status();
    if (absl::Status s = InitFrom(*init, codec, config.finer_levels, absl::StrCat("init_checkpoint '", config.init_checkpoint, "'"));
        !s.ok())
      return s;
  } else {
    const std::vector<double> lambdas = LevelLambdas(config);
    torch::NoGradGuard no_grad;
    for (int64_t s = 0; s < options.levels; ++s)
      codec->log_steps[s].fill_(0.5 * std::log(lambdas[0] / lambdas[static_cast<size_t>(s)]));
  }
  if (config.trainable == "entropy") {
    if (!codec->hyper)
      return absl::InvalidArgumentError("trainable: entropy trains a hyperprior (and its context): set hyper_channels");
    for (const auto& p : codec->named_parameters())
      if (!absl::StartsWith(p.key(), "hyper.") && !absl::StartsWith(p.key(), "context.")) p.value().set_requires_grad(false);
  }
  return std::unique_ptr<ConvCodecTask>(new ConvCodecTask(config, codec));
}

ConvCodecTask::ConvCodecTask(const ConvCodecTaskConfig& config, ConvCodec codec)
    : config_(config), lambdas_(LevelLambdas(config)), codec_(std::move(codec)) {}

at::Tensor ConvCodecTask::Bits(const at::Tensor& y, int64_t level, bool noisy) {
  const int64_t c = y.size(1);
  at::Tensor steps = codec_->Steps()[level];                 // (C)
  at::Tensor per_channel = steps.view({1, c, 1, 1});
  at::Tensor v = noisy ? y + (at::rand_like(y) - 0.5) * per_channel : at::round(y / per_channel) * per_channel;
  at::Tensor lik = codec_->prior->Likelihood(v.permute({0, 2, 3, 1}), steps);
  return -at::log2(lik).sum();
}

ConvCodecTask::Coded ConvCodecTask::Code(const at::Tensor& y, int64_t level, bool noisy) {
  if (codec_->hyper) return CodeWithHyperprior(y, level, noisy);
  const at::Tensor steps = codec_->Steps()[level].view({1, -1, 1, 1});
  // Straight-through rounding that keeps the step's gradient: ŷ = y + Δ·sg(round(y/Δ) − y/Δ).
  const at::Tensor scaled = y / steps;
  return {Bits(y, level, noisy), y + steps * (at::round(scaled) - scaled).detach()};
}

ConvCodecTask::Coded ConvCodecTask::CodeWithHyperprior(const at::Tensor& y, int64_t level, bool noisy) {
  const at::Tensor steps = codec_->Steps()[level].view({1, -1, 1, 1});
  const at::Tensor u = y / steps;  // step units: one hyperprior for every level
  const at::Tensor z = codec_->hyper->Analyze(u);
  const at::Tensor z_hat = noisy ? z + (at::rand_like(z) - 0.5) : at::round(z);
  const auto [mean, log_scale] = codec_->hyper->Synthesize(z_hat);
  at::Tensor centred = u - mean, scale = log_scale;
  if (codec_->context) {
    // The anchors' residuals as the receiver decodes them (straight-through); the context only
    // moves the non-anchors' predictions, so the anchors' `centred` stays what it was.
    const at::Tensor anchor_residual = centred + (at::round(centred) - centred).detach();
    auto [refined_mean, refined_scale] = codec_->context->forward(anchor_residual, mean, log_scale);
    centred = u - refined_mean;
    scale = refined_scale;
  }
  const at::Tensor r = noisy ? centred + (at::rand_like(centred) - 0.5) : at::round(centred);
  const at::Tensor bits = codec_->hyper->ResidualBits(r, scale) + codec_->hyper->SideBits(z_hat);
  // Straight-through rounding of the residual, as the receiver decodes it: ŷ = Δ·(mean + round(u − mean)).
  const at::Tensor u_hat = u + (at::round(centred) - centred).detach();
  return {bits, u_hat * steps};
}

StepResult ConvCodecTask::TrainStep(const at::Tensor& images, int64_t /*step*/) {
  const int64_t b = images.size(0), levels = config_.model.levels;
  const int64_t level = at::randint(levels, {1}, at::kLong).item<int64_t>();
  if (entropy_only()) return EntropyStep(images, level);
  at::Tensor y = codec_->Analyze(images);
  const Coded coded = Code(y, level, /*noisy=*/true);
  at::Tensor bpp = coded.bits / static_cast<double>(b * images.size(2) * images.size(3));
  at::Tensor recon = codec_->Synthesize(coded.y_hat);
  at::Tensor mse = (recon - images).pow(2).mean();
  at::Tensor loss = bpp + lambdas_[static_cast<size_t>(level)] * 255.0 * 255.0 * mse;
  return {loss,
          {{"loss", loss.detach()},
           {"bpp", bpp.detach()},
           {"level", at::full({}, static_cast<double>(level))},
           {"psnr", (-10.0 * at::log10(mse.detach().clamp_min(1e-10)))}}};
}

StepResult ConvCodecTask::EntropyStep(const at::Tensor& images, int64_t level) {
  at::Tensor y;
  {
    torch::NoGradGuard no_grad;
    y = codec_->Analyze(images);
  }
  const Coded coded = Code(y, level, /*noisy=*/true);
  const at::Tensor bpp = coded.bits / static_cast<double>(images.size(0) * images.size(2) * images.size(3));
  return {bpp, {{"loss", bpp.detach()}, {"bpp", bpp.detach()}, {"level", at::full({}, static_cast<double>(level))}}};
}

std::map<std::string, double> ConvCodecTask::Validate(DataLoader& loader, const c10::Device& device, int64_t /*step*/,
                                                      const std::string& viz_png) {
  torch::NoGradGuard no_grad;
  std::map<std::string, double> sum;
  int64_t n = 0;
  const int64_t levels = config_.model.levels;
  loader.StartEpoch(0);
  for (at::Tensor batch = loader.Next(); batch.defined(); batch = loader.Next()) {
    at::Tensor x = batch.to(device);
    const int64_t b = x.size(0);
    at::Tensor y = codec_->Analyze(x);
    for (int64_t s = 0; s < levels; ++s) {
      const Coded coded = Code(y, s, /*noisy=*/false);
      at::Tensor recon = codec_->Synthesize(coded.y_hat).clamp(0, 1);
      const double bpp = coded.bits.item<double>() / static_cast<double>(x.size(2) * x.size(3));  // batch sum
      const double mse = (recon - x).pow(2).mean().item<double>();
      const std::string name = absl::StrCat("l", s);
      sum["val_psnr_" + name] += Psnr(x, recon).sum().item<double>();
      sum["val_bpp_" + name] += bpp;
      sum["val_loss"] += (bpp / b + lambdas_[static_cast<size_t>(s)] * 255.0 * 255.0 * mse) * b / levels;
      if (n == 0 && !viz_png.empty() && s == levels / 2) WriteComparisonGrid(viz_png, {x, recon}, 8);
    }
    n += b;
  }
  if (n == 0) return {};
  for (auto& kv : sum) kv.second /= static_cast<double>(n);
  return sum;
}

AdamWConfig ConvCodecTask::Optimizer(const ScheduleContext& ctx) const {
  return {BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch), config_.weight_decay, config_.beta1,
          config_.beta2};
}

double ConvCodecTask::LearningRate(int64_t step, const ScheduleContext& ctx) const {
  return WarmupFractionLinearLr(step, ctx.total_steps, config_.warmup_fraction,
                                BatchScaledLr(config_.lr, config_.base_lr, ctx.effective_batch));
}

std::vector<std::string> ConvCodecTask::MetricColumns() const {
  std::vector<std::string> cols = {"train_loss", "train_bpp", "train_level", "train_psnr", "val_loss"};
  for (int64_t s = 0; s < config_.model.levels; ++s) {
    cols.push_back(absl::StrCat("val_psnr_l", s));
    cols.push_back(absl::StrCat("val_bpp_l", s));
  }
  return cols;
}

absl::Status ConvCodecTask::Save(const std::string& path, const ArchiveWriter& trainer_state) {
  return SaveCheckpoint(path, codec_, trainer_state);
}

}  // namespace mt
