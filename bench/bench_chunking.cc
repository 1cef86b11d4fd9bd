// Per-tile cost of the masker and the MAE encoder when a large photo's tiles go through one model
// call versus slices (core/ops/chunked.h), side by side in one process.
//   OMP_WAIT_POLICY=passive build/bench/mt_bench_chunking [TILES=11750] [SLICE=512]
// Random 32x32 tiles, the shipped weights, fp32, 2 intra-op threads.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <torch/torch.h>

#include "core/runtime/blas_core.h"
#include "core/config/model_paths.h"
#include "core/io/checkpoint.h"
#include "core/runtime/cpu_runtime.h"

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  const int64_t total = argc > 1 ? std::atoll(argv[1]) : 11750;
  const int64_t slice = argc > 2 ? std::atoll(argv[2]) : 512;
  mt::ConfigureCpuRuntime({2, true});
  auto masker = mt::LoadMasker(mt::kDefaultMaskerCheckpoint);
  auto mae = mt::LoadMae(mt::kDefaultMaeCheckpoint);
  if (!masker.ok() || !mae.ok()) {
    std::fprintf(stderr, "run from the repository root (%s, %s)\n", mt::kDefaultMaskerCheckpoint,
                 mt::kDefaultMaeCheckpoint);
    return 2;
  }
  (*masker)->eval();
  (*mae)->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor x = at::rand({total, 3, 32, 32});
  for (const int64_t chunk : std::vector<int64_t>{total, slice}) {
    auto per_tile_ms = [&](auto&& fn) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int64_t s = 0; s < total; s += chunk) fn(x.narrow(0, s, std::min(chunk, total - s)));
      return 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / total;
    };
    const double m = per_tile_ms([&](const at::Tensor& t) { return (*masker)->forward(t); });
    const double e = per_tile_ms([&](const at::Tensor& t) { return (*mae)->EncodeFull(t); });
    std::printf("tiles %lld, %lld per call: masker %.2f ms/tile, encoder %.2f ms/tile\n",
                static_cast<long long>(total), static_cast<long long>(chunk), m, e);
  }
  return 0;
}
