#include "core/train/device.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "absl/strings/str_cat.h"

namespace mt {

absl::StatusOr<TrainDevice> SelectTrainDevice(const std::string& accelerator, const std::string& precision,
                                              std::vector<std::string>* warnings) {
  TrainDevice d;
  const bool has_cuda = at::hasCUDA();
  const bool want_cuda = accelerator == "cuda" || accelerator == "gpu" || (accelerator == "auto" && has_cuda);
  if (want_cuda && !has_cuda)
    return absl::FailedPreconditionError(absl::StrCat("trainer.accelerator=", accelerator,
                                                      " but this LibTorch build has no CUDA device"));
  d.device = want_cuda ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  const bool mixed = precision == "bf16-mixed" || precision == "bf16" || precision == "16-mixed" || precision == "16";
  if (mixed && !want_cuda) {
    warnings->push_back(absl::StrCat("precision ", precision, " on CPU: training in fp32 instead"));
  } else if (mixed) {
    if (precision == "16-mixed" || precision == "16")
      warnings->push_back("precision 16-mixed needs a gradient scaler LibTorch C++ lacks: using bf16-mixed");
    d.bf16_autocast = true;
  }
  d.description = absl::StrCat(want_cuda ? "cuda:0" : "cpu", d.bf16_autocast ? ", bf16 autocast" : ", fp32");
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
