#include "core/runtime/cpu_runtime.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/runtime/blas_core.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace mt {

std::string ConfigureCpuRuntime(const CpuRuntimeOptions& options) {
  int threads = options.threads;
  if (threads <= 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env != nullptr ? std::atoi(env) : 0;
  }
  // LibTorch 1.13 from Debian defaults to 1 intra-op thread on these VMs; use every core.
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);

  std::string allocator = "default allocator";
#if defined(__GLIBC__)
  if (options.keep_freed_memory) {
    // glibc serves blocks above its mmap threshold (max 32 MiB) with fresh mmap pages and
    // munmaps them on free, so every batch-64 activation (38 MiB for one qkv output) pays
    // ~9,000 page faults: a batch-64 encoder ran at 6.7 images/s instead of 32 (docs/RESULTS.md).
    // Serving from the heap and never trimming it reuses warm pages; RSS stays at the peak.
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 64 << 20);
    allocator = "glibc heap without mmap/trim";
  }
#endif
  return absl::StrCat("intra-op threads ", at::get_num_threads(), ", ", allocator, ", ", BlasKernelsDescription());
}

void ApplyIntraOpThreadsToThisThread() {
  thread_local int applied = 0;
  const int threads = at::get_num_threads();
  if (applied == threads) return;
  at::set_num_threads(threads);  // sets this thread's OpenMP count (and the unchanged global)
  applied = threads;
}

}  // namespace mt
