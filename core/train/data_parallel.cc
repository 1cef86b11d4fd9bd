#include "core/train/data_parallel.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/version.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"

#ifdef MT_HAVE_GLOO
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO  // the header is empty without it; LibTorch itself is built with Gloo
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef MT_HAVE_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

namespace mt {
namespace {

constexpr int64_t kBucketBytes = 32 << 20;  // big enough to amortise a ring pass, small enough to copy

std::chrono::milliseconds Millis(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

// The text of a c10d/Gloo exception without LibTorch's multi-line C++ backtrace.
std::string ErrorText(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

// Counts this rank in and waits until all world_size ranks have, or the rendezvous timeout.
// Why here: past this point the process group's own setup waits with the collective timeout.
absl::Status JoinAll(c10d::Store& store, const DataParallelOptions& o) {
  const std::string key = "mt/joined";
  const auto start = std::chrono::steady_clock::now();
  try {
    int64_t joined = store.add(key, 1);
    while (joined < o.world_size) {
      if (std::chrono::steady_clock::now() - start > Millis(o.rendezvous_timeout_s))
        return absl::UnavailableError(absl::StrCat(
            "data-parallel rendezvous at ", o.master_addr, ":", o.master_port, " failed for rank ", o.rank, " of ",
            o.world_size, ": only ", joined, " of ", o.world_size, " ranks joined within ", o.rendezvous_timeout_s,
            " s (were all ranks started, with the same MASTER_ADDR/MASTER_PORT and WORLD_SIZE?)"));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      joined = store.add(key, 0);
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("data-parallel rendezvous at ", o.master_addr, ":", o.master_port,
                                               " failed for rank ", o.rank, ": ", ErrorText(e)));
  }
  return absl::OkStatus();
}

}  // namespace

struct DataParallelGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::Device device = c10::Device(c10::kCPU);
  double timeout_s = 0;
#ifdef MT_HAVE_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef MT_HAVE_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif

  // Runs `op(backend)`, which starts collectives and returns their works, and waits for all of
  // them, turning exceptions into statuses.
  template <typename Op>
  absl::Status Run(const char* what, Op op) {
    try {
      std::vector<c10::intrusive_ptr<c10d::Work>> works;
#ifdef MT_HAVE_NCCL
      if (nccl) works = op(*nccl);
#endif
#ifdef MT_HAVE_GLOO
      if (works.empty()) works = op(*gloo);
#endif
      for (auto& w : works) w->wait();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("data-parallel ", what, " failed (a peer died, or it took over ",
                                                 timeout_s, " s): ", ErrorText(e)));
    }
  }

  // Where collectives need their tensors: NCCL only moves CUDA memory.
  at::Tensor Placed(const at::Tensor& t) const {
#ifdef MT_HAVE_NCCL
    if (nccl) return t.to(device);
#endif
    return t;
  }
};

DataParallelGroup::DataParallelGroup(std::unique_ptr<Impl> impl, int rank, int world_size, std::string backend)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size), backend_(std::move(backend)) {}

DataParallelGroup::~DataParallelGroup() = default;

absl::StatusOr<std::unique_ptr<DataParallelGroup>> DataParallelGroup::Connect(const DataParallelOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size)
    return absl::InvalidArgumentError(absl::StrCat("rank ", o.rank, " is outside the world of ", o.world_size));
  if (o.master_port <= 0 || o.master_port > 65535)
    return absl::InvalidArgumentError(absl::StrCat("MASTER_PORT ", o.master_port, " is not a TCP port"));
  auto impl = std::make_unique<Impl>();
  impl->device = o.device;
  impl->timeout_s = o.collective_timeout_s;
  const std::string where = absl::StrCat(o.master_addr, ":", o.master_port);
  try {
    c10d::TCPStoreOptions so;
    so.port = static_cast<uint16_t>(o.master_port);
    so.isServer = o.rank == 0;
    so.numWorkers = static_cast<size_t>(o.world_size);
    so.waitWorkers = false;  // the TCPStore's own wait gives up silently at the timeout: JoinAll checks
    so.timeout = Millis(o.rendezvous_timeout_s);
    impl->store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "data-parallel rendezvous at ", where, " failed for rank ", o.rank, " of ", o.world_size, " within ",
        o.rendezvous_timeout_s, " s (is rank 0 running, and MASTER_ADDR/MASTER_PORT right?): ", ErrorText(e)));
  }
  if (absl::Status s = JoinAll(*impl->store, o); !s.ok()) return s;
  std::string backend;
  try {
#ifdef MT_HAVE_NCCL
    if (o.device.is_cuda()) {
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = Millis(o.collective_timeout_s);
      impl->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(impl->store, o.rank, o.world_size, options);
      backend = "nccl";
    }
#endif
    if (backend.empty()) {
#ifdef MT_HAVE_GLOO
      auto options = c10d::ProcessGroupGloo::Options::create(Millis(o.collective_timeout_s));
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      // Loopback jobs stay on loopback: the hostname may not resolve inside containers.
      const bool local = o.master_addr == "127.0.0.1" || o.master_addr == "localhost";
      options->devices.push_back(ifname && *ifname ? c10d::ProcessGroupGloo::createDeviceForInterface(ifname)
                                 : local           ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                                   : c10d::ProcessGroupGloo::createDefaultDevice());
      options->threads = 2;
      impl->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(impl->store, o.rank, o.world_size, options);
      backend = "gloo";
#else
      return absl::UnimplementedError(
          "this build has no Gloo (install libgloo-dev and re-run cmake) for data-parallel training");
#endif
    }
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("data-parallel process group (rank ", o.rank, " of ", o.world_size,
                                               ", store ", where, ") failed: ", ErrorText(e)));
  }
  return std::unique_ptr<DataParallelGroup>(
      new DataParallelGroup(std::move(impl), o.rank, o.world_size, std::move(backend)));
}

