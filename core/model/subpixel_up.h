// A 2× upsampling layer with exactly the parameters and output of
// ConvTranspose2d(in, out, 5, stride 2, padding 2, output_padding 1) — the synthesis layers of the
// conv codec — computed as a 3×3 convolution to 4·out channels followed by a pixel shuffle.
// Why: LibTorch 1.13's CPU transposed convolution is ~6× slower than a dense conv of the same
// work (measured: 225 ms against 35 ms for 64→64 channels, 128² → 256², 2 threads), and the
// synthesis transform is most of the receiver's time. Layers with many output channels go
// further: the 4 phases run as 4 convolutions with their true 3×3, 3×2, 2×3 and 2×2 kernels (25 taps
// instead of 36; the codec's 64→64 step at 1/4 resolution measured 139–147 → 106–119 ms for 4 tiles
// of 512², AVX2, 2 threads); with few
// output channels (the last layer's 3) those small convolutions measure ~5× slower, so that layer
// keeps the single 3×3 convolution. Output phase (r_y, r_x) of the transposed
// conv reads input offsets −1, 0, +1 with kernel taps 4, 2, 0 (r = 0) or –, 3, 1 (r = 1), so the
// 3×3 kernels are a fixed re-indexing of the 5×5 weight (zero where the tap is missing).
// Parameters are named and shaped as ConvTranspose2d's ("weight" (in, out, 5, 5), "bias" (out)),
// so checkpoints written with either load into the other, and are initialised the same way.
// Thread-safety: as any torch module — concurrent eval-mode calls under NoGradGuard are safe.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace mt {

struct SubpixelUpOptions {
  int64_t in_channels = 64;   // input channels
  int64_t out_channels = 64;  // output channels
};

class SubpixelUpImpl : public torch::nn::Module {
 public:
  explicit SubpixelUpImpl(const SubpixelUpOptions& options = {});
  // x (B, in, H, W) → (B, out, 2H, 2W), equal to the transposed convolution's output.
  at::Tensor forward(const at::Tensor& x);
  // The 3×3 kernels (4·out, in, 3, 3), channel 4c + 2r_y + r_x; differentiable in `weight`.
  at::Tensor PhaseKernels() const;

  // Output channels from which forward runs the 4 phase convolutions (below: one 3×3 conv + shuffle).
  static constexpr int64_t kMinOutChannelsForPhaseConvs = 16;

  at::Tensor weight, bias;  // (in, out, 5, 5), (out): ConvTranspose2d's layout

 private:
  // forward's path for wide layers; `kernels` = PhaseKernels() and `phase_bias` = bias, in x's dtype.
  at::Tensor PhaseConvolutions(const at::Tensor& x, const at::Tensor& kernels, const at::Tensor& phase_bias) const;

  SubpixelUpOptions options_;
};
TORCH_MODULE(SubpixelUp);

}  // namespace mt
