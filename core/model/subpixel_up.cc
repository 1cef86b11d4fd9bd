#include "core/model/subpixel_up.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>

#include <cmath>

namespace mt {
namespace {

// Tap of the 5-tap transposed kernel that output phase r reads at 3×3 position t (t = input
// offset + 1); 5 = no tap (the padded zero). From o = 2i − 2 + k with o = 2m + r, i = m + t − 1.
constexpr int64_t kTapOf[2][3] = {{4, 2, 0}, {5, 3, 1}};

}  // namespace

SubpixelUpImpl::SubpixelUpImpl(const SubpixelUpOptions& options) : options_(options) {
  weight = register_parameter("weight", at::empty({options.in_channels, options.out_channels, 5, 5}));
  bias = register_parameter("bias", at::empty({options.out_channels}));
  // ConvTranspose2d's reset_parameters, in the same order (same tensors for the same seed).
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  const double fan_in = static_cast<double>(options.out_channels) * 25.0;  // torch's fan_in of this layout
  torch::nn::init::uniform_(bias, -1.0 / std::sqrt(fan_in), 1.0 / std::sqrt(fan_in));
}

at::Tensor SubpixelUpImpl::PhaseKernels() const {
  const at::Tensor padded = at::constant_pad_nd(weight, {0, 1, 0, 1});  // (in, out, 6, 6), tap 5 = 0
  const at::Tensor taps = at::tensor({kTapOf[0][0], kTapOf[0][1], kTapOf[0][2], kTapOf[1][0], kTapOf[1][1],
                                      kTapOf[1][2]}, at::TensorOptions().dtype(at::kLong).device(weight.device()));
  const int64_t in = options_.in_channels, out = options_.out_channels;
  at::Tensor k = padded.index_select(2, taps).index_select(3, taps);  // (in, out, [ry,ty], [rx,tx])
  k = k.view({in, out, 2, 3, 2, 3}).permute({1, 2, 4, 0, 3, 5});      // (out, ry, rx, in, ty, tx)
  return k.reshape({out * 4, in, 3, 3});
}

at::Tensor SubpixelUpImpl::forward(const at::Tensor& x) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == options_.in_channels, "SubpixelUp expects (B, ", options_.in_channels,
              ", H, W), got ", x.sizes());
  const at::Tensor kernels = PhaseKernels().to(x.scalar_type());
  const at::Tensor phase_bias = bias.to(x.scalar_type());
  if (options_.out_channels < kMinOutChannelsForPhaseConvs)
    return at::pixel_shuffle(at::conv2d(x, kernels, phase_bias.repeat_interleave(4), 1, 1), 2);
  return PhaseConvolutions(x, kernels, phase_bias);
}

at::Tensor SubpixelUpImpl::PhaseConvolutions(const at::Tensor& x, const at::Tensor& kernels,
                                             const at::Tensor& phase_bias) const {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3), out = options_.out_channels;
  const at::Tensor k = kernels.view({out, 2, 2, options_.in_channels, 3, 3});
  // Phase r reads 3×3 offsets t >= r: r = 0 all three, r = 1 offsets 0 and +1 (t = 0 is the padded
  // zero). With padding 1 a 2-tap kernel yields one extra leading output; the narrow drops it.
  at::Tensor y = at::empty({b, out, h, 2, w, 2}, x.options());
  for (int64_t ry = 0; ry < 2; ++ry) {
    for (int64_t rx = 0; rx < 2; ++rx) {
      const at::Tensor kernel = k.select(2, rx).select(1, ry).narrow(2, ry, 3 - ry).narrow(3, rx, 3 - rx);
      const at::Tensor phase = at::conv2d(x, kernel, phase_bias, 1, 1).narrow(2, ry, h).narrow(3, rx, w);
      y.select(5, rx).select(3, ry).copy_(phase);
    }
  }
  return y.view({b, out, 2 * h, 2 * w});
}

}  // namespace mt
