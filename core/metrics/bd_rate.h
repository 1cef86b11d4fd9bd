// Bjøntegaard delta rate: how many percent more (or, negative, fewer) bits a test codec needs
// than an anchor for the same PSNR, averaged over the PSNR range both curves cover. Computed on
// each curve's rate–PSNR Pareto front with log(rate) interpolated piecewise linearly in PSNR
// (the piecewise variant of VCEG-M33; robust to curves with few or uneven points).
// Thread-safety: a pure function.
#pragma once

#include <vector>

#include "absl/status/statusor.h"

namespace mt {

struct RdPoint {
  double bpp = 0;   // rate (> 0)
  double psnr = 0;  // quality in dB
};

// 100·(exp(mean over the common PSNR range of ln R_test − ln R_anchor) − 1). INVALID_ARGUMENT if
// a curve has fewer than 2 usable points (finite, bpp > 0) or the PSNR ranges do not overlap.
absl::StatusOr<double> BjontegaardDeltaRate(const std::vector<RdPoint>& anchor, const std::vector<RdPoint>& test);

// Keeps the points no other point beats in both rate and PSNR, sorted by rate (PSNR then rises).
std::vector<RdPoint> ParetoFront(const std::vector<RdPoint>& points);

}  // namespace mt
