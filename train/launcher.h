// How an mt-train process joins a data-parallel job (trainer.devices × trainer.num_nodes > 1):
//  - launched by torchrun (or any launcher setting WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR,
//    MASTER_PORT), each process is the rank the environment names;
//  - launched plainly, it starts ranks 0..devices-1 itself, as copies of its own command line
//    with that environment, and supervises them (as torchrun would; it does no tensor work).
//    With num_nodes > 1 run it once per node with NODE_RANK, MASTER_ADDR and MASTER_PORT set.
// Thread-safety: call from main's thread before any tensor work.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/config/train_config.h"

namespace mt::train_cli {

struct WorldSpec {
  int world_size = 1;
  int rank = 0;
  int local_rank = 0;                     // GPU index on CUDA
  std::string master_addr = "127.0.0.1";
  int master_port = 0;
  bool spawn_local_ranks = false;         // this process must start (and only supervise) the ranks
};

// The job this process belongs to, from the environment (see above) and the config.
// INVALID_ARGUMENT when they disagree (e.g. WORLD_SIZE != devices × num_nodes) or a
// multi-node launch lacks NODE_RANK/MASTER_ADDR.
absl::StatusOr<WorldSpec> ResolveWorld(const TrainerConfig& trainer);

// Runs this node's ranks (world.rank + 0..devices-1) as child processes re-running `argv` with
// the torchrun environment (and OMP_WAIT_POLICY=passive unless set: ranks sharing cores must
// not spin), waits for them and returns the job's exit status: 0, or the first failing rank's
// (the others are then sent SIGTERM). Children get SIGTERM too if this process dies.
int RunLocalRanks(const WorldSpec& world, int devices, const std::vector<std::string>& argv);

}  // namespace mt::train_cli
