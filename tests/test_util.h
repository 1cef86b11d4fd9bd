// Shared helpers for the core tests: reference values and temp paths.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "core/model/conv_codec.h"
#include "core/model/latent_codec.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace mt::test {

// Arrays written by tests/reference/make_reference.py (float64 tensors), by name.
// Aborts the test binary if the file is missing (it is generated at build time).
const std::map<std::string, at::Tensor>& Reference();
at::Tensor Ref(const std::string& name);

// An 8×8, patch-2 MAE small enough for fast tests: encoder 32 wide × 2 blocks, a narrower
// decoder (16 wide × 1 block), 2 heads each.
MaskedAutoencoderOptions TinyMaeOptions();

// A masker matching TinyMaeOptions (8×8, patch 2): transformer 16 wide × 1 block, 2 heads.
MaskerOptions TinyMaskerOptions();

// A latent codec around TinyMaeOptions (3 channels, hidden 8, seed 5) with coding tables for
// `steps`: what the latent-payload tests encode and decode with.
LatentCodec TinyLatentCodec(const std::vector<double>& steps);

// A conv transform codec with coding tables: 32-pixel tiles of 2×2 latent positions, hidden 8,
// 4 channels, 3 levels with steps base_step / 4·base_step / 16·base_step.
ConvCodec TinyConvCodec(double base_step = 0.05);

// A conv codec with a hyperprior: 64-pixel tiles (a 4×4 latent grid under one side cell), hidden 8,
// 4 latent and 3 side channels, one level per entry of `steps` (every channel that step); with
// `tables`, its factorized and hyperprior coding tables (as `mt-train export` stores them). With
// `checkerboard_channels`, a checkerboard context of that width whose last layer is drawn
// (N(0, 0.3²)) rather than zero, so it moves the non-anchors' predictions.
ConvCodec TinyHyperCodec(const std::vector<double>& steps, bool tables, int64_t checkerboard_channels = 0);

// P(r' ∈ [r − ½, r + ½]) for r' ~ N(0, σ²), by Simpson's rule over the density with 4000
// intervals: a reference independent of the complementary error functions the code uses, and
// exact enough in the tails where a difference of two CDFs rounds to 0.
double GaussianUnitBinMass(double r, double sigma);

// A fresh empty directory under the system temp dir, unique per call.
std::string TempDir();

}  // namespace mt::test
