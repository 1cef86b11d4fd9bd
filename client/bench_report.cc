#include "client/bench_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/metrics/bd_rate.h"

namespace mt::client {
namespace {

struct Curve {  // one line of the plot: (method, payload, precision)
  std::string method, payload, precision;
  bool operator<(const Curve& o) const {
    return std::tie(method, payload, precision) < std::tie(o.method, o.payload, o.precision);
  }
  std::string Name() const {
    return payload.empty() ? method : method + " " + payload + (precision.empty() ? "" : " " + precision);
  }
};

struct Mean {
  double bpp = 0, psnr = 0, ssim = 0, bytes = 0, estimated = 0, seam = 0;
  int n = 0, seam_n = 0;  // seam: over the rows that have one
};

using Curves = std::map<Curve, std::map<double, Mean>>;

// The rates at which the report reads every curve's PSNR off (the latent codec's targets are
// stated at or below 0.5 bpp).
constexpr double kReadRates[] = {0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 2.0};
constexpr double kBudgets[] = {0.25, 0.5, 1, 2, 4, 8, 16};
constexpr double kLowRate = 0.5;  // BD-rate "low-rate" range: points at or below this bpp

Curves MeanCurves(const std::vector<BenchRow>& rows) {
  Curves curves;
  for (const BenchRow& r : rows) {
    Mean& m = curves[{r.method, r.payload, r.precision}][r.setting];
    m.bpp += r.bpp;
    m.psnr += r.psnr;
    m.ssim += r.ssim;
    m.bytes += static_cast<double>(r.bytes);
    m.estimated += r.estimated_bytes;
    ++m.n;
    if (std::isfinite(r.seam)) m.seam += r.seam, ++m.seam_n;
  }
  for (auto& [curve, points] : curves)
    for (auto& [s, m] : points) {
      m.bpp /= m.n, m.psnr /= m.n, m.ssim /= m.n, m.bytes /= m.n, m.estimated /= m.n;
      m.seam = m.seam_n > 0 ? m.seam / m.seam_n : NAN;
    }
  return curves;
}

std::vector<RdPoint> Points(const std::map<double, Mean>& points, double max_bpp = INFINITY) {
  std::vector<RdPoint> out;
  for (const auto& [s, m] : points)
    if (m.bpp <= max_bpp) out.push_back({m.bpp, m.psnr});
  return out;
}

// PSNR on the curve's Pareto front at `bpp` (linear in log rate); NaN outside its range.
double PsnrAt(const std::vector<RdPoint>& points, double bpp) {
  std::vector<RdPoint> f = ParetoFront(points);
  for (size_t i = 1; i < f.size(); ++i)
    if (bpp >= f[i - 1].bpp && bpp <= f[i].bpp) {
      const double t = std::log(bpp / f[i - 1].bpp) / std::log(f[i].bpp / f[i - 1].bpp);
      return f[i - 1].psnr + t * (f[i].psnr - f[i - 1].psnr);
    }
  return NAN;
}

std::string Cell(double v, const char* fmt = "%.2f") {
  if (!std::isfinite(v)) return " — |";
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return std::string(" ") + buf + " |";
}

void WriteBudgetTable(std::ofstream& md, const Curves& curves) {
  md << "## Best mean PSNR (dB) within a bits-per-pixel budget\n\n| method |";
  for (double b : kBudgets) md << " <= " << b << " bpp |";
  md << "\n|---|";
  for (size_t i = 0; i < std::size(kBudgets); ++i) md << "---:|";
  md << "\n";
  for (const auto& [curve, points] : curves) {
    md << "| " << curve.Name() << " |";
    for (double b : kBudgets) {
      double best = -INFINITY;
      for (const auto& [s, m] : points)
        if (m.bpp <= b) best = std::max(best, m.psnr);
      md << Cell(best);
    }
    md << "\n";
  }
}

// The anchor codecs every curve's BD-rate is measured against (the bench's `method` names, see
// client/anchor_codecs.h), in column order; those without rows (compiled out) get no columns.
constexpr std::pair<const char*, const char*> kAnchors[] = {
    {"jpeg", "JPEG"}, {"webp", "WebP"}, {"avif", "AVIF"}, {"jxl", "JPEG XL"}};

// PSNR read off each curve at fixed rates, and the BD-rate against each anchor present (all
// points, and only the points at or below kLowRate of both curves).
void WriteAnchorTable(std::ofstream& md, const Curves& curves) {
  std::vector<std::pair<const char*, Curves::const_iterator>> anchors;  // display name, curve
  for (const auto& [method, display] : kAnchors)
    if (auto it = curves.find(Curve{method, "", ""}); it != curves.end()) anchors.push_back({display, it});
  std::string names;
  for (size_t i = 0; i < anchors.size(); ++i)
    names += (i == 0 ? "" : i + 1 == anchors.size() ? " and " : ", ") + std::string(anchors[i].first);
  md << "\n## PSNR (dB) at fixed rates (each curve's Pareto front, interpolated in log rate) and BD-rate "
        "against "
     << (anchors.empty() ? std::string("the anchors (none measured)") : names)
     << "\n\nBD-rate: percent bits the method needs over the anchor at equal PSNR (negative = fewer), "
        "over the PSNR range both cover; '<= 0.5' uses only points at or below 0.5 bpp.\n\n| method |";
  for (double r : kReadRates) md << " @" << r << " |";
  for (const auto& [display, it] : anchors) md << " BD-rate vs " << display << " | vs " << display << " <= 0.5 |";
  md << "\n|---|";
  for (size_t i = 0; i < std::size(kReadRates) + 2 * anchors.size(); ++i) md << "---:|";
  md << "\n";
  for (const auto& [curve, points] : curves) {
    if (curve.method == "png") continue;
    md << "| " << curve.Name() << " |";
    for (double r : kReadRates) md << Cell(PsnrAt(Points(points), r));
    for (const auto& [display, anchor] : anchors) {
      if (anchor->first.method == curve.method && curve.payload.empty()) {  // no BD-rate against itself
        md << " (anchor) | (anchor) |";
        continue;
      }
      for (double max_bpp : {static_cast<double>(INFINITY), kLowRate}) {
        absl::StatusOr<double> bd = BjontegaardDeltaRate(Points(anchor->second, max_bpp), Points(points, max_bpp));
        md << (bd.ok() ? Cell(*bd, "%+.1f %%") : std::string(" — |"));
      }
    }
    md << "\n";
  }
}

void WriteSettingsTable(std::ofstream& md, const Curves& curves) {
  md << "\n## Every setting (means)\n\nFor latent rows, 'est. bytes' is the entropy model's ideal size and "
        "'gap' the real bytes over it. 'seam': mean absolute pixel difference across the model's tile borders "
        "over the same inside tiles (1.0 = no visible grid; whole photos only).\n\n"
        "| method | setting | bytes | est. bytes | gap | bpp | PSNR dB | SSIM | seam |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& [curve, points] : curves)
    for (const auto& [s, m] : points) {
      const bool latent = m.estimated > 0;
      char line[320];
      std::snprintf(line, sizeof line, "| %s | %g | %.0f |%s%s %.3f | %.2f | %.4f |%s\n", curve.Name().c_str(), s,
                    m.bytes, latent ? Cell(m.estimated, "%.0f").c_str() : " — |",
                    latent ? Cell(100.0 * (m.bytes / m.estimated - 1.0), "%+.1f %%").c_str() : " — |", m.bpp, m.psnr,
                    m.ssim, std::isfinite(m.seam) ? Cell(m.seam, "%.3f").c_str() : " — |");
      md << line;
    }
}

absl::Status WritePlot(const BenchConfig& c, const Curves& curves) {
  const std::string dir = c.plot + ".data";
  std::filesystem::create_directories(dir);
  std::ofstream gp(dir + "/plot.gp");
  gp << "set terminal pngcairo noenhanced size 1200,750 font ',10'\nset output '" << c.plot << "'\n"
     << "set logscale x 2\nset xlabel 'bits per pixel (wire bytes x 8 / pixels)'\nset ylabel 'PSNR (dB)'\n"
     << "set key outside right\nset grid\nset yrange [10:*]\n"
     << "set title 'Rate-distortion, " << c.images_dir << " (PNG, lossless, in the report)'\nplot ";
  int i = 0;
  for (const auto& [curve, points] : curves) {
    if (curve.method == "png") continue;  // infinite PSNR (capped at 100 dB) would flatten every curve
    // Every other curve is drawn, the anchors (jpeg, webp, avif, jxl) included.
    const std::string file = dir + "/curve" + std::to_string(i) + ".dat";
    std::ofstream d(file);
    // Lossless points (PSNR capped at 100 dB) stay in the CSV and the report, not on the axis.
    for (const RdPoint& p : ParetoFront(Points(points)))
      if (p.psnr < 99.0) d << p.bpp << " " << p.psnr << "\n";
    gp << (i ? ", " : "") << "'" << file << "' using 1:2 with linespoints title '" << curve.Name() << "'";
    ++i;
  }
  gp << "\n";
  gp.close();
  const std::string cmd = "gnuplot '" + dir + "/plot.gp'";
  if (std::system(cmd.c_str()) != 0)
    return absl::FailedPreconditionError("gnuplot failed or is missing (apt-get install gnuplot-nox); data in " + dir);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteBenchOutputs(const BenchConfig& c, const std::vector<BenchRow>& rows, size_t images) {
  if (!c.csv.empty()) {
    std::ofstream csv(c.csv);
    csv << "image,method,payload,precision,setting,bytes,estimated_bytes,bpp,psnr_db,ssim,seam\n";
    for (const BenchRow& r : rows)
      csv << r.image << "," << r.method << "," << r.payload << "," << r.precision << "," << r.setting << ","
          << r.bytes << "," << r.estimated_bytes << "," << r.bpp << "," << r.psnr << "," << r.ssim << "," << r.seam << "\n";
    if (!csv) return absl::InternalError("cannot write " + c.csv);
  }
  const Curves curves = MeanCurves(rows);
  if (!c.report.empty()) {
    std::ofstream md(c.report);
    md << "# Rate-distortion: " << c.images_dir << " (" << images << " images"
       << (c.crop > 0 ? ", " + std::to_string(c.crop) + "x" + std::to_string(c.crop) + " native crops" : "")
       << ")\n\nBytes are what travels: the serialized sender->receiver packet for the MAE methods, the whole "
          "file for the anchors (JPEG, WebP, AVIF, JPEG XL) and PNG. PSNR/SSIM of the image the receiver ends with, averaged over images. Latent "
          "curves: 'kNN' keeps NN % of the patches (chosen by the masker, at random or on a grid; 'all' keeps "
          "every patch) and the setting is the quantisation step level.\n\n";
    WriteBudgetTable(md, curves);
    WriteAnchorTable(md, curves);
    WriteSettingsTable(md, curves);
    if (!md) return absl::InternalError("cannot write " + c.report);
  }
  if (!c.plot.empty()) return WritePlot(c, curves);
  return absl::OkStatus();
}

}  // namespace mt::client
