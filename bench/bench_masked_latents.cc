// Does leaving latent positions out pay? Codes whole photos with the conv codec at each level,
// leaving out a share of the latent positions chosen by a policy, fills them in on the receiver
// and measures the real stream's bytes (keep maps included) and the PSNR of the whole photo.
//   policies: all (every position: the codec as served today), random, grid (an 8×8 ordered
//             dither: evenly spread), oracle (the sender measures what leaving out each position
//             alone costs in pixels, and leaves out those that suffer least per bit saved: a
//             bound for a learned masker, not a servable policy);
//   fills:    mae (the latent MAE), zero (the mask token alone: latents 0), nearest (a copy of the
//             nearest sent position).
// Prints the mean over the photos of each (policy, fill, keep, level), the BD-rate of each
// policy's hull over (level, keep) against `all`, and the mean PSNR gain over `grid` at equal
// rate; --csv writes every photo's rows (method, fill, payload, precision k<keep %>, setting = level).
// Usage: mt_bench_masked_latents --codec_checkpoint weights/codec.pt --latent_mae F
//          [--levels 0,2,4,6,8] [--keeps 95,90,80,70] [--csv F] PHOTO...
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/codec/tiling.h"
#include "core/codecs/tile_codec.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/io/image_io.h"
#include "core/io/latent_mae_checkpoint.h"
#include "core/metrics/bd_rate.h"
#include "core/metrics/image_metrics.h"
#include "core/runtime/blas_core.h"
#include "core/runtime/cpu_features.h"
#include "core/train/latent_mae_task.h"

