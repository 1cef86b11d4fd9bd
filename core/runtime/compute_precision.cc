#include "core/runtime/compute_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "absl/strings/str_cat.h"
#include "core/ops/int8_linear.h"

namespace mt {
namespace {

// LibTorch 2.4 replaced the per-device autocast setters with device-type arguments.
bool CpuAutocastEnabled() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  return at::autocast::is_autocast_enabled(at::kCPU);
#else
  return at::autocast::is_cpu_enabled();
#endif
}

void SetCpuAutocast(bool enabled) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, enabled);
#else
  at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  at::autocast::set_cpu_enabled(enabled);
#endif
}

}  // namespace

absl::StatusOr<ComputePrecision> ParseComputePrecision(std::string_view name, bool native_bf16) {
  if (name == "fp32") return ComputePrecision::kFloat32;
  if (name == "bf16") return ComputePrecision::kBFloat16;
  if (name == "int8") return ComputePrecision::kInt8;
  if (name == "auto") return native_bf16 ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32;
  return absl::InvalidArgumentError(
      absl::StrCat("compute precision '", std::string(name), "': expected fp32, bf16, int8 or auto"));
}

std::string ComputePrecisionWarning(ComputePrecision precision, bool native_bf16) {
  if (precision == ComputePrecision::kInt8) {
    if (!Int8LinearAvailable()) return "int8: this LibTorch has no quantized engine (FBGEMM or oneDNN); the models run fp32";
    if (!CpuHasFlag("avx512_vnni") && !CpuHasFlag("avx_vnni"))
      return "int8 on a CPU without VNNI (no avx512_vnni/avx_vnni in /proc/cpuinfo): its int8 GEMMs may be slower than fp32";
    return "";
  }
  if (precision != ComputePrecision::kBFloat16 || native_bf16) return "";
  return "bf16 on a CPU without native bf16 (no avx512_bf16/amx_bf16 in /proc/cpuinfo): its matmuls run ~30x "
         "slower than fp32 here (measured 5 vs 150 GFLOP/s on an AVX2 VM); use fp32 or auto";
}

std::string ComputePrecisionName(ComputePrecision precision) {
  switch (precision) {
    case ComputePrecision::kBFloat16:
      return "bf16";
    case ComputePrecision::kInt8:
      return "int8";
    case ComputePrecision::kFloat32:
      break;
  }
  return "fp32";
}

ComputePrecisionScope::ComputePrecisionScope(ComputePrecision precision)
    : active_(precision == ComputePrecision::kBFloat16) {
  if (precision == ComputePrecision::kInt8) int8_ = std::make_unique<Int8LinearScope>(true);
  if (!active_) return;
  was_enabled_ = CpuAutocastEnabled();
  SetCpuAutocast(true);
}

ComputePrecisionScope::~ComputePrecisionScope() {
  if (active_) SetCpuAutocast(was_enabled_);
}

}  // namespace mt
