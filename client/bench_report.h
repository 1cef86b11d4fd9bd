// mt-client bench's results: one row per image × setting, and the report built from them
// (markdown tables, BD-rate against each anchor codec present: JPEG, WebP, AVIF, JPEG XL; a gnuplot
// plot). Thread-safety: plain functions.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/commands.h"

namespace mt::client {

struct BenchRow {
  std::string image, method, payload, precision;  // precision: feature precision, or latent "kNN" keep
  double setting = 0;           // keep ratio, codec quality, or latent step level
  int64_t bytes = 0;            // real bytes on the wire (or the file)
  double estimated_bytes = -1;  // latent: the entropy model's ideal bytes (-1: not applicable)
  double bpp = 0, psnr = 0, ssim = 0;
  double seam = NAN;  // SeamRatio on the model's tile grid (whole photos; NaN for one tile)
};

// Writes c.csv, c.report and c.plot (each when non-empty) from `rows` of `images` images.
absl::Status WriteBenchOutputs(const BenchConfig& c, const std::vector<BenchRow>& rows, size_t images);

}  // namespace mt::client
