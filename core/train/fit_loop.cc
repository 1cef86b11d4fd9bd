#include "core/train/fit_loop.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include "core/runtime/log.h"
#include <torch/nn/utils/clip_grad.h>

#include <chrono>
#include <mutex>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/train/progress_bar.h"
#include "core/train/run_directory.h"

namespace mt {
namespace {

// Where the loop stands; stored in checkpoints so a resumed run continues exactly.
struct LoopState {
  int64_t step = 0;          // optimizer steps taken
  int64_t epoch = 0;         // current epoch
  int64_t next_batch = 0;    // first micro-batch of `epoch` not yet consumed
  double best = std::nan("");  // best monitored value so far
};

constexpr double kCheckpointEverySeconds = 600.0;  // bound the work lost to a crash or kill

ArchiveWriter StateWriter(const LoopState& s, torch::optim::Optimizer& optimizer) {
  return [&s, &optimizer](torch::serialize::OutputArchive& a) {
    a.write("step", c10::IValue(s.step));
    a.write("epoch", c10::IValue(s.epoch));
    a.write("next_batch", c10::IValue(s.next_batch));
    a.write("best", c10::IValue(s.best));
    a.write("cpu_rng", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
    torch::serialize::OutputArchive opt(a.compilation_unit());
    optimizer.save(opt);
    a.write("optimizer", opt);
  };
}

ArchiveReader StateReader(LoopState* s, torch::optim::Optimizer& optimizer) {
  return [s, &optimizer](torch::serialize::InputArchive& a) -> absl::Status {
    c10::IValue step, epoch, next_batch, best;
    if (!a.try_read("step", step) || !a.try_read("epoch", epoch) || !a.try_read("next_batch", next_batch) ||
        !a.try_read("best", best))
      return absl::DataLossError("trainer state is incomplete");
    s->step = step.toInt();
    s->epoch = epoch.toInt();
    s->next_batch = next_batch.toInt();
    s->best = best.toDouble();
    at::Tensor rng;
    if (a.try_read("cpu_rng", rng, true)) {
      at::Generator gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng);
    }
    torch::serialize::InputArchive opt;
    if (!a.try_read("optimizer", opt)) return absl::DataLossError("trainer state has no optimizer");
    optimizer.load(opt);
    return absl::OkStatus();
  };
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
  ctx.effective_batch = config.data.batch_size * accumulate;
  const int64_t by_epochs = tc.max_epochs >= 0 ? tc.max_epochs * ctx.steps_per_epoch : -1;
  ctx.total_steps = tc.max_steps >= 0 ? (by_epochs >= 0 ? std::min(tc.max_steps, by_epochs) : tc.max_steps) : by_epochs;

  task.To(device.device);
  std::unique_ptr<torch::optim::AdamW> optimizer = MakeAdamW(task.module(), task.Optimizer(ctx));
  LoopState state;
  if (!options.ckpt_path.empty()) {
    absl::Status s = LoadCheckpointInto(options.ckpt_path, task.kind(), task.module(), StateReader(&state, *optimizer));
    if (!s.ok()) return s;
    task.To(device.device);
    log::info("resumed from {} at step {} (epoch {}, batch {})", options.ckpt_path, state.step, state.epoch,
                 state.next_batch);
  }

  std::vector<std::string> columns = {"step", "epoch", "lr"};
  for (const std::string& c : task.MetricColumns()) columns.push_back(c);
  absl::StatusOr<MetricsCsv> csv = MetricsCsv::Open(options.run_dir + "/metrics.csv", columns);
  if (!csv.ok()) return csv.status();
  const std::string ckpt_dir = options.run_dir + "/checkpoints";

  auto save = [&](const std::string& name) {
    absl::Status s = task.Save(ckpt_dir + "/" + name, StateWriter(state, *optimizer));
    if (!s.ok()) log::error("checkpoint {} not written: {}", name, s.ToString());
    return s;
  };
  int64_t validated_step = -1;
  auto validate = [&]() -> absl::Status {
    if (validated_step == state.step) return absl::OkStatus();  // the step- and end-of-run triggers coincide
    validated_step = state.step;
    task.SetTraining(false);
    const auto t0 = std::chrono::steady_clock::now();
    std::map<std::string, double> m =
        task.Validate(val, device.device, state.step, absl::StrCat(options.run_dir, "/viz/step_", state.step, ".png"));
    task.SetTraining(true);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    log::info("validation at step {} ({:.1f} s): {}", state.step, secs, Summary(m));
    m["step"] = static_cast<double>(state.step);
    m["epoch"] = static_cast<double>(state.epoch);
    if (absl::Status s = csv->Append(m); !s.ok()) return s;
    auto it = m.find(task.Monitor());
    if (it != m.end() && std::isfinite(it->second) &&
        (std::isnan(state.best) || (task.MonitorHigherIsBetter() ? it->second > state.best : it->second < state.best))) {
      state.best = it->second;
      if (absl::Status s = save("best.pt"); !s.ok()) return s;
      log::info("new best {} = {:.5g} → checkpoints/best.pt", task.Monitor(), state.best);
    }
    return save("last.pt");
  };

  log::info("training {} on {}: {} steps ({} per epoch, {} micro-batches of {}), effective batch {}, lr {:.3g}",
               task.kind(), device.description, ctx.total_steps, ctx.steps_per_epoch, accumulate,
               config.data.batch_size, ctx.effective_batch, task.Optimizer(ctx).lr);
  ProgressBar bar(task.kind(), ctx.total_steps, 0.5, tc.enable_progress_bar);
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
  while (state.step < stop_step && !out_of_time()) {
    train.StartEpoch(state.epoch, state.next_batch);
    optimizer->zero_grad();  // drop gradients of a previous epoch's unfinished accumulation
    int64_t micro = 0;
    for (at::Tensor batch = train.Next(); batch.defined() && state.step < stop_step && !out_of_time();
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

      const double lr = task.LearningRate(state.step, ctx);
      SetLearningRate(*optimizer, lr);
      if (tc.gradient_clip_val > 0)
        torch::nn::utils::clip_grad_norm_(task.module().parameters(), tc.gradient_clip_val);
      optimizer->step();
      optimizer->zero_grad();
      ++state.step;
      if (state.step - first_step == kWarmupSteps) warm_start = std::chrono::steady_clock::now();
      if (state.step - first_step > kWarmupSteps) warm_images += x.size(0) * accumulate;

      if (state.step % tc.log_every_n_steps == 0 || state.step == ctx.total_steps) {
        std::map<std::string, double> row = {{"step", static_cast<double>(state.step)},
                                             {"epoch", static_cast<double>(state.epoch)}, {"lr", lr}};
        for (const auto& [k, v] : running) row["train_" + k] = v.item<double>() / static_cast<double>(running_count);
        running.clear();
        running_count = 0;
        shown_loss = row["train_loss"];
        if (!std::isfinite(shown_loss))
          return absl::InternalError(absl::StrCat("mean training loss became ", shown_loss, " by step ", state.step,
                                                  "; lower the learning rate"));
        if (absl::Status s = csv->Append(row); !s.ok()) return s;
      }
      bar.Update(state.step, x.size(0) * accumulate,
                 std::isnan(shown_loss) ? absl::StrFormat("loss -      lr %.2e", lr)
                                        : absl::StrFormat("loss %.4f lr %.2e", shown_loss, lr));
      const bool step_val = tc.val_every_n_steps > 0 && state.step % tc.val_every_n_steps == 0;
      if (step_val) {
        if (absl::Status s = validate(); !s.ok()) return s;
        last_save = std::chrono::steady_clock::now();
      } else if (std::chrono::duration<double>(std::chrono::steady_clock::now() - last_save).count() >
                 kCheckpointEverySeconds) {
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
  if (warm_images > 0 && warm_s > 0)
    log::info("throughput: {} images in {:.1f} s after {} warm-up steps = {:.1f} img/s", warm_images, warm_s,
              kWarmupSteps, warm_images / warm_s);
  if (state.step < ctx.total_steps) {
    if (absl::Status s = save("last.pt"); !s.ok()) return s;
    log::info("stopped at step {} of {}; resume with --ckpt_path {}/last.pt", state.step, ctx.total_steps, ckpt_dir);
  }
  bar.Finish();
  log::info("done: {} steps; checkpoints in {}", state.step, ckpt_dir);
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