namespace {

using mt::TileCodec;

struct Photo {
  std::string name;
  at::Tensor image;     // (3, H, W) in [0,1]
  mt::TileGrid grid;
  at::Tensor y;         // (N, L, C) analysis latents
  at::Tensor covering;  // (N, L) bool: positions over the image
};

struct Result {
  double bytes = 0, bpp = 0, psnr = 0;
};

// (N, L) bool: in each tile, the positions whose 16×16 pixels hold image.
at::Tensor Covering(const mt::TileGrid& grid, int64_t g) {
  at::Tensor out = at::zeros({grid.count(), g, g}, at::kBool);
  const int64_t t = grid.tile, p = t / g;
  for (int64_t r = 0; r < grid.rows; ++r)
    for (int64_t c = 0; c < grid.cols; ++c) {
      const int64_t rows = (std::min(t, grid.height - r * t) + p - 1) / p;
      const int64_t cols = (std::min(t, grid.width - c * t) + p - 1) / p;
      out[r * grid.cols + c].slice(0, 0, rows).slice(1, 0, cols).fill_(true);
    }
  return out.view({grid.count(), g * g});
}

Photo Prepare(const TileCodec& codec, const std::string& path) {
  at::Tensor image = *mt::LoadImageRgb(path);
  Photo p{path.substr(path.find_last_of('/') + 1), image, *mt::PlanTiles(image.size(1), image.size(2), codec.tile_size()),
          {}, {}};
  p.y = codec.Analyze(mt::SplitTiles(image, p.grid));
  p.covering = Covering(p.grid, codec.grid());
  return p;
}

// Keeps the share `keep` of the covering positions with the highest score (all others unsent).
at::Tensor TopScores(const at::Tensor& score, const at::Tensor& covering, double keep) {
  const at::Tensor s = at::where(covering, score.to(at::kDouble), at::full_like(score, -1e300, at::kDouble));
  const int64_t n = covering.sum().item<int64_t>();
  const auto kept = static_cast<int64_t>(std::llround(keep * static_cast<double>(n)));
  const at::Tensor order = s.flatten().argsort(/*dim=*/0, /*descending=*/true);
  at::Tensor out = at::zeros({s.numel()}, at::kBool);
  out.index_fill_(0, order.slice(0, 0, kept), true);
  return out.view(covering.sizes()) & covering;
}

at::Tensor RandomScore(const at::Tensor& covering, uint64_t seed) {
  std::mt19937_64 rng(seed);
  at::Tensor s = at::empty(covering.sizes(), at::kDouble);
  double* v = s.data_ptr<double>();
  for (int64_t i = 0; i < s.numel(); ++i) v[i] = static_cast<double>(rng() >> 11);
  return s;
}

// An 8×8 ordered-dither rank per position: leaving out the lowest ranks spreads the gaps evenly.
at::Tensor GridScore(const at::Tensor& covering, int64_t g) {
  at::Tensor s = at::empty({covering.size(0), g, g}, at::kDouble);
  auto a = s.accessor<double, 3>();
  for (int64_t r = 0; r < g; ++r)
    for (int64_t c = 0; c < g; ++c) {
      int64_t rank = 0;  // Bayer matrix by bit interleaving of (r ^ c, r)
      for (int bit = 2; bit >= 0; --bit)
        rank = rank * 4 + ((((r ^ c) >> bit) & 1) << 1) + ((r >> bit) & 1);
      for (int64_t n = 0; n < s.size(0); ++n) a[n][r][c] = static_cast<double>(rank);
    }
  return s.view(covering.sizes());
}

// Unsent latents take a copy of the nearest sent position in their tile (ties: raster order).
at::Tensor FillNearest(const at::Tensor& latents, const at::Tensor& keep, int64_t g) {
  at::Tensor out = latents.clone();
  auto k = keep.accessor<bool, 2>();
  for (int64_t n = 0; n < latents.size(0); ++n)
    for (int64_t i = 0; i < g * g; ++i) {
      if (k[n][i]) continue;
      int64_t best = -1, best_d = INT64_MAX;
      for (int64_t j = 0; j < g * g; ++j)
        if (k[n][j]) {
          const int64_t d = std::abs(i / g - j / g) + std::abs(i % g - j % g);
          if (d < best_d) best = j, best_d = d;
        }
      if (best >= 0) out[n][i].copy_(latents[n][best]);
    }
  return out;
}

at::Tensor FillMae(mt::LatentMae& mae, const at::Tensor& latents, const at::Tensor& keep, int64_t level, int64_t g) {
  const int64_t n = latents.size(0), c = latents.size(2);
  const at::Tensor grid = latents.view({n, g, g, c}).permute({0, 3, 1, 2});
  const at::Tensor filled = mae->Fill(grid, keep.view({n, g, g}), at::full({n}, level, at::kLong));
  return filled.permute({0, 2, 3, 1}).reshape({n, g * g, c}).contiguous();
}

// The receiver's whole photo (3, H, W), 8-bit, from latents filled at every covering position.
at::Tensor Render(const TileCodec& codec, const Photo& p, const at::Tensor& filled) {
  const at::Tensor tiles = codec.Reconstruct(filled, p.covering);  // outside the image: edge copies
  return at::round(mt::StitchTiles(tiles, p.grid) * 255.0) / 255.0;
}

double PhotoPsnr(const Photo& p, const at::Tensor& recon) {
  return mt::Psnr(p.image.unsqueeze(0), recon.unsqueeze(0)).item<double>();
}

// The oracle's score: pixel error added by leaving each position out alone, per bit it costs.
// Positions are left out a 3×3-cell phase at a time (each filled by the MAE with all eight
// neighbours sent; the synthesis reaches ~2 positions, so the phase's gaps barely interact).
at::Tensor OracleScore(const TileCodec& codec, mt::LatentMae& mae, const Photo& p, int64_t level) {
  constexpr int64_t kCell = 3;
  const int64_t g = codec.grid(), n = p.y.size(0), px = codec.patch_size();
  const at::Tensor decoded = codec.DecodedLatents(p.y, level);
  const at::Tensor tiles = mt::SplitTiles(p.image, p.grid);
  auto block_error = [&](const at::Tensor& latents) {  // (N, L) squared error per 16×16 block
    const at::Tensor recon = codec.Reconstruct(latents, p.covering);
    return at::avg_pool2d((recon - tiles).pow(2).sum(1, true), {px, px}).view({n, g * g}).to(at::kDouble);
  };
  const at::Tensor base = block_error(decoded);
  at::Tensor added = at::zeros({n, g * g}, at::kDouble);
  const at::Tensor idx = at::arange(g * g, at::kLong);
  for (int64_t phase = 0; phase < kCell * kCell; ++phase) {
    const at::Tensor in_phase = ((idx / g) % kCell * kCell + (idx % g) % kCell == phase).view({1, g * g}).expand({n, g * g});
    const at::Tensor keep = p.covering & ~in_phase;
    const at::Tensor error = block_error(FillMae(mae, decoded * keep.unsqueeze(2), keep, level, g)) - base;
    // The gap's own block and its neighbours' blocks all suffer: pool the added error over 3×3.
    const at::Tensor spread = at::avg_pool2d(error.view({n, 1, g, g}), {3, 3}, {1, 1}, {1, 1}, false, false).view({n, g * g}) * 9;
    added += at::where(in_phase, spread, at::zeros_like(base));
  }
  const at::Tensor bits = codec.PositionBits(p.y, level).clamp_min(0.1);
  return added / bits;
}

Result Measure(const TileCodec& codec, mt::LatentMae& mae, const Photo& p, const at::Tensor& keep, int64_t level,
               const std::string& fill) {
  const std::string stream = codec.EncodeTiles(p.y, keep, level);
  at::Tensor sent, latents;
  const absl::Status s = codec.DecodeTiles(stream, p.y.size(0), level, &sent, &latents);
  TORCH_CHECK(s.ok() && at::equal(sent, keep), "the stream does not decode to its keep map: ", s.ToString());
  const int64_t g = codec.grid();
  const at::Tensor filled = fill == "mae"       ? FillMae(mae, latents, sent, level, g)
                            : fill == "nearest" ? FillNearest(latents, sent, g)
                                                : latents;
  const double bytes = static_cast<double>(stream.size());
  return {bytes, bytes * 8 / static_cast<double>(p.image.size(1) * p.image.size(2)), PhotoPsnr(p, Render(codec, p, filled))};
}

struct Args {
  std::string codec = "weights/codec.pt", mae, csv;
  std::vector<int64_t> levels = {0, 2, 4, 6, 8}, keeps = {95, 90, 80, 70};
  std::vector<std::string> photos;
};

std::vector<int64_t> Ints(const char* text) {
  std::vector<int64_t> out;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t v = 0;
    if (absl::SimpleAtoi(part, &v)) out.push_back(v);
  }
  return out;
}

