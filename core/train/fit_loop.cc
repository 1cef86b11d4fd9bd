#include "core/train/fit_loop.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/runtime/log.h"
#include "core/train/data_parallel.h"
#include "core/train/loop_state.h"
#include "core/train/progress_bar.h"
#include "core/train/run_directory.h"

namespace mt {
namespace {

constexpr double kCheckpointEverySeconds = 600.0;  // bound the work lost to a crash or kill
// Throughput after warm-up (CUDA context, kernel loading and allocator growth take the first steps).
constexpr int64_t kWarmupSteps = 10;

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Averages the running metric sums over the ranks (every rank holds the same keys).
absl::Status AverageMetrics(DataParallelGroup& group, std::map<std::string, at::Tensor>* running) {
  if (running->empty()) return absl::OkStatus();
  std::vector<at::Tensor> values;
  for (const auto& [k, v] : *running) values.push_back(v.reshape({1}));
  std::vector<at::Tensor> stacked = {at::cat(values)};
  if (absl::Status s = group.AllReduceSum(stacked); !s.ok()) return s;
  stacked[0].div_(group.world_size());
  int64_t i = 0;
  for (auto& [k, v] : *running) v = stacked[0][i++];
  return absl::OkStatus();
}

std::string Summary(const std::map<std::string, double>& m) {
  std::string out;
  for (const auto& [k, v] : m) absl::StrAppend(&out, out.empty() ? "" : "  ", k, " ", absl::StrFormat("%.5g", v));
  return out;
}

// Step counts of the run; FAILED_PRECONDITION when an epoch is shorter than one optimizer step.
absl::StatusOr<ScheduleContext> MakeSchedule(const TrainConfig& config, int64_t micro_per_epoch, int world) {
  const TrainerConfig& tc = config.trainer;
  const int64_t accumulate = tc.accumulate_grad_batches;
  if (micro_per_epoch < accumulate)
    return absl::FailedPreconditionError(absl::StrCat("one epoch has ", micro_per_epoch,
                                                      " batches, fewer than accumulate_grad_batches"));
  ScheduleContext ctx;
  ctx.steps_per_epoch = micro_per_epoch / accumulate;
  // Lightning's convention: data.batch_size is per process.
  ctx.effective_batch = config.data.batch_size * accumulate * world;
  const int64_t by_epochs = tc.max_epochs >= 0 ? tc.max_epochs * ctx.steps_per_epoch : -1;
  ctx.total_steps = tc.max_steps >= 0 ? (by_epochs >= 0 ? std::min(tc.max_steps, by_epochs) : tc.max_steps) : by_epochs;
  return ctx;
}

// One Fit call: the collaborators and the counters its phases share. Rank 0 (the chief) alone
// logs and writes files; every collective is entered by all ranks at the same step.
class FitLoop {
 public:
  FitLoop(const TrainConfig& config, TrainingTask& task, DataLoader& train, DataLoader& val, const TrainDevice& device,
          const FitOptions& options, const ScheduleContext& ctx, int64_t micro_per_epoch)
      : config_(config), task_(task), train_(train), val_(val), device_(device), options_(options), ctx_(ctx),
        micro_per_epoch_(micro_per_epoch) {}

  // Moves the task to the device, builds the optimizer, resumes from options.ckpt_path, makes
  // the ranks' weights equal and opens metrics.csv.
  absl::Status Prepare();
  // Trains until the schedule's end, stop_at_step or max_time, then saves last.pt if stopped early.
  absl::Status Run();

 private:
  // Loads options.ckpt_path into the module, the optimizer, state_ and the generators.
  absl::Status Resume();
  void LogStart();
  // One pass over the rest of the current epoch, then the epoch-end validation.
  absl::Status RunEpoch();
  // Forward and backward of one micro-batch; sums its metrics into running_.
  void AccumulateMicroBatch(const at::Tensor& x);
  // Averages gradients over the ranks (with rank 0's clock decisions) and steps the optimizer;
  // `images`: images in this step over all ranks. Returns the step's lr.
  absl::StatusOr<double> OptimizerStep(int64_t images);
  // Writes the mean of the metrics since the last row to metrics.csv; INTERNAL if the loss diverged.
  absl::Status LogTrainMetrics(double lr);
  // After an optimizer step: validates every val_every_n_steps, else saves last.pt when due.
  absl::Status ValidateOrCheckpoint();
  // Closes a finished epoch (validating on check_val_every_n_epoch), or validates at the run's end.
  absl::Status EndEpoch();
  // Validates (once per step) and writes last.pt, and best.pt on a better monitored value.
  absl::Status Validate();
  // Rank 0 writes `name` with every rank's generator states `rngs` (from GatherRng).
  absl::Status Write(const std::string& name, const std::vector<RngState>& rngs);
  // Collective: every rank calls it at the same step.
  absl::Status Save(const std::string& name);
  // Logs the throughput; saves last.pt when stopped before the schedule's end.
  absl::Status Finish();

