#include "core/entropy/gaussian_tables.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace mt {
namespace {

// P(round(r) = q) for r ~ N(0, scale²), computed from the tail on the side away from 0 so it
// keeps relative precision far out.
double BinMass(int64_t q, double scale) {
  const double a = std::fabs(static_cast<double>(q)), k = 1.0 / (scale * std::sqrt(2.0));
  if (a == 0) return std::erf(0.5 * k);
  return 0.5 * (std::erfc((a - 0.5) * k) - std::erfc((a + 0.5) * k));
}

}  // namespace

std::vector<double> GeometricScales(double min_scale, double max_scale, int count) {
  std::vector<double> scales;
  for (int i = 0; i < count; ++i)
    scales.push_back(min_scale * std::pow(max_scale / min_scale, static_cast<double>(i) / (count - 1)));
  return scales;
}

absl::StatusOr<FrequencyTable> GaussianTable(double scale) {
  if (!(scale > 0) || !std::isfinite(scale))
    return absl::InvalidArgumentError(absl::StrCat("a Gaussian table needs a scale > 0, got ", scale));
  // Symbols whose mass is under half a frequency unit would be raised to a whole one (space the
  // likely symbols pay for); they go to the escape instead.
  constexpr double kMinMass = 1.0 / (2.0 * kProbTotal);
  int64_t r = 1;
  while (BinMass(r + 1, scale) >= kMinMass) {
    if (2 * (r + 1) + 2 > kMaxTableSymbols)
      return absl::InvalidArgumentError(absl::StrCat("a Gaussian table of scale ", scale, " exceeds ",
                                                     kMaxTableSymbols, " symbols"));
    ++r;
  }
  const double k = 1.0 / (scale * std::sqrt(2.0));
  std::vector<double> pmf;
  for (int64_t q = -r; q <= r; ++q) pmf.push_back(BinMass(q, scale));
  pmf.push_back(std::erfc((static_cast<double>(r) + 0.5) * k));  // escape: both tails
  return QuantizePmf(pmf, static_cast<int32_t>(-r));
}

std::vector<int64_t> ScaleBounds(const std::vector<double>& scales, int frac_bits) {
  std::vector<int64_t> bounds;
  for (size_t i = 0; i + 1 < scales.size(); ++i) {
    const double mid = 0.5 * (std::log(scales[i]) + std::log(scales[i + 1]));
    bounds.push_back(static_cast<int64_t>(std::ceil(std::ldexp(mid, frac_bits))));
  }
  return bounds;
}

int ScaleIndex(int64_t log_scale, const std::vector<int64_t>& bounds) {
  return static_cast<int>(std::upper_bound(bounds.begin(), bounds.end(), log_scale) - bounds.begin());
}

}  // namespace mt
