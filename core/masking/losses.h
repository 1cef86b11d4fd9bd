// Masker training objective: composite MSE + sparsity + entropy (+ optional adjacency).
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

// Per image, Σ over the 8-neighbour pairs {i, j} of the patch grid (each unordered pair once)
// of p_i·p_j, divided by (Σ_i p_i)² + ε: the share of kept-pair mass that sits next to each
// other, invariant to scaling p (so it spreads the mask rather than shrinking it); batch mean.
// p (B, gh·gw) in [0,1]; a 1-wide grid has only the pairs along it. Why: the keep decisions are sampled independently in training, so the
// objective never sees that two kept neighbours say much the same thing; at a few patches per
// image a spread-out mask reconstructs better (the uniform grid beats a clustered masker).
at::Tensor AdjacencyLoss(const at::Tensor& p, int64_t grid_h, int64_t grid_w);

struct MaskerLossOptions {
  double lambda_mean = 0.2;      // weight of the sparsity term (seed: mean_reg)
  double lambda_entropy = 1e-6;  // weight of the entropy term (seed: entropy_reg)
  double entropy_eps = 1e-6;     // ε inside the logs
  double lambda_adjacent = 0.0;  // weight of AdjacencyLoss (not in the seed; 0 = off)
};

struct MaskerLossTerms {
  at::Tensor total, composite_mse, sparsity, entropy, adjacency;  // scalars
};

// composite uses `sample_mask` (what the decoder saw); the regularisers use `probs`.
MaskerLossTerms MaskerLoss(const at::Tensor& images, const at::Tensor& recon,
                           const at::Tensor& sample_mask, const at::Tensor& probs,
                           int64_t patch_size, const MaskerLossOptions& options = {});

}  // namespace mt