  bool OutOfTime() const { return max_seconds_ >= 0 && SecondsSince(run_start_) > max_seconds_; }
  bool CheckpointDue() const { return SecondsSince(last_save_) > kCheckpointEverySeconds; }
  // Clock-driven decisions (max_time, the periodic checkpoint) are rank 0's, sent to the others
  // with the gradients so that every rank stops and saves at the same step.
  bool ShouldStop() const { return group_ ? stop_requested_ : OutOfTime(); }

  const TrainConfig& config_;
  TrainingTask& task_;
  DataLoader& train_;
  DataLoader& val_;
  const TrainDevice& device_;
  const FitOptions& options_;
  const ScheduleContext ctx_;
  const int64_t micro_per_epoch_;
  // Derived from the above (declaration order is initialisation order).
  const TrainerConfig& tc_ = config_.trainer;
  const int64_t accumulate_ = tc_.accumulate_grad_batches;
  DataParallelGroup* const group_ = options_.group;
  const int world_ = group_ ? group_->world_size() : 1;
  const int rank_ = group_ ? group_->rank() : 0;
  const bool chief_ = rank_ == 0;  // the one rank that logs and writes files
  const std::string ckpt_dir_ = options_.run_dir + "/checkpoints";
  const int64_t stop_step_ =
      options_.stop_at_step >= 0 ? std::min(options_.stop_at_step, ctx_.total_steps) : ctx_.total_steps;
  const double max_seconds_ = tc_.max_time.empty() ? -1.0 : MaxTimeSeconds(tc_.max_time);

