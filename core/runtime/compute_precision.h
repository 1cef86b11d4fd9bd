// Arithmetic precision of model inference: fp32, or bf16 matmuls through CPU autocast.
// Why bf16: on CPUs with AVX-512 BF16 LibTorch's oneDNN runs bf16 GEMMs ~3.5x faster than fp32
// (docs/RESULTS.md); autocast keeps norms, softmax and the rest in fp32.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/runtime/cpu_features.h"

namespace mt {

enum class ComputePrecision {
  kFloat32,   // every op in fp32 (bit-exact with the Python reference)
  kBFloat16,  // matmuls/linears/convs in bf16 under CPU autocast, everything else fp32
};

// "fp32" | "bf16" | "auto" → precision, where auto is bf16 only when `native_bf16` (the CPU runs
// bf16 GEMMs natively: avx512_bf16/amx_bf16; elsewhere they are ~30x slower than fp32) and fp32
// otherwise. INVALID_ARGUMENT names the accepted values for anything else.
absl::StatusOr<ComputePrecision> ParseComputePrecision(std::string_view name, bool native_bf16 = CpuHasNativeBf16());
// Why `precision` will be slow on this CPU ("" when it will not): bf16 without native bf16.
std::string ComputePrecisionWarning(ComputePrecision precision, bool native_bf16 = CpuHasNativeBf16());
// kFloat32 → "fp32", kBFloat16 → "bf16".
std::string ComputePrecisionName(ComputePrecision precision);

// RAII: while alive, this thread runs model code at `precision` (CPU autocast is thread-local,
// so each worker thread opens its own scope). kFloat32 does nothing. Restores the previous
// state on exit. Not for training (the cast cache is kept: weights must not change meanwhile).
class ComputePrecisionScope {
 public:
  explicit ComputePrecisionScope(ComputePrecision precision);
  ~ComputePrecisionScope();
  ComputePrecisionScope(const ComputePrecisionScope&) = delete;
  ComputePrecisionScope& operator=(const ComputePrecisionScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
};

}  // namespace mt
