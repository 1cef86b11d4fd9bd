// mt-client: sends images through the adaptive-patch pipeline and reports bandwidth
// against reconstruction quality. `local` runs the whole pipeline in-process (no daemons).
#include <ATen/ATen.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "core/io/checkpoint.h"
#include "core/io/image_io.h"
#include "core/io/visualization.h"
#include "core/metrics/image_metrics.h"
#include "core/pipeline/tile_reconstructor.h"
#include "core/runtime/cli_help.h"
#include "core/runtime/cpu_runtime.h"

ABSL_FLAG(std::string, mae_checkpoint, "", "MAE checkpoint (.pt); empty = untrained seed-size MAE (pipeline check only)");
ABSL_FLAG(std::string, masker_checkpoint, "", "masker checkpoint (.pt); empty = untrained masker");
ABSL_FLAG(double, keep_ratio, 0.25, "keep the top round(ratio*L) patches by masker probability");
ABSL_FLAG(double, threshold, -1.0, "if >= 0: keep patches with p > threshold instead of a fixed ratio");
ABSL_FLAG(std::string, context, "visible", "encoder context: 'visible' (only kept patches, MAE's regime) or 'full'");
ABSL_FLAG(std::string, out, "demo-out", "directory for reconstructions and visualisation grids");
ABSL_FLAG(int, threads, 0, "intra-op CPU threads (0 = all cores)");
ABSL_FLAG(int, seed, 0, "seed for untrained models");

