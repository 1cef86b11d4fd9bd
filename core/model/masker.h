// Patch-importance networks ("maskers"): one logit per patch.
// Thread-safety: as for any torch module — not while training; concurrent
// eval-mode forward calls under torch::NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>
#include <string>

#include "core/model/vit.h"

namespace mt {

enum class MaskerKind { kTransformer, kCnn };

// "transformer" / "cnn".
std::string MaskerKindName(MaskerKind kind);

struct MaskerOptions {
  MaskerKind kind = MaskerKind::kTransformer;  // backbone
  int64_t img_size = 32;          // H = W; must match the MAE it scores for
  int64_t patch_size = 2;         // p; must match the MAE
  int64_t in_chans = 3;           // C
  int64_t embed_dim = 192;        // transformer width D
  int64_t depth = 2;              // transformer blocks
  int64_t num_heads = 4;          // transformer heads
  double mlp_ratio = 4.0;         // transformer MLP ratio; also the head's hidden ratio
  int64_t cnn_channels = 64;      // CNN: channels at pixel resolution (2× on the patch grid)
  int64_t cnn_grid_blocks = 2;    // CNN: residual 3×3 blocks on the patch grid
  double inhibition = 0.0;        // α of the lateral-inhibition output (0 = off, the seed's masker)
  AttentionKernel attention = AttentionKernel::kAuto;  // attention implementation

  int64_t grid_size() const { return img_size / patch_size; }
  int64_t num_patches() const { return grid_size() * grid_size(); }
};

// Common interface of the backbones: images (B, C, H, W) → logits (B, L).
class PatchScorer : public torch::nn::Module {
 public:
  virtual at::Tensor Score(const at::Tensor& images) = 0;
};

// Seed masker: conv patch embed, fixed sin-cos pos, blocks, LayerNorm, MLP head (D → D·r → 1).
class TransformerScorer : public PatchScorer {
 public:
  explicit TransformerScorer(const MaskerOptions& options);
  at::Tensor Score(const at::Tensor& images) override;

 private:
  PatchEmbed patch_embed_{nullptr};
  at::Tensor pos_embed_;
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Linear head_fc1_{nullptr}, head_fc2_{nullptr};
};

// CNN variant: two 3×3 convs at pixel resolution, a p×p stride-p conv onto the
// patch grid, residual 3×3 blocks there (context), then a 1×1 conv to one logit.
class CnnScorer : public PatchScorer {
 public:
  explicit CnnScorer(const MaskerOptions& options);
  at::Tensor Score(const at::Tensor& images) override;

 private:
  torch::nn::Conv2d stem1_{nullptr}, stem2_{nullptr}, to_grid_{nullptr}, head_{nullptr};
  torch::nn::ModuleList grid_blocks_{nullptr};
};

// Lateral inhibition on the patch grid: z'_i = z_i − α·Σ_{j ∈ 8-neighbours(i)} σ(z_j)·σ(z_j − z_i).
// A patch loses logit for every neighbour that is both likely kept and scored higher, so a
// cluster of high scores keeps its strongest members and drops the rest. Why: the backbone scores
// patches one by one in effect, its p > 0.5 masks cluster on detail, and at 5–6 of 64 patches a
// clustered mask reconstructs worse than an even grid (weights/README.md). Differentiable, no
// weights. logits (B, gh·gw) row-major → (B, gh·gw).
at::Tensor LateralInhibition(const at::Tensor& logits, int64_t grid_h, int64_t grid_w, double alpha);

class MaskerImpl : public torch::nn::Module {
 public:
  explicit MaskerImpl(const MaskerOptions& options = {});
  // images (B, C, H, W) in [0,1] → logits (B, L); P(keep patch) = sigmoid(logit). With
  // options.inhibition > 0 the backbone's logits pass through LateralInhibition.
  at::Tensor forward(const at::Tensor& images);

  const MaskerOptions& options() const { return options_; }

 private:
  MaskerOptions options_;
  std::shared_ptr<PatchScorer> net_;  // registered as "net"
};
TORCH_MODULE(Masker);

}  // namespace mt
