// CPU inference throughput of the seed's CIFAR-10 model size (images/s).
// Usage: mt_bench_inference [--seconds S] [--batches 1,64] [--threads N] [--default_allocator]
// Stages: masker forward; MAE full-context encoder (257 tokens); MAE decoder
// (decoder_embed + 4 blocks + pred) from full-context latents.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/runtime/blas_core.h"
#include "bench/bench_timer.h"
#include "core/runtime/cpu_runtime.h"
#include "core/model/mae.h"
#include "core/model/masker.h"

namespace {

// Multiply-adds ×2 of a ViT block on L tokens of width D (MLP ratio 4): linear 24·L·D², attention 4·L²·D.
double BlockFlops(double l, double d) { return 24 * l * d * d + 4 * l * l * d; }

}  // namespace

int main(int argc, char** argv) {
  mt::EnsureBlasKernelsForThisCpu(argv);  // before anything else: it may restart the process
  mt::CpuRuntimeOptions runtime;
  double seconds = 3.0;
  std::vector<int64_t> batches = {1, 64};
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("mt_bench_inference [--seconds S] [--batches 1,64] [--threads N] [--default_allocator]: images/s of masker, encoder, decoder\n"
                  "for the seed's CIFAR-10 size (32x32, patch 2, width 192, 12+4 blocks, masker 2 blocks)\n");
      return 0;
    }
    if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc) seconds = std::atof(argv[++i]);
    if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) runtime.threads = std::atoi(argv[++i]);
    if (!std::strcmp(argv[i], "--default_allocator")) runtime.keep_freed_memory = false;
    if (!std::strcmp(argv[i], "--batches") && i + 1 < argc) {
      batches.clear();
      std::stringstream s(argv[++i]);
      std::string item;
      while (std::getline(s, item, ',')) batches.push_back(std::atoll(item.c_str()));
    }
  }
  const std::string runtime_info = mt::ConfigureCpuRuntime(runtime);
  torch::NoGradGuard no_grad;
  at::manual_seed(0);
  mt::MaskedAutoencoderOptions mo;  // defaults are the seed's CIFAR-10 MAE
  mt::MaskedAutoencoder mae(mo);
  mt::Masker masker(mt::MaskerOptions{});
  mae->eval();
  masker->eval();
  const double l = static_cast<double>(mo.num_patches());
  const double enc_flops = mo.depth * BlockFlops(l + 1, mo.embed_dim);
  const double dec_flops = mo.decoder_depth * BlockFlops(l + 1, mo.decoder_embed_dim);
  const double mask_flops = 2 * BlockFlops(l, 192) + 2 * l * 192 * 768 * 2;

  std::printf("LibTorch %s, %s\n", TORCH_VERSION, runtime_info.c_str());
  std::printf("| stage | batch | ms/batch | images/s | GFLOP/s |\n|---|---:|---:|---:|---:|\n");
  for (int64_t b : batches) {
    at::Tensor images = at::rand({b, 3, mo.img_size, mo.img_size});
    at::Tensor latent = mae->EncodeFull(images);
    struct Stage { const char* name; double flops; std::function<void()> fn; };
    const Stage stages[] = {
        {"masker", mask_flops, [&] { masker->forward(images); }},
        {"encoder (full context)", enc_flops, [&] { mae->EncodeFull(images); }},
        {"decoder", dec_flops, [&] {
           at::Tensor t = mae->EmbedForDecoder(latent);
           mae->Decode(t.narrow(1, 0, 1), t.narrow(1, 1, mo.num_patches()));
         }},
    };
    for (const Stage& s : stages) {
      const double t = mt::bench::MedianSeconds(s.fn, seconds, 1, 3);
      std::printf("| %s | %lld | %.1f | %.1f | %.1f |\n", s.name, static_cast<long long>(b), t * 1e3,
                  b / t, s.flops * b / t / 1e9);
    }
  }
  return 0;
}
