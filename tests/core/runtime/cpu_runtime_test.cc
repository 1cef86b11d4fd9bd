#include "core/runtime/cpu_runtime.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <thread>

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

}  // namespace
}  // namespace mt
