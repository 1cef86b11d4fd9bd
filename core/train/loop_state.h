// What the fit loop stores in a checkpoint beside the weights so that a resumed run continues
// exactly: counters, the optimizer, and every rank's random-number generators.
// Thread-safety: functions touch the process-wide default generators; call them from the
// training thread.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <torch/optim/optimizer.h>

#include <cmath>
#include <vector>

#include "absl/status/statusor.h"
#include "core/io/checkpoint.h"

namespace mt {

class DataParallelGroup;

// Where the loop stands.
struct LoopState {
  int64_t step = 0;            // optimizer steps taken
  int64_t epoch = 0;           // current epoch
  int64_t next_batch = 0;      // first (per-rank) micro-batch of `epoch` not yet consumed
  double best = std::nan("");  // best monitored value so far
};

// One rank's generator states: the CPU's, and the CUDA device's when training there.
struct RngState {
  at::Tensor cpu;
  at::Tensor cuda;  // undefined unless the device is CUDA
};

// This process's generator states (CUDA's only when `device` is CUDA).
RngState CaptureRng(const c10::Device& device);

// Every rank's states, indexed by rank (collective when `group` is non-null; else just ours).
absl::StatusOr<std::vector<RngState>> GatherRng(DataParallelGroup* group, const c10::Device& device);

// Writes `state`, the optimizer, the world size and rngs[r] of each rank r (rank 0's under the
// keys "cpu_rng"/"cuda_rng", the others' with a "_rank<r>" suffix).
ArchiveWriter StateWriter(const LoopState& state, torch::optim::Optimizer& optimizer,
                          const std::vector<RngState>& rngs);

// Reads what StateWriter wrote into `state` and `optimizer` and restores rank `rank`'s generators
// on `device`. DATA_LOSS for an incomplete state; FAILED_PRECONDITION if the checkpoint was
// written by a run of another world size (its per-rank data order would not continue).
ArchiveReader StateReader(LoopState* state, torch::optim::Optimizer& optimizer, int rank, int world_size,
                          const c10::Device& device);

}  // namespace mt
