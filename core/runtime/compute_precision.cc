#include "core/runtime/compute_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "absl/strings/str_cat.h"

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

absl::StatusOr<ComputePrecision> ParseComputePrecision(std::string_view name) {
  if (name == "fp32") return ComputePrecision::kFloat32;
  if (name == "bf16") return ComputePrecision::kBFloat16;
  return absl::InvalidArgumentError(absl::StrCat("compute precision '", std::string(name), "': expected fp32 or bf16"));
}

std::string ComputePrecisionName(ComputePrecision precision) {
  return precision == ComputePrecision::kBFloat16 ? "bf16" : "fp32";
}

ComputePrecisionScope::ComputePrecisionScope(ComputePrecision precision)
    : active_(precision == ComputePrecision::kBFloat16) {
  if (!active_) return;
  was_enabled_ = CpuAutocastEnabled();
  SetCpuAutocast(true);
}

ComputePrecisionScope::~ComputePrecisionScope() {
  if (active_) SetCpuAutocast(was_enabled_);
}

}  // namespace mt
