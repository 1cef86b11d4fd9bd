// Calibrates a hyperprior codec's predicted scales to example photos at full size, once, at
// `mt-train export`: for every latent channel, the shift of its log-scales (from a fixed grid,
// 0 included) that minimises the residuals' ideal bits over the photos' latents at every level,
// folded into the side synthesis's last bias (HyperpriorImpl::ShiftLogScales). With a
// checkerboard context the anchors and the non-anchors get their own shifts (the second folded
// into the context: CheckerboardContextImpl::ShiftLogScales).
// Why: a hyperprior trained on crops area-averaged down from whole photos predicts scales ~1.6–2×
// too wide for photos at full size (docs/RESULTS.md, "Hyperprior codec"), as the factorized
// codec's tables would be if they were not fitted to full-size latents at export.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/model/conv_codec.h"

namespace mt {

struct HyperScaleFitOptions {
  double min_shift = -2.0, max_shift = 1.0, shift_step = 0.05;  // the grid, in natural-log units
  int64_t max_side = 1024;  // larger photos: their centre max_side² (multiples of 64 either way)
};

struct HyperScaleFit {
  at::Tensor shift;                    // (C) double: what was added to each channel's log-scales
  at::Tensor context_shift;            // (C) double, with a context: the same for the non-anchors
  double bits_before = 0, bits_after = 0;  // residual bits over every photo and level
};

// images: (3, H, W) in [0,1], each at least 64×64. Fits and applies the shifts to codec->hyper.
// FAILED_PRECONDITION without a hyperprior or images; INVALID_ARGUMENT for an empty grid or one
// without 0.
// progress(images done, images) after each image when given.
absl::StatusOr<HyperScaleFit> FitHyperScales(ConvCodec& codec, const std::vector<at::Tensor>& images,
                                             const HyperScaleFitOptions& options = {},
                                             const std::function<void(size_t, size_t)>& progress = nullptr);

}  // namespace mt