namespace {

constexpr char kUsage[] =
    "mt-client <command> [flags] [images...]\n\n"
    "commands:\n"
    "  local IMAGE...   run masker -> selection -> MAE encoder -> decoder in-process; print bytes,\n"
    "                   keep ratio, PSNR/SSIM per image; write <out>/<name>_grid.png\n"
    "                   (original | kept patches | overlay | decoder output | composite)\n"
    "  send, health, info   need the gRPC daemons (not built yet)\n";

struct Models {
  mt::MaskedAutoencoder mae{nullptr};
  mt::Masker masker{nullptr};
};

absl::StatusOr<Models> LoadModels() {
  Models m;
  const std::string mae_path = absl::GetFlag(FLAGS_mae_checkpoint);
  const std::string masker_path = absl::GetFlag(FLAGS_masker_checkpoint);
  at::manual_seed(absl::GetFlag(FLAGS_seed));
  if (mae_path.empty()) {
    spdlog::warn("no --mae_checkpoint: using an UNTRAINED seed-size MAE; reconstructions will be noise");
    m.mae = mt::MaskedAutoencoder(mt::MaskedAutoencoderOptions{});
  } else {
    absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(mae_path);
    if (!mae.ok()) return mae.status();
    m.mae = *mae;
  }
  if (masker_path.empty()) {
    spdlog::warn("no --masker_checkpoint: using an UNTRAINED masker; patch choice is arbitrary");
    mt::MaskerOptions o;
    o.img_size = m.mae->options().img_size;
    o.patch_size = m.mae->options().patch_size;
    m.masker = mt::Masker(o);
  } else {
    absl::StatusOr<mt::Masker> masker = mt::LoadMasker(masker_path);
    if (!masker.ok()) return masker.status();
    m.masker = *masker;
  }
  return m;
}

int RunLocal(const std::vector<std::string>& images) {
  if (images.empty()) {
    std::fprintf(stderr, "mt-client local: give at least one image file\n");
    return 2;
  }
  mt::SelectionPolicy policy;
  if (absl::GetFlag(FLAGS_threshold) >= 0) {
    policy.mode = mt::SelectionPolicy::Mode::kThreshold;
    policy.threshold = absl::GetFlag(FLAGS_threshold);
  } else {
    policy.mode = mt::SelectionPolicy::Mode::kTopK;
    policy.keep_ratio = absl::GetFlag(FLAGS_keep_ratio);
  }
  absl::StatusOr<mt::PatchSelector> selector = mt::PatchSelector::Create(policy);
  if (!selector.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", std::string(selector.status().message()).c_str());
    return 2;
  }
  const std::string context_name = absl::GetFlag(FLAGS_context);
  if (context_name != "visible" && context_name != "full") {
    std::fprintf(stderr, "mt-client: --context must be 'visible' or 'full', got '%s'\n", context_name.c_str());
    return 2;
  }
  const mt::EncoderContext context =
      context_name == "full" ? mt::EncoderContext::kFullContext : mt::EncoderContext::kVisibleOnly;

  absl::StatusOr<Models> models = LoadModels();
  if (!models.ok()) {
    std::fprintf(stderr, "mt-client: %s\n", models.status().ToString().c_str());
    return 1;
  }
  mt::TileReconstructor reconstructor(models->mae, models->masker);
  const mt::MaskedAutoencoderOptions& o = reconstructor.mae_options();
  const std::string out_dir = absl::GetFlag(FLAGS_out);
  std::filesystem::create_directories(out_dir);

  std::printf("%-22s %7s %9s %10s %10s %10s %9s %8s\n", "image", "kept", "raw B", "pixels B", "PSNR dec",
              "PSNR comp", "SSIM comp", "ms");
  int failures = 0;
  std::vector<at::Tensor> rows;
  for (const std::string& path : images) {
    absl::StatusOr<at::Tensor> image = mt::LoadImageRgb(path);
    if (!image.ok()) {
      std::fprintf(stderr, "%s: %s\n", path.c_str(), image.status().ToString().c_str());
      ++failures;
      continue;
    }
    at::Tensor tile = mt::CenterCropResize(*image, o.img_size);
    const auto t0 = std::chrono::steady_clock::now();
    mt::TileReconstruction r = reconstructor.Reconstruct(tile, *selector, context);
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const at::Tensor ref = tile.unsqueeze(0);
    const double psnr_dec = mt::Psnr(ref, r.decoded.unsqueeze(0)).item<double>();
    const double psnr_comp = mt::Psnr(ref, r.composite.unsqueeze(0)).item<double>();
    const double ssim_comp = mt::Ssim(ref, r.composite.unsqueeze(0)).item<double>();
    const int64_t raw = 3 * o.img_size * o.img_size;
    // Kept 8-bit pixels plus a one-bit-per-patch position bitmap.
    const int64_t pixel_bytes = r.kept * o.patch_dim() + (o.num_patches() + 7) / 8;
    const std::string stem = std::filesystem::path(path).stem().string();
    std::printf("%-22s %3lld/%-3lld %9lld %10lld %10.2f %10.2f %9.4f %8.1f\n", stem.c_str(),
                static_cast<long long>(r.kept), static_cast<long long>(o.num_patches()),
                static_cast<long long>(raw), static_cast<long long>(pixel_bytes), psnr_dec, psnr_comp,
                ssim_comp, ms);
    at::Tensor row = mt::PanelRow({tile, mt::MaskPicture(r.keep, o.patch_size, o.grid_size()),
                                   mt::MaskOverlay(tile, r.keep, o.patch_size), r.decoded, r.composite},
                                  /*scale=*/8);
    rows.push_back(row);
    for (const auto& [file, picture] : {std::pair<std::string, at::Tensor>{stem + "_grid.png", row},
                                        {stem + "_recon.png", r.composite}}) {
      absl::Status s = mt::SavePng(out_dir + "/" + file, picture);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", s.ToString().c_str());
        ++failures;
      }
    }
  }
  if (!rows.empty()) {
    std::vector<at::Tensor> spaced;
    for (const at::Tensor& row : rows) {
      if (!spaced.empty()) spaced.push_back(at::ones({3, 4, row.size(2)}));
      spaced.push_back(row);
    }
    absl::Status s = mt::SavePng(out_dir + "/grid.png", at::cat(spaced, 1));
    if (s.ok()) std::printf("wrote %s/grid.png (original | kept patches | overlay | decoder | composite)\n", out_dir.c_str());
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  mt::InstallCliHelp(kUsage, "client/");
  std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) {
    std::fprintf(stderr, "%s\nrun 'mt-client --help' for flags\n", kUsage);
    return 2;
  }
  spdlog::info("runtime: {}", mt::ConfigureCpuRuntime({absl::GetFlag(FLAGS_threads), true}));
  const std::string command = args[1];
  std::vector<std::string> rest(args.begin() + 2, args.end());
  if (command == "local") return RunLocal(rest);
  if (command == "send" || command == "health" || command == "info") {
    std::fprintf(stderr, "mt-client %s: the gRPC sender/receiver are not built yet; use 'local'\n", command.c_str());
    return 2;
  }
  std::fprintf(stderr, "mt-client: unknown command '%s'\n\n%s", command.c_str(), kUsage);
  return 2;
}
