// mt-eval: measures shipped weights on held-out photos for the model card.
//   1. MAE reconstruction at 75 % random masking vs OpenCV Telea inpainting of the same pixels.
//   2. Masker: hard keep ratio and composite PSNR vs random and uniform-grid masks at the same
//      keep ratio (the masker trainer's validation, on the same crops).
#include <ATen/ATen.h>
#include "core/runtime/blas_core.h"
#include "core/runtime/log.h"
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/photo.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "core/config/flags/model_path_flags.h"
#include "core/config/flags/renamed_flag.h"
#include "core/data/data_loader.h"
#include "core/data/image_folder.h"
#include "core/io/checkpoint.h"
#include "core/masking/losses.h"
#include "core/metrics/image_metrics.h"
#include "core/model/patchify.h"
#include "core/runtime/cli_help.h"
#include "core/runtime/cpu_runtime.h"
#include "core/config/model_config.h"
#include "core/train/fit_loop.h"
#include "core/pipeline/tile_reconstructor.h"
#include "core/train/masker_task.h"

// The old names of --mae_checkpoint / --masker_checkpoint, kept for one release.
ABSL_FLAG(std::string, mae, "", "deprecated: use --mae_checkpoint (same meaning)");
ABSL_FLAG(std::string, masker, "", "deprecated: use --masker_checkpoint (same meaning)");
ABSL_FLAG(std::string, data, "data/photos", "image folder with val/ (held-out photos)");
ABSL_FLAG(int, crops_per_image, 64, "validation crops per held-out photo");
ABSL_FLAG(double, mask_ratio, 0.75, "random masking ratio for the MAE / inpainting comparison");
ABSL_FLAG(int, seed, 1234, "seed of the random masks");

