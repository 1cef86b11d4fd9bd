// What the CPU can do natively, read from /proc/cpuinfo (Linux), for defaults that must not
// assume a feature (bf16 matmuls run ~30x slower where the CPU has no native bf16).
// Thread-safety: thread-safe (the answer is computed once).
#pragma once

#include <string>

namespace mt {

// True if the first "flags" line of /proc/cpuinfo lists `flag` (false where the file is missing).
bool CpuHasFlag(const std::string& flag);

// True if the CPU flags list avx512_bf16 or amx_bf16 (oneDNN then runs bf16 GEMMs natively).
bool CpuHasNativeBf16();

// True if the CPU flags list avx512_vnni or avx_vnni: int8 dot products accumulate in 32 bits.
// Without VNNI, x86 int8 GEMM kernels add u8·s8 products in pairs that saturate at 16 bits.
bool CpuHasVnni();

// The flags that matter for speed results (avx2, avx512f, avx512_bf16, avx512_vnni, avx_vnni, amx_bf16,
// amx_int8), space-separated.
std::string CpuSpeedFlags();

}  // namespace mt
