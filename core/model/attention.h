// Scaled dot-product attention with two interchangeable implementations.
#pragma once

#include <ATen/core/Tensor.h>

namespace mt {

// Which kernel computes softmax(Q Kᵀ / √d) V.
enum class AttentionKernel {
  kAuto,   // fused when FusedAttentionAvailable(), math otherwise
  kMath,   // explicit matmul → softmax → matmul (works on every LibTorch)
  kFused,  // LibTorch's scaled-dot-product-attention op
};

// True when this LibTorch provides a scaled-dot-product-attention op
// (public in 2.x, `_scaled_dot_product_attention` in 1.13).
bool FusedAttentionAvailable();

// q, k, v: (B, H, L, d) → (B, H, L, d). No mask, no dropout. kFused falls
// back to kMath when unavailable. Both kernels agree to float rounding.
at::Tensor ScaledDotProductAttention(const at::Tensor& q, const at::Tensor& k,
                                     const at::Tensor& v,
                                     AttentionKernel kernel = AttentionKernel::kAuto);

}  // namespace mt
