#include "core/runtime/cpu_runtime.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
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

// OpenMP's per-thread count from whichever OpenMP runtime LibTorch loaded (weak: no link
// dependency of our own, and the CUDA wheel's renamed libgomp serves it too; null without one).
extern "C" void omp_set_num_threads(int) __attribute__((weak));
// libgomp's entry for `#pragma omp parallel` (weak, as above): runs fn(data) once on each thread
// of a team of num_threads, the same pool LibTorch's kernels run on. at::parallel_for cannot
// reach that pool from here: it is a header template, and this project builds without -fopenmp.
extern "C" void GOMP_parallel(void (*fn)(void*), void* data, unsigned num_threads, unsigned flags)
    __attribute__((weak));

namespace mt {
namespace {

// Denormal floats (|x| < 1.2e-38) take a microcode path on x86 that costs ~100 cycles per
// operation. Real photos drive GDN/conv activations and their gradients there: the conv codec
// trained at 4.2 img/s with them and 16.1 img/s flushed, to the same losses (docs/RESULTS.md).
// FTZ/DAZ live in each thread's MXCSR; threads created later inherit the creator's, and the
// OpenMP workers that exist already are each set by one team of GOMP_parallel.
// MT_FLUSH_DENORMAL=0 keeps IEEE denormals (for comparisons), on every thread alike.
bool FlushDenormalsOnEveryThread(int threads) {
  const char* env = std::getenv("MT_FLUSH_DENORMAL");
  const bool flush = env == nullptr || std::string(env) != "0";
  if (!at::globalContext().setFlushDenormal(flush)) return false;  // kept, or a CPU without FTZ/DAZ
  if (GOMP_parallel != nullptr) {
    bool value = flush;
    GOMP_parallel([](void* v) { at::globalContext().setFlushDenormal(*static_cast<bool*>(v)); }, &value,
                  static_cast<unsigned>(threads), 0);
  }
  return flush;
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
    const char* one_arena = std::getenv("MT_ONE_ARENA");  // "0": glibc's per-thread arenas (diagnosis)
    if (one_arena == nullptr || std::string_view(one_arena) != "0") {
      mallopt(M_ARENA_MAX, 1);
      allocator = "glibc heap, one arena, without mmap/trim";
    } else {
      allocator = "glibc heap, per-thread arenas (MT_ONE_ARENA=0), without mmap/trim";
    }
  }
#endif
  return absl::StrCat("intra-op threads ", at::get_num_threads(), ", ", allocator, ", ",
                      flushing ? "denormals flushed" : "denormals kept", ", ", BlasKernelsDescription());
}

namespace {
thread_local const std::atomic<int>* this_thread_limit = nullptr;  // SetThisThreadIntraOpLimit
thread_local int this_thread_applied = 0;
thread_local int this_thread_process = 0;  // the process's count, read on this thread's first call
thread_local int64_t this_thread_slice_cap = 0;
}  // namespace

void ApplyIntraOpThreadsToThisThread() {
  // at::get_num_threads() is this thread's OpenMP count, which a limit changes: read the
  // process's once, before any limit applies.
  if (this_thread_process == 0 || this_thread_limit == nullptr) this_thread_process = at::get_num_threads();
  const int process = this_thread_process;
  const int limit = this_thread_limit != nullptr ? this_thread_limit->load(std::memory_order_relaxed) : 0;
  const int threads = limit > 0 ? std::min(limit, process) : process;
  if (this_thread_applied == threads) return;
  if (threads == process || omp_set_num_threads == nullptr) {
    at::set_num_threads(threads);  // this thread's OpenMP count (and the unchanged global)
  } else {
    omp_set_num_threads(threads);  // this thread's only: at::set_num_threads would also set the global
  }
  this_thread_applied = threads;
}

void SetThisThreadIntraOpLimit(const std::atomic<int>* limit) {
  ApplyIntraOpThreadsToThisThread();  // reads the process's count while no limit applies yet
  this_thread_limit = limit;
  ApplyIntraOpThreadsToThisThread();
}

void SetThisThreadSliceCap(int64_t rows) { this_thread_slice_cap = std::max<int64_t>(0, rows); }
int64_t ThisThreadSliceCap() { return this_thread_slice_cap; }

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
