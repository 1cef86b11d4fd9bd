// One layer (a convolution unrolled to a matrix, or a 1×1) in exact fixed-point arithmetic, the
// building block of the networks that pick coding tables (core/model/integer_hyper_synthesis,
// core/model/integer_checkerboard_context): sender and receiver must derive bit-identical
// integers from them on any CPU, thread count or BLAS kernel.
// How: weights are rounded to integer multiples of a power of two (|w| < 2^13 units), inputs are
// integers (fixed point with known fractional bits, |x| <= 2^24 units), and the product runs in
// fp64, where every product and partial sum of up to ~2^15 terms stays an integer below 2^53 and
// is therefore exact whatever order the BLAS sums in; rescaling to kHyperFracBits is a
// multiplication by a power of two and a floor, also exact.
// Thread-safety: immutable after From; Apply is const and may be called concurrently.
#pragma once

#include <ATen/core/Tensor.h>

namespace mt {

// Fractional bits of every fixed-point activation these networks pass on (value = int / 2^10).
inline constexpr int kHyperFracBits = 10;
// The largest |activation| in fixed-point units.
inline constexpr double kFixedPointLimit = 16777216.0;  // 2^24

struct FixedPointLayer {
  at::Tensor weight;  // (out, in) fp64 integers: w · 2^shift rounded
  at::Tensor bias;    // (out) fp64 integers at 2^(shift + input_bits); undefined: no bias
  int shift = 0;      // fractional bits of the weights
  int input_bits = 0; // fractional bits of the inputs Apply takes

  // weight (out, ...) any trailing shape (flattened in memory order), bias (out) or undefined;
  // inputs will carry `input_bits` fractional bits. Deterministic: the same weights give the same
  // integers on any machine.
  static FixedPointLayer From(const at::Tensor& weight, const at::Tensor& bias, int input_bits);

  // cols (B, in, L) fp64 integers at input_bits → (B, out, L) fp64 integers at kHyperFracBits,
  // rounded half up and clamped to [relu ? 0 : −kFixedPointLimit, kFixedPointLimit].
  at::Tensor Apply(const at::Tensor& cols, bool relu) const;
};

// x as fp64 integers: rounded (half away from zero) and clamped to ±kFixedPointLimit.
at::Tensor ToFixedPointInput(const at::Tensor& x);

}  // namespace mt
