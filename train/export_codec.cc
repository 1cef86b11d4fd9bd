#include "train/export_codec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/io/checkpoint.h"
#include "core/pipeline/context_fit.h"
#include "core/pipeline/hyper_scale_fit.h"
#include "core/runtime/log.h"
#if MT_HAVE_IMAGING
#include "core/io/image_io.h"
#endif

namespace mt::train_cli {
namespace {

absl::StatusOr<std::vector<double>> ParseSteps(const std::string& text) {
  double lo = 0.5, hi = 8.0;
  int levels = 12;
  if (!text.empty() && std::sscanf(text.c_str(), "%lf:%lf:%d", &lo, &hi, &levels) != 3)
    return absl::InvalidArgumentError(absl::StrCat("--steps must be lo:hi:levels, got '", text, "'"));
  if (!(lo > 0 && hi >= lo && levels >= 1 && levels <= 64))
    return absl::InvalidArgumentError("--steps needs 0 < lo <= hi and 1..64 levels");
  std::vector<double> steps;
  for (int i = 0; i < levels; ++i)
    steps.push_back(levels == 1 ? lo : lo * std::pow(hi / lo, static_cast<double>(i) / (levels - 1)));
  return steps;
}

// Every image file under `dir` (recursively: the corpus keeps one folder per package), sorted by
// path (so the fit is reproducible).
absl::StatusOr<std::vector<at::Tensor>> LoadFolder(const std::string& dir) {
#if MT_HAVE_IMAGING
  std::vector<std::filesystem::path> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    const std::string ext = absl::AsciiStrToLower(entry.path().extension().string());
    if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" ||
                                    ext == ".bmp" || ext == ".tif" || ext == ".tiff"))
      paths.push_back(entry.path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat("--context_data '", dir, "': ", ec.message()));
  if (paths.empty()) return absl::NotFoundError(absl::StrCat("--context_data '", dir, "' holds no images"));
  std::sort(paths.begin(), paths.end());
  std::vector<at::Tensor> images;
  for (const std::filesystem::path& p : paths) {
    absl::StatusOr<at::Tensor> image = LoadImageRgb(p.string());
    if (!image.ok()) return image.status();
    images.push_back(*std::move(image));
  }
  return images;
#else
  return absl::FailedPreconditionError(
      absl::StrCat("this build has no image IO (MT_BUILD_IMAGING=OFF): export with --context_data none, not '", dir, "'"));
#endif
}

// Fits the codec's spatial-context tables to the photos under args.context_data (either codec).
template <typename Codec>
absl::Status FitContextFromFolder(Codec& codec, const CodecExportArgs& args) {
  absl::StatusOr<std::vector<at::Tensor>> images = LoadFolder(args.context_data);
  if (!images.ok()) return images.status();
  ContextFitOptions fit;
  fit.buckets = args.context_buckets;
  log::info("fitting spatial-context tables ({} buckets) to the latents of {} photos in {}", fit.buckets,
            images->size(), args.context_data);
  return FitContextTables(codec, *images, fit, [](size_t done, size_t total) {
    log::info("  context fit: {}/{} photos", done, total);
  });
}

