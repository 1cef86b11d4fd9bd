#include "core/metrics/bd_rate.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

// ln(rate) at `psnr` on a front sorted by rate (so by PSNR too), linearly between points.
double LogRateAt(const std::vector<RdPoint>& front, double psnr) {
  if (psnr <= front.front().psnr) return std::log(front.front().bpp);
  for (size_t i = 1; i < front.size(); ++i)
    if (psnr <= front[i].psnr) {
      const RdPoint& a = front[i - 1];
      const RdPoint& b = front[i];
      const double t = (psnr - a.psnr) / (b.psnr - a.psnr);
      return std::log(a.bpp) + t * (std::log(b.bpp) - std::log(a.bpp));
    }
  return std::log(front.back().bpp);
}

}  // namespace

std::vector<RdPoint> ParetoFront(const std::vector<RdPoint>& points) {
  std::vector<RdPoint> sorted;
  for (const RdPoint& p : points)
    if (std::isfinite(p.bpp) && std::isfinite(p.psnr) && p.bpp > 0) sorted.push_back(p);
  std::sort(sorted.begin(), sorted.end(), [](const RdPoint& a, const RdPoint& b) {
    return a.bpp != b.bpp ? a.bpp < b.bpp : a.psnr > b.psnr;
  });
  std::vector<RdPoint> front;
  for (const RdPoint& p : sorted)
    if (front.empty() || p.psnr > front.back().psnr) front.push_back(p);
  return front;
}

absl::StatusOr<double> BjontegaardDeltaRate(const std::vector<RdPoint>& anchor, const std::vector<RdPoint>& test) {
  const std::vector<RdPoint> a = ParetoFront(anchor), t = ParetoFront(test);
  if (a.size() < 2 || t.size() < 2)
    return absl::InvalidArgumentError(
        absl::StrCat("BD-rate needs 2 or more points per curve (anchor ", a.size(), ", test ", t.size(), ")"));
  const double lo = std::max(a.front().psnr, t.front().psnr), hi = std::min(a.back().psnr, t.back().psnr);
  if (!(hi > lo))
    return absl::InvalidArgumentError(absl::StrCat("BD-rate: the curves' PSNR ranges do not overlap (anchor ",
                                                   a.front().psnr, "..", a.back().psnr, " dB, test ", t.front().psnr,
                                                   "..", t.back().psnr, " dB)"));
  // The difference of two piecewise-linear functions is linear between the union of their
  // breakpoints, so the trapezoid rule on those knots integrates it exactly.
  std::vector<double> knots = {lo, hi};
  for (const auto* curve : {&a, &t})
    for (const RdPoint& p : *curve)
      if (p.psnr > lo && p.psnr < hi) knots.push_back(p.psnr);
  std::sort(knots.begin(), knots.end());
  knots.erase(std::unique(knots.begin(), knots.end()), knots.end());
  double integral = 0;
  for (size_t i = 1; i < knots.size(); ++i) {
    const double d0 = LogRateAt(t, knots[i - 1]) - LogRateAt(a, knots[i - 1]);
    const double d1 = LogRateAt(t, knots[i]) - LogRateAt(a, knots[i]);
    integral += 0.5 * (d0 + d1) * (knots[i] - knots[i - 1]);
  }
  return 100.0 * (std::exp(integral / (hi - lo)) - 1.0);
}

}  // namespace mt
