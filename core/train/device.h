// Accelerator and precision selection for training.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mt {

struct TrainDevice {
  c10::Device device = c10::Device(c10::kCPU);
  bool bf16_autocast = false;   // CUDA only: matmuls in bf16 under autocast
  std::string description;      // for logs
};

// accelerator: auto (CUDA if LibTorch has it) | cpu | cuda | gpu; precision: 32, 32-true,
// bf16-mixed (16-mixed is INVALID_ARGUMENT: no fp16 loss scaling). The CPU fallback of mixed
// precision to fp32 adds a line to `warnings`; asking for CUDA without it is FAILED_PRECONDITION.
// `cuda_index` picks the GPU (a data-parallel rank's LOCAL_RANK).
absl::StatusOr<TrainDevice> SelectTrainDevice(const std::string& accelerator, const std::string& precision,
                                              std::vector<std::string>* warnings, int cuda_index = 0);

// RAII: enables bf16 autocast for the scope when `on` (CUDA), else does nothing.
class AutocastScope {
 public:
  explicit AutocastScope(bool on);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
};

}  // namespace mt
