// The hyperprior's synthesis (core/model/hyperprior: SubpixelUp → ReLU → SubpixelUp → ReLU →
// 3×3 conv) in exact fixed-point arithmetic, so that sender and receiver derive bit-identical
// means and log-scales from the same side latents on any CPU, thread count or BLAS kernel.
// How: every weight is rounded to an integer multiple of a power of two per layer (|w| < 2^13
// units), activations to multiples of 2^-kHyperFracBits (clamped to ±2^24 units), and each
// layer is an im2col + matrix product in fp64 over these integers. All products and partial sums
// are integers below 2^53, so fp64 holds them exactly and the result cannot depend on the order
// the BLAS sums them in; rescaling is a division by a power of two and a floor, also exact.
// The rounding moves means and log-scales by ~1e-3 of a step (measured by the tests), well below
// what changes a coding table; both sides use this network, never the float one.
// Thread-safety: immutable after From; Run is const and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

namespace mt {

class HyperpriorImpl;

// Fractional bits of the means and log-scales Run returns (and of the hidden activations).
inline constexpr int kHyperFracBits = 10;

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
    at::Tensor weight;  // (out, in·9) fp64, integers: w · 2^shift rounded
    at::Tensor bias;    // (out) fp64, integers at the layer's output fixed point
    int shift = 0;      // fractional bits of the weights
    bool relu = false, shuffle = false;
  };
  std::vector<Layer> layers_;
  int64_t latent_channels_ = 0;
};

}  // namespace mt
