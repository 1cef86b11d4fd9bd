// Process-wide CPU settings that decide LibTorch speed on small machines.
// Call once at the start of main(), before any tensor work. Not thread-safe.
#pragma once

#include <string>

namespace mt {

struct CpuRuntimeOptions {
  int threads = 0;              // intra-op threads; 0 = OMP_NUM_THREADS if set, else all cores
  bool keep_freed_memory = true;  // glibc: never mmap/munmap tensors, keep freed heap (see .cc)
};

// Applies the options; returns a one-line description for logs.
std::string ConfigureCpuRuntime(const CpuRuntimeOptions& options = {});

}  // namespace mt
