#include "core/pipeline/hyper_scale_fit.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <tuple>

namespace mt {
namespace {

// The photo cut to a multiple of 64 pixels (the side grid's cell) and at most max_side, centred.
at::Tensor Centre(const at::Tensor& image, int64_t max_side) {
  const int64_t h = std::min(image.size(1), max_side) / 64 * 64, w = std::min(image.size(2), max_side) / 64 * 64;
  return image.narrow(1, (image.size(1) - h) / 2, h).narrow(2, (image.size(2) - w) / 2, w);
}

}  // namespace

absl::StatusOr<HyperScaleFit> FitHyperScales(ConvCodec& codec, const std::vector<at::Tensor>& images,
                                             const HyperScaleFitOptions& options,
                                             const std::function<void(size_t, size_t)>& progress) {
  if (!codec->hyper) return absl::FailedPreconditionError("the codec has no hyperprior to calibrate");
  if (images.empty()) return absl::FailedPreconditionError("no photos to calibrate the hyperprior's scales on");
  if (!(options.shift_step > 0) || options.max_shift < options.min_shift)
    return absl::InvalidArgumentError("the shift grid is empty (shift_step <= 0 or max_shift < min_shift)");
  std::vector<double> shifts;
  for (double s = options.min_shift; s <= options.max_shift + 1e-9; s += options.shift_step)
    shifts.push_back(std::fabs(s) < 1e-9 ? 0.0 : s);
  const int64_t zero = std::find(shifts.begin(), shifts.end(), 0.0) - shifts.begin();
  if (zero == static_cast<int64_t>(shifts.size()))
    return absl::InvalidArgumentError("the shift grid must contain 0 (the model as trained)");
  torch::NoGradGuard no_grad;
  codec->eval();
  const int64_t c = codec->options().latent_channels, levels = codec->options().levels;
  // Shifts are fitted per group: every position, or with a checkerboard context the anchors
  // (under the hyperprior's scales) apart from the non-anchors (under the context's).
  const int64_t groups = codec->context ? 2 : 1;
  at::Tensor bits = at::zeros({static_cast<int64_t>(shifts.size()), groups, c}, at::kDouble);
  const at::Tensor steps = codec->Steps().detach();
  for (size_t i = 0; i < images.size(); ++i) {
    const at::Tensor image = Centre(images[i], options.max_side);
    if (image.size(1) < 64 || image.size(2) < 64) continue;
    const at::Tensor y = codec->Analyze(image.unsqueeze(0));
    const at::Tensor anchors = CheckerboardAnchors(y.size(2), y.size(3), y);
    for (int64_t level = 0; level < levels; ++level) {
      const at::Tensor u = y / steps[level].view({1, -1, 1, 1});
      auto [mean, log_scale] = codec->hyper->Synthesize(at::round(codec->hyper->Analyze(u)));
      if (codec->context) std::tie(mean, log_scale) = codec->context->forward(at::round(u - mean), mean, log_scale);
      const at::Tensor r = at::round(u - mean);
      for (size_t k = 0; k < shifts.size(); ++k) {
        const at::Tensor map = codec->hyper->ResidualBitsMap(r, log_scale + shifts[k]);
        for (int64_t g = 0; g < groups; ++g)
          bits[static_cast<int64_t>(k)][g] +=
              (groups == 1 ? map : map * (g == 0 ? anchors : 1 - anchors)).sum({0, 2, 3}).to(at::kDouble);
      }
    }
    if (progress) progress(i + 1, images.size());
  }
  // Per group and channel the grid's minimum; a shift replaces 0 only when it saves more than a
  // relative 1e-9 (flat stretches, e.g. scales all under the floor, keep the model as trained).
  const at::Tensor b = bits.contiguous();
  HyperScaleFit fit;
  std::vector<at::Tensor> chosen;
  for (int64_t g = 0; g < groups; ++g) {
    std::vector<double> group(static_cast<size_t>(c), 0.0);
    for (int64_t ch = 0; ch < c; ++ch) {
      int64_t best = zero;
      for (int64_t k = 0; k < static_cast<int64_t>(shifts.size()); ++k)
        if (b[k][g][ch].item<double>() < b[best][g][ch].item<double>() * (1.0 - 1e-9)) best = k;
      group[static_cast<size_t>(ch)] = shifts[static_cast<size_t>(best)];
      fit.bits_before += b[zero][g][ch].item<double>();
      fit.bits_after += b[best][g][ch].item<double>();
    }
    chosen.push_back(at::tensor(group, at::kDouble));
  }
  fit.shift = chosen[0];
  codec->hyper->ShiftLogScales(fit.shift);
  if (codec->context) {
    fit.context_shift = chosen[1];
    codec->context->ShiftLogScales(fit.shift, fit.context_shift);
  }
  return fit;
}

}  // namespace mt
