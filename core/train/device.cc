#include "core/train/device.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "absl/strings/str_cat.h"

namespace mt {

absl::StatusOr<TrainDevice> SelectTrainDevice(const std::string& accelerator, const std::string& precision,
                                              std::vector<std::string>* warnings, int cuda_index) {
  if (precision == "16-mixed" || precision == "16")  // ParseTrainConfig refuses these first
    return absl::InvalidArgumentError(absl::StrCat("precision ", precision, " needs fp16 loss scaling, which is "
                                                   "not implemented; use bf16-mixed or 32-true"));
  TrainDevice d;
  const bool has_cuda = at::hasCUDA();
  const bool want_cuda = accelerator == "cuda" || accelerator == "gpu" || (accelerator == "auto" && has_cuda);
  if (want_cuda && !has_cuda)
    return absl::FailedPreconditionError(absl::StrCat("trainer.accelerator=", accelerator,
                                                      " but this LibTorch build has no CUDA device"));
  d.device = want_cuda ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(cuda_index)) : c10::Device(c10::kCPU);
  const bool mixed = precision == "bf16-mixed" || precision == "bf16";
  if (mixed && !want_cuda) {
    warnings->push_back(absl::StrCat("precision ", precision, " on CPU: training in fp32 instead"));
  } else if (mixed) {
    d.bf16_autocast = true;
  }
  d.description = absl::StrCat(want_cuda ? absl::StrCat("cuda:", cuda_index) : "cpu", d.bf16_autocast ? ", bf16 autocast" : ", fp32");
  return d;
}

AutocastScope::AutocastScope(bool on) : on_(on) {
  if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
#else
  at::autocast::set_enabled(true);
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
#endif
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
  at::autocast::clear_cache();
}

}  // namespace mt
