// Linear layers in int8 for inference: weights quantised once (per tensor, symmetric), activations
// quantised per call, through LibTorch's quantized engine (FBGEMM or oneDNN, whichever it has).
// Why: the MAE's linears are most of its arithmetic, and on CPUs with VNNI the int8 GEMMs run
// ~1.4x the model's fp32 rate (docs/RESULTS.md); the quality cost is measured there.
// Thread-safety: thread-safe (the packed weights are cached under a mutex); the layers' weights
// must not change while a scope is open anywhere (inference only).
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/modules/linear.h>

namespace mt {

// True if this LibTorch has a quantized engine with dynamic int8 linears (FBGEMM or oneDNN).
bool Int8LinearAvailable();
// True where activations are quantised to 7 bits (0..127) instead of 8: CPUs without VNNI, whose
// int8 kernels (vpmaddubsw) add pairs of u8·s8 products in saturating 16-bit lanes. 8-bit
// activations there overflow (255·127·2 > 32767): measured 16x the error bound on an AVX2 EPYC.
bool Int8ReducesActivationRange();
// RAII: while alive, ApplyLinear on this thread runs int8 (when available) or not, as `enabled`
// says; restores the previous setting on exit. ComputePrecisionScope(kInt8) opens one.
class Int8LinearScope {
 public:
  explicit Int8LinearScope(bool enabled);
  ~Int8LinearScope();
  Int8LinearScope(const Int8LinearScope&) = delete;
  Int8LinearScope& operator=(const Int8LinearScope&) = delete;

 private:
  bool previous_;
};

// linear(x) on (..., in) → (..., out): int8 where this thread enabled it and the input is CPU
// float, the module's own fp32 forward otherwise.
at::Tensor ApplyLinear(const torch::nn::Linear& linear, const at::Tensor& x);

}  // namespace mt
