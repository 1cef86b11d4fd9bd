#include "core/runtime/blas_core.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/runtime/cpu_features.h"

namespace mt {
namespace {

// OpenBLAS's kernels that use none of AVX2 / AVX-512 (its fallbacks for unknown CPU models).
bool IsGenericCore(std::string core) {
  std::transform(core.begin(), core.end(), core.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const char* generic : {"prescott", "core2", "katmai", "coppermine", "northwood", "banias", "atom", "nehalem",
                              "penryn", "dunnington", "barcelona", "unknown"})
    if (core == generic) return true;
  return false;
}

}  // namespace

std::string BlasCoreForCpuFlags() {
  if (CpuHasFlag("avx512f") && CpuHasFlag("avx512bw") && CpuHasFlag("avx512dq") && CpuHasFlag("avx512vl"))
    return "SkylakeX";
  if (CpuHasFlag("avx2") && CpuHasFlag("fma")) return "Haswell";
  return "";
}

std::string LoadedBlasCore() {
  // Looked up at run time: the binaries also link against other BLAS builds (reference BLAS).
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  const char* name = fn != nullptr ? fn() : nullptr;
  return name != nullptr ? name : "";
}

std::string BlasKernelsDescription() {
  const std::string loaded = LoadedBlasCore();
  if (loaded.empty()) return "BLAS is not OpenBLAS";
  std::string out = "OpenBLAS kernels " + loaded;
  if (const char* was = std::getenv("MT_BLAS_CORE_WAS"); was != nullptr)
    return out + " (from the CPU flags; OpenBLAS had chosen " + was + ")";
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced != nullptr)
    return out + " (OPENBLAS_CORETYPE=" + forced + ")";
  if (IsGenericCore(loaded) && !BlasCoreForCpuFlags().empty()) return out + " (generic: slow on this CPU)";
  return out;
}

void EnsureBlasKernelsForThisCpu(char** argv) {
  const std::string loaded = LoadedBlasCore(), wanted = BlasCoreForCpuFlags();
  if (loaded.empty() || wanted.empty() || !IsGenericCore(loaded) || std::getenv("OPENBLAS_CORETYPE") != nullptr ||
      std::getenv("MT_BLAS_CORE_CHECKED") != nullptr)
    return;
  // Silent: the restarted process says what happened (BlasKernelsDescription).
  setenv("OPENBLAS_CORETYPE", wanted.c_str(), 1);
  setenv("MT_BLAS_CORE_CHECKED", "1", 1);
  setenv("MT_BLAS_CORE_WAS", loaded.c_str(), 1);
  execv("/proc/self/exe", argv);
  unsetenv("MT_BLAS_CORE_WAS");  // exec failed: carry on with OpenBLAS's choice
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace mt