  std::unique_ptr<torch::optim::AdamW> optimizer_;
  LoopState state_;
  std::optional<MetricsCsv> csv_;
  std::optional<ProgressBar> bar_;
  int64_t validated_step_ = -1;
  Clock::time_point last_save_, run_start_, warm_start_;
  int64_t first_step_ = 0;
  int64_t warm_images_ = 0;
  std::map<std::string, at::Tensor> running_;  // sums since the last log row, on the device
  int64_t running_count_ = 0;
  double shown_loss_ = std::nan("");
  bool stop_requested_ = false, save_requested_ = false;
};

absl::Status FitLoop::Prepare() {
  task_.To(device_.device);
  optimizer_ = MakeAdamW(task_.module(), task_.Optimizer(ctx_));
  if (!options_.ckpt_path.empty())
    if (absl::Status s = Resume(); !s.ok()) return s;
  std::vector<std::string> columns = {"step", "epoch", "lr"};
  for (const std::string& c : task_.MetricColumns()) columns.push_back(c);
  // Same seed, same initialisation on every rank; broadcasting rank 0's makes sure of it.
  if (group_)
    if (absl::Status s = BroadcastModule(*group_, task_.module()); !s.ok()) return s;
  if (chief_) {
    absl::StatusOr<MetricsCsv> opened = MetricsCsv::Open(options_.run_dir + "/metrics.csv", columns);
    if (!opened.ok()) return opened.status();
    csv_.emplace(std::move(*opened));
  }
  return absl::OkStatus();
}

absl::Status FitLoop::Resume() {
  absl::Status s = LoadCheckpointInto(options_.ckpt_path, task_.kind(), task_.module(),
                                      StateReader(&state_, *optimizer_, rank_, world_, device_.device));
  if (!s.ok()) return s;
  task_.To(device_.device);
  if (chief_)
    log::info("resumed from {} at step {} (epoch {}, batch {})", options_.ckpt_path, state_.step, state_.epoch,
              state_.next_batch);
  return absl::OkStatus();
}

absl::Status FitLoop::Write(const std::string& name, const std::vector<RngState>& rngs) {
  if (!chief_) return absl::OkStatus();
  absl::Status s = task_.Save(ckpt_dir_ + "/" + name, StateWriter(state_, *optimizer_, rngs));
  if (!s.ok()) log::error("checkpoint {} not written: {}", name, s.ToString());
  return s;
}

absl::Status FitLoop::Save(const std::string& name) {
  absl::StatusOr<std::vector<RngState>> rngs = GatherRng(group_, device_.device);
  return rngs.ok() ? Write(name, *rngs) : rngs.status();
}

absl::Status FitLoop::Validate() {
  if (validated_step_ == state_.step) return absl::OkStatus();  // the step- and end-of-run triggers coincide
  validated_step_ = state_.step;
  // Rank 0 validates on the whole validation set; the others wait for it in GatherRng.
  std::map<std::string, double> m;
  const auto t0 = Clock::now();
  if (chief_) {
    task_.SetTraining(false);
    m = task_.Validate(val_, device_.device, state_.step,
                       absl::StrCat(options_.run_dir, "/viz/step_", state_.step, ".png"));
    task_.SetTraining(true);
  }
  absl::StatusOr<std::vector<RngState>> rngs = GatherRng(group_, device_.device);
  if (!rngs.ok()) return rngs.status();
  if (!chief_) return absl::OkStatus();
  const double secs = SecondsSince(t0);
  log::info("validation at step {} ({:.1f} s): {}", state_.step, secs, Summary(m));
  m["step"] = static_cast<double>(state_.step);
  m["epoch"] = static_cast<double>(state_.epoch);
  if (absl::Status s = csv_->Append(m); !s.ok()) return s;
  auto it = m.find(task_.Monitor());
  const bool better = it != m.end() && std::isfinite(it->second) &&
                      (std::isnan(state_.best) ||
                       (task_.MonitorHigherIsBetter() ? it->second > state_.best : it->second < state_.best));
  if (better) {
    state_.best = it->second;
    if (absl::Status s = Write("best.pt", *rngs); !s.ok()) return s;
    log::info("new best {} = {:.5g} → checkpoints/best.pt", task_.Monitor(), state_.best);
  }
  return Write("last.pt", *rngs);
}

void FitLoop::LogStart() {
  if (!chief_) return;
  log::info("training {} on {}{}: {} steps ({} per epoch, {} micro-batches of {}{}), effective batch {}, lr {:.3g}",
            task_.kind(), device_.description,
            group_ ? absl::StrCat(", ", world_, " processes (", group_->backend(), ")") : "", ctx_.total_steps,
            ctx_.steps_per_epoch, accumulate_, config_.data.batch_size, group_ ? " per process" : "",
            ctx_.effective_batch, task_.Optimizer(ctx_).lr);
}

absl::Status FitLoop::Run() {
  LogStart();
  bar_.emplace(task_.kind(), ctx_.total_steps, 0.5, tc_.enable_progress_bar && chief_);
  task_.SetTraining(true);
  last_save_ = Clock::now();
  run_start_ = Clock::now();
  first_step_ = state_.step;
  warm_start_ = run_start_;
  while (state_.step < stop_step_ && !ShouldStop())
    if (absl::Status s = RunEpoch(); !s.ok()) return s;
  return Finish();
}

absl::Status FitLoop::RunEpoch() {
  train_.StartEpoch(state_.epoch, state_.next_batch);
  optimizer_->zero_grad();  // drop gradients of a previous epoch's unfinished accumulation
  int64_t micro = 0;
  for (at::Tensor batch = train_.Next(); batch.defined() && state_.step < stop_step_ && !ShouldStop();
       batch = train_.Next()) {
    at::Tensor x = batch.to(device_.device, /*non_blocking=*/true);
    AccumulateMicroBatch(x);
    if (++micro % accumulate_ != 0) continue;

    const int64_t images = x.size(0) * accumulate_ * world_;
    absl::StatusOr<double> lr = OptimizerStep(images);
    if (!lr.ok()) return lr.status();
    if (state_.step % tc_.log_every_n_steps == 0 || state_.step == ctx_.total_steps)
      if (absl::Status s = LogTrainMetrics(*lr); !s.ok()) return s;
    bar_->Update(state_.step, images,
                 std::isnan(shown_loss_) ? absl::StrFormat("loss -      lr %.2e", *lr)
                                         : absl::StrFormat("loss %.4f lr %.2e", shown_loss_, *lr));
    if (absl::Status s = ValidateOrCheckpoint(); !s.ok()) return s;
  }
  return EndEpoch();
}

void FitLoop::AccumulateMicroBatch(const at::Tensor& x) {
  StepResult r;
  {
    AutocastScope autocast(device_.bf16_autocast);
    r = task_.TrainStep(x, state_.step);
  }
  (r.loss / static_cast<double>(accumulate_)).backward();
  for (const auto& [k, v] : r.metrics) {
    at::Tensor d = v.to(at::kDouble);
    running_[k] = running_[k].defined() ? running_[k] + d : d;
  }
  ++running_count_;
  ++state_.next_batch;
}

absl::StatusOr<double> FitLoop::OptimizerStep(int64_t images) {
  if (group_) {
    std::vector<float> flags = {chief_ && OutOfTime() ? 1.f : 0.f, chief_ && CheckpointDue() ? 1.f : 0.f};
    if (absl::Status s = AverageGradients(*group_, task_.module(), &flags); !s.ok()) return s;
    stop_requested_ = flags[0] > 0;
    save_requested_ = flags[1] > 0;
  }
  const double lr = task_.LearningRate(state_.step, ctx_);
  SetLearningRate(*optimizer_, lr);
  if (tc_.gradient_clip_val > 0) torch::nn::utils::clip_grad_norm_(task_.module().parameters(), tc_.gradient_clip_val);
  optimizer_->step();
  optimizer_->zero_grad();
  ++state_.step;
  if (state_.step - first_step_ == kWarmupSteps) warm_start_ = Clock::now();
  if (state_.step - first_step_ > kWarmupSteps) warm_images_ += images;
  return lr;
}

absl::Status FitLoop::LogTrainMetrics(double lr) {
  if (group_)
    if (absl::Status s = AverageMetrics(*group_, &running_); !s.ok()) return s;
  std::map<std::string, double> row = {{"step", static_cast<double>(state_.step)},
                                       {"epoch", static_cast<double>(state_.epoch)}, {"lr", lr}};
  for (const auto& [k, v] : running_) row["train_" + k] = v.item<double>() / static_cast<double>(running_count_);
  running_.clear();
  running_count_ = 0;
  shown_loss_ = row["train_loss"];
  if (!std::isfinite(shown_loss_))
    return absl::InternalError(absl::StrCat("mean training loss became ", shown_loss_, " by step ", state_.step,
                                            "; lower the learning rate"));
  if (chief_)
    if (absl::Status s = csv_->Append(row); !s.ok()) return s;
  return absl::OkStatus();
}

absl::Status FitLoop::ValidateOrCheckpoint() {
  const bool step_val = tc_.val_every_n_steps > 0 && state_.step % tc_.val_every_n_steps == 0;
  if (step_val) {
    if (absl::Status s = Validate(); !s.ok()) return s;
    last_save_ = Clock::now();
  } else if (group_ ? save_requested_ : CheckpointDue()) {
    if (absl::Status s = Save("last.pt"); !s.ok()) return s;
    last_save_ = Clock::now();
  }
  return absl::OkStatus();
}

absl::Status FitLoop::EndEpoch() {
  if (state_.next_batch >= micro_per_epoch_) {  // epoch finished
    const bool epoch_val = (state_.epoch + 1) % std::max<int64_t>(1, tc_.check_val_every_n_epoch) == 0;
    ++state_.epoch;
    state_.next_batch = 0;
    if (epoch_val || state_.step >= ctx_.total_steps) {
      if (absl::Status s = Validate(); !s.ok()) return s;
      last_save_ = Clock::now();
    }
  } else if (state_.step >= ctx_.total_steps) {
    if (absl::Status s = Validate(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status FitLoop::Finish() {
  const double warm_s = SecondsSince(warm_start_);
  if (chief_ && warm_images_ > 0 && warm_s > 0)
    log::info("throughput: {} images in {:.1f} s after {} warm-up steps = {:.1f} img/s", warm_images_, warm_s,
              kWarmupSteps, warm_images_ / warm_s);
  if (state_.step < ctx_.total_steps) {
    if (absl::Status s = Save("last.pt"); !s.ok()) return s;
    if (chief_)
      log::info("stopped at step {} of {}; resume with --ckpt_path {}/last.pt", state_.step, ctx_.total_steps,
                ckpt_dir_);
  }
  bar_->Finish();
  if (chief_) log::info("done: {} steps; checkpoints in {}", state_.step, ckpt_dir_);
  return absl::OkStatus();
}

}  // namespace

absl::Status Fit(const TrainConfig& config, TrainingTask& task, DataLoader& train, DataLoader& val,
                 const TrainDevice& device, const FitOptions& options) {
  const int64_t micro_per_epoch = train.batches_per_epoch();
  absl::StatusOr<ScheduleContext> ctx =
      MakeSchedule(config, micro_per_epoch, options.group ? options.group->world_size() : 1);
  if (!ctx.ok()) return ctx.status();
  FitLoop loop(config, task, train, val, device, options, *ctx, micro_per_epoch);
  if (absl::Status s = loop.Prepare(); !s.ok()) return s;
  return loop.Run();
}

absl::StatusOr<std::map<std::string, double>> ValidateCheckpoint(TrainingTask& task, DataLoader& val,
                                                                 const TrainDevice& device,
                                                                 const std::string& ckpt_path) {
  if (absl::Status s = LoadCheckpointInto(ckpt_path, task.kind(), task.module(), nullptr); !s.ok()) return s;
  task.To(device.device);
  task.SetTraining(false);
  std::map<std::string, double> m = task.Validate(val, device.device, 0, "");
  log::info("{}: {}", ckpt_path, Summary(m));
  return m;
}

}  // namespace mt