absl::Status DataParallelGroup::AllReduceSum(std::vector<at::Tensor>& tensors) {
  // One collective per tensor (a list argument means copies of one tensor on several devices),
  // all in flight at once.
  return impl_->Run("all-reduce", [&](auto& pg) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      works.push_back(pg.allreduce(one));
    }
    return works;
  });
}

absl::Status DataParallelGroup::Broadcast(std::vector<at::Tensor>& tensors, int root) {
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  return impl_->Run("broadcast", [&](auto& pg) {
    std::vector<c10::intrusive_ptr<c10d::Work>> works;
    for (at::Tensor& t : tensors) {
      std::vector<at::Tensor> one = {t};
      works.push_back(pg.broadcast(one, opts));
    }
    return works;
  });
}

absl::StatusOr<std::vector<at::Tensor>> DataParallelGroup::AllGather(const at::Tensor& tensor) {
  std::vector<at::Tensor> input = {impl_->Placed(tensor.contiguous())};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < world_size_; ++r) output[0].push_back(at::empty_like(input[0]));
  absl::Status s = impl_->Run("all-gather", [&](auto& pg) {
    return std::vector<c10::intrusive_ptr<c10d::Work>>{pg.allgather(output, input)};
  });
  if (!s.ok()) return s;
  for (at::Tensor& t : output[0]) t = t.to(tensor.device());
  return output[0];
}

absl::Status DataParallelGroup::Barrier() {
  return impl_->Run("barrier", [&](auto& pg) { return std::vector<c10::intrusive_ptr<c10d::Work>>{pg.barrier()}; });
}

absl::Status AverageGradients(DataParallelGroup& group, torch::nn::Module& module, std::vector<float>* flags) {
  std::vector<at::Tensor> grads;
  for (at::Tensor& p : module.parameters()) {
    if (!p.requires_grad()) continue;
    // Every rank must send the same layout: an unused parameter contributes zeros.
    if (!p.grad().defined()) p.mutable_grad() = at::zeros_like(p);
    grads.push_back(p.grad());
  }
  const bool any = !grads.empty();
  const c10::TensorOptions float_options = any ? grads[0].options().dtype(at::kFloat) : c10::TensorOptions(at::kFloat);
  // Buckets of one dtype each; the flags ride at the end of the last float bucket (or alone).
  std::map<c10::ScalarType, std::vector<std::vector<at::Tensor>>> buckets;
  for (const at::Tensor& g : grads) {
    auto& list = buckets[g.scalar_type()];
    int64_t bytes = 0;
    if (!list.empty())
      for (const at::Tensor& t : list.back()) bytes += t.numel() * t.element_size();
    if (list.empty() || bytes + g.numel() * g.element_size() > kBucketBytes) list.emplace_back();
    list.back().push_back(g);
  }
  at::Tensor flag_tensor = at::tensor(*flags, at::kFloat).to(float_options.device());
  std::vector<at::Tensor> flat;
  std::vector<const std::vector<at::Tensor>*> members;
  for (auto& [dtype, list] : buckets)
    for (const auto& bucket : list) {
      std::vector<at::Tensor> views;
      for (const at::Tensor& g : bucket) views.push_back(g.reshape({-1}));
      flat.push_back(at::cat(views));
      members.push_back(&bucket);
    }
  if (!flags->empty()) flat.push_back(flag_tensor);
  if (absl::Status s = group.AllReduceSum(flat); !s.ok()) return s;
  const double inv_world = 1.0 / group.world_size();
  for (size_t b = 0; b < members.size(); ++b) {
    int64_t offset = 0;
    for (const at::Tensor& g : *members[b]) {
      g.view({-1}).copy_(flat[b].narrow(0, offset, g.numel())).mul_(inv_world);
      offset += g.numel();
    }
  }
  if (flags->empty()) return absl::OkStatus();
  at::Tensor summed = flat.back().cpu();
  for (size_t i = 0; i < flags->size(); ++i) (*flags)[i] = summed[static_cast<int64_t>(i)].item<float>();
  return absl::OkStatus();
}

absl::Status BroadcastModule(DataParallelGroup& group, torch::nn::Module& module) {
  std::vector<at::Tensor> tensors;
  for (const at::Tensor& p : module.parameters()) tensors.push_back(p.detach());
  for (const at::Tensor& b : module.buffers()) tensors.push_back(b.detach());
  return group.Broadcast(tensors, 0);
}

}  // namespace mt
