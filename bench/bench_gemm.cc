// GEMM throughput of this LibTorch + BLAS build (fp32, GFLOP/s).
// Usage: mt_bench_gemm [--seconds S] [--threads N] [--default_allocator]
// Compare BLAS variants with LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-{pthread,openmp}
// (scripts/bench_blas.sh does both).
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/runtime/blas_core.h"
#include "bench/bench_timer.h"
#include "core/runtime/cpu_runtime.h"

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::CpuRuntimeOptions runtime;
  double seconds = 2.0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_gemm [--seconds S] [--threads N] [--default_allocator]: fp32 matmul GFLOP/s for square and MAE-shaped GEMMs\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) runtime.threads = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--default_allocator")) runtime.keep_freed_memory = false;
  }
  struct Shape { const char* name; int64_t m, k, n; };
  // MAE-shaped: batch 64 × 257 tokens × width 192 through qkv (192→576) and fc1 (192→768).
  const Shape shapes[] = {{"square 512", 512, 512, 512},
                          {"square 1024", 1024, 1024, 1024},
                          {"square 2048", 2048, 2048, 2048},
                          {"MAE qkv 16448x192x576", 16448, 192, 576},
                          {"MAE fc1 16448x192x768", 16448, 192, 768},
                          {"MAE qkv batch1 257x192x576", 257, 192, 576}};
  std::printf("runtime: %s\n", mt::ConfigureCpuRuntime(runtime).c_str());
  std::printf("| GEMM (m x k x n) | ms | GFLOP/s |\n|---|---:|---:|\n");
  for (const Shape& s : shapes) {
    at::manual_seed(0);
    at::Tensor a = at::randn({s.m, s.k}), b = at::randn({s.k, s.n});
    const double t = mt::bench::MedianSeconds([&] { at::Tensor c = at::mm(a, b); }, seconds);
    std::printf("| %s | %.3f | %.1f |\n", s.name, t * 1e3, 2.0 * s.m * s.k * s.n / t / 1e9);
  }
  return 0;
}
