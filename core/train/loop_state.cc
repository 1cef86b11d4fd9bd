#include "core/train/loop_state.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>

#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/train/data_parallel.h"

namespace mt {
namespace {

std::string RankKey(const char* base, int rank) {
  return rank == 0 ? std::string(base) : absl::StrCat(base, "_rank", rank);
}

// The CUDA default generator of `device` (index -1: the current device). Reached through
// at::Context, so this compiles against a CPU-only LibTorch; only called for CUDA devices.
at::Generator CudaGenerator(const c10::Device& device) {
  return at::globalContext().defaultGenerator(device);
}

void SetState(at::Generator gen, const at::Tensor& state) {
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace

RngState CaptureRng(const c10::Device& device) {
  RngState s;
  s.cpu = at::detail::getDefaultCPUGenerator().get_state();
  if (device.is_cuda()) s.cuda = CudaGenerator(device).get_state();
  return s;
}

absl::StatusOr<std::vector<RngState>> GatherRng(DataParallelGroup* group, const c10::Device& device) {
  RngState mine = CaptureRng(device);
  if (group == nullptr) return std::vector<RngState>{mine};
  absl::StatusOr<std::vector<at::Tensor>> cpu = group->AllGather(mine.cpu);
  if (!cpu.ok()) return cpu.status();
  std::vector<RngState> all(cpu->size());
  for (size_t r = 0; r < all.size(); ++r) all[r].cpu = (*cpu)[r];
  if (mine.cuda.defined()) {
    absl::StatusOr<std::vector<at::Tensor>> cuda = group->AllGather(mine.cuda);
    if (!cuda.ok()) return cuda.status();
    for (size_t r = 0; r < all.size(); ++r) all[r].cuda = (*cuda)[r];
  }
  return all;
}

ArchiveWriter StateWriter(const LoopState& s, torch::optim::Optimizer& optimizer, const std::vector<RngState>& rngs) {
  return [&s, &optimizer, &rngs](torch::serialize::OutputArchive& a) {
    a.write("step", c10::IValue(s.step));
    a.write("epoch", c10::IValue(s.epoch));
    a.write("next_batch", c10::IValue(s.next_batch));
    a.write("best", c10::IValue(s.best));
    a.write("world_size", c10::IValue(static_cast<int64_t>(rngs.size())));
    for (size_t r = 0; r < rngs.size(); ++r) {
      a.write(RankKey("cpu_rng", static_cast<int>(r)), rngs[r].cpu, /*is_buffer=*/true);
      if (rngs[r].cuda.defined()) a.write(RankKey("cuda_rng", static_cast<int>(r)), rngs[r].cuda, true);
    }
    torch::serialize::OutputArchive opt(a.compilation_unit());
    optimizer.save(opt);
    a.write("optimizer", opt);
  };
}

ArchiveReader StateReader(LoopState* s, torch::optim::Optimizer& optimizer, int rank, int world_size,
                          const c10::Device& device) {
  return [s, &optimizer, rank, world_size, device](torch::serialize::InputArchive& a) -> absl::Status {
    c10::IValue step, epoch, next_batch, best, saved_world;
    if (!a.try_read("step", step) || !a.try_read("epoch", epoch) || !a.try_read("next_batch", next_batch) ||
        !a.try_read("best", best))
      return absl::DataLossError("trainer state is incomplete");
    const int64_t written_by = a.try_read("world_size", saved_world) ? saved_world.toInt() : 1;  // older files: 1
    if (written_by != world_size)
      return absl::FailedPreconditionError(absl::StrCat(
          "the checkpoint was written by a run of ", written_by, " process(es), this one has ", world_size,
          ": resume with the same trainer.devices × trainer.num_nodes (each rank's data shard depends on it)"));
    s->step = step.toInt();
    s->epoch = epoch.toInt();
    s->next_batch = next_batch.toInt();
    s->best = best.toDouble();
    at::Tensor rng;
    if (a.try_read(RankKey("cpu_rng", rank), rng, true)) SetState(at::detail::getDefaultCPUGenerator(), rng);
    if (device.is_cuda() && a.try_read(RankKey("cuda_rng", rank), rng, true)) SetState(CudaGenerator(device), rng);
    torch::serialize::InputArchive opt;
    if (!a.try_read("optimizer", opt)) return absl::DataLossError("trainer state has no optimizer");
    optimizer.load(opt);
    return absl::OkStatus();
  };
}

}  // namespace mt
