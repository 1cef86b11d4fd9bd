// mt-eval: measures shipped weights on held-out photos for the model card.
//   1. MAE reconstruction at 75 % random masking vs OpenCV Telea inpainting of the same pixels.
//   2. Masker: hard keep ratio and composite PSNR vs random and uniform-grid masks at the same
//      keep ratio (the masker trainer's validation, on the same crops).
#include <ATen/ATen.h>
#include "core/runtime/blas_core.h"
#include "core/runtime/log.h"
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <opencv2/core.hpp>
#include <opencv2/photo.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
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

ABSL_FLAG(std::string, mae, "weights/mae.pt", "MAE checkpoint");
ABSL_FLAG(std::string, masker, "", "masker checkpoint (optional)");
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

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::InstallCliHelp("mt-eval --mae weights/mae.pt [--masker weights/masker.pt] [--data data/photos]\n"
                     "Prints markdown tables of the measurements the model card quotes.",
                     "train/");
  absl::ParseCommandLine(argc, argv);
  mt::log::info("runtime: {}", mt::ConfigureCpuRuntime());
  torch::NoGradGuard no_grad;
  absl::StatusOr<mt::MaskedAutoencoder> mae = mt::LoadMae(absl::GetFlag(FLAGS_mae));
  if (!mae.ok()) return Fail(mae.status());
  (*mae)->eval();
  const mt::MaskedAutoencoderOptions& o = (*mae)->options();

  mt::ImageFolderOptions fo;
  fo.img_size = o.img_size;
  fo.val_crops_per_image = absl::GetFlag(FLAGS_crops_per_image);
  absl::StatusOr<std::unique_ptr<mt::ImageDataset>> val = mt::LoadImageFolder(absl::GetFlag(FLAGS_data), mt::Split::kVal, fo);
  if (!val.ok()) return Fail(val.status());
  std::shared_ptr<const mt::ImageDataset> dataset(std::move(*val));
  mt::DataLoaderOptions lo;
  lo.batch_size = 64;
  lo.shuffle = false;
  lo.drop_last = false;
  mt::DataLoader loader(dataset, lo);

  // 1. MAE vs Telea at the same random masks.
  at::Generator gen = at::detail::createCPUGenerator(absl::GetFlag(FLAGS_seed));
  const int64_t p = o.patch_size, g = o.grid_size();
  double mae_psnr = 0, mae_ssim = 0, telea_psnr = 0, telea_ssim = 0;
  int64_t n = 0;
  loader.StartEpoch(0);
  for (at::Tensor x = loader.Next(); x.defined(); x = loader.Next()) {
    const int64_t b = x.size(0);
    mt::RandomMaskingResult rm = mt::RandomMasking(b, o.num_patches(), absl::GetFlag(FLAGS_mask_ratio), {}, gen);
    at::Tensor pred = (*mae)->DecodeVisible(x, rm.ids_keep);
    at::Tensor comp = mt::CompositeImage(x, (*mae)->PatchesToImages(pred).clamp(0, 1), 1 - rm.mask, p);
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

  // 2. Masker vs baselines at the same keep ratio.
  const std::string masker_path = absl::GetFlag(FLAGS_masker);
  if (masker_path.empty()) return 0;
  absl::StatusOr<mt::CheckpointInfo> info = mt::ReadCheckpointInfo(masker_path);
  if (!info.ok()) return Fail(info.status());
  absl::StatusOr<mt::MaskerOptions> mo = mt::MaskerOptionsFromYaml(info->config_yaml);
  if (!mo.ok()) return Fail(mo.status());
  mt::MaskerTaskConfig mc;
  mc.model = *mo;
  mc.mae_checkpoint = absl::GetFlag(FLAGS_mae);
  absl::StatusOr<std::unique_ptr<mt::MaskerTask>> task = mt::MaskerTask::Create(mc);
  if (!task.ok()) return Fail(task.status());
  absl::StatusOr<std::map<std::string, double>> m =
      mt::ValidateCheckpoint(**task, loader, mt::TrainDevice{}, masker_path);
  if (!m.ok()) return Fail(m.status());
  std::printf("\nMasker: hard keep ratio (p > 0.5) %.4f (%.1f of %lld patches)\n\n", m->at("val_keep_ratio"),
              m->at("val_keep_ratio") * o.num_patches(), static_cast<long long>(o.num_patches()));
  std::printf("| keep mask (same count per image, full-context MAE) | composite PSNR dB |\n|---|---:|\n");
  std::printf("| masker | %.2f |\n| random | %.2f |\n| uniform grid | %.2f |\n", m->at("val_psnr_masker"),
              m->at("val_psnr_random"), m->at("val_psnr_grid"));
  std::printf("| masker scores, spread selection (radius 1) | %.2f |\n| masker scores, spread selection (radius 2) | %.2f |\n",
              m->at("val_psnr_masker_spread1"), m->at("val_psnr_masker_spread2"));

  // 3. The same masker selections with each encoder context (what the payload modes send).
  absl::StatusOr<mt::Masker> masker = mt::LoadMasker(masker_path);
  if (!masker.ok()) return Fail(masker.status());
  mt::TileReconstructor reconstructor(*mae, *masker);
  absl::StatusOr<mt::PatchSelector> selector = mt::PatchSelector::Create({});  // p > 0.5
  if (!selector.ok()) return Fail(selector.status());
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
  return 0;
}
