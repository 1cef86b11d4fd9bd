#include "core/runtime/cpu_runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

namespace mt {
namespace {

// OpenMP's per-thread count, looked up at run time: LibTorch loads the OpenMP runtime, and this
// test need not be compiled with -fopenmp.
int OmpMaxThreads() {
  using Fn = int (*)();
  static const auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
  return fn != nullptr ? fn() : -1;
}

TEST(CpuRuntimeTest, WorkerThreadsGetTheConfiguredThreadCount) {
  if (OmpMaxThreads() < 0) GTEST_SKIP() << "no OpenMP runtime in this LibTorch";
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  int fresh = -1, applied = -1, again = -1;
  std::thread worker([&] {
    fresh = OmpMaxThreads();  // the OpenMP default (all cores / $OMP_NUM_THREADS), not 1
    ApplyIntraOpThreadsToThisThread();
    applied = OmpMaxThreads();
    ApplyIntraOpThreadsToThisThread();  // idempotent
    again = OmpMaxThreads();
  });
  worker.join();
  at::set_num_threads(before);
  EXPECT_GE(fresh, 1);
  EXPECT_EQ(applied, 1) << "a fresh thread's GEMMs would run on " << fresh << " threads";
  EXPECT_EQ(again, 1);
}

// A daemon's worker threads must allocate from the one brk heap, not from per-thread arenas
// (mmap'ed heaps that glibc shrinks and the worker then re-faults, request after request).
// Exits 0 when they do, 1 when the block came from an arena (mmap'ed far above the brk heap:
// 0x7f... against 0x55... on x86-64 Linux).
void ExitZeroIfWorkerAllocatesFromTheMainHeap() {
  ConfigureCpuRuntime({1, true});
  const auto heap_end = reinterpret_cast<uintptr_t>(sbrk(0));
  uintptr_t block = 0, heap_end_after = 0;
  std::thread worker([&] {
    void* p = std::malloc(1 << 20);
    block = reinterpret_cast<uintptr_t>(p);
    heap_end_after = reinterpret_cast<uintptr_t>(sbrk(0));
    std::free(p);
  });
  worker.join();
  std::exit(block != 0 && block < std::max(heap_end, heap_end_after) ? 0 : 1);
}

TEST(CpuRuntimeTest, WorkerThreadsAllocateFromTheMainHeap) {
  // "threadsafe" re-executes the test binary: a fresh process, where no earlier test's thread has
  // made an arena yet (M_ARENA_MAX limits new arenas; it cannot retire old ones).
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(ExitZeroIfWorkerAllocatesFromTheMainHeap(), testing::ExitedWithCode(0), "")
      << "a worker thread's block came from a per-thread arena";
}

// 1e-39 is below FLT_MIN (1.18e-38): a denormal. Flushed, DAZ reads it as 0 and FTZ writes 0.
float HalveDenormal() {
  volatile float tiny = 1e-39f;
  volatile float half = tiny * 0.5f;
  return half;
}

TEST(CpuRuntimeTest, DenormalsAreFlushedOnEveryThread) {
  unsetenv("MT_FLUSH_DENORMAL");
  ASSERT_GT(1e-39f * 0.5f, 0.0f);  // the compiler folds this one: IEEE says 5e-40
  const std::string description = ConfigureCpuRuntime({2, false});
  EXPECT_NE(description.find("denormals flushed"), std::string::npos) << description;
  EXPECT_EQ(HalveDenormal(), 0.0f);
  float on_thread = -1.0f;
  std::thread worker([&] { on_thread = HalveDenormal(); });
  worker.join();
  EXPECT_EQ(on_thread, 0.0f) << "a thread created after ConfigureCpuRuntime kept denormals";
}

// Halves 2^20 copies of a denormal in one ATen kernel, which splits them over the intra-op
// (OpenMP) workers: how many halves stayed nonzero (0: flushed on every thread that took part).
// The input is copied in as bits (at::full would convert 1e-39 on this thread, flushed to 0), and
// the output is read as bits (a float compare here would see denormals as 0 under DAZ).
int64_t DenormalHalvesKeptByTheKernel() {
  const std::vector<float> tiny(size_t{1} << 20, 1e-39f);
  const at::Tensor half = at::from_blob(const_cast<float*>(tiny.data()), {int64_t{1} << 20}, at::kFloat).mul(0.5f);
  const float* out = half.data_ptr<float>();
  int64_t kept = 0;
  for (int64_t i = 0; i < half.numel(); ++i) {
    uint32_t bits = 0;
    std::memcpy(&bits, out + i, sizeof bits);
    kept += (bits & 0x7fffffffu) != 0;
  }
  return kept;
}

TEST(CpuRuntimeTest, ConfiguringReachesTheOpenMpWorkersThatExistAlready) {
  if (OmpMaxThreads() < 0) GTEST_SKIP() << "no OpenMP runtime in this LibTorch";
  const int64_t n = int64_t{1} << 20;
  // Workers exist from here on; each configuration must then reach them, not only this thread.
  setenv("MT_FLUSH_DENORMAL", "0", 1);
  ConfigureCpuRuntime({2, false});
  unsetenv("MT_FLUSH_DENORMAL");
  ASSERT_EQ(at::get_num_threads(), 2);
  EXPECT_EQ(DenormalHalvesKeptByTheKernel(), n) << "a worker still flushes after MT_FLUSH_DENORMAL=0";
  ConfigureCpuRuntime({2, false});
  EXPECT_EQ(DenormalHalvesKeptByTheKernel(), 0) << "a worker that existed before still keeps denormals";
  EXPECT_EQ(HalveDenormal(), 0.0f);
}

TEST(CpuRuntimeTest, DenormalsKeptOnRequest) {
  setenv("MT_FLUSH_DENORMAL", "0", 1);
  const std::string description = ConfigureCpuRuntime({2, false});
  unsetenv("MT_FLUSH_DENORMAL");
  EXPECT_NE(description.find("denormals kept"), std::string::npos) << description;
  EXPECT_EQ(HalveDenormal(), 1e-39f * 0.5f);  // the folded IEEE result
  EXPECT_GT(HalveDenormal(), 0.0f);
  ConfigureCpuRuntime({2, false});  // leave the process as the other tests expect it
}

}  // namespace
}  // namespace mt
