// Arithmetic precision of model inference: fp32, or bf16 matmuls through CPU autocast.
// Why bf16: on some CPUs with AVX-512 BF16 LibTorch's oneDNN runs bf16 GEMMs ~3.5x faster than
// fp32, on others slower (docs/RESULTS.md), so `auto` measures; autocast keeps norms, softmax and
// the rest in fp32.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "core/runtime/cpu_features.h"

namespace mt {

class Int8LinearScope;  // core/ops/int8_linear.h

enum class ComputePrecision {
  kFloat32,   // every op in fp32 (bit-exact with the Python reference)
  kBFloat16,  // matmuls/linears/convs in bf16 under CPU autocast, everything else fp32
  kInt8,      // the transformers' linear layers in int8 (core/ops/int8_linear), everything else fp32
};

// bf16 over fp32 throughput of a model-shaped GEMM (the encoder's fc1 on 16 tiles, 1040x128 ·
// 128x512) on this thread's intra-op threads, measured once per process (~0.1 s); 0 without
// native bf16 (avx512_bf16/amx_bf16), where bf16 runs ~30x slower and is not measured.
double Bf16GemmSpeedup();
// Why a threshold: autocast adds casts around every bf16 GEMM, so a GEMM barely faster in bf16
// loses end to end. Measured: one AVX-512 BF16 VM ran bf16 GEMMs at 0.66x fp32 and 12 MP photos
// 20-25 % slower in bf16 (docs/RESULTS.md, "`--compute auto` measures before it picks bf16").
inline constexpr double kBf16AutoMinSpeedup = 1.2;
// True when `auto` should pick bf16: Bf16GemmSpeedup() >= kBf16AutoMinSpeedup.
bool Bf16PaysOnThisCpu();

// "fp32" | "bf16" | "int8" | "auto" → precision, where auto is bf16 only when `bf16_pays()` (by
// default Bf16PaysOnThisCpu(), called for "auto" only) and fp32 otherwise (never int8: it costs
// quality). INVALID_ARGUMENT names the accepted values.
absl::StatusOr<ComputePrecision> ParseComputePrecision(std::string_view name,
                                                       bool (*bf16_pays)() = Bf16PaysOnThisCpu);
// Why `precision` will be slow or not what was asked on this machine ("" when neither): bf16
// without native bf16; int8 without VNNI (avx512_vnni/avx_vnni) or without a quantized engine.
std::string ComputePrecisionWarning(ComputePrecision precision, bool native_bf16 = CpuHasNativeBf16());
// kFloat32 → "fp32", kBFloat16 → "bf16", kInt8 → "int8".
std::string ComputePrecisionName(ComputePrecision precision);

// RAII: while alive, this thread runs model code at `precision` (CPU autocast is thread-local,
// so each worker thread opens its own scope). kFloat32 does nothing. Restores the previous
// state on exit. kInt8 switches this thread's ApplyLinear to int8 (Int8LinearScope). Not for
// training (the cast cache and the packed int8 weights are kept: weights must not change meanwhile).
class ComputePrecisionScope {
 public:
  explicit ComputePrecisionScope(ComputePrecision precision);
  ~ComputePrecisionScope();
  ComputePrecisionScope(const ComputePrecisionScope&) = delete;
  ComputePrecisionScope& operator=(const ComputePrecisionScope&) = delete;

 private:
  bool active_ = false;
  bool was_enabled_ = false;
  std::unique_ptr<Int8LinearScope> int8_;  // kInt8 only
};

}  // namespace mt
