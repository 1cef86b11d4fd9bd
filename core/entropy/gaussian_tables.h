// Coding tables for the hyperprior's residuals: one zero-mean Gaussian table per scale on a
// geometric grid, and the integer bounds that pick a table from a fixed-point log-scale.
// Why integers end to end: the receiver must pick exactly the table the sender picked, on any
// CPU, BLAS kernel and libm. The tables and bounds are computed once (at export, with libm) and
// stored in the checkpoint; at run time a table is chosen by comparing integers only.
// Plain functions, no state: safe from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "core/entropy/frequency_table.h"

namespace mt {

// `count` >= 2 scales from min_scale to max_scale (0 < min < max), geometric, ascending.
std::vector<double> GeometricScales(double min_scale, double max_scale, int count);

// The integer table of round(r) for r ~ N(0, scale²): symbols −R..R, R >= 1 the last symbol whose
// mass is at least half a frequency unit (2^-17), then the escape (the tails' mass).
// INVALID_ARGUMENT unless scale > 0 is finite and the table fits kMaxTableSymbols.
absl::StatusOr<FrequencyTable> GaussianTable(double scale);

// Bounds between neighbouring scales (count − 1, ascending): bound i is the geometric midpoint of
// scales i and i+1, as a log-scale in fixed point with `frac_bits` fractional bits, rounded up.
std::vector<int64_t> ScaleBounds(const std::vector<double>& scales, int frac_bits);

// The table for a fixed-point log-scale: the number of bounds <= log_scale (0 .. bounds.size()).
int ScaleIndex(int64_t log_scale, const std::vector<int64_t>& bounds);

}  // namespace mt