bool ParseArgs(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) return false;
    if (!std::strcmp(argv[i], "--codec_checkpoint") && more) a->codec = argv[++i];
    else if (!std::strcmp(argv[i], "--latent_mae") && more) a->mae = argv[++i];
    else if (!std::strcmp(argv[i], "--csv") && more) a->csv = argv[++i];
    else if (!std::strcmp(argv[i], "--levels") && more) a->levels = Ints(argv[++i]);
    else if (!std::strcmp(argv[i], "--keeps") && more) a->keeps = Ints(argv[++i]);
    else a->photos.push_back(argv[i]);
  }
  return !a->mae.empty() && !a->photos.empty();
}

// (policy, fill) → keep % → level → the photos' results.
using Table = std::map<std::pair<std::string, std::string>, std::map<int64_t, std::map<int64_t, std::vector<Result>>>>;

mt::RdPoint Mean(const std::vector<Result>& results) {
  mt::RdPoint m;
  for (const Result& r : results) m.bpp += r.bpp / static_cast<double>(results.size()),
                                  m.psnr += r.psnr / static_cast<double>(results.size());
  return m;
}

// Mean over the test points inside the anchor's rate range of PSNR_test − PSNR_anchor(rate), the
// anchor interpolated linearly in log rate.
double MeanGainAtEqualRate(std::vector<mt::RdPoint> anchor, const std::vector<mt::RdPoint>& test) {
  std::sort(anchor.begin(), anchor.end(), [](auto& a, auto& b) { return a.bpp < b.bpp; });
  double sum = 0;
  int n = 0;
  for (const mt::RdPoint& t : test)
    for (size_t i = 1; i < anchor.size(); ++i)
      if (t.bpp >= anchor[i - 1].bpp && t.bpp <= anchor[i].bpp) {
        const double f = std::log(t.bpp / anchor[i - 1].bpp) / std::log(anchor[i].bpp / anchor[i - 1].bpp);
        sum += t.psnr - (anchor[i - 1].psnr + f * (anchor[i].psnr - anchor[i - 1].psnr));
        ++n;
        break;
      }
  return n ? sum / n : NAN;
}

