// Process-wide CPU settings that decide LibTorch speed on small machines.
// Call once at the start of main(), before any tensor work. Not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace mt {

struct CpuRuntimeOptions {
  int threads = 0;              // intra-op threads; 0 = OMP_NUM_THREADS if set, else all cores
  bool keep_freed_memory = true;  // glibc: never mmap/munmap tensors, keep freed heap (see .cc)
};

// Applies the options and flushes denormal floats to zero on this thread, the OpenMP workers and
// threads created later (unless MT_FLUSH_DENORMAL=0); returns a one-line description for logs.
std::string ConfigureCpuRuntime(const CpuRuntimeOptions& options = {});

// Gives the calling thread the process's intra-op thread count. Why: OpenMP keeps the count
// per thread, a std::thread starts with the default (all cores), and OpenBLAS sizes every GEMM
// by the calling thread's count, so without this the GEMMs of a worker thread ignore
// ConfigureCpuRuntime (measured: a "1-thread" daemon's batch worker ran its GEMMs on 2 threads).
// Cheap after the first call on a thread; thread-safe.
void ApplyIntraOpThreadsToThisThread();

// From now on ApplyIntraOpThreadsToThisThread() gives the calling thread min(*limit, the
// process's count) whenever *limit > 0 at that call (0: the process's count), so another thread
// may change it; null removes the limit. `limit` must outlive the calling thread's use of it.
// Why: OpenBLAS (Debian's OpenMP build) runs one multi-threaded GEMM at a time per process and a
// second caller spins (sched_yield) until it is free, so a low-priority thread's threaded GEMMs
// stall everyone else's (priority inversion; DynamicBatcher's large lane, docs/RESULTS.md).
void SetThisThreadIntraOpLimit(const std::atomic<int>* limit);

// The calling thread's cap on model slice rows (ForwardInChunks; 0: none), so that a thread
// whose intra-op limit may change sees it often. Set once per thread, e.g. by the large lane.
void SetThisThreadSliceCap(int64_t rows);
int64_t ThisThreadSliceCap();

// Lowers the calling thread's CPU priority by `nice_increment` (Linux: nice is per thread, and
// threads it creates later — its OpenMP team — inherit it). False where that is not possible.
bool LowerThisThreadCpuPriority(int nice_increment);

}  // namespace mt
