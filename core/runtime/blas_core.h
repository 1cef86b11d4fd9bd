// OpenBLAS picks its GEMM kernels from the CPU model it reads with cpuid when the library loads.
// VMs that hide the model ("Intel(R) Xeon(R) Processor") make it fall back to its generic
// "Prescott" (SSE3) kernels on CPUs with AVX-512: measured on this project's 2-core VM, the conv
// codec's training step took 0.9 s with Prescott kernels and ~0.5 s with OPENBLAS_CORETYPE=SkylakeX
// (docs/RESULTS.md, "OpenBLAS kernels"). The choice is made before main() runs, so the only fix from
// inside the program is to set OPENBLAS_CORETYPE from /proc/cpuinfo and re-execute itself.
// Thread-safety: call first thing in main(), before any thread exists.
#pragma once

#include <string>

namespace mt {

// The kernel family the CPU's flags support ("SkylakeX" for avx512f+bw+dq+vl, "Haswell" for
// avx2+fma, "" otherwise: nothing better than OpenBLAS's own choice).
std::string BlasCoreForCpuFlags();

// OpenBLAS's current kernel name (openblas_get_corename; "" when the BLAS is not OpenBLAS).
std::string LoadedBlasCore();

// When OpenBLAS runs generic kernels although the CPU's flags support a better family, and
// neither OPENBLAS_CORETYPE nor MT_BLAS_CORE_CHECKED is set: sets OPENBLAS_CORETYPE to that
// family and re-executes /proc/self/exe with argv (does not return). Otherwise returns at once.
// MT_BLAS_CORE_CHECKED=1 keeps OpenBLAS's own choice.
void EnsureBlasKernelsForThisCpu(char** argv);

// One line for logs: the kernels in use and why ("OpenBLAS kernels SkylakeX (from the CPU flags;
// OpenBLAS had chosen Prescott)").
std::string BlasKernelsDescription();

}  // namespace mt
