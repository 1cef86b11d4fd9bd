// Where the hyperprior codec's bits go on whole photos, one line per photo at one level:
//   side / residual: the float model's ideal bits (what training minimises), in bpp;
//   served: the same with the integer tables and the fixed-point hyper-synthesis (what travels);
//   shift s: the residual bits with every predicted log-scale moved by s (s < 0: narrower
//            Gaussians); the best s says whether the model's scales fit these photos;
//   no mean: the residual bits coding u instead of u − mean;
//   factorized: the codec's own factorized prior on the same latents.
// Photos are cropped to a multiple of 64 pixels and coded whole (no tiles).
// Usage: mt_bench_hyperprior --codec_checkpoint weights/conv_hyper_codec.pt [--level 4] PHOTO...
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "core/entropy/gaussian_tables.h"
#include "core/io/checkpoint.h"
#include "core/io/image_io.h"
#include "core/model/integer_hyper_synthesis.h"
#include "core/runtime/blas_core.h"
#include "core/runtime/cpu_features.h"

namespace {

constexpr double kShifts[] = {-1.0, -0.75, -0.5, -0.25, 0.0, 0.25};

// Bits of the served stream's symbols: fixed-point means and tables, as HyperTileCodec codes them.
double ServedBits(mt::ConvCodec& codec, const mt::HyperTables& tables, const at::Tensor& bounds,
                  const mt::IntegerHyperSynthesis& synthesis, const at::Tensor& u, const at::Tensor& z) {
  auto [mean, log_scale] = synthesis.Run(z);
  const at::Tensor index = at::bucketize(log_scale.contiguous(), bounds, true, true).contiguous();
  const at::Tensor r = at::round(u.to(at::kDouble) - mean.to(at::kDouble) / (1 << mt::kHyperFracBits)).to(at::kInt).contiguous();
  const at::Tensor zi = z.to(at::kInt).permute({0, 2, 3, 1}).contiguous();
  double bits = 0;
  for (int64_t k = 0; k < r.numel(); ++k)
    bits += mt::SymbolBits(tables.scales[static_cast<size_t>(index.data_ptr<int32_t>()[k])], r.data_ptr<int32_t>()[k]);
  for (int64_t k = 0; k < zi.numel(); ++k)
    bits += mt::SymbolBits(tables.side[static_cast<size_t>(k % z.size(1))], zi.data_ptr<int32_t>()[k]);
  return bits;
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);
  std::string path = "weights/conv_hyper_codec.pt";
  int64_t level = 4;
  std::vector<std::string> photos;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_hyperprior --codec_checkpoint F [--level 4] PHOTO...: where a hyperprior codec's bits go\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--codec_checkpoint") && i + 1 < argc) path = argv[++i];
    else if (!std::strcmp(argv[i], "--level") && i + 1 < argc) level = std::atoll(argv[++i]);
    else photos.push_back(argv[i]);
  }
  absl::StatusOr<mt::ConvCodec> codec = mt::LoadConvCodec(path);
  if (!codec.ok() || !(*codec)->hyper) {
    std::fprintf(stderr, "%s: not a hyperprior codec (%s)\n", path.c_str(), codec.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<mt::HyperTables> tables = (*codec)->hyper->Tables();
  if (!tables.ok()) return std::fprintf(stderr, "%s\n", tables.status().ToString().c_str()), 1;
  (*codec)->eval();
  torch::NoGradGuard no_grad;
  const at::Tensor bounds = at::tensor((*codec)->hyper->ScaleBounds(), at::kLong);
  const mt::IntegerHyperSynthesis synthesis = mt::IntegerHyperSynthesis::From(*(*codec)->hyper);
  std::printf("CPU flags: %s; level %lld; bpp\n", mt::CpuSpeedFlags().c_str(), static_cast<long long>(level));
  for (const std::string& p : photos) {
    absl::StatusOr<at::Tensor> image = mt::LoadImageRgb(p);
    if (!image.ok()) return std::fprintf(stderr, "%s\n", image.status().ToString().c_str()), 1;
    const int64_t h = image->size(1) / 64 * 64, w = image->size(2) / 64 * 64;
    const at::Tensor y = (*codec)->Analyze(image->narrow(1, 0, h).narrow(2, 0, w).unsqueeze(0));
    const at::Tensor steps = (*codec)->Steps()[level];
    const at::Tensor u = y / steps.view({1, -1, 1, 1});
    const at::Tensor z = at::round((*codec)->hyper->Analyze(u));
    auto [mean, log_scale] = (*codec)->hyper->Synthesize(z);
    const at::Tensor r = at::round(u - mean);
    const double px = static_cast<double>(h * w);
    auto bpp = [&](const at::Tensor& bits) { return bits.item<double>() / px; };
    std::printf("%s %lldx%lld: side %.4f residual %.4f served %.4f |", p.c_str(), static_cast<long long>(h),
                static_cast<long long>(w), bpp((*codec)->hyper->SideBits(z)),
                bpp((*codec)->hyper->ResidualBits(r, log_scale)), ServedBits(*codec, *tables, bounds, synthesis, u, z) / px);
    for (double s : kShifts) std::printf(" shift %+.2f %.4f", s, bpp((*codec)->hyper->ResidualBits(r, log_scale + s)));
    const at::Tensor factorized = (*codec)->prior->Likelihood((at::round(u) * steps.view({1, -1, 1, 1})).permute({0, 2, 3, 1}), steps);
    std::printf(" | no mean %.4f | factorized %.4f\n", bpp((*codec)->hyper->ResidualBits(at::round(u), log_scale)),
                bpp(-at::log2(factorized).sum()));
  }
  return 0;
}