// The upper convex hull in (ln rate, PSNR): the operating points a rate control that may mix
// them reaches. Unlike the Pareto front, a point below the chord of two others is not on it.
std::vector<mt::RdPoint> UpperHull(std::vector<mt::RdPoint> points) {
  std::sort(points.begin(), points.end(), [](auto& a, auto& b) { return a.bpp < b.bpp; });
  std::vector<mt::RdPoint> hull;
  auto cross = [](const mt::RdPoint& o, const mt::RdPoint& a, const mt::RdPoint& b) {
    return (std::log(a.bpp) - std::log(o.bpp)) * (b.psnr - o.psnr) - (a.psnr - o.psnr) * (std::log(b.bpp) - std::log(o.bpp));
  };
  for (const mt::RdPoint& p : points) {
    while (hull.size() >= 2 && cross(hull[hull.size() - 2], hull.back(), p) >= 0) hull.pop_back();
    hull.push_back(p);
  }
  while (hull.size() >= 2 && hull.back().psnr <= hull[hull.size() - 2].psnr) hull.pop_back();  // rising part only
  return hull;
}

// Per (policy, fill, keep): ΔPSNR and Δrate against every position sent at each level; the
// BD-rate of each policy's hull against `all`; the gain over `grid` at equal rate.
void PrintSummary(const Table& table, const std::vector<int64_t>& levels) {
  std::vector<mt::RdPoint> all;
  for (int64_t level : levels) all.push_back(Mean(table.at({"all", "-"}).at(100).at(level)));
  std::printf("all (every position): ");
  for (size_t i = 0; i < levels.size(); ++i) std::printf("L%lld %.4f bpp %.2f dB  ", static_cast<long long>(levels[i]), all[i].bpp, all[i].psnr);
  std::printf("\n");
  for (const auto& [key, by_keep] : table) {
    if (key.first == "all") continue;
    std::vector<mt::RdPoint> hull = all;
    for (const auto& [keep, by_level] : by_keep) {
      std::printf("%-7s %-8s k%-3lld", key.first.c_str(), key.second.c_str(), static_cast<long long>(keep));
      std::vector<mt::RdPoint> curve;
      for (size_t i = 0; i < levels.size(); ++i) {
        const mt::RdPoint m = Mean(by_level.at(levels[i]));
        curve.push_back(m);
        hull.push_back(m);
        std::printf(" | L%lld %+.2f dB %+.1f %%", static_cast<long long>(levels[i]), m.psnr - all[i].psnr,
                    100 * (m.bpp / all[i].bpp - 1));
      }
      auto grid = table.find({"grid", "mae"});
      if (key.second == "mae" && key.first != "grid" && grid != table.end()) {
        std::vector<mt::RdPoint> g;
        for (int64_t level : levels) g.push_back(Mean(grid->second.at(keep).at(level)));
        std::printf(" | vs grid %+.2f dB", MeanGainAtEqualRate(g, curve));
      }
      std::printf(" | vs all %+.2f dB at equal rate\n", MeanGainAtEqualRate(all, curve));
    }
    const std::vector<mt::RdPoint> upper = UpperHull(hull), anchor = UpperHull(all);
    const auto masked = std::count_if(upper.begin(), upper.end(), [&](const mt::RdPoint& p) {
      return std::none_of(all.begin(), all.end(), [&](const mt::RdPoint& a) { return a.bpp == p.bpp && a.psnr == p.psnr; });
    });
    const absl::StatusOr<double> bd = mt::BjontegaardDeltaRate(anchor, upper);
    std::printf("%-7s %-8s hull over (level, keep): %lld of its %zu points leave positions out; BD-rate vs all %s\n",
                key.first.c_str(), key.second.c_str(), static_cast<long long>(masked), upper.size(),
                bd.ok() ? absl::StrFormat("%+.2f %%", *bd).c_str() : bd.status().ToString().c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);
  Args args;
  if (!ParseArgs(argc, argv, &args)) {
    std::printf("mt_bench_masked_latents --codec_checkpoint F --latent_mae F [--levels 0,2,4,6,8] [--keeps 95,90,80,70]\n"
                "                        [--csv F] PHOTO...: does leaving latent positions out pay?\n");
    return 2;
  }
  torch::NoGradGuard no_grad;
  auto codec = mt::LoadTileCodec(args.codec);
  auto mae = mt::LoadLatentMae(args.mae);
  if (!codec.ok() || !mae.ok()) {
    std::fprintf(stderr, "%s %s\n", codec.status().ToString().c_str(), mae.status().ToString().c_str());
    return 1;
  }
  const TileCodec& c = **codec;
  std::FILE* csv = args.csv.empty() ? nullptr : std::fopen(args.csv.c_str(), "w");
  if (csv) std::fprintf(csv, "photo,method,fill,payload,precision,setting,bytes,bpp,psnr\n");
  Table table;
  for (const std::string& path : args.photos) {
    const Photo p = Prepare(c, path);
    for (int64_t level : args.levels) {
      const std::vector<std::tuple<std::string, at::Tensor>> scores = {
          {"random", RandomScore(p.covering, 7)}, {"grid", GridScore(p.covering, c.grid())},
          {"oracle", OracleScore(c, *mae, p, level)}};
      auto record = [&](const std::string& policy, const std::string& fill, int64_t keep, const Result& r) {
        table[{policy, fill}][keep][level].push_back(r);
        if (csv)
          std::fprintf(csv, "%s,%s,%s,latent,k%lld,%lld,%.0f,%.5f,%.4f\n", p.name.c_str(), policy.c_str(), fill.c_str(),
                       static_cast<long long>(keep), static_cast<long long>(level), r.bytes, r.bpp, r.psnr);
      };
      // Every position over the image sent: Render continues the edge beyond it, no fill runs.
      record("all", "-", 100, Measure(c, *mae, p, p.covering, level, "zero"));
      for (int64_t keep : args.keeps)
        for (const auto& [policy, score] : scores) {
          const at::Tensor k = TopScores(score, p.covering, static_cast<double>(keep) / 100.0);
          for (const std::string fill : {"mae", "nearest", "zero"})
            if (fill == "mae" || policy == "grid") record(policy, fill, keep, Measure(c, *mae, p, k, level, fill));
        }
      std::fprintf(stderr, "%s level %lld done\n", p.name.c_str(), static_cast<long long>(level));
    }
  }
  if (csv) std::fclose(csv);
  std::printf("CPU flags: %s; %zu photos; codec %s; latent MAE %s\n", mt::CpuSpeedFlags().c_str(), args.photos.size(),
              args.codec.c_str(), args.mae.c_str());
  PrintSummary(table, args.levels);
  return 0;
}
