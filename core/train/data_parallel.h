// Data-parallel training across processes (Lightning's strategy: ddp) on LibTorch's c10d:
// rendezvous through a TCPStore, then Gloo (CPU tensors) or NCCL (CUDA tensors, when LibTorch
// and this build have it) collectives. The c10d headers stay in the .cc: they are heavy.
// Thread-safety: a DataParallelGroup is used from the training thread only; every collective
// must be called by all ranks in the same order (as with torch.distributed).
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace torch::nn {
class Module;
}

namespace mt {

struct DataParallelOptions {
  int rank = 0;                         // this process, in [0, world_size)
  int world_size = 1;                   // processes in the job (devices × num_nodes)
  std::string master_addr = "127.0.0.1";  // host of rank 0's TCPStore
  int master_port = 29500;
  double rendezvous_timeout_s = 300;    // connecting to the store and waiting for every rank
  double collective_timeout_s = 1800;   // one collective (ranks wait there while rank 0 validates)
  c10::Device device = c10::Device(c10::kCPU);  // where gradients live: CUDA uses NCCL if built in
};

class DataParallelGroup {
 public:
  // Joins the job: rank 0 serves the TCPStore at master_addr:master_port, the others connect.
  // UNAVAILABLE (naming the address, rank and timeout) if the world is not complete within
  // rendezvous_timeout_s; UNIMPLEMENTED if this build has no Gloo (libgloo-dev) for CPU tensors.
  static absl::StatusOr<std::unique_ptr<DataParallelGroup>> Connect(const DataParallelOptions& options);
  ~DataParallelGroup();
  DataParallelGroup(const DataParallelGroup&) = delete;
  DataParallelGroup& operator=(const DataParallelGroup&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }  // "gloo" | "nccl"

  // Sums each tensor over all ranks, in place (tensors on options.device). Failures of a peer or
  // a timeout are UNAVAILABLE / DEADLINE_EXCEEDED-style statuses, never a hang past the timeout.
  absl::Status AllReduceSum(std::vector<at::Tensor>& tensors);
  // Overwrites each tensor with rank `root`'s copy, in place.
  absl::Status Broadcast(std::vector<at::Tensor>& tensors, int root = 0);
  // Every rank's copy of `tensor` (same shape and dtype on all ranks), indexed by rank, on the
  // device `tensor` was on.
  absl::StatusOr<std::vector<at::Tensor>> AllGather(const at::Tensor& tensor);
  // Returns once every rank has called it.
  absl::Status Barrier();

 private:
  struct Impl;
  DataParallelGroup(std::unique_ptr<Impl> impl, int rank, int world_size, std::string backend);
  std::unique_ptr<Impl> impl_;
  int rank_, world_size_;
  std::string backend_;
};

// Sums the gradients of `module`'s trainable parameters over all ranks and divides them by the
// world size (flat buckets of at most ~32 MB); parameters without a gradient count as zero. It
// also sums `flags` (control values riding along with the gradients; none are divided).
absl::Status AverageGradients(DataParallelGroup& group, torch::nn::Module& module, std::vector<float>* flags);

// Copies rank 0's parameters and buffers of `module` to every rank.
absl::Status BroadcastModule(DataParallelGroup& group, torch::nn::Module& module);

}  // namespace mt
