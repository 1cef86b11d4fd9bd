#include "core/model/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <cmath>

namespace mt {

bool FusedAttentionAvailable() {
#if TORCH_VERSION_MAJOR >= 2 || (TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR >= 13)
  return true;
#else
  return false;
#endif
}

namespace {

at::Tensor MathAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) * scale;
  return at::matmul(at::softmax(scores, -1), v);
}

at::Tensor FusedAttention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v);
#elif TORCH_VERSION_MAJOR == 1 && TORCH_VERSION_MINOR >= 13
  // 1.13 ships the op under a private name and returns (output, weights).
  return std::get<0>(at::_scaled_dot_product_attention(q, k, v));
#else
  return MathAttention(q, k, v);
#endif
}

}  // namespace

at::Tensor ScaledDotProductAttention(const at::Tensor& q, const at::Tensor& k,
                                     const at::Tensor& v, AttentionKernel kernel) {
  TORCH_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4,
              "attention expects (B, H, L, d) tensors");
  switch (kernel) {
    case AttentionKernel::kMath:
      return MathAttention(q, k, v);
    case AttentionKernel::kFused:
    case AttentionKernel::kAuto:
      return FusedAttentionAvailable() ? FusedAttention(q, k, v) : MathAttention(q, k, v);
  }
  return MathAttention(q, k, v);
}

}  // namespace mt
