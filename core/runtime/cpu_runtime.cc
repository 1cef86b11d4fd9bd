#include "core/runtime/cpu_runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/runtime/blas_core.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__linux__)
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace mt {
namespace {

// Denormal floats (|x| < 1.2e-38) take a microcode path on x86 that costs ~100 cycles per
// operation. Real photos drive GDN/conv activations and their gradients there: the conv codec
// trained at 4.2 img/s with them and 16.1 img/s flushed, to the same losses (docs/RESULTS.md).
// FTZ/DAZ live in each thread's MXCSR; threads created later inherit the creator's, and the
// OpenMP workers that exist already each run one chunk of the parallel_for below.
// MT_FLUSH_DENORMAL=0 keeps IEEE denormals (for comparisons).
bool FlushDenormalsOnEveryThread(int threads) {
  const char* env = std::getenv("MT_FLUSH_DENORMAL");
  if (env != nullptr && std::string(env) == "0") {
    at::globalContext().setFlushDenormal(false);
    return false;
  }
  if (!at::globalContext().setFlushDenormal(true)) return false;  // CPU without FTZ/DAZ
  at::parallel_for(0, threads, 1, [](int64_t, int64_t) { at::globalContext().setFlushDenormal(true); });
  return true;
}

}  // namespace

std::string ConfigureCpuRuntime(const CpuRuntimeOptions& options) {
  int threads = options.threads;
  if (threads <= 0) {
    const char* env = std::getenv("OMP_NUM_THREADS");
    threads = env != nullptr ? std::atoi(env) : 0;
  }
  // LibTorch 1.13 from Debian defaults to 1 intra-op thread on these VMs; use every core.
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(threads);
  const bool flushing = FlushDenormalsOnEveryThread(threads);

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
    // One arena: other threads' arenas are 64 MB mmap'ed heaps that glibc shrinks with
    // madvise as soon as their top is free, so a daemon's worker threads re-faulted every page of
    // every request (measured: 2.1 M minor faults per 12 MP request in the sender, 1.5 M in the
    // receiver, warm; 44 k and 37 k with one arena, and 11.6 → 9.8 s end to end). Tensors are few
    // and large, so one arena's lock costs nothing measurable.
    mallopt(M_ARENA_MAX, 1);
    allocator = "glibc heap, one arena, without mmap/trim";
  }
#endif
  return absl::StrCat("intra-op threads ", at::get_num_threads(), ", ", allocator, ", ",
                      flushing ? "denormals flushed" : "denormals kept", ", ", BlasKernelsDescription());
}

void ApplyIntraOpThreadsToThisThread() {
  thread_local int applied = 0;
  const int threads = at::get_num_threads();
  if (applied == threads) return;
  at::set_num_threads(threads);  // sets this thread's OpenMP count (and the unchanged global)
  applied = threads;
}

bool LowerThisThreadCpuPriority(int nice_increment) {
#if defined(__linux__)
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int now = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return false;
  return setpriority(PRIO_PROCESS, tid, std::min(19, now + nice_increment)) == 0;
#else
  (void)nice_increment;
  return false;
#endif
}

}  // namespace mt
