// Stages of the conv latent codec on random tiles, in-process: the analysis and synthesis
// transforms (each with its input in the default and the channels-last layout, and as the codec
// serves them, with their GFLOP/s against the flops of core/model/flops), and the entropy coding
// of the quantised latents (encode, decode).
// Random pixels have more detail than photos, so the entropy stages are an upper bound.
// Usage: mt_bench_codec [--codec_checkpoint weights/codec.pt] [--tiles 4] [--level 4] [--seconds 3] [--threads N]
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/nn/modules/container/sequential.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/bench_timer.h"
#include "core/config/model_paths.h"
#include "core/io/checkpoint.h"
#include "core/model/flops.h"
#include "core/codecs/tile_codec_registry.h"
#include "core/runtime/blas_core.h"
#include "core/runtime/cpu_features.h"
#include "core/runtime/cpu_runtime.h"

namespace {

// GFLOP/s of `flops` done in `seconds`.
double Rate(double flops, double seconds) { return flops / seconds / 1e9; }

// Median time of each synthesis layer on its own input (the served path's contiguous latents).
void PrintSynthesisLayers(mt::ConvCodec& codec, const at::Tensor& latents, double seconds) {
  at::Tensor x = latents.contiguous();
  std::printf("synthesis by layer:");
  for (torch::nn::AnyModule& layer : *codec->synthesis) {
    const double s = mt::bench::MedianSeconds([&] { layer.forward(x); }, seconds);
    std::printf(" %s %.1f ms,", layer.ptr()->name().c_str(), s * 1e3);
    x = layer.forward(x);
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  std::string codec_path = mt::kDefaultCodecCheckpoint;
  int64_t tiles = 4, level = 4;
  double seconds = 3.0;
  mt::CpuRuntimeOptions runtime;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_codec [--codec_checkpoint F] [--tiles 4] [--level 4] [--seconds 3] [--threads N]\n"
                  "conv codec stages on random tiles: analysis and synthesis (default and channels-last layout, "
                  "GFLOP/s), entropy encode and decode\n");
      return 0;
    }
    // --codec_checkpoint as in the binaries; --codec is this benchmark's older spelling.
    const bool codec_flag = !std::strcmp(argv[i], "--codec_checkpoint") || !std::strcmp(argv[i], "--codec");
    if (codec_flag && i + 1 < argc) codec_path = argv[++i];
    if (!std::strcmp(argv[i], "--tiles") && i + 1 < argc) tiles = std::atoll(argv[++i]);
    if (!std::strcmp(argv[i], "--level") && i + 1 < argc) level = std::atoll(argv[++i]);
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) runtime.threads = std::atoi(argv[++i]);
  }
  std::printf("runtime: %s\nCPU flags: %s\n", mt::ConfigureCpuRuntime(runtime).c_str(), mt::CpuSpeedFlags().c_str());
  absl::StatusOr<mt::ConvCodec> codec = mt::LoadConvCodec(codec_path);
  absl::StatusOr<std::shared_ptr<const mt::TileCodec>> coder = mt::LoadTileCodec(codec_path);
  if (!codec.ok() || !coder.ok()) {
    std::fprintf(stderr, "%s\n", (!codec.ok() ? codec.status() : coder.status()).ToString().c_str());
    return 1;
  }
  (*codec)->eval();
  torch::NoGradGuard no_grad;
  const mt::ConvCodecOptions o = (*codec)->options();
  const int64_t t = o.tile_size, g = t / mt::kConvCodecDownsample;
  at::manual_seed(0);
  const at::Tensor images = at::rand({tiles, 3, t, t});
  const double pixels = static_cast<double>(tiles * t * t);
  const double analysis_flops = mt::ConvAnalysisFlopsPerPixel(o) * pixels;
  const double synthesis_flops = mt::ConvSynthesisFlopsPerPixel(o) * pixels;
  std::printf("%lld tiles of %lldx%lld (%.2f MP); analysis %.1f, synthesis %.1f GFLOP per MP\n",
              static_cast<long long>(tiles), static_cast<long long>(t), static_cast<long long>(t), pixels / 1e6,
              analysis_flops / pixels * 1e-3, synthesis_flops / pixels * 1e-3);

  const at::Tensor centred = images - 0.5;
  const at::Tensor centred_cl = centred.contiguous(at::MemoryFormat::ChannelsLast);
  const double a_default = mt::bench::MedianSeconds([&] { (*codec)->analysis->forward(centred); }, seconds);
  const double a_last = mt::bench::MedianSeconds([&] { (*codec)->analysis->forward(centred_cl); }, seconds);
  const at::Tensor y = (*codec)->Analyze(images);
  const at::Tensor y_default = y.contiguous(), y_last = y.contiguous(at::MemoryFormat::ChannelsLast);
  const double s_default = mt::bench::MedianSeconds([&] { (*codec)->synthesis->forward(y_default); }, seconds);
  const double s_last = mt::bench::MedianSeconds([&] { (*codec)->synthesis->forward(y_last); }, seconds);
  const double a_served = mt::bench::MedianSeconds([&] { (*codec)->Analyze(images); }, seconds);
  const double s_served = mt::bench::MedianSeconds([&] { (*codec)->Synthesize(y_last); }, seconds);
  std::printf("analysis:  default %7.1f ms (%5.1f GFLOP/s), channels-last %7.1f ms (%5.1f GFLOP/s)\n", a_default * 1e3,
              Rate(analysis_flops, a_default), a_last * 1e3, Rate(analysis_flops, a_last));
  std::printf("synthesis: default %7.1f ms (%5.1f GFLOP/s), channels-last %7.1f ms (%5.1f GFLOP/s)\n", s_default * 1e3,
              Rate(synthesis_flops, s_default), s_last * 1e3, Rate(synthesis_flops, s_last));
  std::printf("as served (Analyze, Synthesize of the coder's (N, g, g, C) permuted): %.1f ms (%.1f GFLOP/s), "
              "%.1f ms (%.1f GFLOP/s)\n", a_served * 1e3, Rate(analysis_flops, a_served), s_served * 1e3,
              Rate(synthesis_flops, s_served));
  PrintSynthesisLayers(*codec, y, seconds / 4);

  const at::Tensor latents = (*coder)->Analyze(images);  // (N, L, C)
  const at::Tensor keep = at::ones({tiles, g * g}, at::kBool);
  std::string stream;
  const double encode = mt::bench::MedianSeconds([&] { stream = (*coder)->EncodeTiles(latents, keep, level); }, seconds);
  at::Tensor decoded_keep, decoded;
  const double decode = mt::bench::MedianSeconds([&] {
    absl::Status s = (*coder)->DecodeTiles(stream, tiles, level, &decoded_keep, &decoded);
    if (!s.ok()) std::fprintf(stderr, "decode: %s\n", s.ToString().c_str());
  }, seconds);
  const double positions = static_cast<double>(tiles * g * g);
  std::printf("entropy (level %lld, %zu B): encode %.1f ms, decode %.1f ms (%.2f / %.2f us per position of %lld "
              "channels)\n",
              static_cast<long long>(level), stream.size(), encode * 1e3, decode * 1e3, encode / positions * 1e6,
              decode / positions * 1e6, static_cast<long long>(o.latent_channels));
  return 0;
}
