// The generic training loop (Lightning's Trainer.fit / validate for one device).
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/config/train_config.h"
#include "core/data/data_loader.h"
#include "core/train/device.h"
#include "core/train/training_task.h"

namespace mt {

struct FitOptions {
  std::string run_dir;    // from CreateRunDirectory; receives metrics.csv, checkpoints/, viz/
  std::string ckpt_path;  // resume from this checkpoint (optimizer, step, RNG) if non-empty
  int64_t stop_at_step = -1;  // stop (saving last.pt) after this step, as if interrupted; the
                              // schedule still spans the full run (tests and time-boxed runs)
};

// Trains until trainer.max_steps / max_epochs; gradient accumulation, clipping, per-step lr,
// validation every check_val_every_n_epoch epochs (and val_every_n_steps steps), checkpoints
// checkpoints/last.pt (every validation, epoch end and 10 minutes) and checkpoints/best.pt
// (by the task's monitor). Resuming continues the same batches, lr and RNG stream.
absl::Status Fit(const TrainConfig& config, TrainingTask& task, DataLoader& train, DataLoader& val,
                 const TrainDevice& device, const FitOptions& options);

// Loads `ckpt_path` into the task's module and runs one validation; prints and returns metrics.
absl::StatusOr<std::map<std::string, double>> ValidateCheckpoint(TrainingTask& task, DataLoader& val,
                                                                 const TrainDevice& device,
                                                                 const std::string& ckpt_path);

}  // namespace mt
