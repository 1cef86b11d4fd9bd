// Masker training objective: composite MSE + sparsity + entropy.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace mt {

// What the receiver would see: clamp(M·x + (1−M)·x̂, 0, 1) with M the per-patch mask
// upsampled nearest-neighbour. images, recon (B, C, H, W); mask (B, L) in [0,1].
at::Tensor CompositeImage(const at::Tensor& images, const at::Tensor& recon,
                          const at::Tensor& mask, int64_t patch_size);

// mean((x − composite)²) over B·C·H·W.
at::Tensor CompositeMse(const at::Tensor& images, const at::Tensor& recon,
                        const at::Tensor& mask, int64_t patch_size);

// (mean m)², m (B, L).
at::Tensor SparsityLoss(const at::Tensor& m);

// mean over (B, L) of −m·log(m+ε) − (1−m)·log(1−m+ε).
at::Tensor BinaryEntropyLoss(const at::Tensor& m, double eps = 1e-6);

struct MaskerLossOptions {
  double lambda_mean = 0.2;      // weight of the sparsity term (seed: mean_reg)
  double lambda_entropy = 1e-6;  // weight of the entropy term (seed: entropy_reg)
  double entropy_eps = 1e-6;     // ε inside the logs
};

struct MaskerLossTerms {
  at::Tensor total, composite_mse, sparsity, entropy;  // scalars
};

// composite uses `sample_mask` (what the decoder saw); the regularisers use `probs`.
MaskerLossTerms MaskerLoss(const at::Tensor& images, const at::Tensor& recon,
                           const at::Tensor& sample_mask, const at::Tensor& probs,
                           int64_t patch_size, const MaskerLossOptions& options = {});

}  // namespace mt