namespace {

// Telea inpainting (radius 3) of `image` (3, S, S) where `removed` (S, S) is 1 → (3, S, S).
at::Tensor TeleaInpaint(const at::Tensor& image, const at::Tensor& removed) {
  const int s = static_cast<int>(image.size(1));
  at::Tensor hwc = (image.permute({1, 2, 0}).contiguous() * 255.0).round().to(at::kByte);
  at::Tensor m = (removed * 255).to(at::kByte).contiguous();
  cv::Mat src(s, s, CV_8UC3, hwc.data_ptr()), mask(s, s, CV_8UC1, m.data_ptr()), dst;
  cv::inpaint(src, mask, dst, 3.0, cv::INPAINT_TELEA);
  return at::from_blob(dst.data, {s, s, 3}, at::kByte).permute({2, 0, 1}).to(at::kFloat).div(255.0);
}

int Fail(const absl::Status& s) {
  mt::log::error("{}", s.ToString());
  return 1;
}

// The checkpoints to measure.
struct EvalPaths {
  std::string mae;
  std::string masker;  // empty: the masker sections are skipped
};

// --mae_checkpoint (or its deprecated --mae), and --masker_checkpoint (or --masker) only when given
// on the command line: the masker is measured on request, never from the shared flag's default.
// INVALID_ARGUMENT when a flag is given under both its names.
absl::StatusOr<EvalPaths> PathsFromFlags() {
  EvalPaths paths;
  absl::StatusOr<std::string> mae = mt::FlagOrDeprecatedAlias(mt::MaeCheckpointFlag(), FLAGS_mae);
  if (!mae.ok()) return mae.status();
  paths.mae = *mae;
  if (mt::FlagGiven(mt::MaskerCheckpointFlag()) || mt::FlagGiven(FLAGS_masker)) {
    absl::StatusOr<std::string> masker = mt::FlagOrDeprecatedAlias(mt::MaskerCheckpointFlag(), FLAGS_masker);
    if (!masker.ok()) return masker.status();
    paths.masker = *masker;
  }
  return paths;
}

// The held-out crops of --data/val at `img_size` (--crops_per_image per photo), in a fixed order.
absl::StatusOr<std::shared_ptr<const mt::ImageDataset>> ValDatasetFromFlags(int64_t img_size) {
  mt::ImageFolderOptions fo;
  fo.img_size = img_size;
  fo.val_crops_per_image = absl::GetFlag(FLAGS_crops_per_image);
  absl::StatusOr<std::unique_ptr<mt::ImageDataset>> val = mt::LoadImageFolder(absl::GetFlag(FLAGS_data), mt::Split::kVal, fo);
  if (!val.ok()) return val.status();
  return std::shared_ptr<const mt::ImageDataset>(std::move(*val));
}

// 1. MAE vs Telea at the same random masks (--mask_ratio, --seed): prints the crop count and a table.
void PrintMaeVsTelea(mt::MaskedAutoencoder mae, mt::DataLoader& loader) {
  const mt::MaskedAutoencoderOptions& o = mae->options();
  at::Generator gen = at::detail::createCPUGenerator(absl::GetFlag(FLAGS_seed));
  const int64_t p = o.patch_size, g = o.grid_size();
  double mae_psnr = 0, mae_ssim = 0, telea_psnr = 0, telea_ssim = 0;
  int64_t n = 0;
  loader.StartEpoch(0);
  for (at::Tensor x = loader.Next(); x.defined(); x = loader.Next()) {
    const int64_t b = x.size(0);
    mt::RandomMaskingResult rm = mt::RandomMasking(b, o.num_patches(), absl::GetFlag(FLAGS_mask_ratio), {}, gen);
    at::Tensor pred = mae->DecodeVisible(x, rm.ids_keep);
    at::Tensor comp = mt::CompositeImage(x, mae->PatchesToImages(pred).clamp(0, 1), 1 - rm.mask, p);
    at::Tensor removed = mt::UpsamplePatchMask(rm.mask, p, g, g);  // (B, 1, S, S)
    std::vector<at::Tensor> inpainted;
    for (int64_t i = 0; i < b; ++i) inpainted.push_back(TeleaInpaint(x[i], removed[i][0]));
    at::Tensor telea = at::stack(inpainted);
    mae_psnr += mt::Psnr(x, comp).sum().item<double>();
    mae_ssim += mt::Ssim(x, comp).sum().item<double>();
    telea_psnr += mt::Psnr(x, telea).sum().item<double>();
    telea_ssim += mt::Ssim(x, telea).sum().item<double>();
    n += b;
  }
  std::printf("Held-out crops: %lld (%s/val, %d per photo, %lldx%lld), mask ratio %.2f, seed %d\n\n",
              static_cast<long long>(n), absl::GetFlag(FLAGS_data).c_str(), absl::GetFlag(FLAGS_crops_per_image),
              static_cast<long long>(o.img_size), static_cast<long long>(o.img_size),
              absl::GetFlag(FLAGS_mask_ratio), absl::GetFlag(FLAGS_seed));
  std::printf("| method (same masked pixels) | PSNR dB | SSIM |\n|---|---:|---:|\n");
  std::printf("| MAE (visible patches + predictions) | %.2f | %.4f |\n", mae_psnr / n, mae_ssim / n);
  std::printf("| OpenCV Telea inpainting (radius 3) | %.2f | %.4f |\n", telea_psnr / n, telea_ssim / n);
}

// 2. The masker of `paths` vs random and uniform-grid masks at the same keep ratio (the masker
// trainer's validation), printed as a table; the first error of loading or validating.
absl::Status PrintMaskerVsBaselines(const EvalPaths& paths, const mt::MaskedAutoencoderOptions& o,
                                    mt::DataLoader& loader) {
  absl::StatusOr<mt::CheckpointInfo> info = mt::ReadCheckpointInfo(paths.masker);
  if (!info.ok()) return info.status();
  absl::StatusOr<mt::MaskerOptions> mo = mt::MaskerOptionsFromYaml(info->config_yaml);
  if (!mo.ok()) return mo.status();
  mt::MaskerTaskConfig mc;
  mc.model = *mo;
  mc.mae_checkpoint = paths.mae;
  absl::StatusOr<std::unique_ptr<mt::MaskerTask>> task = mt::MaskerTask::Create(mc);
  if (!task.ok()) return task.status();
  absl::StatusOr<std::map<std::string, double>> m =
      mt::ValidateCheckpoint(**task, loader, mt::TrainDevice{}, paths.masker);
  if (!m.ok()) return m.status();
  std::printf("\nMasker: hard keep ratio (p > 0.5) %.4f (%.1f of %lld patches)\n\n", m->at("val_keep_ratio"),
              m->at("val_keep_ratio") * o.num_patches(), static_cast<long long>(o.num_patches()));
  std::printf("| keep mask (same count per image, full-context MAE) | composite PSNR dB |\n|---|---:|\n");
  std::printf("| masker | %.2f |\n| random | %.2f |\n| uniform grid | %.2f |\n", m->at("val_psnr_masker"),
              m->at("val_psnr_random"), m->at("val_psnr_grid"));
  std::printf("| masker scores, spread selection (radius 1) | %.2f |\n| masker scores, spread selection (radius 2) | %.2f |\n",
              m->at("val_psnr_masker_spread1"), m->at("val_psnr_masker_spread2"));
  return absl::OkStatus();
}

// 3. The same masker selections (p > 0.5) with each encoder context (what the payload modes send),
// printed as a table; the masker's load error otherwise.
absl::Status PrintEncoderContexts(mt::MaskedAutoencoder mae, const std::string& masker_path, mt::DataLoader& loader) {
  absl::StatusOr<mt::Masker> masker = mt::LoadMasker(masker_path);
  if (!masker.ok()) return masker.status();
  mt::TileReconstructor reconstructor(mae, *masker);
  absl::StatusOr<mt::PatchSelector> selector = mt::PatchSelector::Create({});  // p > 0.5
  if (!selector.ok()) return selector.status();
  double full = 0, visible = 0;
  int64_t count = 0;
  loader.StartEpoch(0);
  for (at::Tensor x = loader.Next(); x.defined(); x = loader.Next()) {
    for (int64_t i = 0; i < x.size(0); ++i, ++count) {
      at::Tensor ref = x[i].unsqueeze(0);
      full += mt::Psnr(ref, reconstructor.Reconstruct(x[i], *selector, mt::EncoderContext::kFullContext)
                                .composite.unsqueeze(0)).item<double>();
      visible += mt::Psnr(ref, reconstructor.Reconstruct(x[i], *selector, mt::EncoderContext::kVisibleOnly)
                                   .composite.unsqueeze(0)).item<double>();
    }
  }
  std::printf("\n| masker selection, encoder context | composite PSNR dB |\n|---|---:|\n");
  std::printf("| full context (features payload; as trained) | %.2f |\n", full / count);
  std::printf("| visible patches only (pixels payload) | %.2f |\n", visible / count);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::InstallCliHelp("mt-eval [--mae_checkpoint F] [--masker_checkpoint F] [--data data/photos]\n"
                     "Prints markdown tables of the measurements the model card quotes (the masker's only with "
                     "--masker_checkpoint).",
                     "train/");
  absl::ParseCommandLine(argc, argv);
  mt::log::info("runtime: {}", mt::ConfigureCpuRuntime());
  torch::NoGradGuard no_grad;
  absl::StatusOr<EvalPaths> paths = PathsFromFlags();
  if (!paths.ok()) return Fail(paths.status());
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(paths->mae);
  if (!mae.ok()) return Fail(mae.status());
  (*mae)->eval();

  absl::StatusOr<std::shared_ptr<const mt::ImageDataset>> dataset = ValDatasetFromFlags((*mae)->options().img_size);
  if (!dataset.ok()) return Fail(dataset.status());
  mt::DataLoaderOptions lo;
  lo.batch_size = 64;
  lo.shuffle = false;
  lo.drop_last = false;
  mt::DataLoader loader(*dataset, lo);

  PrintMaeVsTelea(*mae, loader);
  if (paths->masker.empty()) return 0;
  if (absl::Status s = PrintMaskerVsBaselines(*paths, (*mae)->options(), loader); !s.ok()) return Fail(s);
  if (absl::Status s = PrintEncoderContexts(*mae, paths->masker, loader); !s.ok()) return Fail(s);
  return 0;
}
