// In-process adaptive-patch reconstruction of model-size tiles: masker → patch
// selection → MAE encoder → MAE decoder → composite. The daemons and the local
// client path call this; it knows nothing about transport.
// Thread-safety: Reconstruct() runs eval-mode models under NoGradGuard and may be
// called concurrently; the models must not be trained meanwhile.
#pragma once

#include <ATen/core/Tensor.h>

#include "core/masking/patch_selector.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace mt {

enum class EncoderContext {
  kFullContext,  // encoder sees every patch (the seed's regime): kept features carry context
  kVisibleOnly,  // encoder sees only kept patches (MAE's native regime): receiver can re-encode pixels
};

struct TileReconstruction {
  at::Tensor probs;      // (L,) masker keep probabilities
  at::Tensor keep;       // (L,) bool, selected patches
  at::Tensor decoded;    // (3, H, W) decoder output, clamped to [0,1]
  at::Tensor composite;  // (3, H, W) kept pixels from the input, decoder output elsewhere
  int64_t kept = 0;      // number of kept patches
};

class TileReconstructor {
 public:
  // Checks the models agree on image and patch size (TORCH_CHECK: programmer error).
  TileReconstructor(MaskedAutoencoder mae, Masker masker);

  // tile (3, H, W) in [0,1] at the model's size → reconstruction under `selector`.
  TileReconstruction Reconstruct(const at::Tensor& tile, const PatchSelector& selector,
                                 EncoderContext context);

  const MaskedAutoencoderOptions& mae_options() const { return mae_->options(); }

 private:
  MaskedAutoencoder mae_;
  Masker masker_;
};

}  // namespace mt
