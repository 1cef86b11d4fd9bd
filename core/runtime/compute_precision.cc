#include "core/runtime/compute_precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>

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

double Bf16GemmSpeedup() {
  static const double speedup = [] {
    if (!CpuHasNativeBf16()) return 0.0;
    const at::Tensor a = at::rand({1040, 128}), b = at::rand({128, 512});
    const at::Tensor a16 = a.to(at::kBFloat16), b16 = b.to(at::kBFloat16);
    // Best of 3 rounds of 10 products each, after one warm-up round (oneDNN builds its kernels then).
    auto best_ms = [](const at::Tensor& x, const at::Tensor& y) {
      double best = 1e30;
      for (int round = 0; round < 4; ++round) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 10; ++i) at::mm(x, y);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (round > 0) best = std::min(best, ms);
      }
      return best;
    };
    const double fp32_ms = best_ms(a, b), bf16_ms = best_ms(a16, b16);
    return bf16_ms > 0 ? fp32_ms / bf16_ms : 0.0;
  }();
  return speedup;
}

bool Bf16PaysOnThisCpu() { return Bf16GemmSpeedup() >= kBf16AutoMinSpeedup; }

absl::StatusOr<ComputePrecision> ParseComputePrecision(std::string_view name, bool (*bf16_pays)()) {
  if (name == "fp32") return ComputePrecision::kFloat32;
  if (name == "bf16") return ComputePrecision::kBFloat16;
  if (name == "int8") return ComputePrecision::kInt8;
  if (name == "auto") return bf16_pays() ? ComputePrecision::kBFloat16 : ComputePrecision::kFloat32;
  return absl::InvalidArgumentError(
      absl::StrCat("compute precision '", std::string(name), "': expected fp32, bf16, int8 or auto"));
}

std::string ComputePrecisionWarning(ComputePrecision precision, bool native_bf16) {
  if (precision == ComputePrecision::kInt8) {
    if (!Int8LinearAvailable()) return "int8: this LibTorch has no quantized engine (FBGEMM or oneDNN); the models run fp32";
    if (!CpuHasVnni())
      return "int8 on a CPU without VNNI (no avx512_vnni/avx_vnni in /proc/cpuinfo): activations are quantised to 7 bits "
             "so its 16-bit int8 kernels cannot saturate (more error than with VNNI), and its int8 GEMMs may be slower "
             "than fp32";
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
