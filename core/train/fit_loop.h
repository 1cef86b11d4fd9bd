// The generic training loop (Lightning's Trainer.fit / validate), on one device or as one rank of
// a data-parallel job.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/config/train_config.h"
#include "core/data/data_loader.h"
#include "core/train/device.h"
#include "core/train/training_task.h"

namespace mt {

class DataParallelGroup;

struct FitOptions {
  std::string run_dir;    // from CreateRunDirectory; receives metrics.csv, checkpoints/, viz/
  std::string ckpt_path;  // resume from this checkpoint (optimizer, step, RNG) if non-empty
  int64_t stop_at_step = -1;  // stop (saving last.pt) after this step, as if interrupted; the
                              // schedule still spans the full run (tests and time-boxed runs)
  // Peers of a data-parallel job (null: this process alone). Every rank runs Fit with the same
  // config and checkpoint, and a train loader sharded by rank (DataLoaderOptions::rank);
  // gradients are averaged each optimizer step, rank 0 validates and writes every file.
  DataParallelGroup* group = nullptr;
};

// Trains until trainer.max_steps / max_epochs; gradient accumulation, clipping, per-step lr,
// validation every check_val_every_n_epoch epochs (and val_every_n_steps steps), checkpoints
// checkpoints/last.pt (every validation, epoch end and 10 minutes) and checkpoints/best.pt
// (by the task's monitor). Resuming continues the same batches, lr and RNG streams (CPU and
// CUDA, of every rank).
absl::Status Fit(const TrainConfig& config, TrainingTask& task, DataLoader& train, DataLoader& val,
                 const TrainDevice& device, const FitOptions& options);

// Loads `ckpt_path` into the task's module and runs one validation; prints and returns metrics.
absl::StatusOr<std::map<std::string, double>> ValidateCheckpoint(TrainingTask& task, DataLoader& val,
                                                                 const TrainDevice& device,
                                                                 const std::string& ckpt_path);

}  // namespace mt