// A hyperprior codec: its scales calibrated to the full-size photos under args.context_data
// (core/pipeline/hyper_scale_fit; `none` skips it), then its side prior's and Gaussian tables
// (the spatial contexts do not apply: the hyperprior predicts each latent's scale). The
// factorized tables are built too, so the file also says what the factorized prior alone costs.
absl::Status ExportHyperCodec(ConvCodec& codec, const CodecExportArgs& args) {
  if (args.context_data == "keep")
    return absl::InvalidArgumentError("--context_data keep is for factorized conv codecs; a hyperprior codec's tables are rebuilt");
  codec->eval();
  if (args.context_data != "none") {
    absl::StatusOr<std::vector<at::Tensor>> images = LoadFolder(args.context_data);
    if (!images.ok()) return images.status();
    log::info("calibrating the hyperprior's scales to {} full-size photos in {}", images->size(), args.context_data);
    absl::StatusOr<HyperScaleFit> fit = FitHyperScales(codec, *images, {}, [](size_t done, size_t total) {
      if (done % 10 == 0 || done == total) log::info("  scale fit: {}/{} photos", done, total);
    });
    if (!fit.ok()) return fit.status();
    log::info("  log-scale shifts {:.2f} .. {:.2f} (mean {:.2f}); residual bits {:.4g} -> {:.4g} ({:+.1f} %)",
              fit->shift.min().item<double>(), fit->shift.max().item<double>(), fit->shift.mean().item<double>(),
              fit->bits_before, fit->bits_after, 100.0 * (fit->bits_after / fit->bits_before - 1.0));
  }
  codec->BuildTables();
  codec->hyper->BuildTables();
  const ConvCodecOptions o = codec->options();
  log::info("conv hyperprior codec: {} rate levels, {} side channels, {} Gaussian tables ({} + {} CDF entries)",
            o.levels, o.hyper_channels, o.hyper_scales, o.hyper_side_entries, o.hyper_scale_entries);
  return SaveCheckpoint(args.out, codec);
}

}  // namespace

absl::Status ExportCodec(const CodecExportArgs& args) {
  absl::StatusOr<LatentCodec> codec = LoadLatentCodec(args.ckpt_path);
  if (!codec.ok()) return codec.status();
  if (args.context_data == "keep")
    return absl::InvalidArgumentError("--context_data keep is for conv codecs (the MAE codec's tables are rebuilt)");
  absl::StatusOr<std::vector<double>> steps = ParseSteps(args.steps);
  if (!steps.ok()) return steps.status();
  (*codec)->eval();
  (*codec)->BuildTables(*steps);
  log::info("codec: {} step levels ({:.3g} .. {:.3g}), tables up to {} entries", steps->size(), steps->front(),
            steps->back(), (*codec)->options().table_width);
  if (args.context_data != "none") {
    if (absl::Status s = FitContextFromFolder(*codec, args); !s.ok()) return s;
  } else if ((*codec)->options().context_buckets > 0) {
    return absl::FailedPreconditionError(
        "this codec already holds context tables for other steps: export it with --context_data, or "
        "export its training checkpoint with --context_data none");
  }
  return SaveCheckpoint(args.out, *codec);
}

absl::Status ExportConvCodec(const CodecExportArgs& args) {
  absl::StatusOr<ConvCodec> codec = LoadConvCodec(args.ckpt_path);
  if (!codec.ok()) return codec.status();
  if (!args.steps.empty())
    return absl::InvalidArgumentError("--steps is for the MAE codec: a conv codec's levels and steps are learned");
  if ((*codec)->hyper) return ExportHyperCodec(*codec, args);
  if (args.context_data == "keep") {
    const int64_t before = (*codec)->tables->cdf_tables.numel() + (*codec)->tables->ctx_cdf_tables.numel();
    (*codec)->tables->Compact();
    if (absl::StatusOr<std::vector<LatentTables>> t = (*codec)->tables->Tables(); !t.ok()) return t.status();
    log::info("conv codec: tables kept, {} -> {} CDF entries (ragged)", before,
              (*codec)->tables->cdf_tables.numel() + (*codec)->tables->ctx_cdf_tables.numel());
    return SaveCheckpoint(args.out, *codec);
  }
  (*codec)->eval();
  (*codec)->BuildTables();
  log::info("conv codec: {} rate levels, tables up to {} entries", (*codec)->options().levels,
            (*codec)->options().table_width);
  if (args.context_data != "none") {
    if (absl::Status s = FitContextFromFolder(*codec, args); !s.ok()) return s;
  }
  return SaveCheckpoint(args.out, *codec);
}

}  // namespace mt::train_cli
