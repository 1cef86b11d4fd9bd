// The BLAS kernel check: which family the CPU's flags support, what OpenBLAS runs, and the log line.
#include "core/runtime/blas_core.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/runtime/cpu_features.h"

namespace mt {
namespace {

TEST(BlasCoreTest, FamilyFollowsTheCpuFlags) {
  const std::string family = BlasCoreForCpuFlags();
  if (CpuHasFlag("avx512f") && CpuHasFlag("avx512bw") && CpuHasFlag("avx512dq") && CpuHasFlag("avx512vl")) {
    EXPECT_EQ(family, "SkylakeX");
  } else if (CpuHasFlag("avx2") && CpuHasFlag("fma")) {
    EXPECT_EQ(family, "Haswell");
  } else {
    EXPECT_EQ(family, "");
  }
  EXPECT_FALSE(CpuHasFlag("no_such_cpu_flag"));
}

TEST(BlasCoreTest, TheBuildRunsOpenBlasAndTheLogLineSaysWhy) {
  // scripts/setup.sh installs OpenBLAS (the reference BLAS is ~30x slower): these builds use it.
  const std::string loaded = LoadedBlasCore();
  ASSERT_FALSE(loaded.empty());
  EXPECT_EQ(BlasKernelsDescription().rfind("OpenBLAS kernels " + loaded, 0), 0u) << BlasKernelsDescription();
  setenv("MT_BLAS_CORE_WAS", "Prescott", 1);
  EXPECT_NE(BlasKernelsDescription().find("OpenBLAS had chosen Prescott"), std::string::npos);
  unsetenv("MT_BLAS_CORE_WAS");
  // With the check disabled, Ensure returns (no restart) whatever OpenBLAS chose.
  setenv("MT_BLAS_CORE_CHECKED", "1", 1);
  char name[] = "mt_core_tests";
  char* argv[] = {name, nullptr};
  EnsureBlasKernelsForThisCpu(argv);
  unsetenv("MT_BLAS_CORE_CHECKED");
  SUCCEED();
}

}  // namespace
}  // namespace mt
