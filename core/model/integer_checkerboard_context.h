// The checkerboard context (core/model/checkerboard_context) in exact fixed-point arithmetic
// (core/model/fixed_point_layer), so that sender and receiver refine the non-anchors' means and
// log-scales to bit-identical integers on any CPU, thread count or BLAS kernel.
// It computes the non-anchor positions only, and of the 5×5 context kernel only the 12 taps at
// odd offsets, the ones that land on anchors: half the positions and under half the taps of the
// float network, with the same result up to the fixed point's rounding (~1e-3 of a step).
// Thread-safety: immutable after From; Run is const and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <utility>

#include "core/model/fixed_point_layer.h"

namespace mt {

class CheckerboardContextImpl;

class IntegerCheckerboardContext {
 public:
  // The quantised copy of `context`'s current weights (deterministic on any machine).
  static IntegerCheckerboardContext From(const CheckerboardContextImpl& context);

  // anchor_residual (B, C, h, w) integer-valued, any dtype (only the anchors' values are read);
  // mean, log_scale (B, C, h, w) int64 fixed point (kHyperFracBits), the hyperprior's.
  // → {mean, log_scale} (B, C, h, w) int64 on the CPU: the anchors' unchanged, the non-anchors'
  // refined.
  std::pair<at::Tensor, at::Tensor> Run(const at::Tensor& anchor_residual, const at::Tensor& mean,
                                        const at::Tensor& log_scale) const;

  int64_t channels() const { return channels_; }

 private:
  FixedPointLayer context_;  // (H, C·12): the odd-offset taps, channel-major
  FixedPointLayer prior_;    // (H, 2C)
  FixedPointLayer out_;      // (2C, H)
  int64_t channels_ = 0;
};

}  // namespace mt
