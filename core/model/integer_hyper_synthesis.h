// The hyperprior's synthesis (core/model/hyperprior: SubpixelUp → ReLU → SubpixelUp → ReLU →
// 3×3 conv) in exact fixed-point arithmetic (core/model/fixed_point_layer), so that sender and
// receiver derive bit-identical means and log-scales from the same side latents on any CPU,
// thread count or BLAS kernel: each layer is an im2col and a FixedPointLayer.
// The rounding moves means and log-scales by ~1e-3 of a step (measured by the tests), well below
// what changes a coding table; both sides use this network, never the float one.
// Thread-safety: immutable after From; Run is const and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

#include "core/model/fixed_point_layer.h"

namespace mt {

class HyperpriorImpl;

class IntegerHyperSynthesis {
 public:
  // The quantised copy of `hyper`'s synthesis (its current weights; deterministic: the same
  // weights give the same integers on any machine).
  static IntegerHyperSynthesis From(const HyperpriorImpl& hyper);

  // ẑ (B, Z, h, w), integer-valued, any dtype and device → {mean, log_scale}, each (B, C, 4h, 4w)
  // int64 on the CPU, fixed point with kHyperFracBits fractional bits (value = int / 2^10).
  std::pair<at::Tensor, at::Tensor> Run(const at::Tensor& z_hat) const;

 private:
  struct Layer {
    FixedPointLayer affine;  // a 3×3 convolution unrolled: (out, in·9)
    bool relu = false, shuffle = false;
  };
  std::vector<Layer> layers_;
  int64_t latent_channels_ = 0;
};

}  // namespace mt
