#include "core/train/fit_loop.h"

#include <ATen/ATen.h>
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <cmath>
#include <optional>

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

}  // namespace

absl::Status Fit(const TrainConfig& config, TrainingTask& task, DataLoader& train, DataLoader& val,
                 const TrainDevice& device, const FitOptions& options) {
  const TrainerConfig& tc = config.trainer;
  const int64_t accumulate = tc.accumulate_grad_batches;
  const int64_t micro_per_epoch = train.batches_per_epoch();
  if (micro_per_epoch < accumulate)
    return absl::FailedPreconditionError(absl::StrCat("one epoch has ", micro_per_epoch,
                                                      " batches, fewer than accumulate_grad_batches"));
  ScheduleContext ctx;
  ctx.steps_per_epoch = micro_per_epoch / accumulate;
  DataParallelGroup* const group = options.group;
  const int world = group ? group->world_size() : 1;
  const int rank = group ? group->rank() : 0;
  const bool chief = rank == 0;  // the one rank that logs and writes files
  // Lightning's convention: data.batch_size is per process.
  ctx.effective_batch = config.data.batch_size * accumulate * world;
  const int64_t by_epochs = tc.max_epochs >= 0 ? tc.max_epochs * ctx.steps_per_epoch : -1;
  ctx.total_steps = tc.max_steps >= 0 ? (by_epochs >= 0 ? std::min(tc.max_steps, by_epochs) : tc.max_steps) : by_epochs;

  task.To(device.device);
  std::unique_ptr<torch::optim::AdamW> optimizer = MakeAdamW(task.module(), task.Optimizer(ctx));
  LoopState state;
  if (!options.ckpt_path.empty()) {
    absl::Status s = LoadCheckpointInto(options.ckpt_path, task.kind(), task.module(),
                                        StateReader(&state, *optimizer, rank, world, device.device));
    if (!s.ok()) return s;
    task.To(device.device);
    if (chief) log::info("resumed from {} at step {} (epoch {}, batch {})", options.ckpt_path, state.step, state.epoch,
                 state.next_batch);
  }

  std::vector<std::string> columns = {"step", "epoch", "lr"};
  for (const std::string& c : task.MetricColumns()) columns.push_back(c);
  // Same seed, same initialisation on every rank; broadcasting rank 0's makes sure of it.
  if (group)
    if (absl::Status s = BroadcastModule(*group, task.module()); !s.ok()) return s;
  std::optional<MetricsCsv> csv;
  if (chief) {
    absl::StatusOr<MetricsCsv> opened = MetricsCsv::Open(options.run_dir + "/metrics.csv", columns);
    if (!opened.ok()) return opened.status();
    csv.emplace(std::move(*opened));
  }
  const std::string ckpt_dir = options.run_dir + "/checkpoints";

  // Rank 0 writes `name` with every rank's generator states `rngs` (from GatherRng).
  auto write = [&](const std::string& name, const std::vector<RngState>& rngs) {
    if (!chief) return absl::OkStatus();
    absl::Status s = task.Save(ckpt_dir + "/" + name, StateWriter(state, *optimizer, rngs));
    if (!s.ok()) log::error("checkpoint {} not written: {}", name, s.ToString());
    return s;
  };
  // Collective: every rank calls it at the same step.
  auto save = [&](const std::string& name) {
    absl::StatusOr<std::vector<RngState>> rngs = GatherRng(group, device.device);
    return rngs.ok() ? write(name, *rngs) : rngs.status();
  };
  int64_t validated_step = -1;
  auto validate = [&]() -> absl::Status {
    if (validated_step == state.step) return absl::OkStatus();  // the step- and end-of-run triggers coincide
    validated_step = state.step;
    // Rank 0 validates on the whole validation set; the others wait for it in GatherRng.
    std::map<std::string, double> m;
    const auto t0 = std::chrono::steady_clock::now();
    if (chief) {
      task.SetTraining(false);
      m = task.Validate(val, device.device, state.step, absl::StrCat(options.run_dir, "/viz/step_", state.step, ".png"));
      task.SetTraining(true);
    }
    absl::StatusOr<std::vector<RngState>> rngs = GatherRng(group, device.device);
    if (!rngs.ok()) return rngs.status();
    if (!chief) return absl::OkStatus();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log::info("validation at step {} ({:.1f} s): {}", state.step, secs, Summary(m));
    m["step"] = static_cast<double>(state.step);
    m["epoch"] = static_cast<double>(state.epoch);
    if (absl::Status s = csv->Append(m); !s.ok()) return s;
    auto it = m.find(task.Monitor());
    if (it != m.end() && std::isfinite(it->second) &&
        (std::isnan(state.best) || (task.MonitorHigherIsBetter() ? it->second > state.best : it->second < state.best))) {
      state.best = it->second;
      if (absl::Status s = write("best.pt", *rngs); !s.ok()) return s;
      log::info("new best {} = {:.5g} → checkpoints/best.pt", task.Monitor(), state.best);
    }
    return write("last.pt", *rngs);
  };

  if (chief)
    log::info("training {} on {}{}: {} steps ({} per epoch, {} micro-batches of {}{}), effective batch {}, lr {:.3g}",
              task.kind(), device.description, group ? absl::StrCat(", ", world, " processes (", group->backend(), ")") : "",
              ctx.total_steps, ctx.steps_per_epoch, accumulate, config.data.batch_size, group ? " per process" : "",
              ctx.effective_batch, task.Optimizer(ctx).lr);
  ProgressBar bar(task.kind(), ctx.total_steps, 0.5, tc.enable_progress_bar && chief);
  task.SetTraining(true);
  auto last_save = std::chrono::steady_clock::now();
  std::map<std::string, at::Tensor> running;  // sums since the last log row, on the device
  double shown_loss = std::nan("");
  int64_t running_count = 0;

  const int64_t stop_step = options.stop_at_step >= 0 ? std::min(options.stop_at_step, ctx.total_steps)
                                                      : ctx.total_steps;
  const double max_seconds = tc.max_time.empty() ? -1.0 : MaxTimeSeconds(tc.max_time);
  const auto run_start = std::chrono::steady_clock::now();
  // Throughput after warm-up (CUDA context, kernel loading and allocator growth take the first steps).
  constexpr int64_t kWarmupSteps = 10;
  const int64_t first_step = state.step;
  auto warm_start = run_start;
  int64_t warm_images = 0;
  auto out_of_time = [&] {
    return max_seconds >= 0 &&
           std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count() > max_seconds;
  };
  auto checkpoint_due = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count() > kCheckpointEverySeconds;
  };
  // Clock-driven decisions (max_time, the periodic checkpoint) are rank 0's, sent to the others
  // with the gradients so that every rank stops and saves at the same step.
  bool stop_requested = false, save_requested = false;
  auto should_stop = [&] { return group ? stop_requested : out_of_time(); };
  while (state.step < stop_step && !should_stop()) {
    train.StartEpoch(state.epoch, state.next_batch);
    optimizer->zero_grad();  // drop gradients of a previous epoch's unfinished accumulation
    int64_t micro = 0;
    for (at::Tensor batch = train.Next(); batch.defined() && state.step < stop_step && !should_stop();
         batch = train.Next()) {
      at::Tensor x = batch.to(device.device, /*non_blocking=*/true);
      StepResult r;
      {
        AutocastScope autocast(device.bf16_autocast);
        r = task.TrainStep(x, state.step);
      }
      (r.loss / static_cast<double>(accumulate)).backward();
      for (const auto& [k, v] : r.metrics) {
        at::Tensor d = v.to(at::kDouble);
        running[k] = running[k].defined() ? running[k] + d : d;
      }
      ++running_count;
      ++state.next_batch;
      if (++micro % accumulate != 0) continue;

      if (group) {
        std::vector<float> flags = {chief && out_of_time() ? 1.f : 0.f, chief && checkpoint_due() ? 1.f : 0.f};
        if (absl::Status s = AverageGradients(*group, task.module(), &flags); !s.ok()) return s;
        stop_requested = flags[0] > 0;
        save_requested = flags[1] > 0;
      }
      const double lr = task.LearningRate(state.step, ctx);
      SetLearningRate(*optimizer, lr);
      if (tc.gradient_clip_val > 0)
        torch::nn::utils::clip_grad_norm_(task.module().parameters(), tc.gradient_clip_val);
      optimizer->step();
      optimizer->zero_grad();
      ++state.step;
      if (state.step - first_step == kWarmupSteps) warm_start = std::chrono::steady_clock::now();
      if (state.step - first_step > kWarmupSteps) warm_images += x.size(0) * accumulate * world;

      if (state.step % tc.log_every_n_steps == 0 || state.step == ctx.total_steps) {
        if (group)
          if (absl::Status s = AverageMetrics(*group, &running); !s.ok()) return s;
        std::map<std::string, double> row = {{"step", static_cast<double>(state.step)},
                                             {"epoch", static_cast<double>(state.epoch)}, {"lr", lr}};
        for (const auto& [k, v] : running) row["train_" + k] = v.item<double>() / static_cast<double>(running_count);
        running.clear();
        running_count = 0;
        shown_loss = row["train_loss"];
        if (!std::isfinite(shown_loss))
          return absl::InternalError(absl::StrCat("mean training loss became ", shown_loss, " by step ", state.step,
                                                  "; lower the learning rate"));
        if (chief)
          if (absl::Status s = csv->Append(row); !s.ok()) return s;
      }
      bar.Update(state.step, x.size(0) * accumulate * world,
                 std::isnan(shown_loss) ? absl::StrFormat("loss -      lr %.2e", lr)
                                        : absl::StrFormat("loss %.4f lr %.2e", shown_loss, lr));
      const bool step_val = tc.val_every_n_steps > 0 && state.step % tc.val_every_n_steps == 0;
      if (step_val) {
        if (absl::Status s = validate(); !s.ok()) return s;
        last_save = std::chrono::steady_clock::now();
      } else if (group ? save_requested : checkpoint_due()) {
        if (absl::Status s = save("last.pt"); !s.ok()) return s;
        last_save = std::chrono::steady_clock::now();
      }
    }
    if (state.next_batch >= micro_per_epoch) {  // epoch finished
      const bool epoch_val = (state.epoch + 1) % std::max<int64_t>(1, tc.check_val_every_n_epoch) == 0;
      ++state.epoch;
      state.next_batch = 0;
      if (epoch_val || state.step >= ctx.total_steps) {
        if (absl::Status s = validate(); !s.ok()) return s;
        last_save = std::chrono::steady_clock::now();
      }
    } else if (state.step >= ctx.total_steps) {
      if (absl::Status s = validate(); !s.ok()) return s;
    }
  }
  const double warm_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - warm_start).count();
  if (chief && warm_images > 0 && warm_s > 0)
    log::info("throughput: {} images in {:.1f} s after {} warm-up steps = {:.1f} img/s", warm_images, warm_s,
              kWarmupSteps, warm_images / warm_s);
  if (state.step < ctx.total_steps) {
    if (absl::Status s = save("last.pt"); !s.ok()) return s;
    if (chief) log::info("stopped at step {} of {}; resume with --ckpt_path {}/last.pt", state.step, ctx.total_steps, ckpt_dir);
  }
  bar.Finish();
  if (chief) log::info("done: {} steps; checkpoints in {}", state.step, ckpt_dir);
  return absl::OkStatus();
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
